"""Offset committing: only the finished prefix of a partition is ever handed to the consumer.

1. Every ``interval_s`` (:meth:`OffsetCommitter.run`), :meth:`store_finished` hands each
   partition's committable offset (see :mod:`processor.engine.offsets`) to the consumer when it
   or the finished offsets above it changed, with those finished offsets encoded as the commit
   metadata (:mod:`processor.engine.finished_offsets`), so that the next owner skips them; the
   consumer commits what it was handed.
2. A partition being revoked is skipped there: its final offset comes from :meth:`final`, which
   the consumer commits synchronously before the partition is released.
"""

from __future__ import annotations

import asyncio
import logging

from processor.engine.finished_offsets import encode as encode_finished
from processor.engine.partitions import Partitions, PartitionState
from processor.engine.ports import TP, Commit, Consumer, EngineObserver

log = logging.getLogger(__name__)

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
        """Hand every partition's finished prefix and the finished offsets above it to the consumer."""
        offsets: dict[TP, Commit] = {}
        for st in self._partitions:
            if st.revoking:
                continue
            commit = commit_of(st)
            if commit is not None and commit != st.stored:
                offsets[st.tp] = commit
                st.stored = commit
                self._obs.committed(st.tp, commit[0])
        if offsets and self.consumer is not None:
            self.consumer.store_offsets(offsets)

    def final(self, st: PartitionState) -> Commit | None:
        """Step 2: what to commit for a drained partition (``None``: nothing was consumed)."""
        commit = commit_of(st)
        if commit is not None:
            self._obs.committed(st.tp, commit[0])
        return commit


def commit_of(st: PartitionState) -> Commit | None:
    """The offset to commit and its metadata: the finished offsets above it, encoded.

    Cost: one encode per changed partition per interval (bench/offset_metadata.py: about 1-3 ms
    at 5,000 events in flight in one partition).
    """
    point = st.offsets.commit_point()
    if point is None:
        return None
    committable, above = point
    encoded = encode_finished(committable, above)
    if encoded.left_out:
        log.debug("%s[%d]: %d finished offsets above %d do not fit in the commit metadata; they would be "
                  "delivered again after a crash", st.tp[0], st.tp[1], encoded.left_out, committable)
    return committable, encoded.text
