"""`mlcloudkg serve`: the web service under gunicorn, a production WSGI server.

Each gunicorn worker (a process) runs the Flask app with `threads` request threads and its own pool of query
evaluators. SIGTERM stops accepting connections and lets requests in flight finish (graceful shutdown).

A request thread reading from or writing to a client blocks while the client is silent, so a few clients that send
half a request and stop (slowloris) would hold every thread. Every connection therefore gets a send and a receive
timeout (`client_timeout`): a client silent for longer is disconnected. A client trickling one byte at a time is not
caught by this; in front of the open internet, a buffering reverse proxy (nginx) deals with those.
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication

from mlcloudkg.build import build, current_build
from mlcloudkg.config import Settings
from mlcloudkg.errors import MlcloudkgError

log = logging.getLogger(__name__)
GRACEFUL_SECONDS = 30


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from mlcloudkg.web import create_app

        return create_app(self.settings)


def _time_out_silent_clients(seconds: float) -> Any:
    """A gunicorn `when_ready` hook: set send and receive timeouts on the listening sockets, before any worker
    starts. Accepted connections inherit them, and they hold through gunicorn's blocking reads and writes."""
    interval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))

    def when_ready(server: Any) -> None:
        for listener in server.LISTENERS:
            listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
            listener.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)

    return when_ready


def _worker_exited(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def serve(settings: Settings) -> None:
    """Build if the sources changed (keeping the last good build if that fails), then serve until stopped."""
    try:
        outcome = build(settings)
        log.info("serving build %s", outcome.build.digest)
    except MlcloudkgError as error:
        current_build(settings)  # raises BuildNotFound if there is nothing to serve
        log.error("the sources do not build (%s); serving the last good build", error)
    # Metrics of all workers are summed through files in this directory (prometheus_client multiprocess mode).
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="mlcloudkg-metrics-"))
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
        "child_exit": _worker_exited,
        "when_ready": _time_out_silent_clients(settings.client_timeout),
        "limit_request_line": 8190,
        "limit_request_field_size": 16384,
    }
    _Server(settings, options).run()
