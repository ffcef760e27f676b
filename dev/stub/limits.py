"""The stub's rate limiter: a token bucket per application id, answered the way Voucherify does.

Voucherify limits API calls per project ("API requests per minute", or per hour on older plans)
and documents three headers on its responses (https://docs.voucherify.io/docs/limits):

- ``X-Rate-Limit-Limit``: the number of requests allowed in the period;
- ``X-Rate-Limit-Remaining``: how many can still be made in the current period;
- ``X-Rate-Limit-Retry``: when the next request can be made, Unix epoch seconds (on a 429).

A 429 here also carries the standard ``Retry-After: <whole seconds>`` (on by default, switchable
with ``rate_limit_retry_after``): many gateways in front of an API add it, and the processor must
handle either header alone or both.

The bucket holds ``burst`` tokens and refills at ``per_minute / 60`` tokens per second; one
request takes one token. Kept apart from the aiohttp handler, with the clock passed in, so the
arithmetic is testable without a socket or a sleep.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RateLimits", "RateDecision"]


@dataclass(frozen=True, slots=True)
class RateDecision:
    """One request's verdict: ``allowed``, and the headers' values."""

    allowed: bool
    limit: int  # X-Rate-Limit-Limit (per minute)
    remaining: int  # X-Rate-Limit-Remaining (whole tokens left)
    retry_in: float  # seconds until the next token (0 when allowed)

    def headers(self, now_epoch: float, retry_after: bool) -> dict[str, str]:
        """Response headers; a refusal adds X-Rate-Limit-Retry (and Retry-After when asked for)."""
        headers = {"X-Rate-Limit-Limit": str(self.limit), "X-Rate-Limit-Remaining": str(self.remaining)}
        if not self.allowed:
            headers["X-Rate-Limit-Retry"] = str(math.ceil(now_epoch + self.retry_in))
            if retry_after:
                headers["Retry-After"] = str(max(1, math.ceil(self.retry_in)))
        return headers


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, updated: float) -> None:
        self.tokens = tokens
        self.updated = updated


class RateLimits:
    """Token buckets keyed by application id (``per_minute`` > 0, ``burst`` >= 1 tokens)."""

    def __init__(self, per_minute: float, burst: float | None = None) -> None:
        if per_minute <= 0:
            raise ValueError("rate_limit_per_minute must be positive")
        self.per_minute = per_minute
        self.per_second = per_minute / 60.0
        # Default burst: one second's worth, at least one request.
        self.burst = float(burst) if burst is not None else max(1.0, self.per_second)
        if self.burst < 1:
            raise ValueError("rate_limit_burst must be at least 1")
        self._buckets: dict[str, _Bucket] = {}

    def check(self, key: str, now: float) -> RateDecision:
        """Take a token for ``key`` at monotonic time ``now`` (seconds), or refuse."""
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
        limit = int(self.per_minute)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return RateDecision(True, limit, int(bucket.tokens), 0.0)
        return RateDecision(False, limit, 0, (1.0 - bucket.tokens) / self.per_second)
