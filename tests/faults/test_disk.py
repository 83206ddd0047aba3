"""A build directory that is read-only, a disk that takes no more, a metrics directory that cannot be used: the
service keeps answering from the build it has open, and /healthz says what is wrong."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from mlcloudkg.build import build
from mlcloudkg.config import Settings
from mlcloudkg.rebuild import describe_failure

from .conftest import WITHOUT_ROOT_OVERRIDE, Article, deepnote, health, serve_copy, settled_health, with_file_size_limit

pytestmark = pytest.mark.slow


def answers_everything(url: str) -> bool:
    """A query, a download and the metrics all answer."""
    query = requests.get(url + "/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=15)
    download = requests.get(url + "/download/mlcloudkg.ttl", timeout=15)
    metrics = requests.get(url + "/metrics", timeout=15)
    return (query.status_code, download.status_code, metrics.status_code) == (200, 200, 200)


def test_a_read_only_build_directory_serves_its_build_and_reports_rebuilds_it_cannot_write(
    project_copy: Callable[[], Settings], read_only: Callable[[Path], None]
) -> None:
    settings = project_copy()
    good = build(settings).build.digest
    read_only(settings.build_dir)
    server = serve_copy(settings, launcher=WITHOUT_ROOT_OVERRIDE)
    try:
        assert health(server)["status"] == "ok"
        assert answers_everything(server.url)
        Article(settings).name_deepnote("Deepnote Inc.")
        degraded = settled_health(server, lambda h: h["status"] == "degraded")
        assert degraded["serving"]["build"] == good
        assert "the new build could not be written: Permission denied" in degraded["problems"][0]
        assert deepnote(server)[1] == "Deepnote"
        assert answers_everything(server.url)
    finally:
        server.stop()


def test_a_full_disk_keeps_the_last_good_build_in_service(project_copy: Callable[[], Settings]) -> None:
    """Simulated with a limit on file size: every write past 200 KB fails, as on a full disk (the N-Quads download
    of a build is 560 KB, the metrics files 1 MB)."""
    settings = project_copy()
    good = build(settings).build.digest
    server = serve_copy(settings, launcher=with_file_size_limit(200_000))
    try:
        assert answers_everything(server.url)
        Article(settings).name_deepnote("Deepnote Inc.")
        degraded = settled_health(server, lambda h: any("could not be written" in p for p in h["problems"]))
        assert degraded["status"] == "degraded"
        assert degraded["serving"]["build"] == good
        assert any("File too large (the disk is full?)" in p for p in degraded["problems"])
        assert any("metrics are counted per worker process" in p for p in degraded["problems"])
        assert deepnote(server)[1] == "Deepnote"
        assert answers_everything(server.url)
        assert not list((settings.build_dir / "builds").glob(".staging-*"))  # the failed build left nothing
    finally:
        server.stop()


def test_the_stores_write_errors_say_the_disk_is_full_without_naming_the_file(
    settings: Settings, tmp_path: Path
) -> None:
    """RocksDB's errors reach Python as an OSError with no errno: the system's words are in the message only."""
    fill_a_store = (
        "import pyoxigraph as ox, sys\n"
        "try:\n"
        f"    store = ox.Store({str(tmp_path / 'store')!r})\n"
        "    for i in range(100_000):\n"
        "        store.add(ox.Quad(ox.NamedNode(f'urn:x:{i}'), ox.NamedNode('urn:p'), ox.Literal('x' * 50)))\n"
        "except OSError as error:\n"
        "    print(error.errno, error, sep='|')"
    )
    writer = [*with_file_size_limit(200_000), sys.executable, "-c", fill_a_store]
    number, message = subprocess.run(writer, capture_output=True, text=True, check=True).stdout.strip().split("|")
    assert number == "None"
    assert "File too large" in message
    described = describe_failure(OSError(message), settings)
    assert described == "the new build could not be written: File too large (the disk is full?)"


def test_an_unusable_metrics_directory_costs_no_answer(settings: Settings, kg) -> None:
    """Below a regular file, no directory can exist, for root either."""
    server = serve_copy(settings, "--no-watch", environment={"PROMETHEUS_MULTIPROC_DIR": "/dev/null/metrics"})
    try:
        for _ in range(5):
            assert answers_everything(server.url)
        status = health(server)
        assert status["status"] == "degraded"
        assert status["problems"] == [
            "metrics are counted per worker process, not summed over workers: their directory is unusable "
            "(Not a directory)"
        ]
        assert "mlcloudkg_http_requests_total" in requests.get(server.url + "/metrics", timeout=5).text
    finally:
        server.stop()
