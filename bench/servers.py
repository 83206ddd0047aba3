"""The servers under test, each started as its own process group on 127.0.0.1 and a free port, timed from the start
of the process until it answers, watched for memory (peak RSS of the whole process tree: gunicorn's workers and our
query evaluators included), and always stopped, even when the benchmark fails."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

READY_TIMEOUT = 1800.0  # rdflib-endpoint parses the whole dataset before it answers
SETTLE_LIMIT = 300.0  # Oxigraph's server took up to 31 s on one abandoned 1M query
IDLE_SHARE = 0.05  # of one core: what an idle server tree (gunicorn's heartbeats, memory watch) stays under


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _tree(pid: int) -> list[psutil.Process]:
    """A process and all its descendants; none if it has ended."""
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (shared pages counted in each: an upper
    bound for a pre-fork server)."""
    return rss(_tree(pid))


def _cpu_seconds(servers: list[Server]) -> dict[int, float]:
    """CPU seconds used so far by every process of these servers' trees, by pid."""
    used: dict[int, float] = {}
    for server in servers:
        for process in _tree(server.process.pid):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                used[process.pid] = times.user + times.system
    return used


def rss(processes: list[psutil.Process]) -> int:
    """Resident memory of these processes, in bytes; one that has ended counts nothing."""
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


@dataclass
class Server:
    """A running server: its process group, where it answers, and the memory it has used so far."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    ready_path: str
    log_path: Path
    started_at: float = 0.0  # time.perf_counter() when the process was started
    startup_seconds: float = float("nan")
    peak_rss: int = 0
    _watching: threading.Event = field(default_factory=threading.Event)

    def watch_memory(self, interval: float = 0.2) -> None:
        """Sample the process tree's RSS in the background until the server stops."""

        def sample() -> None:
            while not self._watching.is_set():
                self.peak_rss = max(self.peak_rss, tree_rss(self.process.pid))
                self._watching.wait(interval)

        threading.Thread(target=sample, daemon=True).start()

    def rss_now(self) -> int:
        return tree_rss(self.process.pid)

    def first_answer_seconds(self, path: str) -> float:
        """Seconds from the start of the process until its answer to GET `path` (asked once, now): what a user who
        asks as soon as the server is up waits, whatever the server must read first."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=READY_TIMEOUT)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
        finally:
            connection.close()
        if response.status != 200:
            raise RuntimeError(f"{self.name} answered GET {path} with HTTP {response.status}; see {self.log_path}")
        return time.perf_counter() - self.started_at

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL after 15 s."""
        self._watching.set()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        # Evaluator processes may outlive a killed parent: end whatever is left of the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _answers(port: int, path: str) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Accept": "application/sparql-results+json, */*;q=0.1"})
        return connection.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def start(
    name: str, command: list[str], port: int, ready_path: str, log_path: Path, *, env: dict[str, str] | None = None
) -> Server:
    """Start `command` in a new session (its own process group) and wait until GET `ready_path` answers 200."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    server = Server(name, process, port, ready_path, log_path, started_at=started)
    server.watch_memory()
    try:
        while not _answers(port, ready_path):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} before answering; see {log_path}")
            if time.perf_counter() - started > READY_TIMEOUT:
                raise RuntimeError(f"{name} did not answer within {READY_TIMEOUT:.0f} s; see {log_path}")
            time.sleep(0.02)
    except BaseException:
        server.stop()
        raise
    server.startup_seconds = time.perf_counter() - started
    return server


class Fleet:
    """Every server started in a run, stopped together on exit whatever happened."""

    def __init__(self) -> None:
        self.servers: list[Server] = []
        self.settled_seconds = 0.0  # waited in settle(), all calls together

    def add(self, server: Server) -> Server:
        self.servers.append(server)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.servers:
            self.servers.remove(server)

    def settle(self, interval: float = 0.25, limit: float = SETTLE_LIMIT) -> float:
        """Wait until no server uses the CPU, and return the seconds waited.

        A server may go on computing a query its client gave up on (Oxigraph's does, to the end); measured next, another
        server would share the machine with it. At most `limit` seconds: a server still busy then is reported, not
        waited for."""
        started = time.perf_counter()
        before = _cpu_seconds(self.servers)
        while time.perf_counter() - started < limit:
            time.sleep(interval)
            after = _cpu_seconds(self.servers)
            busy = sum(after[pid] - before[pid] for pid in after.keys() & before.keys())
            if busy < IDLE_SHARE * interval:
                break
            before = after
        else:
            print(f"  servers still busy after {limit:.0f} s; measuring anyway", flush=True)
        waited = time.perf_counter() - started
        self.settled_seconds += waited
        return waited

    @contextlib.contextmanager
    def running(self) -> Iterator[Fleet]:
        try:
            yield self
        finally:
            for server in reversed(self.servers):
                server.stop()
            self.servers.clear()
