"""Hostile requests, one test each (hostile.py lists them by category): each gets the expected clean 4xx or a
bounded answer, nothing reaches the canary listener, the canary file is not read, no answer shows a traceback or
an internal path, and the service answers a fresh query within 2 s afterwards."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest
import requests

from mlcloudkg.config import Settings

from ..conftest import LiveServer
from .conftest import CanaryFile, Listener
from .hostile import CASES, DENIAL, Case, Reply, Request, Targets, get, send

QUERY_TIMEOUT = 3.0  # the session server's (tests/conftest.py)


@dataclass(frozen=True)
class Witnesses:
    """What proves that a request did no harm: the canary listener, the canary file, and the server's internals
    that no answer may show (a traceback, the paths of its code, libraries and builds)."""

    listener: Listener
    file: CanaryFile
    internals: tuple[str, ...]

    @property
    def targets(self) -> Targets:
        return Targets(self.listener.url, self.file.path)

    def check(self, reply: Reply, hostile: Case) -> None:
        assert reply.status in hostile.expect, f"{reply.status}: {reply.text[:300]}"
        if hostile.says:
            assert hostile.says in reply.text
        assert not any(leak in reply.text for leak in self.internals), reply.text[:500]
        assert self.file.secret not in reply.text
        limit = QUERY_TIMEOUT + 5 if hostile.category == DENIAL else 5
        assert reply.seconds < limit, f"answered after {reply.seconds:.1f} s"
        assert self.listener.connections == []
        assert not self.file.was_read()


@pytest.fixture
def witnesses(canary_listener: Listener, file_canary: CanaryFile, settings: Settings) -> Witnesses:
    internals = ("Traceback", 'File "', "site-packages", sys.prefix, str(settings.root), str(settings.build_dir))
    return Witnesses(canary_listener, file_canary, internals)


@pytest.fixture(scope="session")
def file_canary(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> CanaryFile:
    """The canary file, with reads detected where the file system records them (elsewhere only its secret is
    looked for in answers: skipping for noatime would skip everything else these tests check too)."""
    try:
        return request.getfixturevalue("canary_file")
    except pytest.skip.Exception:
        path = tmp_path_factory.mktemp("canary-noatime") / "secret.ttl"
        path.write_text('<urn:x> <urn:y> "canary-3f7a91" .\n')
        return NoAtimeCanary(path, "canary-3f7a91")


class NoAtimeCanary(CanaryFile):
    def was_read(self) -> bool:
        return False  # cannot be told on this file system


def alive_within(server: LiveServer, seconds: float) -> bool:
    """A query never asked before (so not cached) is answered within `seconds`."""
    started = time.monotonic()
    response = requests.get(server.url + "/sparql", params={"query": f"ASK {{}} # {uuid.uuid4()}"}, timeout=30)
    return response.status_code == 200 and time.monotonic() - started < seconds


@pytest.mark.parametrize("hostile", CASES, ids=[f"{c.category}: {c.name}" for c in CASES])
def test_hostile_request(server: LiveServer, hostile: Case, witnesses: Witnesses) -> None:
    reply = send(server.url, hostile.request(witnesses.targets))
    witnesses.check(reply, hostile)
    assert alive_within(server, 2)


def test_many_slow_queries_at_once_are_each_bounded(server: LiveServer, witnesses: Witnesses) -> None:
    """Sixteen clients send a query that would run for minutes, at once: each is stopped or turned away within
    twice the time limit (a query waits for a free worker at most as long as it may run), and the service answers
    at once afterwards."""
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } # "
    hostile = Case(DENIAL, "16 slow queries at once", lambda t: get(slow), frozenset({503}), "")
    replies: list[Reply] = []

    def client(number: int) -> None:
        replies.append(send(server.url, get(slow + str(number))))

    clients = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join(timeout=120)
    assert len(replies) == 16
    for reply in replies:
        witnesses.check(Reply(reply.status, reply.text, min(reply.seconds, QUERY_TIMEOUT)), hostile)
        assert reply.seconds < 2 * QUERY_TIMEOUT + 5  # the wait for a worker, the time limit, starting a worker
    assert alive_within(server, 2)


def test_the_suite_covers_every_category_with_at_least_60_distinct_requests(tmp_path) -> None:
    targets = Targets("http://127.0.0.1:9/canary", tmp_path / "secret.ttl")
    distinct = {_fingerprint(c.request(targets)) for c in CASES}
    assert len(distinct) == len(CASES) >= 60
    per_category = Counter(c.category for c in CASES)
    assert len(per_category) == 5 and min(per_category.values()) >= 10


def _fingerprint(request: Request) -> tuple:
    return (
        request.method,
        request.path,
        tuple(request.params),
        request.data,
        tuple(request.headers.items()),
        request.raw,
    )
