"""Step 5 for one request: the adaptive rate, the concurrency limit, both circuits and quick retries.

For each attempt:

1. If the auth circuit or the availability circuit is open, wait until it closes
   (:mod:`processor.engine.circuit`, :mod:`processor.engine.availability`).
2. Wait for a slot of the adaptive rate (:mod:`processor.engine.rate_gate`), then of the
   concurrency limit (:mod:`processor.engine.concurrency`); retries of this request, and
   requests of records from a retry tier, go ahead of fresh work in both. Send; give the slot back.
   (A fresh request whose slot the dispatcher took, with both circuits closed and a rate slot
   free, takes 1-3 without a task: :meth:`Deliverer.try_start`; a failed answer continues here
   at 3, in :meth:`Deliverer.deliver` ``answered=``.)
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

#: A first attempt :meth:`Deliverer.try_start` made that failed: (the delivery, its result, the
#: rate's ``sent_at`` for it, seconds it took, the availability circuit's openings when it went).
Answered = tuple[Any, Any, float, float, int]


class Deliverer:
    __slots__ = ("_sender", "_start", "_tasks", "_limit", "_circuit", "_availability", "_rate", "_gate", "_quick",
                 "_obs", "_sleep", "_rng")

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
        self._start: Callable[[Any, Callable[[Any], None]], None] = getattr(sender, "start", None) or self._start_in_task
        self._tasks: set[asyncio.Future[None]] = set()  # _start_in_task's (kept referenced)
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

    def try_start(self, delivery: Any, on_answer: Callable[[Any, Answered | None], None]) -> Attempt | None:
        """Steps 1-3 of a fresh request whose concurrency slot the caller holds, without a task.

        ``None``: a circuit is open or no rate slot is free; nothing happened, the caller still
        holds the slot (and goes on with :meth:`deliver` ``held=True``). Else the request is on
        its way and ``on_answer(result, answered)`` follows once, on the loop, never before this
        returns, unless the returned :class:`Attempt` is abandoned first: ``result`` is the
        :class:`SendResult` (its slot given back and, when ok, step 3 done, so ``answered`` is
        ``None``), or the exception the sender raised (a defect). For a failed result,
        ``answered`` is what :meth:`deliver` takes to go on from step 3.
        """
        if self._circuit.is_open or self._availability.is_open:
            return None
        sent_at = self._gate.try_acquire(False)
        if sent_at is None:
            return None
        attempt = Attempt(self, delivery, on_answer, sent_at)
        self._start(delivery, attempt.answered)
        return attempt

    def _succeeded(self, delivery: Any, elapsed: float, sent_under: int) -> None:
        """Step 3 for a success; ``sent_under``: the availability circuit's openings at sending."""
        self._rate.on_success()
        self._availability.alive(sent_under)
        self._obs.sent(delivery.action, elapsed)

    def _start_in_task(self, delivery: Any, on_result: Callable[[Any], None]) -> None:
        """``Sender.start`` for a sender that only has ``send``: the same, in a task."""
        async def send_then() -> None:
            try:
                result = await self._sender.send(delivery)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, who stops the engine
                result = exc
            on_result(result)

        task = asyncio.ensure_future(send_then())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, delivery: Any, priority: bool = False, held: bool = False,
                      answered: Answered | None = None) -> SendResult:
        """The final result of ``delivery``: ok, or the failure to hand off (never an auth failure,
        a throttled answer, or an outage while the availability circuit is open).

        ``priority``: this is already a retry (a record from a retry tier), so it goes first.
        ``held``: the caller took this request's concurrency slot already
        (:meth:`AdaptiveLimit.acquire_then`); it is used at once when both circuits are closed and
        a rate slot is free, else given back and step 2 is taken as usual. ``answered``: the
        first attempt was made by :meth:`try_start` and failed so; go on from its step 3.
        """
        circuit = self._circuit
        availability = self._availability
        rate = self._rate
        gate = self._gate
        limit = self._limit
        attempt = 0
        throttled_waits = 0
        while True:
            if answered is not None:  # the first attempt went by try_start and failed so
                _, result, sent_at, elapsed, sent_under = answered
                answered = None
            else:
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
                sent_under = availability.openings
                started = time.perf_counter()
                result = None
                try:
                    result = await self._sender.send(delivery)
                finally:
                    limit.release()
                elapsed = time.perf_counter() - started
                if result.ok:  # steps 3 and 4
                    self._succeeded(delivery, elapsed, sent_under)
                    return result
            self._obs.failed(delivery.action, result.error_class or PERMANENT, elapsed)
            if result.unavailable:
                availability.failed(_outage_reason(result), result.message)
            else:
                availability.alive(sent_under)
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


class Attempt:
    """A request :meth:`Deliverer.try_start` sent, until its answer (or until it is abandoned)."""

    __slots__ = ("_deliverer", "_delivery", "_on_answer", "_sent_at", "_sent_under", "_started", "_open")

    def __init__(self, deliverer: Deliverer, delivery: Any, on_answer: Callable[[Any, Answered | None], None],
                 sent_at: float) -> None:
        self._deliverer = deliverer
        self._delivery = delivery
        self._on_answer = on_answer
        self._sent_at = sent_at
        self._sent_under = deliverer._availability.openings
        self._started = time.perf_counter()
        self._open = True  # holds its concurrency slot, waits for the answer

    def answered(self, result: Any) -> None:
        """The sender's ``on_result``: give the slot back, do step 3, tell the caller."""
        if not self._open:
            return  # abandoned: the slot went back then, nobody waits for this answer
        self._open = False
        d = self._deliverer
        d._limit.release()
        if isinstance(result, BaseException):
            self._on_answer(result, None)
            return
        elapsed = time.perf_counter() - self._started
        if result.ok:
            d._succeeded(self._delivery, elapsed, self._sent_under)
            self._on_answer(result, None)
        else:
            self._on_answer(result, (self._delivery, result, self._sent_at, elapsed, self._sent_under))

    def abandon(self) -> None:
        """Nobody waits for the answer any more (a drain timed out): the slot goes back now, and
        the answer, when it comes, is ignored (as a cancelled task's would be)."""
        if self._open:
            self._open = False
            self._deliverer._limit.release()


def _outage_reason(result: SendResult) -> str:
    """A short cause for readiness and the circuit's metric label: ``status <n>`` (the status the
    destination reported, not interpreted here), else ``no answer`` (connection failure or timeout);
    the WARNING shows the full, secret-free message."""
    return f"status {result.status}" if result.status is not None else "no answer"
