"""Offset committing: only the finished prefix of a partition is ever handed to the consumer.

1. Every ``interval_s`` (:meth:`OffsetCommitter.run`), :meth:`store_finished` hands each
   partition's committable offset (see :mod:`processor.engine.offsets`) to the consumer when it
   moved; the consumer commits stored offsets (librdkafka's auto-commit).
2. A partition being revoked is skipped there: its final offset comes from :meth:`final`, which
   the consumer commits synchronously before the partition is released.
"""

from __future__ import annotations

import asyncio

from processor.engine.partitions import Partitions, PartitionState
from processor.engine.ports import TP, Consumer, EngineObserver

__all__ = ["OffsetCommitter"]


class OffsetCommitter:
    __slots__ = ("consumer", "_partitions", "_obs", "_interval_s")

    def __init__(self, partitions: Partitions, *, observer: EngineObserver, interval_s: float) -> None:
        self.consumer: Consumer | None = None
        self._partitions = partitions
        self._obs = observer
        self._interval_s = interval_s

    async def run(self) -> None:
        """Step 1, forever (cancel to stop)."""
        while True:
            await asyncio.sleep(self._interval_s)
            self.store_finished()

    def store_finished(self) -> None:
        """Hand every partition's finished prefix to the consumer (committed by auto-commit)."""
        offsets: dict[TP, int] = {}
        for st in self._partitions:
            committable = st.offsets.committable()
            if committable is not None and committable != st.stored and not st.revoking:
                offsets[st.tp] = committable
                st.stored = committable
                self._obs.committed(st.tp, committable)
        if offsets and self.consumer is not None:
            self.consumer.store_offsets(offsets)

    def final(self, st: PartitionState) -> int | None:
        """Step 2: the offset to commit for a drained partition (``None``: nothing was consumed)."""
        committable = st.offsets.committable()
        if committable is not None:
            self._obs.committed(st.tp, committable)
        return committable
