"""Query workers: a worker that dies mid-query is reported as such, replaced, and the next query is answered."""

from __future__ import annotations

import os
import signal
import threading
import time

from mlcloudkg.endpoint.executor import Evaluation, Evaluators, _Worker
from mlcloudkg.errors import EvaluationFailed, QueryTimeout

from .faults.conftest import cpu_seconds

JSON = "application/sparql-results+json"


def test_a_killed_worker_is_reported_and_replaced(evaluators: Evaluators) -> None:
    outcome: dict[str, BaseException] = {}

    def slow() -> None:
        try:
            evaluators.evaluate(Evaluation("SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }", JSON))
        except (EvaluationFailed, QueryTimeout) as error:
            outcome["error"] = error

    thread = threading.Thread(target=slow)
    thread.start()
    busy = running_worker(evaluators)
    os.kill(busy.process.pid, signal.SIGKILL)
    thread.join(timeout=10)
    assert isinstance(outcome["error"], EvaluationFailed)
    assert outcome["error"].status == 500
    assert "the service is still up" in outcome["error"].problem
    for _ in range(3):  # every worker answers, the replacement included
        assert b'"value":"2"' in evaluators.evaluate(Evaluation("SELECT (2 AS ?two) {}", JSON)).body


def running_worker(evaluators: Evaluators) -> _Worker:
    """The worker evaluating a query (taken from the idle queue), once it has spent CPU time on it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        idle = set(evaluators._idle.queue)
        busy = [w for w in list(evaluators._all) if w not in idle and cpu_seconds(w.process.pid) > 0.05]
        if busy:
            return busy[0]
        time.sleep(0.05)
    raise AssertionError("no worker started the query")
