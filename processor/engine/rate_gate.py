"""Waiting for a send slot at the adaptive rate, with retries of throttled requests going first.

A request that was throttled already waited its ``Retry-After``; making it queue again behind the
fresh work that arrived meanwhile (thousands of events when the in-flight window is large) is
what turned a 1 s Retry-After into a ~50 s wait (issue 14). So the gate keeps two FIFO queues,
and whenever a slot frees it goes to the oldest *priority* waiter first, then to fresh work.

One timer at a time is armed for the next free slot (:meth:`AdaptiveRate.next_free`); there is
no background task, and with no pacing in force (unlimited rate, no hold) ``acquire`` returns at
once without queueing.
"""

from __future__ import annotations

import asyncio
from collections import deque

from processor.engine.rate import AdaptiveRate

__all__ = ["RateGate"]


class RateGate:
    """``send_time = await gate.acquire(priority)`` before each request (one event loop)."""

    def __init__(self, rate: AdaptiveRate) -> None:
        self.rate = rate
        self._priority: deque[asyncio.Future[float]] = deque()
        self._normal: deque[asyncio.Future[float]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # looked up once (a getpid() each time)

    @property
    def waiting(self) -> int:
        return len(self._priority) + len(self._normal)

    def try_acquire(self, priority: bool = False) -> float | None:
        """A slot now if one is free and nobody queues ahead: its send time, else ``None``.

        The common case without awaiting (a coroutine per request costs CPU per event); on
        ``None``, :meth:`acquire` queues.
        """
        if not self._priority and (priority or not self._normal):
            return self.rate.try_take()
        return None

    async def acquire(self, priority: bool = False) -> float:
        """Wait for a slot; returns its send time (for :meth:`AdaptiveRate.on_throttled`)."""
        sent_at = self.try_acquire(priority)
        if sent_at is not None:
            return sent_at
        future: asyncio.Future[float] = self._running_loop().create_future()
        (self._priority if priority else self._normal).append(future)
        self._arm()
        try:
            return await future
        except asyncio.CancelledError:
            # Handed a slot already: it is simply not used. Otherwise leave the queue.
            for queue in (self._priority, self._normal):
                if future in queue:
                    queue.remove(future)
            raise

    def _arm(self) -> None:
        if self._timer is not None or not (self._priority or self._normal):
            return
        loop = self._running_loop()
        delay = max(0.0, self.rate.next_free() - self.rate.now())
        self._timer = loop.call_later(delay, self._release)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def _release(self) -> None:
        self._timer = None
        while self._priority or self._normal:
            queue = self._priority if self._priority else self._normal
            if queue[0].done():  # cancelled while waiting
                queue.popleft()
                continue
            sent_at = self.rate.try_take()
            if sent_at is None:
                break
            queue.popleft().set_result(sent_at)
        self._arm()
