"""A bounded HTTP load generator: latency of one query at a time, and throughput of a query mix at N clients.

Each client is a thread with its own keep-alive connection (the standard library's http.client: the lightest
Python client, so that the generator takes as little of the machine's two cores as it can). Every loop is bounded
by a sample count or a deadline; a request that fails or times out is counted as an error, never retried.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import math
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

SPARQL_JSON = "application/sparql-results+json"
# Every request to a server gets a number of its own, which the workload writes into the query text: a text sent
# twice would be answered by our result cache the second time, and Oxigraph's server has none. (Numbered per
# latency run and per client before, rounds 2 and 3 sent round 1's texts again.) One count per server and kind of
# request, so that the n-th question of a kind is the same on every server, however many of the other kinds a
# latency run's time budget let through; setdefault and next() on a count are atomic.
_REQUEST_NUMBERS: dict[tuple[str, RequestMaker], itertools.count[int]] = {}


def request_number(endpoint: Endpoint, make: RequestMaker) -> int:
    return next(_REQUEST_NUMBERS.setdefault((endpoint.name, make), itertools.count()))


@dataclass(frozen=True)
class Endpoint:
    """Where a server answers: its SPARQL path, on 127.0.0.1."""

    name: str
    port: int
    sparql_path: str


@dataclass(frozen=True)
class Request:
    """One HTTP request: a SPARQL query (POSTed as a form) or a GET of one of our own pages."""

    sparql: str = ""
    page: str = ""  # a path with its query string, answered as JSON (our /compare and /find)


# A request of a workload item, made fresh for each send (the n-th of its kind): varies the provider asked about and
# adds a comment that makes every query text unique, so that no server answers from a result cache.
RequestMaker = Callable[[int], Request]


@dataclass
class Outcome:
    """What a run observed: the latency of each successful request (seconds), errors by kind, wall time."""

    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    rows: int | None = None  # result rows of the first answer (SPARQL JSON), to check that servers agree

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.completed / self.seconds if self.seconds > 0 else 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (0 < fraction <= 1): the smallest value with at least `fraction` of the values
    at or below it. With fewer than 100 values the 99th percentile is the maximum."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median_or_nan(values: Sequence[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.median(finite) if finite else math.nan


class Client:
    """One keep-alive connection to an endpoint."""

    def __init__(self, endpoint: Endpoint, timeout: float) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.endpoint.port, timeout=self.timeout)
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def send(self, request: Request) -> tuple[int, bytes]:
        """Status and body. Compression is refused (Accept-Encoding: identity) so that every server does the same
        work: SPARQLWrapper, the client our users use, asks for none either."""
        if request.page:
            method, path, body = "GET", request.page, None
            headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
        else:
            method, path = "POST", self.endpoint.sparql_path
            body = urlencode({"query": request.sparql}).encode()
            headers = {
                "Accept": SPARQL_JSON,
                "Accept-Encoding": "identity",
                "Content-Type": "application/x-www-form-urlencoded",
            }
        connection = self._connect()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # the next request opens a fresh connection
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, data


def _timed_send(client: Client, request: Request, outcome: Outcome) -> bytes | None:
    """Send, recording the latency or the error; the body of a successful answer."""
    started = time.perf_counter()
    try:
        status, body = client.send(request)
    except TimeoutError:
        outcome.error("timeout")
        return None
    except (OSError, http.client.HTTPException) as error:
        outcome.error(type(error).__name__)
        return None
    elapsed = time.perf_counter() - started
    if status != 200:
        outcome.error(error_kind(status, body))
        return None
    outcome.latencies.append(elapsed)
    return body


def error_kind(status: int, body: bytes) -> str:
    """ "HTTP <status>", with the title of our error answers ("HTTP 503 Query Slots Taken" or "... Query Timeout"):
    which limit turned a request away. Our service writes "<status> <title>: <detail>" as plain text, or
    problem+json; a peer's body is kept out of the kind."""
    text = body.decode("utf-8", "replace")
    title = ""
    if text.startswith(f"{status} ") and ":" in text:
        title = text[len(f"{status} ") : text.index(":")]
    elif text.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            title = str(json.loads(text).get("title", ""))
    return f"HTTP {status} {title}" if title else f"HTTP {status}"


def result_rows(body: bytes) -> int | None:
    """The number of solutions in a SPARQL JSON answer (None if it is not one)."""
    try:
        return len(json.loads(body)["results"]["bindings"])
    except (ValueError, KeyError, TypeError):
        return None


def latency(endpoint: Endpoint, make: RequestMaker, samples: int, budget: float, timeout: float) -> Outcome:
    """One client sending one kind of request after a warm-up: up to `samples` times, or until `budget` seconds
    have passed (at least once)."""
    client = Client(endpoint, timeout)
    outcome = Outcome()
    try:
        # Warm-up: the connection, the engine's first touch.
        _timed_send(client, make(request_number(endpoint, make)), Outcome())
        started = time.perf_counter()
        for _ in range(samples):
            body = _timed_send(client, make(request_number(endpoint, make)), outcome)
            if body is not None and outcome.rows is None:
                outcome.rows = result_rows(body)
            if time.perf_counter() - started > budget:
                break
        outcome.seconds = time.perf_counter() - started
    finally:
        client.close()
    return outcome


def throughput(
    endpoint: Endpoint, mix: Sequence[RequestMaker], clients: int, duration: float, timeout: float
) -> Outcome:
    """`clients` threads each sending the mix round-robin (each starting at a different item) until `duration`
    seconds have passed; requests in flight at the deadline are waited for and counted."""
    outcome = Outcome()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def run(offset: int) -> None:
        client = Client(endpoint, timeout)
        mine = Outcome()
        start.wait()
        sent = 0
        try:
            while time.perf_counter() < deadline[0]:
                item = mix[(offset + sent) % len(mix)]
                _timed_send(client, item(request_number(endpoint, item)), mine)
                sent += 1
        finally:
            client.close()
        with lock:
            outcome.latencies += mine.latencies
            for kind, count in mine.errors.items():
                outcome.errors[kind] = outcome.errors.get(kind, 0) + count

    threads = [threading.Thread(target=run, args=(number,), daemon=True) for number in range(clients)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    deadline[0] = started + duration
    start.wait()
    for thread in threads:
        thread.join(timeout=duration + timeout + 30)
    outcome.seconds = time.perf_counter() - started
    return outcome
