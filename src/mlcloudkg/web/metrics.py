"""Prometheus metrics. Under gunicorn each worker process counts for itself and /metrics adds them up (the
prometheus_client multiprocess mode, switched on by `mlcloudkg serve` through PROMETHEUS_MULTIPROC_DIR)."""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

requests = Counter("mlcloudkg_http_requests_total", "HTTP requests answered", ["endpoint", "method", "status"])
latency = Histogram(
    "mlcloudkg_http_request_seconds",
    "Time to answer an HTTP request",
    ["endpoint"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
errors = Counter("mlcloudkg_http_errors_total", "Requests answered with an error", ["kind"])
timeouts = Counter("mlcloudkg_query_timeouts_total", "Queries stopped at the time limit")
cache_results = Counter("mlcloudkg_query_cache_total", "Query answers by cache outcome", ["outcome"])


def exposition() -> tuple[bytes, str]:
    """The metrics in the Prometheus text format, summed over worker processes when there are several."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
