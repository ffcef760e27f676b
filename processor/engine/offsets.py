"""Which offsets of a partition are safe to commit.

The protocol, per assigned partition:

1. ``track(offset)`` when a message is handed to the engine. Offsets of one partition arrive in
   strictly increasing order (the consumer delivers them so); a smaller or equal offset means the
   consumer was repositioned without the tracker being reset, which would make the committed
   position a lie, so it raises :class:`OffsetOrderError`.
2. ``finish(offset)`` when every triggered action of that message reached Voucherify (2xx) or was
   durably handed to the retry / dead-letter topic (producer ack received), or nothing
   triggered. Finishing an offset that is not tracked raises :class:`UnknownOffsetError`.
3. ``committable()`` is the offset to commit (Kafka's "next offset to read"): the lowest
   unfinished offset, or one past the highest tracked offset when everything is finished, or
   ``None`` when nothing was ever tracked. It never passes an unfinished offset, whatever order
   messages finish in.

Messages finish out of order (different keys run in parallel), so finished offsets wait in a set
until the contiguous prefix reaches them; the pending deque is in arrival order, so advancing
the prefix is amortised O(1).
"""

from __future__ import annotations

from collections import deque

from processor.errors import OffsetOrderError, UnknownOffsetError

__all__ = ["OffsetOrderError", "UnknownOffsetError", "PartitionOffsets"]


class PartitionOffsets:
    __slots__ = ("_pending", "_finished", "_next")

    def __init__(self) -> None:
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        self._next: int | None = None  # one past the highest tracked offset

    def track(self, offset: int) -> None:
        if self._next is not None and offset < self._next:
            raise OffsetOrderError(f"offset {offset} arrived after {self._next - 1}")
        self._pending.append(offset)
        self._next = offset + 1

    def finish(self, offset: int) -> None:
        pending = self._pending
        if pending and pending[0] == offset:
            pending.popleft()
            finished = self._finished
            while pending and pending[0] in finished:
                finished.discard(pending.popleft())
            return
        if offset in self._finished or not pending or offset < pending[0] or offset >= (self._next or 0):
            raise UnknownOffsetError(f"offset {offset} is not in flight")
        self._finished.add(offset)

    def committable(self) -> int | None:
        if self._pending:
            return self._pending[0]
        return self._next

    @property
    def in_flight(self) -> int:
        return len(self._pending) - len(self._finished)

    def __repr__(self) -> str:
        return f"PartitionOffsets(committable={self.committable()}, in_flight={self.in_flight})"
