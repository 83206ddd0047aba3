"""A result cache for repeated queries: the data only changes with a new build, so an answer is valid for as long
as the build it came from is served. Bounded by total bytes; least recently used answers go first."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from mlcloudkg.endpoint.executor import Answer


class ResultCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Answer] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Answer | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

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
