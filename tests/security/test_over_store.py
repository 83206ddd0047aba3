"""The hostile requests that would make a store act for a client (SERVICE calls, FROM reads, updates) sent to a
replica over a real store (`serve --store`, tests/conftest.py): our guard refuses each before the store sees it, so
nothing reaches the canary listener or file even though Oxigraph's server itself runs SERVICE and updates."""

from __future__ import annotations

import pytest

from ..conftest import LiveServer
from .hostile import CASES, FILE_READ, SSRF, UPDATE, Case, send
from .test_hostile_input import Witnesses, alive_within, file_canary, witnesses  # noqa: F401 (fixtures)

ACTING = [c for c in CASES if c.category in {SSRF, FILE_READ, UPDATE}]


@pytest.mark.parametrize("hostile", ACTING, ids=[f"{c.category}: {c.name}" for c in ACTING])
def test_hostile_request_over_a_store(replica: LiveServer, hostile: Case, witnesses: Witnesses) -> None:  # noqa: F811
    reply = send(replica.url, hostile.request(witnesses.targets))
    witnesses.check(reply, hostile)
    assert alive_within(replica, 2)
