"""Retry-tier scheduling: records on a retry tier wait in memory until they are due.

A retry record carries its due time in ``vp.not_before`` (epoch ms, see
:mod:`processor.engine.headers`). Per retry-tier partition:

1. ``arrive``: a record that is due and has nobody waiting before it starts at once; otherwise
   it joins the partition's FIFO of delayed records and one timer is armed for the head.
2. While records wait, flow control keeps the partition paused (a tier holds one delay, so the
   records behind are not due earlier and need not be read yet).
3. The timer fires: every due record at the head starts, in order; the timer is re-armed for
   the new head.
4. ``cancel`` (revoke): delayed records are dropped and the timer disarmed. Their offsets stay
   unfinished, so the committed position stays before them and the next owner waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from processor.engine.handoff import RetryContext
from processor.engine.partitions import PartitionState
from processor.engine.ports import Inbound

__all__ = ["RetryTierScheduler"]

Start = Callable[[PartitionState, RetryContext, Inbound], None]


class RetryTierScheduler:
    __slots__ = ("_start", "_clock", "_on_change")

    def __init__(self, start: Start, *, clock: Callable[[], float], on_change: Callable[[], None]) -> None:
        """``start`` runs a due record; ``clock`` is wall time in seconds (as ``not_before`` is);
        ``on_change`` is told whenever a partition's delayed records changed (flow control, rule 3)."""
        self._start = start
        self._clock = clock
        self._on_change = on_change

    def arrive(self, st: PartitionState, msg: Inbound, now_ms: int) -> None:
        """Step 1."""
        ctx = RetryContext.from_headers(msg)
        if st.delayed or ctx.not_before_ms > now_ms:
            st.delayed.append((ctx, msg))
            self._arm(st)
            return
        self._start(st, ctx, msg)

    def cancel(self, st: PartitionState) -> None:
        """Step 4."""
        if st.timer is not None:
            st.timer.cancel()
            st.timer = None
        st.delayed.clear()

    def _arm(self, st: PartitionState) -> None:
        if st.timer is not None or not st.delayed:
            return
        delay = max(0.0, st.delayed[0][0].not_before_ms / 1000 - self._clock())
        st.timer = asyncio.get_running_loop().call_later(delay, self._release, st)
        self._on_change()

    def _release(self, st: PartitionState) -> None:
        """Step 3."""
        st.timer = None
        if st.revoking:
            return
        now_ms = int(self._clock() * 1000)
        while st.delayed and st.delayed[0][0].not_before_ms <= now_ms:
            ctx, msg = st.delayed.popleft()
            self._start(st, ctx, msg)
        self._arm(st)
        self._on_change()
