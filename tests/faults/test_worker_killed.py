"""A query worker killed in the middle of a query: the client gets a clear 5xx at once (not after the time limit),
and the next request is answered. One killed while idle costs no query at all."""

from __future__ import annotations

import os
import signal
import threading
import time

import requests

from ..conftest import LiveServer
from .conftest import cpu_seconds, has_ended, idle_query_workers, query_workers, wait_for

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
EVALUATORS = 2  # the session server's


def test_a_worker_killed_mid_query_is_a_clear_500_and_the_next_request_succeeds(server: LiveServer) -> None:
    before = idle_query_workers(server, EVALUATORS)
    outcome: dict[str, object] = {}

    def ask() -> None:
        started = time.monotonic()
        response = requests.get(server.url + "/sparql", params={"query": f"{SLOW} # {started}"}, timeout=30)
        outcome.update(status=response.status_code, text=response.text, seconds=time.monotonic() - started)

    client = threading.Thread(target=ask)
    client.start()
    busy = wait_for(
        lambda: [pid for pid, cpu in before.items() if cpu_seconds(pid) > cpu + 0.05], 3, "a worker evaluating it"
    )
    killed_at = time.monotonic()
    os.kill(busy[0], signal.SIGKILL)
    client.join(timeout=30)
    assert outcome["status"] == 500
    assert "the query engine stopped while evaluating this query; the service is still up" in str(outcome["text"])
    assert time.monotonic() - killed_at < 2  # told at once, not at the time limit
    for number in range(4):  # both workers answer, the replacement included
        answer = requests.get(server.url + "/sparql", params={"query": f"ASK {{}} # after {number}"}, timeout=10)
        assert answer.status_code == 200
    assert len(query_workers(server)) == len(before)


def test_a_worker_killed_while_idle_is_replaced_and_no_query_fails(server: LiveServer) -> None:
    idle = idle_query_workers(server, EVALUATORS)
    killed = next(iter(idle))
    os.kill(killed, signal.SIGKILL)
    wait_for(lambda: has_ended(killed), 10, "the killed worker ended")  # the kill takes effect, not at once
    for number in range(2 * EVALUATORS):  # every worker in the queue is taken at least once
        answer = requests.get(server.url + "/sparql", params={"query": f"ASK {{}} # idle kill {number}"}, timeout=10)
        assert answer.status_code == 200, answer.text
    replaced = idle_query_workers(server, EVALUATORS)
    assert killed not in replaced
