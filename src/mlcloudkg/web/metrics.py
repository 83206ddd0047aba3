"""Prometheus metrics. Under gunicorn each worker process counts for itself and /metrics adds them up (the
prometheus_client multiprocess mode, switched on by `mlcloudkg serve` through PROMETHEUS_MULTIPROC_DIR).

Metrics must never cost an answer: in multiprocess mode they live in files, and a full or read-only disk would make
every update raise. So the directory is tried before prometheus_client is imported (it picks its mode on import),
an unusable one means counting per process instead (reported on /healthz), and an update that fails later is
dropped and logged once.
"""

from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

log = logging.getLogger(__name__)
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
MMAP_FILE_BYTES = 1 << 20  # what prometheus_client gives each of its files at first


def _try_multiprocess_directory() -> str | None:
    """None if the shared metrics directory (if any) can hold the files of this process, else why it cannot (and
    multiprocess mode is then switched off for this process)."""
    directory = os.environ.get(MULTIPROCESS_DIRECTORY)
    if not directory:
        return None
    try:
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.truncate(MMAP_FILE_BYTES)
    except OSError as error:
        del os.environ[MULTIPROCESS_DIRECTORY]
        reason = os.strerror(error.errno) if error.errno else str(error)
        return (
            f"metrics are counted per worker process, not summed over workers: their directory is unusable ({reason})"
        )
    return None


problem = _try_multiprocess_directory()

# Imported only now: prometheus_client reads PROMETHEUS_MULTIPROC_DIR when it is first imported.
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)


class _Tolerant:
    """A metric, or one of its labelled children, whose updates never raise: a lost count beats a lost answer."""

    _warned = False

    def __init__(self, metric: Any) -> None:
        self._metric = metric

    def labels(self, *values: str) -> _Tolerant:
        try:
            return _Tolerant(self._metric.labels(*values))
        except OSError as error:
            self._warn(error)
            return _Tolerant(None)

    def inc(self, amount: float = 1) -> None:
        self._update("inc", amount)

    def observe(self, value: float) -> None:
        self._update("observe", value)

    def _update(self, method: str, value: float) -> None:
        if self._metric is None:
            return
        try:
            getattr(self._metric, method)(value)
        except OSError as error:
            self._warn(error)

    @classmethod
    def _warn(cls, error: OSError) -> None:
        if not cls._warned:
            cls._warned = True
            log.error("a metric could not be updated (%s); such updates are dropped", error)


requests = _Tolerant(
    Counter("mlcloudkg_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
)
latency = _Tolerant(
    Histogram(
        "mlcloudkg_http_request_seconds",
        "Time to answer an HTTP request",
        ["endpoint"],
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    )
)
errors = _Tolerant(Counter("mlcloudkg_http_errors_total", "Requests answered with an error", ["kind"]))
timeouts = _Tolerant(Counter("mlcloudkg_query_timeouts_total", "Queries stopped at the time limit"))
cache_results = _Tolerant(Counter("mlcloudkg_query_cache_total", "Query answers by cache outcome", ["outcome"]))


def exposition() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, summed over worker processes when there are several (this
    process's own if the shared files cannot be read)."""
    if os.environ.get(MULTIPROCESS_DIRECTORY):
        registry = CollectorRegistry()
        try:
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        except OSError as error:
            log.error("the shared metrics cannot be read (%s); answering with this process's own", error)
    return generate_latest(), CONTENT_TYPE_LATEST
