"""Client-side request pacing, so we never trip Voucherify's per-minute plan limit.

Voucherify plans allow roughly 100 to 2,000 requests per minute per project and block
access when exceeded, so a burst followed by silence is worse than an even stream. This
is GCRA (a token bucket with the arithmetic done on a single "theoretical arrival time"):
O(1), no background task, no lock (one event loop), FIFO in call order, and with
``burst=1`` requests are spaced exactly ``60 / requests_per_minute`` seconds apart.
"""

from __future__ import annotations

import asyncio

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, requests_per_minute: float, burst: int = 1) -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval = 60.0 / requests_per_minute
        self._slack = (burst - 1) * self.interval
        self._tat = 0.0  # theoretical arrival time of the next request (loop clock)

    async def acquire(self) -> None:
        """Wait for this caller's slot. A cancelled waiter's slot is simply skipped."""
        now = asyncio.get_running_loop().time()
        start = max(self._tat, now)
        self._tat = start + self.interval
        delay = start - self._slack - now
        if delay > 0:
            await asyncio.sleep(delay)
