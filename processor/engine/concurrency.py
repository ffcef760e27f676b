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
from typing import Protocol


class Deferred(Protocol):
    """Fresh work waiting for a slot without a task of its own (see :meth:`AdaptiveLimit.acquire_then`)."""

    cancelled: bool

    def run(self) -> None: ...


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
        self._deferred: deque[Deferred] = deque()  # fresh work, served after every waiter
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

    def acquire_then(self, work: Deferred) -> None:
        """Take a slot for fresh ``work`` and call ``work.run()``: now if a slot is free and nothing
        queues, else when a slot frees up, after every :meth:`acquire` waiting then (retries first).

        Why: a record that waits for a slot as a task (its coroutine chain suspended on a future)
        costs CPU at every step and memory all the while; with the in-flight window at 5,000 and
        256 slots, ~4,700 records waited so. (bench/run.py, one process: a window of 320, where
        almost none waited, cost 0.063 CPU s per 1,000 events against 0.071 at 5,000; with this
        queue, 0.069-0.071 at 5,000.) ``run`` owns the slot: it gives it back with :meth:`release`. A
        ``work`` whose ``cancelled`` is set before its turn is skipped (it holds no slot).
        """
        if self._in_use < self._limit and not self._waiters and not self._deferred:
            self._in_use += 1
            work.run()
        else:
            self._deferred.append(work)

    def withdraw(self, matches: Callable[[Deferred], bool]) -> list[Deferred]:
        """Remove the deferred work ``matches`` picks (it never gets a slot from here); returns it."""
        taken = [w for w in self._deferred if matches(w)]
        if taken:
            self._deferred = deque(w for w in self._deferred if not matches(w))
        return taken

    @property
    def deferred(self) -> int:
        return len(self._deferred)

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
        while self._in_use < self._limit:
            if self._waiters:
                future = self._waiters.popleft()
                if not future.done():
                    self._in_use += 1
                    future.set_result(None)
            elif self._deferred:
                work = self._deferred.popleft()
                if not work.cancelled:
                    self._in_use += 1
                    work.run()
            else:
                break
