"""The availability circuit: stop everything while the destination is down, instead of burning events.

Retry tiers and the dead-letter topic are for failures of *one* event. When the destination is
unreachable or failing across the board, every event would fail the same way: walking them all
through the tiers into the dead-letter topic turns a one-minute outage into a mass replay (issue
14 measured 8,357 dead letters for a 60 s outage, silently). So, modelled on the auth circuit
(:mod:`processor.engine.circuit`):

**The rule** (:class:`AvailabilityRule`): a delivery's answer is an *outage signal* when the
destination marks it ``unavailable`` (for Voucherify: a connection failure (refused, reset, DNS,
TLS), a timeout, or a 500/502/503/504, see ``processor.voucherify.http_status.OUTAGE_STATUSES``);
any other answer (2xx, 4xx, 429 included: the server is there and talking) is *evidence of life*. The circuit opens
when ``threshold`` (20) answers in a row, in the order they came back, are outage signals. An
event that fails while its neighbours succeed never gets there: one answer of life resets the run,
so it keeps going the retry-tier way. With 10 % random 503s, 20 in a row happens once in 10^20.

**While open** (:class:`AvailabilityCircuit`):

1. Consumption pauses (the engine watches ``is_open``; retry tiers are partitions too, so they
   stop feeding), readiness reports ``destination unavailable: <reason>``, and a WARNING with the
   cause is logged once, then every ``warn_every_s`` (30 s) while it lasts.
2. Deliveries that hit the circuit, or fail with an outage signal while it is open, wait for it
   to close and are then tried again: nothing goes to a retry tier or the dead-letter topic, and
   nothing is committed past them.
3. One prober calls ``probe()`` with exponential backoff (``initial_interval_s`` doubling up to
   ``max_interval_s``, +-20 % jitter). ``probe()`` returns normally when the destination answered
   at all (whatever the answer: the auth circuit judges credentials) and raises when it did not.
4. A probe that is answered, or a delivery sent since it opened that gets any answer but an
   outage signal, closes the circuit: waiting deliveries go again, consumption resumes, and a
   WARNING says how long it lasted. The answer of a request sent *before* it opened says the
   destination was there then, not now: it closes nothing (a newcomer's finding: during a
   refused-connection outage, slow requests sent before it answered 200 one by one, closed the
   circuit each time, and the requests sent meanwhile went to the retry tiers by the dozen).

:class:`AvailabilityRule` is pure (clock passed in) so the rule is tested without a loop; the
circuit's probe backoff takes ``sleep`` and ``rng`` like the auth circuit's.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["AvailabilityRule", "AvailabilityCircuit"]

log = logging.getLogger(__name__)


class AvailabilityRule:
    """The documented rule as a state machine: ``threshold`` outage signals in a row open it."""

    def __init__(self, *, clock: Callable[[], float], threshold: int = 20, warn_every_s: float = 30.0) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self._clock = clock
        self.threshold = threshold
        self.warn_every_s = warn_every_s
        self.run = 0  # outage signals in a row
        self.is_open = False
        self.reason = ""
        self.opened_at = 0.0
        self.openings = 0  # times it opened: a request remembers the count it was sent under
        self.lasted_s = 0.0  # how long the last opening lasted
        self._warned_at = 0.0

    def alive(self) -> bool:
        """Evidence of life (any answer but an outage signal). True when it closed the circuit."""
        self.run = 0
        if self.is_open:
            self.is_open = False
            self.lasted_s = self._clock() - self.opened_at
            return True
        return False

    def failed(self, reason: str) -> bool:
        """An outage signal (``reason`` without secrets). True when it opened the circuit."""
        self.run += 1
        if self.is_open:
            self.reason = reason
            return False
        if self.run >= self.threshold:
            self.is_open = True
            self.openings += 1
            self.reason = reason
            self.opened_at = self._warned_at = self._clock()
            return True
        return False

    def open_for(self) -> float:
        """Seconds since it opened (0 when closed)."""
        return self._clock() - self.opened_at if self.is_open else 0.0

    def warning_due(self) -> bool:
        """True once per ``warn_every_s`` while open (the caller logs the periodic WARNING)."""
        if self.is_open and self._clock() - self._warned_at >= self.warn_every_s:
            self._warned_at = self._clock()
            return True
        return False


class AvailabilityCircuit:
    """The rule plus the asyncio side: waiters, the prober, the WARNINGs, ``on_change``."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[object]],
        *,
        clock: Callable[[], float],
        threshold: int = 20,
        initial_interval_s: float = 0.5,
        max_interval_s: float = 5.0,
        warn_every_s: float = 30.0,
        on_change: Callable[[bool, str], None] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.rule = AvailabilityRule(clock=clock, threshold=threshold, warn_every_s=warn_every_s)
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
        return self.rule.is_open

    @property
    def reason(self) -> str:
        return self.rule.reason

    @property
    def openings(self) -> int:
        """How many times it opened so far: read when a request is sent, passed to :meth:`alive`."""
        return self.rule.openings

    def alive(self, sent_under: int | None = None) -> None:
        """A delivery got an answer that is not an outage signal; ``sent_under``: :attr:`openings`
        when it was sent (an open circuit stays open for a request sent before it opened)."""
        rule = self.rule
        if rule.run and (not rule.is_open or sent_under is None or sent_under == rule.openings) and rule.alive():
            self._close("a delivery was answered")

    def failed(self, reason: str, detail: str = "") -> None:
        """A delivery failed with an outage signal: ``reason`` is short (readiness, metric label),
        ``detail`` the full secret-free message (logged)."""
        if self.rule.failed(reason):
            log.warning(
                "Voucherify looks unavailable (%d deliveries in a row failed; last: %s%s): pausing consumption "
                "and retry tiers, nothing is dead-lettered; probing until it answers",
                self.rule.threshold, reason, f": {detail}" if detail else "",
            )
            self._closed.clear()
            if self._on_change:
                self._on_change(True, reason)
            self._prober = asyncio.get_running_loop().create_task(self._probe_until_closed(), name="availability")

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def _close(self, how: str) -> None:
        log.warning("Voucherify is available again after %.1f s (%s): resuming", self.rule.lasted_s, how)
        self._closed.set()
        if self._on_change:
            self._on_change(False, "")

    async def _probe_until_closed(self) -> None:
        interval = self._initial
        while self.rule.is_open:
            await self._sleep(interval * self._rng.uniform(0.8, 1.2))
            if not self.rule.is_open:
                return
            try:
                await self._probe()
            except Exception as exc:  # noqa: BLE001 - any probe failure means "still down"
                if self.rule.warning_due():
                    log.warning("Voucherify still unavailable after %.0f s (last: %s; probe: %s)",
                                self.rule.open_for(), self.rule.reason, exc)
                interval = min(self._max, interval * 2)
                continue
            if self.rule.alive():
                self._close("a probe was answered")
            return

    async def close(self) -> None:
        if self._prober is not None:
            self._prober.cancel()
            try:
                await self._prober
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
