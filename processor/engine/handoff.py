"""Handing failed work to the retry tiers or the dead-letter topic.

A hand-off counts as done only when the broker acknowledged the record: the engine awaits the
returned coroutine before it marks the source offset finished, so a crash between "failed" and
"handed off" redelivers the event instead of losing it.

Records keep the original value and key bytes unchanged and carry their context in ``vp.*``
headers (see :mod:`processor.engine.headers`): where the event came from, which subscriptions are
still to deliver, which attempt this is, when it may run again, and why it failed.

Routing of the n-th failure of an event (n = 1 for the first):

1. If ``n > len(retry_delays)`` or the first failure is older than ``max_age_s``: dead letter.
2. Otherwise: retry tier ``n - 1`` with ``not_before = now + retry_delays[n - 1]``.
Permanent failures (validation, other 4xx, undecodable input) go straight to the dead letter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from processor.engine import headers as h
from processor.engine.handoff_log import HandoffLog
from processor.engine.ports import Inbound, Produce, ProduceError


@dataclass(frozen=True, slots=True)
class RetryContext:
    """Where an event came from and how often it failed: read from a retry record's headers."""

    attempt: int
    first_failed_ms: int | None
    not_before_ms: int
    origin_topic: str
    origin_partition: int
    origin_offset: int
    origin_timestamp_ms: int | None
    subscriptions: tuple[str, ...] | None

    @classmethod
    def from_source(cls, msg: Inbound) -> "RetryContext":
        return cls(0, None, 0, msg.topic, msg.partition, msg.offset, msg.timestamp_ms, None)

    @classmethod
    def from_headers(cls, msg: Inbound) -> "RetryContext":
        """Context of a record on a retry tier; tolerant of records other tools wrote."""
        hd = h.decode_headers(msg.headers)
        return cls(
            attempt=_int(hd.get(h.ATTEMPT), 0),
            first_failed_ms=_int(hd.get(h.FIRST_FAILED), None),
            not_before_ms=_int(hd.get(h.NOT_BEFORE), 0),
            origin_topic=hd.get(h.ORIGIN_TOPIC) or msg.topic,
            origin_partition=_int(hd.get(h.ORIGIN_PARTITION), msg.partition),
            origin_offset=_int(hd.get(h.ORIGIN_OFFSET), msg.offset),
            origin_timestamp_ms=_int(hd.get(h.ORIGIN_TIMESTAMP), msg.timestamp_ms),
            subscriptions=h.decode_subscriptions(hd.get(h.SUBSCRIPTIONS)),
        )


@dataclass(frozen=True, slots=True)
class Failure:
    error_class: str
    status: int | None
    message: str


class Handoff:
    def __init__(
        self,
        produce: Produce,
        *,
        retry_topics: Sequence[str],
        retry_delays_s: Sequence[float],
        dead_letter_topic: str,
        max_age_s: float,
        clock: Callable[[], float] = time.time,
        handoff_log: HandoffLog | None = None,
    ) -> None:
        if len(retry_topics) != len(retry_delays_s):
            raise ValueError("one retry topic per retry delay")
        self._produce = produce
        self._retry_topics = list(retry_topics)
        self._delays_ms = [int(d * 1000) for d in retry_delays_s]
        self._dlq = dead_letter_topic
        self._max_age_ms = int(max_age_s * 1000)
        self._clock = clock
        self._log = handoff_log or HandoffLog()

    async def retry(self, msg: Inbound, ctx: RetryContext, subscriptions: Sequence[str], failure: Failure) -> str:
        """Route a retryable failure; returns the topic it went to (a tier or the dead letter)."""
        now = int(self._clock() * 1000)
        attempt = ctx.attempt + 1
        first_failed = ctx.first_failed_ms or now
        if attempt > len(self._retry_topics) or now - first_failed > self._max_age_ms:
            why = "retries exhausted" if attempt > len(self._retry_topics) else "older than max age"
            failure = Failure(failure.error_class, failure.status, f"{failure.message} ({why} after {attempt} attempts)")
            await self.dead_letter(msg, ctx, subscriptions, failure, attempt=attempt)
            return self._dlq
        topic = self._retry_topics[attempt - 1]
        values = self._context(ctx, subscriptions, failure, attempt, first_failed)
        values[h.NOT_BEFORE] = now + self._delays_ms[attempt - 1]
        await self._produce(topic, msg.value, key=msg.key, headers=h.encode_headers(values))
        self._logged("retry", topic, ctx, subscriptions, failure)
        return topic

    async def dead_letter(
        self, msg: Inbound, ctx: RetryContext, subscriptions: Sequence[str], failure: Failure, *, attempt: int | None = None
    ) -> None:
        now = int(self._clock() * 1000)
        values = self._context(ctx, subscriptions, failure, ctx.attempt + 1 if attempt is None else attempt,
                               ctx.first_failed_ms or now)
        values[h.NOT_BEFORE] = None
        values[h.DEAD_LETTERED_AT] = now
        try:
            await self._produce(self._dlq, msg.value, key=msg.key, headers=h.encode_headers(values))
        except ProduceError as exc:
            # A value too large for the dead-letter topic (e.g. an oversized value that arrived
            # compressed) would fail here on every redelivery and block its partition forever.
            # Dead-letter the context without the value; the origin headers say where it is.
            if not exc.too_large or not msg.value:
                raise
            values[h.ERROR_MESSAGE] = (f"{failure.message[:1800]} [value of {len(msg.value)} bytes left out: too "
                                       "large for the dead-letter topic; read it at vp.origin.*]")
            await self._produce(self._dlq, None, key=msg.key, headers=h.encode_headers(values))
        self._logged("dead-lettered", self._dlq, ctx, subscriptions, failure)

    def _logged(self, kind: str, target: str, ctx: RetryContext, subscriptions: Sequence[str], failure: Failure) -> None:
        """After the broker's ack: an INFO line (aggregated when many; see ``handoff_log``)."""
        self._log.record(kind, target, (ctx.origin_topic, ctx.origin_partition, ctx.origin_offset),
                         subscriptions, failure.error_class, failure.status, failure.message)

    @staticmethod
    def _context(
        ctx: RetryContext, subscriptions: Sequence[str], failure: Failure, attempt: int, first_failed: int
    ) -> dict[str, Any]:
        return {
            h.ATTEMPT: attempt,
            h.FIRST_FAILED: first_failed,
            h.ORIGIN_TOPIC: ctx.origin_topic,
            h.ORIGIN_PARTITION: ctx.origin_partition,
            h.ORIGIN_OFFSET: ctx.origin_offset,
            h.ORIGIN_TIMESTAMP: ctx.origin_timestamp_ms,
            h.SUBSCRIPTIONS: h.encode_subscriptions(subscriptions),
            h.ERROR_CLASS: failure.error_class,
            h.ERROR_STATUS: failure.status,
            h.ERROR_MESSAGE: failure.message[:2000],
        }


def _int(value: str | None, default: Any) -> Any:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default

