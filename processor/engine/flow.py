"""Flow control: how many records are in flight, and which partitions to pause.

Consuming faster than Voucherify answers would only fill memory, so the engine pauses
partitions (the consumer keeps its group membership) and resumes them with hysteresis:

1. All partitions pause while the engine holds ``max_in_flight`` records or more, and resume
   once it holds at most 80 % of that.
2. One partition pauses at ``max_in_flight_per_partition`` of its own records and resumes at
   80 % of that (a slow key cannot make one partition take the whole budget).
3. A retry-tier partition with records waiting for their due time stays paused: a tier holds
   one delay, so what follows is not due earlier.
4. All partitions pause while ``hold()`` is true (the auth or the availability circuit is open).

A record is in flight from its arrival (:meth:`admitted`) until :meth:`finish` (step 6 of the
engine's protocol) or until its partition is released (:meth:`forget`). Decisions go to the
consumer only when they change, or when forced (after an assignment change, when the consumer's
own view of its partitions changed).
"""

from __future__ import annotations

from collections.abc import Callable

from processor.engine.partitions import Partitions, PartitionState
from processor.engine.ports import TP, Consumer

__all__ = ["FlowControl"]

RESUME_FRACTION = 0.8


class FlowControl:
    __slots__ = ("consumer", "in_flight", "_partitions", "_hold", "_max", "_resume_below",
                 "_partition_max", "_partition_resume_below", "_paused_all", "_paused")

    def __init__(
        self,
        partitions: Partitions,
        *,
        max_in_flight: int,
        max_in_flight_per_partition: int,
        hold: Callable[[], bool],
    ) -> None:
        self.consumer: Consumer | None = None
        self.in_flight = 0
        self._partitions = partitions
        self._hold = hold
        self._max = max_in_flight
        self._resume_below = int(max_in_flight * RESUME_FRACTION)
        self._partition_max = max_in_flight_per_partition
        self._partition_resume_below = int(max_in_flight_per_partition * RESUME_FRACTION)
        self._paused_all = False
        self._paused: set[TP] = set()

    @property
    def paused(self) -> frozenset[TP]:
        return frozenset(self._paused)

    def admitted(self, n: int) -> None:
        """``n`` records arrived (their offsets are tracked)."""
        self.in_flight += n
        self.update()

    def finish(self, st: PartitionState, offset: int) -> None:
        """Step 6: everything for this record is delivered or durably handed off."""
        if st.released:
            return
        st.offsets.finish(offset)
        self.in_flight -= 1
        # Re-decide only when a resume threshold is crossed. While everything is paused by rule 1,
        # a partition's own count says nothing (it is paused anyway): checking it made every
        # finish re-decide the whole paused set, ~4 µs per event at the window's edge.
        if self._paused_all:
            if self.in_flight <= self._resume_below:
                self.update()
        elif st.tp in self._paused and st.offsets.in_flight <= self._partition_resume_below:
            self.update()

    def forget(self, st: PartitionState) -> None:
        """The partition was released: its unfinished records will be redelivered elsewhere."""
        self.in_flight -= st.offsets.in_flight
        self._paused.discard(st.tp)

    def update(self, force: bool = False) -> None:
        """Re-decide the paused set (rules 1-4); tell the consumer if it changed or ``force``."""
        if self.in_flight >= self._max:
            self._paused_all = True
        elif self.in_flight <= self._resume_below:
            self._paused_all = False
        pause_all = self._paused_all or self._hold()
        want: set[TP] = set()
        limit = self._partition_max
        resume_below = self._partition_resume_below
        paused = self._paused
        for st in self._partitions:
            n = st.offsets.in_flight
            if pause_all or st.delayed or n >= limit or (st.tp in paused and n > resume_below):
                want.add(st.tp)
        if force or want != paused:
            self._paused = want
            if self.consumer is not None:
                self.consumer.set_paused(want)
