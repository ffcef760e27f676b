"""Adaptive concurrency for HTTP requests: back off on 429, creep back up on success.

Voucherify blocks clients that exceed their plan, so hammering after a 429 makes things worse.
The limit is AIMD (as in TCP congestion control): a 429 halves the allowed concurrency (at most
once per ``cooldown_s``, so one burst of 429s from one window counts once); each success adds
``1/limit``, so the limit grows by about one per round trip of the whole window.

Time is injected (``clock``, seconds, monotonic) so the cooldown can be tested without waiting.

The engine no longer reports throttling here (``release()`` without ``throttled``): since issue 14
a 429 adapts the request *rate* (:mod:`processor.engine.rate`), and halving the concurrency on top
of that can starve the paced rate (the first wiring measured 252/s against a 500/s stub limit
with both); at a paced rate R and latency T, about R x T requests are in flight anyway. The limit
caps concurrency and lets retries queue first (``acquire(priority=True)``).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class AdaptiveLimit:
    def __init__(
        self, maximum: int, *, minimum: int = 1, cooldown_s: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.maximum = maximum
        self.minimum = minimum
        self._limit = float(maximum)
        self._cooldown = cooldown_s
        self._clock = clock
        self._last_decrease = float("-inf")
        self._in_use = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None  # looked up once: see _running_loop

    @property
    def limit(self) -> int:
        return int(self._limit)

    @property
    def in_use(self) -> int:
        return self._in_use

    def try_acquire(self, priority: bool = False) -> bool:
        """Take a slot now if one is free and nobody queues ahead (no await: the common case)."""
        if self._in_use < self._limit and (priority or not self._waiters):
            self._in_use += 1
            return True
        return False

    async def acquire(self, priority: bool = False) -> None:
        """Wait for a slot; ``priority`` (a retry) queues ahead of fresh work."""
        if self.try_acquire(priority):
            return
        future: asyncio.Future[None] = self._running_loop().create_future()
        if priority:
            self._waiters.appendleft(future)
        else:
            self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release_slot()  # we were handed a slot but will not use it
            else:
                try:
                    self._waiters.remove(future)
                except ValueError:
                    pass
            raise

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The loop this limit's waiters live on, looked up once: ``asyncio.get_running_loop()``
        costs a ``getpid()`` system call on CPython 3.11 (its fork check), and most requests wait
        here once (native profile of bench/run.py: 5 % of the processor's CPU)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
        return loop

    def release(self, *, throttled: bool = False) -> None:
        if throttled:
            now = self._clock()
            if now - self._last_decrease >= self._cooldown:
                self._last_decrease = now
                self._limit = max(float(self.minimum), self._limit / 2)
        elif self._limit < self.maximum:
            self._limit = min(float(self.maximum), self._limit + 1.0 / self._limit)
        self._release_slot()

    def _release_slot(self) -> None:
        self._in_use -= 1
        while self._waiters and self._in_use < self._limit:
            future = self._waiters.popleft()
            if not future.done():
                self._in_use += 1
                future.set_result(None)
