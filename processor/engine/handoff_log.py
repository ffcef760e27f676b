"""INFO lines for every hand-off to a retry tier or the dead-letter topic, aggregated when many.

Why: counters say *that* records were dead-lettered; an operator on call needs *which* ones
(origin topic/partition/offset), for which subscriptions, and why (error class, status) without
reading the dead-letter topic. A failing endpoint can hand off thousands of records a second,
so per interval (``interval_s``, default 10 s) the first ``burst`` hand-offs are logged one line
each and the rest are counted and logged as one summary line when the interval ends, grouped by
(target topic, error class, status).

Nothing here adds a secret: the fields are topic names, offsets, subscription names, the error
class, the HTTP status and the failure reason (which the logging handler redacts like any line).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

__all__ = ["HandoffLog"]

log = logging.getLogger("processor.engine.handoff")


class HandoffLog:
    """Logs hand-offs at INFO: ``burst`` lines per interval, then one summary per interval."""

    def __init__(
        self,
        *,
        interval_s: float = 10.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self._interval = interval_s
        self._burst = burst
        self._clock = clock
        self._log = logger
        self._window_end = 0.0
        self._logged = 0
        self._suppressed: Counter[tuple[str, str, str, int | None]] = Counter()
        self._timer: asyncio.TimerHandle | None = None

    def record(
        self,
        kind: str,
        target: str,
        origin: tuple[str, int, int],
        subscriptions: Sequence[str],
        error_class: str,
        status: int | None,
        reason: str,
    ) -> None:
        """One acknowledged hand-off. ``kind``: ``"dead-lettered"`` or ``"retry"``.

        ``origin`` is (topic, partition, offset) of the source event (not of the retry record).
        """
        now = self._clock()
        if now >= self._window_end:
            self.flush()
            self._window_end = now + self._interval
            self._logged = 0
        if self._logged < self._burst:
            self._logged += 1
            topic, partition, offset = origin
            verb = "dead-lettered" if kind == "dead-lettered" else "handed to retry tier"
            subs = ", ".join(subscriptions) or "-"
            self._log.info(
                "%s %s[%d]@%d -> %s (subscriptions: %s; %s%s): %s",
                verb, topic, partition, offset, target, subs, error_class,
                f" {status}" if status is not None else "", reason[:300],
                extra={"handoff": kind, "origin_topic": topic, "origin_partition": partition,
                       "origin_offset": offset, "target_topic": target, "subscriptions": list(subscriptions),
                       "error_class": error_class, "status": status},
            )
            return
        self._suppressed[(kind, target, error_class, status)] += 1
        self._schedule_flush(self._window_end - now)

    def flush(self) -> None:
        """Log the summary of what this interval did not log one by one (if anything)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._suppressed:
            return
        groups = sorted(self._suppressed.items(), key=lambda kv: -kv[1])
        total = sum(n for _, n in groups)
        parts = [f"{n} {kind} -> {target} ({cls}{f' {status}' if status is not None else ''})"
                 for (kind, target, cls, status), n in groups]
        self._log.info(
            "%d more hand-off(s) in the last %gs not logged one by one: %s",
            total, self._interval, "; ".join(parts),
            extra={"handoff": "summary", "suppressed": total},
        )
        self._suppressed.clear()

    def _schedule_flush(self, delay: float) -> None:
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous caller): the next record or close flushes
            return
        self._timer = loop.call_later(max(0.0, delay), self._flush_due)

    def _flush_due(self) -> None:
        self._timer = None
        self.flush()
