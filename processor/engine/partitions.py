"""Partition state and lifecycle: assigned -> revoking (draining) -> released.

Everything the engine knows about one assigned partition lives in one :class:`PartitionState`:
its offset tracker, its per-key serializer, its running tasks and, on a retry tier, the records
that are not due yet. The other parts (dispatch, retry tiers, flow control, committing) read and
change these states; :class:`Partitions` alone creates and removes them.

Lifecycle of a partition:

1. ``assign``: a fresh state (a retry-tier partition when its topic is a retry tier). Its offset
   tracker inherits the finished offsets the previous owner committed above the committed offset
   (the commit metadata, decoded paranoidly: anything doubtful inherits nothing).
2. ``start_revoking``: the group takes it away (or the engine stops). From now on no record of it
   is accepted; what was consumed keeps flowing (also records waiting behind a busy key).
3. ``drain``: wait, bounded by a timeout, for its running tasks and its requests in flight
   without a task; on timeout the tasks are cancelled and the requests abandoned (their offsets
   stay unfinished, so the next owner delivers them again).
4. ``release``: handed back to the group. Nothing about it counts any more: a late completion of
   one of its records finishes nothing (see :meth:`FlowControl.finish`).

Restart (any time while assigned): the consumer's position jumped (an offset reset). ``restart``
puts a fresh state in place, so nothing of the old position is ever committed on top of the new
one. The old state is neither revoked nor released: the records of it already consumed keep
running (key waiters included) and finish against its detached tracker; they count in flight
until they end, and their offsets reach no commit.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

from processor.engine.finished_offsets import decode as decode_finished
from processor.engine.handoff import RetryContext
from processor.engine.offsets import PartitionOffsets
from processor.engine.ordering import KeyedSerializer
from processor.engine.ports import TP, Commit, Inbound

log = logging.getLogger(__name__)

__all__ = ["PartitionState", "Partitions"]


@dataclass(slots=True, eq=False)
class PartitionState:
    tp: TP
    is_retry_tier: bool
    offsets: PartitionOffsets = field(default_factory=PartitionOffsets)
    serializer: KeyedSerializer[Any] = field(default_factory=KeyedSerializer)
    running: set[asyncio.Task[None]] = field(default_factory=set)
    flights: dict[Any, Any] = field(default_factory=dict)  # dispatch: record -> its Attempt, in flight without a task
    all_landed: asyncio.Future[None] | None = None  # done when flights empties (a drain waits on it)
    holding: set[Any] = field(default_factory=set)  # dispatch: started with a slot, not yet running
    delayed: deque[tuple[RetryContext, Inbound]] = field(default_factory=deque)  # retry tier: not due yet
    timer: asyncio.TimerHandle | None = None  # retry tier: wakes up when the first delayed record is due
    revoking: bool = False  # no new records accepted; what was consumed drains (bounded)
    released: bool = False  # handed back to the group: nothing about it counts any more
    stored: Commit | None = None  # last (offset, metadata) handed to the consumer for committing
    in_flight_bytes: int = 0  # Inbound.size of its records in flight (flow control, rule 1)

    def landed(self, flight: Any) -> None:
        """``flight`` (a key of ``flights``) ended: finished, handed to a task, or ignored."""
        self.flights.pop(flight, None)
        if not self.flights and self.all_landed is not None:
            all_landed, self.all_landed = self.all_landed, None
            if not all_landed.done():
                all_landed.set_result(None)


class Partitions:
    """The assigned partitions by ``(topic, partition)``."""

    __slots__ = ("by_tp", "_retry_topics")

    def __init__(self, retry_topics: Collection[str]) -> None:
        self.by_tp: dict[TP, PartitionState] = {}
        self._retry_topics = frozenset(retry_topics)

    def __len__(self) -> int:
        return len(self.by_tp)

    def __iter__(self) -> Iterator[PartitionState]:
        return iter(self.by_tp.values())

    def get(self, tp: TP) -> PartitionState | None:
        return self.by_tp.get(tp)

    def assign(self, partitions: list[TP], committed: dict[TP, Commit] | None = None) -> None:
        """Step 1; ``committed``: the group's committed offset and metadata of each partition."""
        committed = committed or {}
        for tp in partitions:
            inherited = None
            if tp in committed:
                offset, metadata = committed[tp]
                inherited = decode_finished(metadata, offset)
                if len(inherited):
                    log.info("%s[%d]: %d events above the committed offset %d were finished by the previous "
                             "owner; they are skipped", tp[0], tp[1], len(inherited), offset)
            self.by_tp[tp] = PartitionState(tp, tp[0] in self._retry_topics, PartitionOffsets(inherited))

    def restart(self, tp: TP) -> PartitionState | None:
        """A fresh state for ``tp`` (position jump); returns the old one, which lives on in its tasks."""
        old = self.by_tp.get(tp)
        if old is None or old.revoking:
            return None
        self.by_tp[tp] = PartitionState(tp, old.is_retry_tier)
        return old

    def start_revoking(self, partitions: list[TP]) -> list[PartitionState]:
        """Step 2: the states of those partitions that are assigned, now accepting nothing new."""
        states = [st for tp in partitions if (st := self.by_tp.get(tp)) is not None]
        for st in states:
            st.revoking = True
        return states

    @staticmethod
    async def drain(states: list[PartitionState], timeout_s: float) -> None:
        """Step 3: wait for the running tasks and the requests in flight without a task
        (``flights``) of ``states``; cancel the tasks still running after ``timeout_s`` and stop
        waiting for the flights (their answers then finish nothing: the state is released).

        Tasks started while draining (the next waiter of a key, a failed flight's retries) are
        waited for too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            running = set().union(*(st.running for st in states))
            waiting: set[asyncio.Future[Any]] = set(running)
            for st in states:
                if st.flights:
                    if st.all_landed is None:
                        st.all_landed = loop.create_future()
                    waiting.add(st.all_landed)
            if not waiting:
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                flights = sum(len(st.flights) for st in states)
                log.warning("%d events still in flight after %.0fs drain; they will be redelivered",
                            len(running) + flights, timeout_s)
                for task in running:
                    task.cancel()
                for st in states:
                    for attempt in st.flights.values():
                        attempt.abandon()
                    st.flights.clear()
                if running:
                    await asyncio.wait(running, timeout=5)
                break
            await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        for st in states:
            st.serializer.drop_all()  # only left when the drain timed out

    def release(self, st: PartitionState) -> None:
        """Step 4."""
        st.released = True
        self.by_tp.pop(st.tp, None)
