"""What a web worker serves (web/live.py): the service list is read before the first request needs it, and the
downloads written from a store are not kept for every version."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mlcloudkg.config import Settings
from mlcloudkg.web.live import LiveDataset, prune_downloads


def test_the_service_list_is_read_ahead_when_a_build_is_opened(settings: Settings, kg) -> None:
    live = LiveDataset(settings)
    try:
        served = live.current()
        deadline = time.monotonic() + 30
        while served.kg._services is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert served.kg._services == kg.services()
    finally:
        live.close()


def test_older_versions_of_a_stores_downloads_are_removed(tmp_path: Path) -> None:
    now = time.time()
    ages = {"v1": 300, "v2": 200, "v3": 100, "v4": 0, ".writing-died": 2 * 86400, ".writing-busy": 60}
    for name, age in ages.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "mlcloudkg.ttl").write_text("")
        os.utime(tmp_path / name, (now - age, now - age))
    removed = prune_downloads(tmp_path / "v3")  # a worker that has just written v3, while another serves v4
    assert sorted(p.name for p in removed) == [".writing-died", "v1", "v2"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".writing-busy", "v3", "v4"]
