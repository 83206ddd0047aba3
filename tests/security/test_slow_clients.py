"""Clients that stop sending halfway, or never read the answer, cannot hold the service's request threads (slowloris):
a connection silent for longer than the client timeout is dropped.

gunicorn then closes it gracefully from its main loop, waiting up to 2 s for the client to close too; the bounds
below allow for that (see serve.py: a reverse proxy in front is the cure for hostile clients in numbers)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
import requests

from mlcloudkg.config import Settings

from ..conftest import LiveServer

pytestmark = pytest.mark.slow

THREADS = 2
CLIENT_TIMEOUT = 1.0
CLOSE_LINGER = 2.0  # gunicorn's graceful close


@pytest.fixture(scope="module")
def server(settings: Settings, kg) -> Iterator[LiveServer]:
    """One worker with few threads, so that a handful of silent clients would be enough to block it."""
    live = LiveServer(
        settings,
        *("--workers", "1", "--threads", str(THREADS), "--evaluators", "1"),
        environment={"MLCLOUDKG_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT)},
    )
    yield live
    live.stop()


def half_requests(server: LiveServer, count: int, text: bytes) -> list[socket.socket]:
    connections = []
    for _ in range(count):
        connection = socket.create_connection(("127.0.0.1", server.port))
        connection.sendall(text)
        connections.append(connection)
    return connections


def answered_within(server: LiveServer, seconds: float) -> bool:
    started = time.monotonic()
    response = requests.get(server.url + "/sparql", params={"query": f"ASK {{}} # {started}"}, timeout=30)
    return response.status_code == 200 and time.monotonic() - started < seconds


def dropped(connection: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection (after its answer, if it sends one) within `seconds`."""
    connection.settimeout(seconds)
    try:
        while connection.recv(65536):
            pass
    except TimeoutError:
        return False
    return True


@pytest.mark.parametrize(
    "half",
    [
        pytest.param(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", id="headers never finished"),
        pytest.param(
            b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
            b"Content-Length: 1000\r\n\r\nSELECT",
            id="body never finished",
        ),
    ],
)
def test_silent_clients_are_dropped_and_do_not_block_others(server: LiveServer, half: bytes) -> None:
    silent = half_requests(server, 2 * THREADS, half)
    try:
        # Two rounds of threads held for the client timeout, each dropped connection lingering in the close.
        assert answered_within(server, 2 * CLIENT_TIMEOUT + len(silent) * CLOSE_LINGER + 3)
        assert all(dropped(connection, len(silent) * (CLIENT_TIMEOUT + CLOSE_LINGER) + 5) for connection in silent)
    finally:
        for connection in silent:
            connection.close()
    assert answered_within(server, 2)


def test_a_body_cut_short_is_a_clear_400(server: LiveServer) -> None:
    (connection,) = half_requests(
        server,
        1,
        b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
        b"Content-Length: 100\r\n\r\nSELECT",
    )
    connection.settimeout(CLIENT_TIMEOUT + CLOSE_LINGER + 5)
    answer = b""
    while chunk := connection.recv(4096):  # until the server closes the connection
        answer += chunk
    connection.close()
    answer = answer.decode()
    assert answer.startswith("HTTP/1.1 400")
    assert "the request body stopped before the 100 bytes its Content-Length announced" in answer


def test_clients_that_never_read_their_answer_are_dropped(server: LiveServer) -> None:
    """Each asks for a 10 MB answer, more than the socket buffers hold, and reads nothing."""
    query = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } LIMIT 40000"
    request = f"GET /sparql?query={requests.utils.quote(query)} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    readers = []
    for _ in range(THREADS):
        connection = socket.socket()
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        connection.connect(("127.0.0.1", server.port))
        connection.sendall(request)
        readers.append(connection)
    try:
        assert all(dropped(connection, THREADS * (CLIENT_TIMEOUT + CLOSE_LINGER) + 10) for connection in readers)
    finally:
        for connection in readers:
            connection.close()
    assert answered_within(server, 2)
