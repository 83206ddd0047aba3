"""Fault injection: servers over throw-away copies of the project, launched with limits (a read-only build
directory, a disk that cannot take a file) and helpers to wait for what the service reports."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mlcloudkg.config import Settings

from ..conftest import LiveServer

ARTICLE = "article-colab-vs-gradient-2020-12-17.trig"
DEEPNOTE = """PREFIX kg: <https://w3id.org/mlcloudkg/id/> PREFIX schema: <https://schema.org/>
SELECT (COUNT(*) AS ?triples) (SAMPLE(?name) AS ?deepnote)
WHERE { { ?s ?p ?o } UNION { kg:deepnote schema:name ?name } }"""
RELOAD_SECONDS = "0.25"

# Root may write anywhere; a read-only directory only holds for a server without that power. This launcher drops
# it (the capabilities to override file permissions) from the bounding set, then runs the server.
WITHOUT_ROOT_OVERRIDE = [
    sys.executable,
    "-c",
    "import ctypes, os, sys\n"
    "if os.geteuid() == 0:\n"
    "    libc = ctypes.CDLL(None, use_errno=True)\n"
    "    for capability in (1, 2, 3):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER\n"
    "        if libc.prctl(24, capability, 0, 0, 0):  # PR_CAPBSET_DROP\n"
    "            raise SystemExit('cannot drop the capability to override file permissions')\n"
    "os.execv(sys.argv[1], sys.argv[1:])",
]


def with_file_size_limit(max_bytes: int) -> list[str]:
    """A launcher under which no file can grow past `max_bytes`: a write beyond fails (EFBIG), as on a full disk."""
    return [
        sys.executable,
        "-c",
        "import os, resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({max_bytes}, {max_bytes}))\n"
        "os.execv(sys.argv[1], sys.argv[1:])",
    ]


def serve_copy(settings: Settings, *options: str, **kwargs: Any) -> LiveServer:
    """A server over a project copy, looking for changed sources and new builds four times a second."""
    environment = {"MLCLOUDKG_RELOAD_SECONDS": RELOAD_SECONDS, **kwargs.pop("environment", {})}
    return LiveServer(settings, "--workers", "2", "--evaluators", "1", *options, environment=environment, **kwargs)


def health(server: LiveServer) -> dict[str, Any]:
    return requests.get(server.url + "/healthz", timeout=10).json()


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    """Poll `condition` until it returns something true, and return that; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        outcome = condition()
        if outcome:
            return outcome
        time.sleep(0.1)
    raise AssertionError(f"after {seconds} s, still not {what}")


def settled_health(server: LiveServer, predicate: Callable[[dict[str, Any]], bool], seconds: float = 60) -> dict:
    """Wait until /healthz satisfies `predicate` five times running (requests reach both workers), and return it."""

    def five_in_a_row() -> dict[str, Any] | None:
        answers = [health(server) for _ in range(5)]
        return answers[-1] if all(predicate(a) for a in answers) else None

    return wait_for(five_in_a_row, seconds, "in the expected state")


def deepnote(server: LiveServer) -> tuple[int, str]:
    """The number of triples and Deepnote's name: which build answered, and whether all of it did."""
    response = requests.get(
        server.url + "/sparql",
        params={"query": DEEPNOTE},
        headers={"Accept": "application/sparql-results+json"},
        timeout=15,
    )
    assert response.status_code == 200, response.text
    row = response.json()["results"]["bindings"][0]
    return int(row["triples"]["value"]), row["deepnote"]["value"]


def settled_deepnote(server: LiveServer, name: str, seconds: float = 30) -> tuple[int, str]:
    """Wait until the query names Deepnote `name` five times running, and return the last answer. After a switch,
    /healthz five times running may all have reached one web worker; the other switches within its reload time."""

    def five_in_a_row() -> tuple[int, str] | None:
        answers = [deepnote(server) for _ in range(5)]
        return answers[-1] if all(answer[1] == name for answer in answers) else None

    return wait_for(five_in_a_row, seconds, f"answering from the build that names Deepnote {name!r}")


class Article:
    """The article's data file of a project copy, to break and mend: each write starts from the original text."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.data_dir / ARTICLE
        self.original = self.path.read_text()

    def name_deepnote(self, name: str) -> None:
        self.path.write_text(self.original.replace('schema:name "Deepnote" ;', f'schema:name "{name}" ;'))

    def break_syntax(self) -> None:
        self.path.write_text(self.original + "\nthis line is not TriG\n")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Callable[[Path], None]]:
    """Make directories read-only (every file and directory below), and writable again after the test."""
    locked: list[Path] = []

    def lock(directory: Path) -> None:
        for path in [directory, *directory.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode & ~0o222)
        locked.append(directory)

    yield lock
    for directory in locked:
        for path in [directory, *directory.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (from /proc): tells a busy process from an idle one."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def has_ended(pid: int) -> bool:
    """Whether a process has exited, every thread of it (its parent can then tell): after SIGKILL that takes a
    moment, and the main thread shows as a zombie while the others still exit."""
    try:
        states = [t.read_text().rsplit(")", 1)[1].split()[0] for t in Path(f"/proc/{pid}/task").glob("*/stat")]
    except FileNotFoundError:  # reaped, or a thread ended while we looked
        return not Path(f"/proc/{pid}").exists()
    return all(state in ("Z", "X") for state in states)


def command_line(pid: int) -> str:
    """A process's command line; empty for one that ended (or a zombie)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except FileNotFoundError:
        return ""


def idle_query_workers(server: LiveServer, count: int) -> dict[int, float]:
    """The query workers and their CPU time, once `count` of them are up and none computes: a replacement still
    starting, or a query of an earlier test, would otherwise pass for the worker evaluating a new query."""

    def quiet() -> dict[int, float] | None:
        try:
            first = {pid: cpu_seconds(pid) for pid in query_workers(server)}
            time.sleep(0.3)
            second = {pid: cpu_seconds(pid) for pid in query_workers(server)}
        except OSError:  # one ended while we looked
            return None
        return second if len(second) == count and second == first else None

    return wait_for(quiet, 30, f"{count} idle query workers")


def web_workers(server: LiveServer) -> list[int]:
    """The web workers of a server: the children gunicorn forked (with its command line; the others are the
    watcher and multiprocessing's resource tracker)."""
    master = command_line(server.process.pid)
    return [p for p in children(server.process.pid) if command_line(p) == master]


def query_workers(server: LiveServer) -> list[int]:
    """The query evaluation processes of a server: spawned by its web workers."""
    return [e for w in web_workers(server) for e in children(w) if "spawn_main" in command_line(e)]
