"""How Voucherify's HTTP answers map onto the engine's error classes (Segment's rules).

The error-class words themselves belong to the engine (:mod:`processor.engine.ports`): it routes
by them and writes them into ``vp.error.class``; this module only decides which one a status is.

Segment's actions-core does not carry its own retry list (retries happen in Segment's
delivery platform), so we use the documented set: 408, 423, 429, 500 and 502-511 (plus
the non-standard 598/599 network-timeout codes) are worth retrying; 401/403 mean the
credentials are wrong (the engine pauses instead of burning events); everything else
that is not 2xx is permanent. 501 Not Implemented is permanent on purpose: retrying a
method the server does not implement never helps. 429 is also "throttled": the server asks
for fewer requests, which the engine's adaptive rate acts on; 500/502/503/504 (and connection
failures and timeouts, in the client) are "unavailable": one event's failure unless many in a row.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Final

from processor.engine.ports import AUTH, PERMANENT, RETRYABLE

__all__ = [
    "RETRYABLE_STATUSES",
    "AUTH_STATUSES",
    "THROTTLE_STATUSES",
    "OUTAGE_STATUSES",
    "classify_status",
    "retry_after_seconds",
]

RETRYABLE_STATUSES: Final = frozenset({408, 423, 429, 500, *range(502, 512), 598, 599})
AUTH_STATUSES: Final = frozenset({401, 403})
THROTTLE_STATUSES: Final = frozenset({429})
#: Server and gateway failures that, many in a row, mean Voucherify is down (availability circuit).
OUTAGE_STATUSES: Final = frozenset({500, 502, 503, 504})

# X-Rate-Limit-Retry below this is taken as a delay in seconds, above it as an epoch time.
_EPOCH_THRESHOLD: Final = 1_000_000_000


def classify_status(status: int) -> str | None:
    """``None`` for success, else ``retryable`` | ``auth`` | ``permanent``."""
    if 200 <= status < 300:
        return None
    if status in RETRYABLE_STATUSES:
        return RETRYABLE
    if status in AUTH_STATUSES:
        return AUTH
    return PERMANENT


def _parse_retry_after(value: str, now: float) -> float | None:
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def _parse_rate_limit_retry(value: str, now: float) -> float | None:
    try:
        number = float(value.strip())
    except ValueError:
        return None
    if number >= _EPOCH_THRESHOLD:
        return max(0.0, number - now)
    return max(0.0, number)


def retry_after_seconds(
    retry_after: str | None, rate_limit_retry: str | None, now: float | None = None
) -> float | None:
    """Delay the server asked for, from ``Retry-After`` (seconds or HTTP date) and/or
    ``X-Rate-Limit-Retry`` (epoch seconds). When both are present the longer one wins;
    unparsable values are ignored rather than trusted.
    """
    if retry_after is None and rate_limit_retry is None:
        return None
    now = time.time() if now is None else now
    candidates = []
    if retry_after is not None:
        candidates.append(_parse_retry_after(retry_after, now))
    if rate_limit_retry is not None:
        candidates.append(_parse_rate_limit_retry(rate_limit_retry, now))
    found = [c for c in candidates if c is not None]
    return max(found) if found else None
