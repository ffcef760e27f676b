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

4. ``commit_point()`` is ``committable()`` together with the finished offsets above it, which
   the engine commits with the offset (see :mod:`processor.engine.finished_offsets`) so that the
   next owner does not deliver them again.

Inherited offsets: a tracker built with the finished offsets the previous owner committed above
the committed offset (``inherited``) treats them as finished: ``track`` returns False for them
(the caller skips the record, delivering nothing) and ``commit_point`` keeps reporting those not
reached yet, so a second crash does not forget them. The set belongs to one stream position: a
first offset below its base (the position was moved) drops it with a WARNING (duplicates, never
loss).

Messages finish out of order (different keys run in parallel), so finished offsets wait in a set
until the contiguous prefix reaches them; the pending deque is in arrival order, so advancing
the prefix is amortised O(1).
"""

from __future__ import annotations

import bisect
import logging
from collections import deque

from processor.engine.finished_offsets import FinishedRuns
from processor.errors import OffsetOrderError, UnknownOffsetError

log = logging.getLogger(__name__)

__all__ = ["OffsetOrderError", "UnknownOffsetError", "PartitionOffsets"]


class PartitionOffsets:
    __slots__ = ("_pending", "_finished", "_next", "_inherited")

    def __init__(self, inherited: FinishedRuns | None = None) -> None:
        self._pending: deque[int] = deque()
        self._finished: set[int] = set()
        self._next: int | None = None  # one past the highest tracked offset
        self._inherited = inherited if inherited is not None and inherited.runs else None

    def track(self, offset: int) -> bool:
        """Step 1. True: deliver the record; False: the previous owner finished it, skip it."""
        if self._next is not None and offset < self._next:
            raise OffsetOrderError(f"offset {offset} arrived after {self._next - 1}")
        inherited = self._inherited
        if inherited is not None:
            if self._next is None and offset < inherited.base:
                log.warning("offset %d arrived below the committed offset %d: the finished offsets stored "
                            "with it no longer apply; events above it are delivered again", offset, inherited.base)
                self._inherited = inherited = None
            elif offset > inherited.runs[-1][1]:
                self._inherited = None  # past the last inherited offset: nothing more to skip
                inherited = None
        self._next = offset + 1
        if inherited is not None and offset in inherited:
            if self._pending:  # finished, but above an unfinished one: wait in the set like any other
                self._pending.append(offset)
                self._finished.add(offset)
            return False
        self._pending.append(offset)
        return True

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
        nxt = self._next
        inherited = self._inherited
        if nxt is not None and inherited is not None:
            run = _run_at(inherited, nxt)
            if run is not None:  # the next offsets were finished by the previous owner
                return run[1] + 1
        return nxt

    def commit_point(self) -> tuple[int, list[int]] | None:
        """Step 4: ``(committable, finished offsets above it, ascending)``; None if nothing tracked."""
        committable = self.committable()
        if committable is None:
            return None
        above = sorted(self._finished) if self._finished else []
        inherited = self._inherited
        if inherited is not None:
            start = max(committable + 1, self._next or 0)  # those below _next were tracked
            runs = inherited.runs
            for first, last in runs[max(0, bisect.bisect_left(runs, (start, start)) - 1):]:
                if last >= start:
                    above.extend(range(max(first, start), last + 1))
        return committable, above

    @property
    def in_flight(self) -> int:
        return len(self._pending) - len(self._finished)

    def __repr__(self) -> str:
        return f"PartitionOffsets(committable={self.committable()}, in_flight={self.in_flight})"


def _run_at(runs: FinishedRuns, offset: int) -> tuple[int, int] | None:
    i = bisect.bisect_right(runs.runs, (offset, float("inf"))) - 1
    if i >= 0 and runs.runs[i][0] <= offset <= runs.runs[i][1]:
        return runs.runs[i]
    return None
