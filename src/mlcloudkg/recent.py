"""`Recent`: values computed once by whichever thread asks first, the last few kept."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class Recent(Generic[Key, Value]):
    """The last `size` values computed, by key, for the threads of a process. A value is computed outside the lock
    (it may take seconds) by the first thread that asks for it; the others asking for it meanwhile wait for that
    one's answer, or its error, rather than compute it again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Key, Value] = OrderedDict()
        self._computing: dict[Key, Future[Value]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: Key, compute: Callable[[], Value]) -> Value:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
            computing = self._computing.get(key)
            if computing is None:
                computing = self._computing[key] = Future()
                leading = True
            else:
                leading = False
        if not leading:
            return computing.result()
        try:
            value = compute()
        except Exception as error:
            computing.set_exception(error)
            raise
        else:
            computing.set_result(value)
            with self._lock:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
            return value
        finally:
            with self._lock:
                del self._computing[key]
