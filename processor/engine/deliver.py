"""Step 5 for one request: the adaptive rate, the concurrency limit, both circuits and quick retries.

For each attempt:

1. If the auth circuit or the availability circuit is open, wait until it closes
   (:mod:`processor.engine.circuit`, :mod:`processor.engine.availability`).
2. Wait for a slot of the adaptive rate (:mod:`processor.engine.rate_gate`), then of the
   concurrency limit (:mod:`processor.engine.concurrency`); retries of this request, and
   requests of records from a retry tier, go ahead of fresh work in both. Send; give the slot back.
3. Tell the rate and the availability rule what the answer says about the destination: a success
   or a throttled answer raises/cuts the rate; an ``unavailable`` failure counts towards the
   availability circuit, any other answer is evidence of life.
4. Success: done. An auth failure trips the auth circuit and goes back to 1: never dead-lettered,
   however long the credentials stay wrong. A throttled answer is not the event's failure: wait
   for its ``retry_after`` (or a growing backoff), then back to 1, first in line, without using a
   quick retry. An ``unavailable`` failure while the availability circuit is open is not the
   event's failure either: back to 1 (wait for the circuit). Any other retryable failure is
   retried in place while :class:`~processor.engine.quick_retry.QuickRetries` allows; anything
   else is returned for the hand-off to route (a retry tier or the dead-letter topic).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from processor.engine.availability import AvailabilityCircuit
from processor.engine.circuit import AuthCircuit
from processor.engine.concurrency import AdaptiveLimit
from processor.engine.ports import AUTH, PERMANENT, RETRYABLE, EngineObserver, Sender, SendResult
from processor.engine.quick_retry import QuickRetries
from processor.engine.rate import AdaptiveRate
from processor.engine.rate_gate import RateGate

__all__ = ["Deliverer"]

_THROTTLED_BACKOFF_S = 0.2  # first wait after a 429 without Retry-After, doubling up to 64x
_MAX_THROTTLE_WAIT_S = 300.0  # never trust one server-requested wait longer than this
#: A throttled wait this long is logged: the record's partition cannot commit past it meanwhile,
#: so its lag grows, and an operator needs to see why (a newcomer's finding).
LONG_THROTTLE_WAIT_S = 30.0

_log = logging.getLogger(__name__)


class Deliverer:
    __slots__ = ("_sender", "_limit", "_circuit", "_availability", "_rate", "_gate", "_quick", "_obs", "_sleep",
                 "_rng")

    def __init__(
        self,
        sender: Sender,
        *,
        limit: AdaptiveLimit,
        circuit: AuthCircuit,
        availability: AvailabilityCircuit,
        rate: AdaptiveRate,
        quick_retries: QuickRetries,
        observer: EngineObserver,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._sender = sender
        self._limit = limit
        self._circuit = circuit
        self._availability = availability
        self._rate = rate
        self._gate = RateGate(rate)
        self._quick = quick_retries
        self._obs = observer
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def limit(self) -> AdaptiveLimit:
        """The concurrency limit (the dispatcher takes a record's first slot before its task)."""
        return self._limit

    async def deliver(self, delivery: Any, priority: bool = False, held: bool = False) -> SendResult:
        """The final result of ``delivery``: ok, or the failure to hand off (never an auth failure,
        a throttled answer, or an outage while the availability circuit is open).

        ``priority``: this is already a retry (a record from a retry tier), so it goes first.
        ``held``: the caller took this request's concurrency slot already
        (:meth:`AdaptiveLimit.acquire_then`); it is used at once when both circuits are closed and
        a rate slot is free, else given back and step 2 is taken as usual.
        """
        circuit = self._circuit
        availability = self._availability
        rate = self._rate
        gate = self._gate
        limit = self._limit
        attempt = 0
        throttled_waits = 0
        while True:
            if held:
                held = False
                sent_at = None
                if not circuit.is_open and not availability.is_open:
                    sent_at = gate.try_acquire(priority)
                if sent_at is None:
                    limit.release()  # not now: the slot goes to the next in line, this request queues
                    continue
            else:
                if circuit.is_open:  # step 1
                    await circuit.wait_closed()
                if availability.is_open:
                    await availability.wait_closed()
                sent_at = gate.try_acquire(priority)  # step 2 (without awaiting when a slot is free)
                if sent_at is None:
                    sent_at = await gate.acquire(priority)
                if not limit.try_acquire(priority):
                    await limit.acquire(priority)
            started = time.perf_counter()
            result = None
            try:
                result = await self._sender.send(delivery)
            finally:
                limit.release()
            elapsed = time.perf_counter() - started
            if result.ok:  # steps 3 and 4
                rate.on_success()
                availability.alive()
                self._obs.sent(delivery.action, elapsed)
                return result
            self._obs.failed(delivery.action, result.error_class or PERMANENT, elapsed)
            if result.unavailable:
                availability.failed(_outage_reason(result), result.message)
            else:
                availability.alive()
            if result.error_class == AUTH:
                circuit.trip(result.message)
                continue
            priority = True  # whatever comes next is a retry
            if result.throttled:
                rate.on_throttled(sent_at, result.retry_after)
                self._obs.throttled(delivery.action)
                wait = result.retry_after
                if wait is None:
                    wait = _THROTTLED_BACKOFF_S * (2 ** min(throttled_waits, 6)) * self._rng.uniform(0.5, 1.5)
                throttled_waits += 1
                wait = min(wait, _MAX_THROTTLE_WAIT_S)
                if wait >= LONG_THROTTLE_WAIT_S:
                    _log.warning(
                        "a throttled %s request (subscription %r) waits %.0f s before it goes again "
                        "(Retry-After, capped at %.0f s); its partition commits nothing past it meanwhile",
                        delivery.action, delivery.subscription, wait, _MAX_THROTTLE_WAIT_S,
                    )
                await self._sleep(wait)
                continue
            if result.unavailable and availability.is_open:
                continue  # an outage, not this event's failure: wait for the circuit (step 1)
            if result.error_class != RETRYABLE:
                return result
            wait = self._quick.wait_before(attempt, result.retry_after)
            if wait is None:
                return result
            attempt += 1
            await self._sleep(wait)


def _outage_reason(result: SendResult) -> str:
    """A short cause for readiness and the circuit's metric label: ``status <n>`` (the status the
    destination reported, not interpreted here), else ``no answer`` (connection failure or timeout);
    the WARNING shows the full, secret-free message."""
    return f"status {result.status}" if result.status is not None else "no answer"
