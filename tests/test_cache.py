"""The result cache: identical queries arriving together are evaluated once, an error reaches every waiter and is
not kept, and the query slots bound how many requests wait on queries at all."""

from __future__ import annotations

import threading
import time

import pytest

from mlcloudkg.endpoint.cache import ResultCache
from mlcloudkg.endpoint.executor import Admission, Answer
from mlcloudkg.errors import EngineBusy, QueryTimeout


def slow_answer(calls: list[int], seconds: float = 0.3) -> Answer:
    calls.append(1)
    time.sleep(seconds)
    return Answer(b"answer", "text/csv", seconds)


def ask_together(cache: ResultCache, compute, count: int, admission: Admission) -> list[tuple[object, str]]:
    outcomes: list[tuple[object, str]] = []

    def ask() -> None:
        try:
            outcomes.append(cache.get_or_compute("key", compute, admission))
        except Exception as error:  # recorded, compared below
            outcomes.append((error, "error"))

    threads = [threading.Thread(target=ask) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    return outcomes


def test_identical_queries_arriving_together_are_evaluated_once() -> None:
    cache, calls = ResultCache(1_000_000), []
    outcomes = ask_together(cache, lambda: slow_answer(calls), 8, Admission(8))
    assert len(calls) == 1
    assert sorted(kind for _, kind in outcomes) == ["miss"] + ["shared"] * 7
    assert {answer.body for answer, _ in outcomes} == {b"answer"}
    assert cache.get_or_compute("key", lambda: slow_answer(calls), Admission(1))[1] == "hit"


def test_an_error_reaches_every_waiter_and_is_not_kept() -> None:
    cache, calls = ResultCache(1_000_000), []

    def fail() -> Answer:
        calls.append(1)
        time.sleep(0.3)
        raise QueryTimeout("the query ran longer than 1 s and was stopped")

    outcomes = ask_together(cache, fail, 4, Admission(4))
    assert len(calls) == 1
    assert all(isinstance(error, QueryTimeout) for error, _ in outcomes)
    assert cache.get("key") is None


def test_requests_beyond_the_query_slots_are_turned_away_after_a_moment() -> None:
    admission = Admission(1, patience=0.2)
    with admission.slot():
        started = time.monotonic()
        with (
            pytest.raises(EngineBusy, match=r"all 1 query slots of this worker stayed taken for 0\.2 s"),
            admission.slot(),
        ):
            pass
        assert 0.2 <= time.monotonic() - started < 1
    with admission.slot():  # free again
        pass
