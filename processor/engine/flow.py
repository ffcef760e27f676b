"""Flow control: how many records (and bytes) are in flight, and which partitions to pause.

Consuming faster than Voucherify answers would only fill memory, so the engine pauses
partitions (the consumer keeps its group membership) and resumes them with hysteresis:

1. All partitions pause while the engine holds ``max_in_flight`` records or more, and resume
   once it holds at most 80 % of that. Likewise, independently, for bytes: all pause while the
   records in flight hold ``max_in_flight_bytes`` or more (their size as the consumer read
   them: key, value and headers, ``Inbound.size``) and resume at 80 % of that. The record
   bound alone let memory grow with the event size (5,000 events of 30 KB: 1.3 GB of RSS);
   memory per event is about a fixed part plus a multiple of its size, so the two bounds
   together cap it for every size.
2. One partition pauses at ``max_in_flight_per_partition`` of its own records and resumes at
   80 % of that (a slow key cannot make one partition take the whole budget).
3. A retry-tier partition with records waiting for their due time stays paused: a tier holds
   one delay, so what follows is not due earlier.
4. All partitions pause while ``hold()`` is true (the auth or the availability circuit is open).

Progress whatever the size: pausing follows arrival (a record consumed is always admitted), so
a record larger than the whole byte budget is admitted like any other; it then keeps every
partition paused until it finishes, when nothing is in flight and everything resumes. Nothing
waits for room that cannot come.

A record is in flight from its arrival (:meth:`admitted`) until :meth:`finish` (step 6 of the
engine's protocol) or until its partition is released (:meth:`forget`, which gives back the
partition's records and bytes). Decisions go to the consumer only when they change, or when
forced (after an assignment change, when the consumer's own view of its partitions changed).
Every change of why partitions are paused (``ports.PAUSE_REASONS``, partitions per reason) is
logged at DEBUG and reported to the observer (one reason per partition, the first that applies
in that order: rule 4, the byte bound, the record bound, rules 2 and 3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from processor.engine.partitions import Partitions, PartitionState
from processor.engine.ports import PAUSE_REASONS, TP, Consumer, EngineObserver

log = logging.getLogger(__name__)

__all__ = ["FlowControl"]

RESUME_FRACTION = 0.8


class FlowControl:
    __slots__ = ("consumer", "in_flight", "in_flight_bytes", "_partitions", "_hold", "_obs", "_max",
                 "_resume_below", "_max_bytes", "_resume_below_bytes", "_partition_max",
                 "_partition_resume_below", "_paused_events", "_paused_bytes", "_paused", "_reasons")

    def __init__(
        self,
        partitions: Partitions,
        *,
        max_in_flight: int,
        max_in_flight_per_partition: int,
        max_in_flight_bytes: int,
        hold: Callable[[], bool],
        observer: EngineObserver | None = None,
    ) -> None:
        """``max_in_flight_bytes``: bytes of records in flight (rule 1), as ``Inbound.size`` counts them."""
        self.consumer: Consumer | None = None
        self.in_flight = 0
        self.in_flight_bytes = 0
        self._partitions = partitions
        self._hold = hold
        self._obs = observer or EngineObserver()
        self._max = max_in_flight
        self._resume_below = int(max_in_flight * RESUME_FRACTION)
        self._max_bytes = max_in_flight_bytes
        self._resume_below_bytes = int(max_in_flight_bytes * RESUME_FRACTION)
        self._partition_max = max_in_flight_per_partition
        self._partition_resume_below = int(max_in_flight_per_partition * RESUME_FRACTION)
        self._paused_events = False
        self._paused_bytes = False
        self._paused: set[TP] = set()
        self._reasons: dict[str, int] = {}

    @property
    def paused(self) -> frozenset[TP]:
        return frozenset(self._paused)

    def admitted(self, n: int, nbytes: int) -> None:
        """``n`` records of ``nbytes`` in all arrived (their offsets are tracked, and each
        partition's ``in_flight_bytes`` counts its share)."""
        self.in_flight += n
        self.in_flight_bytes += nbytes
        self.update()

    def finish(self, st: PartitionState, offset: int, size: int) -> None:
        """Step 6: everything for this record (of ``size`` bytes) is delivered or durably handed off."""
        if st.released:
            return
        st.offsets.finish(offset)
        st.in_flight_bytes -= size
        self.in_flight -= 1
        self.in_flight_bytes -= size
        # Re-decide only when a resume threshold is crossed. While everything is paused by rule 1,
        # a partition's own count says nothing (it is paused anyway): checking it made every
        # finish re-decide the whole paused set, ~4 µs per event at the window's edge. Paused by
        # both bounds, everything resumes only once both are back at 80 %.
        if self._paused_events or self._paused_bytes:
            if (not self._paused_events or self.in_flight <= self._resume_below) and (
                not self._paused_bytes or self.in_flight_bytes <= self._resume_below_bytes
            ):
                self.update()
        elif st.tp in self._paused and st.offsets.in_flight <= self._partition_resume_below:
            self.update()

    def forget(self, st: PartitionState) -> None:
        """The partition was released: its unfinished records (and their bytes) will be redelivered elsewhere."""
        self.in_flight -= st.offsets.in_flight
        self.in_flight_bytes -= st.in_flight_bytes
        st.in_flight_bytes = 0
        self._paused.discard(st.tp)

    def update(self, force: bool = False) -> None:
        """Re-decide the paused set (rules 1-4); tell the consumer if it changed or ``force``."""
        if self.in_flight >= self._max:
            self._paused_events = True
        elif self.in_flight <= self._resume_below:
            self._paused_events = False
        if self.in_flight_bytes >= self._max_bytes:
            self._paused_bytes = True
        elif self.in_flight_bytes <= self._resume_below_bytes:
            self._paused_bytes = False
        everything = ("circuit" if self._hold() else "in_flight_bytes" if self._paused_bytes
                      else "in_flight" if self._paused_events else None)
        want: set[TP] = set()
        reasons: dict[str, int] = {}
        limit = self._partition_max
        resume_below = self._partition_resume_below
        paused = self._paused
        for st in self._partitions:
            n = st.offsets.in_flight
            reason = everything or (
                "partition_in_flight" if n >= limit or (st.tp in paused and n > resume_below)
                else "retry_delay" if st.delayed else None)
            if reason is not None:
                want.add(st.tp)
                reasons[reason] = reasons.get(reason, 0) + 1
        if force or want != paused:
            self._paused = want
            if self.consumer is not None:
                self.consumer.set_paused(want)
        if reasons != self._reasons:
            self._reasons = reasons
            log.debug("paused partitions by reason: %s (in flight: %d records, %d bytes)",
                      reasons or "none", self.in_flight, self.in_flight_bytes)
            self._obs.paused(reasons)
