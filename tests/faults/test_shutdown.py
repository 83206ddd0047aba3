"""SIGTERM while requests are in flight: they all complete, then the server exits cleanly (graceful drain)."""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from mlcloudkg.config import Settings

from ..conftest import LiveServer

pytestmark = pytest.mark.slow

SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f }"  # about 1.5 s: 7 million rows counted


def test_sigterm_lets_requests_in_flight_finish(settings: Settings, kg) -> None:
    # A generous time limit: on a machine busy with other tests, the queries must still finish, not time out.
    server = LiveServer(settings, "--workers", "2", "--evaluators", "2", "--query-timeout", "60", "--no-watch")
    expected = requests.get(server.url + "/sparql", params={"query": SLOW}, timeout=30).json()
    dump = requests.get(server.url + "/download/mlcloudkg.nq", timeout=30).content
    answers: dict[str, requests.Response | BaseException] = {}

    def fetch(name: str, path: str, **params: str) -> None:
        try:
            answers[name] = requests.get(server.url + path, params=params, timeout=60)
        except requests.RequestException as error:
            answers[name] = error

    clients = [
        threading.Thread(target=fetch, args=(f"query {n}", "/sparql"), kwargs={"query": f"{SLOW} # {n}"})
        for n in range(4)
    ] + [threading.Thread(target=fetch, args=(f"download {n}", "/download/mlcloudkg.nq")) for n in range(4)]
    for client in clients:
        client.start()
    time.sleep(0.7)  # all sent and being answered: the queries take longer than this
    server.process.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    for client in clients:
        client.join(timeout=60)
    assert server.process.wait(timeout=60) == 0
    # Drained before gunicorn's 30 s graceful timeout would have cut the workers off (a busy machine may take half
    # of it: the queries share two cores with the rest of the suite).
    assert time.monotonic() - stopping < 29
    for name, answer in answers.items():
        assert isinstance(answer, requests.Response), f"{name}: {answer}"
        assert answer.status_code == 200, name
        if name.startswith("query"):
            assert answer.json()["results"] == expected["results"]
        else:
            assert answer.content == dump, name
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/healthz", timeout=5)
