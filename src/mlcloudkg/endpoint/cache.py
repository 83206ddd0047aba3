"""A result cache for repeated queries: the data only changes with a new build, so an answer is valid for as long
as the build it came from is served. Bounded by total bytes; least recently used answers go first.

Identical queries that arrive together are evaluated once: the first computes, the others wait for its answer
(single flight). Without this, a cold cache under load sent every copy of a popular query to the query workers at
once, and the ones that found no worker free were turned away. A request waiting for an identical query holds a
request thread as much as one waiting for a worker, so it holds a query slot too (see executor.Admission):
identical slow queries in numbers cannot tie up every thread either.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from mlcloudkg.endpoint.executor import Admission, Answer


class _Flight:
    """One evaluation in progress, which other requests for the same answer wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: Answer | None = None
        self.error: BaseException | None = None


class ResultCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def get_or_compute(self, key: Hashable, compute: Callable[[], Answer], admission: Admission) -> tuple[Answer, str]:
        """The cached answer ("hit"), the answer of an identical query being computed now ("shared"), or a new
        one ("miss", computed in a query slot). An error of the computation reaches every request that waited for
        it; errors are not kept."""
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
                return answer, "hit"
            flight = self._flights.get(key)
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if leader:
            return self._lead(key, flight, compute, admission), "miss"
        return self._follow(flight, admission), "shared"

    def _lead(self, key: Hashable, flight: _Flight, compute: Callable[[], Answer], admission: Admission) -> Answer:
        try:
            with admission.slot():
                flight.answer = compute()
            self.put(key, flight.answer)
            return flight.answer
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    @staticmethod
    def _follow(flight: _Flight, admission: Admission) -> Answer:
        with admission.slot():
            flight.done.wait()
        if flight.error is not None:
            raise flight.error
        assert flight.answer is not None
        return flight.answer

    def put(self, key: Hashable, answer: Answer) -> None:
        if len(answer.body) > self.max_bytes // 4:
            return  # one answer must not push out everything else
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = answer
            self._size += len(answer.body)
            while self._size > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._size -= len(evicted.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0
