"""What a web worker serves (web/live.py): the service list is read before the first request needs it."""

from __future__ import annotations

import time

from mlcloudkg.config import Settings
from mlcloudkg.web.live import LiveDataset


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
