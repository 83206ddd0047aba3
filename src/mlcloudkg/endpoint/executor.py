"""Query evaluation in a pool of worker processes, each with the store open read-only (the local QueryEngine).

Why processes: a SPARQL engine cannot be interrupted from Python (pyoxigraph has no timeout), so a query that runs
too long is stopped by killing its process, and the client gets a clear 503 instead of a truncated 200. A crash of
the engine on one query costs one worker, which is replaced; the service keeps answering. Each worker is sandboxed
(see sandbox: no network, capped memory) and runs queries on a deep stack, because the engine recurses on the
structure of a query and the default 8 MiB stack overflows on a 20 KB one.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

from mlcloudkg.endpoint import sandbox
from mlcloudkg.endpoint.formats import FORMATS
from mlcloudkg.errors import (
    EngineBusy,
    EvaluationFailed,
    QueryOutOfMemory,
    QueryRejected,
    QueryTimeout,
    ResultTooLarge,
)

# The titles of the two busy answers (503): which limit was reached, for operators and load tests.
SLOTS_TAKEN = "Query Slots Taken"
WORKERS_BUSY = "Query Workers Busy"

_CONTEXT = multiprocessing.get_context("spawn")  # no fork of a threaded web worker
# The engine needs about 1 KB of stack per level of a query's structure; 256 MiB (address space: only what a query
# uses is ever touched) holds the deepest queries we could write within the default size limit.
QUERY_STACK_BYTES = 256 * 1024 * 1024
# Queries compute at a lower CPU priority than the web workers: while they run, pages, downloads and cached
# answers keep their speed (a slow query takes what the CPU has left, and is stopped at its time limit anyway).
QUERY_NICENESS = 10
# How long a worker whose pipe closed may take to finish exiting, so that its exit status (the reason) is known.
EXIT_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class Evaluation:
    """One query to run: the text, the format of the answer and the dataset (None: the query's own or ours)."""

    query: str
    media_type: str  # one of formats.FORMATS (sent by name: the serialiser objects do not pickle)
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Answer:
    body: bytes
    media_type: str
    seconds: float


class QueryEngine(Protocol):
    """Where the service evaluates the queries it serves: worker processes over the local build (Evaluators), or a
    remote store (endpoint/remote.py). Either enforces the time limit and the result-size limit, and raises our
    own errors (RequestError) for what goes wrong."""

    max_result_bytes: int
    admission: Admission  # the query slots of a web worker: held while a query runs or waits

    def evaluate(self, evaluation: Evaluation) -> Answer:
        """The answer, serialised in `evaluation.media_type`."""
        ...

    def close(self) -> None:
        """Release what the engine holds (processes, connections)."""
        ...


class _ResultTooLarge(Exception):
    pass


class _CappedBuffer(io.RawIOBase):
    """Collects serialised output and stops the serialiser once it passes the limit."""

    def __init__(self, limit: int) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self.limit = limit

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.size += len(data)
        if self.size > self.limit:
            raise _ResultTooLarge
        self.parts.append(bytes(data))
        return len(data)


def serialize_results(results: Any, media_type: str, max_result_bytes: int) -> bytes:
    """A query's results in one of formats.FORMATS; raises _ResultTooLarge past `max_result_bytes`."""
    import pyoxigraph as ox

    from mlcloudkg.namespaces import PREFIXES

    buffer = _CappedBuffer(max_result_bytes)
    serializer = next(f.serializer for f in FORMATS if f.media_type == media_type)
    if isinstance(results, ox.QuerySolutions | ox.QueryBoolean):
        results.serialize(buffer, serializer)
    else:
        statements: Any = results
        if serializer.supports_datasets:
            statements = (ox.Quad(t.subject, t.predicate, t.object) for t in results)
        ox.serialize(statements, buffer, serializer, prefixes=PREFIXES)
    return b"".join(buffer.parts)


def answer_here(evaluate: Callable[[str], Any], evaluation: Evaluation, max_result_bytes: int) -> Answer:
    """Evaluate with `evaluate` from this process and serialise the results, with the same size limit and errors as
    the workers: for a state computed in memory (which the workers cannot open), and for a remote store."""
    started = time.perf_counter()
    results = evaluate(evaluation.query)
    try:
        body = serialize_results(results, evaluation.media_type, max_result_bytes)
    except _ResultTooLarge:
        raise _too_large(max_result_bytes) from None
    return Answer(body, evaluation.media_type, time.perf_counter() - started)


def _too_large(limit: int) -> ResultTooLarge:
    return ResultTooLarge(
        f"the result is larger than {limit:,} bytes",
        "a smaller result: add LIMIT, select fewer variables, or use the dataset downloads",
    )


def _work(connection: Connection, store_path: str, max_result_bytes: int, max_memory_bytes: int) -> None:
    """A worker: sandbox itself, open the store, then answer evaluations until the pipe closes."""
    refused = sandbox.isolate_network()  # first: the kernel wants a process without threads for this
    if refused:
        print(
            f"mlcloudkg query worker: no network isolation ({refused}); the guard alone refuses SERVICE",
            file=sys.stderr,
        )
    sandbox.limit_memory(max_memory_bytes + QUERY_STACK_BYTES)
    os.nice(QUERY_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the server stops us
    threading.stack_size(QUERY_STACK_BYTES)
    worker = threading.Thread(target=_answer, args=(connection, store_path, max_result_bytes), name="query")
    worker.start()
    worker.join()


def _answer(connection: Connection, store_path: str, max_result_bytes: int) -> None:
    import pyoxigraph as ox

    store = ox.Store.read_only(store_path)
    while True:
        try:
            evaluation: Evaluation = connection.recv()
        except (EOFError, OSError):
            return
        started = time.perf_counter()
        try:
            results = store.query(
                evaluation.query,
                default_graph=[ox.NamedNode(g) for g in evaluation.default_graphs]
                if evaluation.default_graphs is not None
                else None,
                named_graphs=[ox.NamedNode(g) for g in evaluation.named_graphs]
                if evaluation.named_graphs is not None
                else None,
            )
            body = serialize_results(results, evaluation.media_type, max_result_bytes)
            connection.send(("ok", body, time.perf_counter() - started))
        except _ResultTooLarge:
            connection.send(("too large", max_result_bytes, 0.0))
        except MemoryError:
            connection.send(("out of memory", None, 0.0))
        except SyntaxError as error:
            connection.send(("syntax", str(error), 0.0))
        except Exception as error:  # the engine's own errors (type errors in functions, ...) reach the client
            connection.send(("error", f"{type(error).__name__}: {error}", 0.0))


class _Worker:
    def __init__(self, store_path: Path, max_result_bytes: int, max_memory_bytes: int) -> None:
        self.connection, child = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(
            target=_work, args=(child, str(store_path), max_result_bytes, max_memory_bytes), daemon=True
        )
        self.process.start()
        child.close()

    def stop(self, grace: float = 0.0) -> None:
        """Stop the process (after `grace` seconds for one that is already exiting on its own)."""
        self.process.join(timeout=grace)
        with contextlib.suppress(Exception):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.connection.close()
        self.process.join(timeout=5)

    @property
    def ran_out_of_memory(self) -> bool:
        """The engine aborts when an allocation fails: at the memory cap, that is what SIGABRT means."""
        return self.process.exitcode == -signal.SIGABRT


class Admission:
    """How many requests of a web worker may be busy with queries at once: running one, or waiting for a free
    worker or for the answer of an identical query. Each holds a request thread; a request waits a moment for a
    slot (a burst of queries on a cold cache passes), then is turned away (503), so that slow queries in numbers
    never take every thread from pages, downloads and cached answers."""

    def __init__(self, slots: int, patience: float = 2.0) -> None:
        self.slots = slots
        self.patience = patience
        self._free = threading.BoundedSemaphore(slots)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the block; raise EngineBusy (503) if none comes free within `patience` seconds."""
        if not self._free.acquire(timeout=self.patience):
            raise EngineBusy(
                f"all {self.slots} query slots of this worker stayed taken for {self.patience:g} s "
                "(queries running or waiting)",
                "retry in a few seconds, or run a cheaper query",
                title=SLOTS_TAKEN,
            )
        try:
            yield
        finally:
            self._free.release()


class Evaluators:
    """A fixed number of worker processes over one build's store, shared by the threads of a web worker."""

    def __init__(
        self,
        store_path: Path,
        count: int,
        *,
        timeout: float,
        max_result_bytes: int,
        max_memory_bytes: int,
        max_waiting: int,
    ) -> None:
        self.store_path = store_path
        self.timeout = timeout
        self.max_result_bytes = max_result_bytes
        self.max_memory_bytes = max_memory_bytes
        # A query waits for a free worker at most as long as it may run: under a flood of slow queries, every
        # answer (a result, or 503) comes within twice the time limit.
        self.queue_timeout = timeout
        self.admission = Admission(count + max_waiting)
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._closed = False
        self._all: set[_Worker] = set()
        self._replacing: list[threading.Thread] = []
        self._lock = threading.Lock()
        for _ in range(count):
            self._add()

    def _add(self) -> None:
        worker = _Worker(self.store_path, self.max_result_bytes, self.max_memory_bytes)
        with self._lock:
            self._all.add(worker)
        self._idle.put(worker)

    def _retire(self, worker: _Worker, grace: float = 0.0) -> None:
        """Kill a worker (timed out or crashed) and start its replacement in the background."""
        with self._lock:
            self._all.discard(worker)
        worker.stop(grace)
        if not self._closed:
            replacement = threading.Thread(target=self._add, daemon=True)
            with self._lock:
                self._replacing = [t for t in self._replacing if t.is_alive()] + [replacement]
            replacement.start()

    def evaluate(self, evaluation: Evaluation) -> Answer:
        """Run one query on a free worker (waiting for one at most `queue_timeout`); callers hold an admission
        slot (see Admission) while they wait for it."""
        worker = self._free_worker()
        try:
            worker.connection.send(evaluation)
            if not worker.connection.poll(self.timeout):
                self._retire(worker)
                raise QueryTimeout(
                    f"the query ran longer than {self.timeout:g} s and was stopped",
                    "queries that finish within the time limit: add LIMIT, or narrow the patterns",
                )
            status, payload, seconds = worker.connection.recv()
        except (EOFError, OSError, BrokenPipeError):
            self._retire(worker, grace=EXIT_GRACE_SECONDS)
            if worker.ran_out_of_memory:
                raise self._out_of_memory() from None
            raise EvaluationFailed(
                "the query engine stopped while evaluating this query; the service is still up", "a different query"
            ) from None
        self._idle.put(worker)
        if status == "ok":
            return Answer(payload, evaluation.media_type, seconds)
        if status == "too large":
            raise _too_large(payload)
        if status == "out of memory":
            raise self._out_of_memory()
        if status == "syntax":
            raise QueryRejected(
                f"SPARQL syntax error: {_short_syntax_error(payload)}",
                "SPARQL 1.1 query syntax, https://www.w3.org/TR/sparql11-query/",
            )
        raise QueryRejected(f"the query could not be evaluated: {payload}", "a valid SPARQL 1.1 query")

    def _free_worker(self) -> _Worker:
        """An idle worker that is still alive, waiting at most `queue_timeout` for one. A worker can end while idle
        (the kernel's OOM killer, an operator): it is replaced, and the query goes to another instead of failing."""
        deadline = time.monotonic() + self.queue_timeout
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise EngineBusy(
                    f"all query workers stayed busy for {self.queue_timeout:g} s",
                    "retry later, or run a cheaper query",
                    title=WORKERS_BUSY,
                ) from None
            if worker.process.is_alive():
                return worker
            self._retire(worker)

    def _out_of_memory(self) -> QueryOutOfMemory:
        return QueryOutOfMemory(
            f"the query needed more than the {self.max_memory_bytes / 1e6:,.0f} MB of memory a query may use "
            "and was stopped",
            "queries that build smaller intermediate results: fewer or shorter strings, fewer joined rows",
        )

    def close(self) -> None:
        self._closed = True
        # A replacement still starting would outlive us (and, at exit, fail noisily as its parent goes).
        with self._lock:
            replacing = list(self._replacing)
        for thread in replacing:
            thread.join(timeout=30)
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.stop()


def _short_syntax_error(message: str) -> str:
    """The engine's message, with its list of expected tokens cut short: position first, then a hint."""
    return message if len(message) <= 300 else message[:300].rsplit(",", 1)[0] + ", ..."
