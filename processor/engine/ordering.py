"""Per-key ordering: events with the same ordering key run one at a time, in offset order.

Different keys run in parallel, also within one partition (what the Confluent Parallel Consumer
calls key-level ordering). A key that has an event running gets a FIFO of waiters; when the
running event finishes, the next waiter of that key is released. Keys with nothing running and
nothing waiting are forgotten, so memory follows the number of *active* keys, not all keys seen.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: Sentinel key for events that have no ordering key: they are ordered among themselves.
NO_KEY = ("", None)


class KeyedSerializer(Generic[T]):
    """Admits items for processing so that items sharing a key never overlap."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        # key -> waiters; presence of the key means "an item with this key is running". The FIFO
        # is created with the first waiter (None until then): most keys never have one, and a
        # deque per admitted item was measurable per event.
        self._waiting: dict[Hashable, deque[T] | None] = {}

    def admit(self, key: Hashable, item: T) -> bool:
        """True: run ``item`` now. False: it waits until earlier items of ``key`` finish."""
        waiting = self._waiting
        if key not in waiting:
            waiting[key] = None
            return True
        waiters = waiting[key]
        if waiters is None:
            waiters = waiting[key] = deque()
        waiters.append(item)
        return False

    def release(self, key: Hashable) -> T | None:
        """The running item of ``key`` finished; returns the next item of that key to run, if any."""
        waiting = self._waiting
        if key not in waiting:
            raise KeyError(f"release of key {key!r} that has nothing running")
        waiters = waiting[key]
        if waiters:
            return waiters.popleft()
        del waiting[key]
        return None

    def drop_all(self) -> list[T]:
        """Forget every key (partition revoked); returns the waiters that never ran."""
        dropped = [item for waiters in self._waiting.values() if waiters for item in waiters]
        self._waiting.clear()
        return dropped

    @property
    def active_keys(self) -> int:
        return len(self._waiting)


KeyFunc = Callable[[Mapping[str, Any], bytes | None], Hashable]


def ordering_key_func(fields: list[str]) -> KeyFunc:
    """Build the ordering-key function from the configured precedence, e.g. userId > anonymousId > messageKey.

    ``partition`` means "the whole partition is one key" (strict offset order, no key parallelism).
    The key includes the field name so that a userId "42" and an anonymousId "42" stay distinct.
    """
    steps: list[str] = list(fields)

    def key_of(event: Mapping[str, Any], message_key: bytes | None) -> Hashable:
        for field in steps:
            if field == "partition":
                return NO_KEY
            if field == "messageKey":
                if message_key:
                    return ("k", message_key)
                continue
            value = event.get(field)
            if value is not None and value != "":
                return (field, value if isinstance(value, (str, int, float, bool)) else repr(value))
        return NO_KEY

    return key_of
