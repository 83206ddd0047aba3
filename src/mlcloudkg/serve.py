"""`mlcloudkg serve`: the web service under gunicorn, a production WSGI server.

Each gunicorn worker (a process) runs the Flask app with `threads` request threads and its own pool of query
evaluators. SIGTERM stops accepting connections and lets requests in flight finish (graceful shutdown). A watcher
process (rebuild.py) rebuilds the graph when its sources change. Builds, the first one included, run in processes
of their own: the server's process, from which gunicorn forks the workers, never opens the on-disk store.

A request thread reading from or writing to a client blocks while the client is silent, so a few clients that send
half a request and stop (slowloris) would hold every thread. Every connection therefore gets a send and a receive
timeout (`client_timeout`): a client silent for longer is disconnected. A client trickling one byte at a time is not
caught by this; in front of the open internet, a buffering reverse proxy (nginx) deals with those.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing.process
import os
import socket
import struct
import tempfile
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from mlcloudkg.build import current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import BuildNotFound
from mlcloudkg.rebuild import BuildStatus, attempt_build_apart, start_watcher, stop_watcher

log = logging.getLogger(__name__)
GRACEFUL_SECONDS = 30


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any], status: BuildStatus) -> None:
        self.settings = settings
        self.options = options
        self.status = status
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from mlcloudkg.web import create_app
        from mlcloudkg.web.live import LiveDataset

        return create_app(self.settings, live=LiveDataset(self.settings, build_status=self.status))


def _time_out_silent_clients(seconds: float) -> Any:
    """A gunicorn `when_ready` hook: set send and receive timeouts on the listening sockets, before any worker
    starts. Accepted connections inherit them, and they hold through gunicorn's blocking reads and writes."""
    interval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))

    def when_ready(server: Any) -> None:
        for listener in server.LISTENERS:
            listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
            listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)

    return when_ready


def _forget_the_watcher(server: Any, worker: Any) -> None:
    """A gunicorn `post_fork` hook, run in each new web worker. A forked process inherits multiprocessing's list of
    its parent's children, and at exit multiprocessing stops and joins those: each web worker that exited (a
    reload, SIGHUP) stopped the master's watcher (then a daemon), and the sources were no longer watched. The list
    is private to multiprocessing, with no public way to take a process off it; a new worker has no children yet."""
    multiprocessing.process._children.clear()  # type: ignore[attr-defined]


def _worker_exited(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    with contextlib.suppress(OSError):  # an unusable metrics directory (see web.metrics) must not stop the server
        multiprocess.mark_process_dead(worker.pid)


def _share_metrics() -> None:
    """Sum the metrics of all workers through files in a directory (prometheus_client multiprocess mode)."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        return
    try:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="mlcloudkg-metrics-")
    except OSError as error:
        log.error("no directory for shared metrics (%s): each worker counts for itself", error)


def serve(settings: Settings) -> None:
    """Build if the sources changed (keeping the last good build if that fails), watch them for more changes (if
    `settings.watch`), and serve until stopped; or, with `settings.store`, serve the dataset published there."""
    status = BuildStatus()
    if settings.store:
        _check_store(settings)
        _run(settings, status)
        return
    first = attempt_build_apart(settings)
    status.record(first)
    try:
        served = current_build(settings)
    except BuildNotFound as error:
        raise BuildNotFound(f"{error} ({first.failure})" if first.failure else str(error)) from None
    if first.failure:
        log.error("the sources do not build (%s); serving the last good build %s", first.failure, served.digest)
    else:
        log.info("serving build %s", served.digest)
    watcher = start_watcher(settings, status, first.digest) if settings.watch else None
    # Stopped by gunicorn's exit hook, which only the master runs: a forked worker leaves through here too.
    _run(settings, status, on_exit=(lambda _server: stop_watcher(watcher)) if watcher else None)


def _check_store(settings: Settings) -> None:
    """Refuse to start over a store that cannot be read or holds no published dataset: a clear error now, rather
    than workers that fail to boot."""
    from mlcloudkg.release import read_release
    from mlcloudkg.remote_store import remote_store

    release = read_release(remote_store(settings))
    log.info("serving version %s from the store %s", release.version, settings.store)


def _run(settings: Settings, status: BuildStatus, on_exit: Callable[[Any], None] | None = None) -> None:
    _share_metrics()
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "worker_class": "gthread",
        "threads": settings.threads,
        # A worker busy past this is restarted by gunicorn; queries are stopped well before by their own limit.
        "timeout": int(settings.query_timeout) + 30,
        "graceful_timeout": GRACEFUL_SECONDS,
        "keepalive": 5,
        "accesslog": "-",
        "post_fork": _forget_the_watcher,
        "child_exit": _worker_exited,
        "when_ready": _time_out_silent_clients(settings.client_timeout),
        "limit_request_line": 8190,
        "limit_request_field_size": 16384,
    }
    if on_exit is not None:
        options["on_exit"] = on_exit
    _Server(settings, options, status).run()
