"""The authentication circuit: stop everything while Voucherify rejects our credentials.

A 401/403 is not the event's fault: every other event would fail the same way, and
dead-lettering them all would turn a rotated key into a mass replay. So:

1. The first auth failure opens the circuit: consumption pauses (the engine watches
   ``is_open``), readiness turns false, and every delivery that hits the circuit waits.
2. One prober calls ``probe()`` (``/segmentio/test-authentication``) with exponential backoff
   capped at ``max_interval_s``.
3. When a probe passes the circuit closes: waiting deliveries are retried, consumption resumes.
   Nothing was committed past the waiting events, and nothing went to the dead-letter topic.

Time is injected: ``sleep`` waits between probes (``asyncio.sleep`` by default) and ``rng``
jitters the interval by +-20 %, so tests drive the backoff without waiting.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


class AuthCircuit:
    def __init__(
        self,
        probe: Callable[[], Awaitable[bool]],
        *,
        initial_interval_s: float = 0.5,
        max_interval_s: float = 60.0,
        on_change: Callable[[bool], None] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._probe = probe
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._initial = initial_interval_s
        self._max = max_interval_s
        self._on_change = on_change
        self._closed = asyncio.Event()
        self._closed.set()
        self._prober: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return not self._closed.is_set()

    def trip(self, reason: str) -> None:
        """An auth failure was seen: open the circuit (idempotent) and start probing."""
        if self.is_open:
            return
        log.error("Voucherify rejected the credentials (%s): pausing consumption until they work", reason)
        self._closed.clear()
        if self._on_change:
            self._on_change(True)
        self._prober = asyncio.get_running_loop().create_task(self._probe_until_closed(), name="auth-prober")

    async def wait_closed(self) -> None:
        await self._closed.wait()

    async def _probe_until_closed(self) -> None:
        interval = self._initial
        while True:
            await self._sleep(interval * self._rng.uniform(0.8, 1.2))
            try:
                ok = await self._probe()
            except Exception as exc:  # noqa: BLE001 - a failed probe is just "not yet"
                log.warning("authentication probe failed: %s", exc)
                ok = False
            if ok:
                log.warning("Voucherify accepts the credentials again: resuming")
                self._closed.set()
                if self._on_change:
                    self._on_change(False)
                return
            interval = min(self._max, interval * 2)

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            try:
                await self._prober
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
