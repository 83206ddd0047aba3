"""The second wall: what a query that gets past the guard can still not do in a query worker — reach the network,
exhaust the machine's memory, or crash the engine by recursion."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from mlcloudkg.endpoint.executor import Evaluation, Evaluators
from mlcloudkg.errors import QueryOutOfMemory, QueryRejected

from .conftest import Listener

JSON = "application/sparql-results+json"


def network_isolation_works() -> bool:
    """Whether this system lets a process take a network namespace of its own (a container may forbid it)."""
    probe = "from mlcloudkg.endpoint.sandbox import isolate_network; raise SystemExit(isolate_network() is not None)"
    return subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_a_service_clause_that_got_past_the_guard_reaches_nothing(
    evaluators: Evaluators, canary_listener: Listener
) -> None:
    if not network_isolation_works():
        pytest.skip("this system does not allow network namespaces: the guard is the only wall here")
    query = f"SELECT * WHERE {{ SERVICE <{canary_listener.url}> {{ ?s ?p ?o }} }}"
    with pytest.raises(QueryRejected, match="could not be evaluated"):
        evaluators.evaluate(Evaluation(query, JSON))
    time.sleep(0.5)
    assert canary_listener.connections == []


def test_a_query_that_blows_up_a_string_is_stopped_at_the_memory_cap(evaluators: Evaluators) -> None:
    """Each BIND makes the string 8 times longer: from 16 bytes to 16 GB in ten steps, in a query of 1 KB."""
    binds = " ".join(
        f"BIND(CONCAT(?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}, ?s{i}) AS ?s{i + 1})" for i in range(10)
    )
    query = f"SELECT (STRLEN(?s10) AS ?n) WHERE {{ BIND('aaaaaaaaaaaaaaaa' AS ?s0) {binds} }}"
    started = time.monotonic()
    with pytest.raises(QueryOutOfMemory) as refused:
        evaluators.evaluate(Evaluation(query, JSON))
    assert refused.value.status == 422
    assert "400 MB of memory" in refused.value.problem
    assert time.monotonic() - started < evaluators.timeout  # stopped by the cap, not the time limit
    assert b'"value":"1"' in evaluators.evaluate(Evaluation("SELECT (1 AS ?one) {}", JSON)).body


def test_a_deeply_recursive_query_does_not_crash_the_engine(evaluators: Evaluators) -> None:
    """99,000 negations: the engine recurses once per `!`, which overflowed the default stack at 20,000."""
    answer = evaluators.evaluate(Evaluation("ASK { FILTER(" + "!" * 99_000 + "true) }", JSON))
    assert b'"boolean":true' in answer.body
