"""Step 5 for one request: the adaptive concurrency limit, the auth circuit and quick retries.

For each attempt:

1. If the auth circuit is open, wait until it closes (:mod:`processor.engine.circuit`).
2. Take a slot of the adaptive limit (:mod:`processor.engine.concurrency`); send; give the slot
   back, telling the limit whether the destination throttled us (``SendResult.throttled``).
3. Success: done. An auth failure trips the circuit and goes back to 1: never dead-lettered,
   however long the credentials stay wrong. A retryable failure is retried in place while
   :class:`~processor.engine.quick_retry.QuickRetries` allows; anything else is returned for the
   hand-off to route.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from processor.engine.circuit import AuthCircuit
from processor.engine.concurrency import AdaptiveLimit
from processor.engine.ports import AUTH, PERMANENT, RETRYABLE, EngineObserver, Sender, SendResult
from processor.engine.quick_retry import QuickRetries

__all__ = ["Deliverer"]


class Deliverer:
    __slots__ = ("_sender", "_limit", "_circuit", "_quick", "_obs", "_sleep")

    def __init__(
        self,
        sender: Sender,
        *,
        limit: AdaptiveLimit,
        circuit: AuthCircuit,
        quick_retries: QuickRetries,
        observer: EngineObserver,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self._sender = sender
        self._limit = limit
        self._circuit = circuit
        self._quick = quick_retries
        self._obs = observer
        self._sleep = sleep

    async def deliver(self, delivery: Any) -> SendResult:
        """The final result of ``delivery``: ok, or the failure to hand off (never an auth failure)."""
        circuit = self._circuit
        limit = self._limit
        attempt = 0
        while True:
            if circuit.is_open:  # step 1
                await circuit.wait_closed()
            await limit.acquire()  # step 2
            started = time.perf_counter()
            result = None
            try:
                result = await self._sender.send(delivery)
            finally:
                limit.release(throttled=result is not None and result.throttled)
            elapsed = time.perf_counter() - started
            if result.ok:  # step 3
                self._obs.sent(delivery.action, elapsed)
                return result
            self._obs.failed(delivery.action, result.error_class or PERMANENT, elapsed)
            if result.error_class == AUTH:
                circuit.trip(result.message)
                continue
            if result.error_class != RETRYABLE:
                return result
            wait = self._quick.wait_before(attempt, result.retry_after)
            if wait is None:
                return result
            attempt += 1
            await self._sleep(wait)
