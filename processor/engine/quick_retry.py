"""Quick retries: a few in-process retries of a retryable failure before the retry tiers.

Most retryable failures (a timeout, a 503 during a deploy) pass within a second, and a retry
tier costs a round trip through Kafka plus its delay. So a retryable result is retried in place
up to ``retries`` times, waiting before retry ``n`` (0-based):

- the delay the destination asked for (``retry_after``), if any; else
- ``backoff_s * 2**n``, jittered by a factor in [0.5, 1.5) so that many keys do not retry in step.

A wait above ``max_wait_s`` is not taken: the server asked for a long pause, and a retry tier
waits without holding the key (and its partition's commit point) in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["QuickRetries"]


@dataclass(frozen=True, slots=True)
class QuickRetries:
    retries: int = 2
    backoff_s: float = 0.2
    max_wait_s: float = 5.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def wait_before(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before quick retry ``attempt`` (0-based), or ``None``: give up here."""
        if attempt >= self.retries:
            return None
        wait = retry_after
        if wait is None:
            wait = self.backoff_s * (2**attempt) * self.rng.uniform(0.5, 1.5)
        if wait > self.max_wait_s:
            return None
        return wait
