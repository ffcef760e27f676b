"""The webhook endpoint: one delivery in, at most one acknowledged Kafka record out, then the answer.

Delivery protocol (``Receiver.handle``), in this order so that nothing unauthenticated is parsed
and nothing is answered 2xx before it is durable:

1. Not loaded or draining -> **503** ``not_ready`` (Voucherify retries later).
2. Body larger than ``max_body_bytes`` -> **413** ``too_large`` (checked before reading it whole);
   body not fully received within ``body_timeout_s`` -> **408** ``body_timeout`` and the connection
   is closed (a slow or stalled sender must not hold a connection open indefinitely).
3. ``x-voucherify-signature`` missing -> **401** ``missing_signature``; not the HMAC-SHA256 of the
   raw body under the secret -> **401** ``invalid_signature``. Never produced.
4. Not JSON, or not a v2024-01-01 envelope -> **400** ``malformed`` with the reason.
5. Type not in the configured table, or no customer ``source_id`` -> **200** skipped (counted):
   Segment's source ignores these too, and a retry could not change the answer.
6. Event time older than the dedupe window -> **200** skipped ``outside_window``: a retry that old
   could not be recognised as one, so producing it could double it (Voucherify itself retries for
   3 days; the default window is 4). Event time more than ``max_future_skew_s`` ahead of our clock
   -> **200** skipped ``future_dated``: a clock that wrong makes the window meaningless (the id
   would be remembered by a time that never comes), and a retry would carry the same time.
7. Event id already in the window -> **200** ``duplicate``. The same id in flight in another
   request -> wait for that one's outcome. An id whose earlier produce failed (the record may
   still have reached the broker) -> first read the topic up to its current end, then decide.
8. Produce (idempotent, ``acks=all``) and wait for the broker's ack -> **200** ``produced``; no ack
   within ``produce_timeout_s`` -> **503** ``produce_failed`` (Voucherify's retry covers it).

Invariant: an id is added to the window only after its record was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any, Protocol

import orjson
from aiohttp import web

from processor.kafka.producer import ProduceError
from processor.ops.health import HealthStatus
from processor.webhooks import signature
from processor.webhooks.dedupe import SeenIds
from processor.webhooks.metrics import WebhookMetrics
from processor.webhooks.translation import MalformedDelivery, Skipped, Translated, Translator

__all__ = ["Receiver", "Sink", "WindowReader"]

log = logging.getLogger(__name__)


class Sink(Protocol):
    async def send(self, item: Translated) -> Any: ...


class WindowReader(Protocol):
    async def catch_up(self, timeout: float) -> bool: ...


def _answer(http_status: int, **body: Any) -> web.Response:
    return web.Response(status=http_status, body=orjson.dumps(body), content_type="application/json")


class Receiver:
    """The delivery protocol above, plus the readiness facts the probes read."""

    def __init__(
        self,
        *,
        secret: bytes,
        translator: Translator,
        seen: SeenIds,
        sink: Sink,
        reader: WindowReader,
        metrics: WebhookMetrics,
        max_body_bytes: int,
        catch_up_timeout_s: float,
        body_timeout_s: float = 10.0,
        max_future_skew_s: float = 300.0,
    ) -> None:
        self._secret = secret
        self._translator = translator
        self._seen = seen
        self._sink = sink
        self._reader = reader
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self._catch_up_timeout_s = catch_up_timeout_s
        self._body_timeout_s = body_timeout_s
        self._max_future_skew_ms = max_future_skew_s * 1000
        self._inflight: dict[str, asyncio.Future[bool]] = {}
        # Ids whose produce failed (the record may have landed anyway), oldest first; bounded like the window.
        self._uncertain: OrderedDict[str, None] = OrderedDict()
        self._handling = 0
        self.loaded = False
        self.broker_ok = False
        self.draining = False

    # -- probes ----------------------------------------------------------------------------------

    def liveness(self) -> HealthStatus:
        return HealthStatus(True, ())

    def readiness(self) -> HealthStatus:
        reasons = []
        if not self.loaded:
            reasons.append("dedupe window not loaded from the topic yet")
        if not self.broker_ok:
            reasons.append("Kafka broker does not answer")
        if self.draining:
            reasons.append("draining")
        return HealthStatus(not reasons, tuple(reasons))

    @property
    def handling(self) -> int:
        return self._handling

    # -- the handler -----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.Response:
        self.metrics.received.inc()
        self._handling += 1
        self.metrics.in_flight.inc()
        try:
            return await self._handle(request)
        finally:
            self._handling -= 1
            self.metrics.in_flight.dec()

    def _reject(self, status: int, reason: str, message: str) -> web.Response:
        self.metrics.rejected.labels(reason).inc()
        log.info("webhook refused: %s", message, extra={"status": status, "reason": reason})
        return _answer(status, error=reason, message=message)

    async def _handle(self, request: web.Request) -> web.Response:
        if self.draining or not self.loaded:  # 1
            return self._reject(503, "not_ready", "draining" if self.draining else "starting: dedupe window not loaded")
        if request.content_length is not None and request.content_length > self.max_body_bytes:  # 2
            return self._reject(413, "too_large", f"body larger than {self.max_body_bytes} bytes")
        try:
            body = await asyncio.wait_for(request.read(), self._body_timeout_s)
        except web.HTTPRequestEntityTooLarge:
            return self._reject(413, "too_large", f"body larger than {self.max_body_bytes} bytes")
        except asyncio.TimeoutError:
            response = self._reject(408, "body_timeout", f"body not received within {self._body_timeout_s:g} s")
            response.force_close()
            return response
        header = request.headers.get(signature.HEADER)  # 3
        if not header:
            return self._reject(401, "missing_signature", f"no {signature.HEADER} header")
        if not signature.verify(body, header, self._secret):
            return self._reject(401, "invalid_signature", f"{signature.HEADER} does not match the body")
        try:  # 4
            outcome = self._translator.translate(orjson.loads(body))
            if isinstance(outcome, Translated):
                at_ms = _epoch_ms(outcome.event["timestamp"])
        except orjson.JSONDecodeError:
            return self._reject(400, "malformed", "body is not JSON")
        except MalformedDelivery as exc:
            return self._reject(400, "malformed", str(exc))
        if isinstance(outcome, Skipped):  # 5
            return self._skip(outcome.message_id, outcome.voucherify_type, outcome.reason)
        now_ms = time.time() * 1000
        if at_ms < now_ms - self._seen.window_ms:  # 6
            return self._skip(outcome.message_id, outcome.voucherify_type, "outside_window")
        if at_ms > now_ms + self._max_future_skew_ms:
            return self._skip(outcome.message_id, outcome.voucherify_type, "future_dated")
        return await self._deliver(outcome)  # 7, 8

    def _skip(self, message_id: str, kind: str, reason: str) -> web.Response:
        self.metrics.skipped.labels(reason).inc()
        log.info("webhook skipped", extra={"message_id": message_id, "voucherify_type": kind, "reason": reason})
        return _answer(200, status="skipped", reason=reason, messageId=message_id)

    async def _deliver(self, item: Translated) -> web.Response:
        mid = item.message_id
        if mid in self._seen:
            return self._duplicate(mid)
        pending = self._inflight.get(mid)
        if pending is not None:
            if await asyncio.shield(pending):
                return self._duplicate(mid)
            return self._reject(503, "produce_failed", "the same event's concurrent delivery was not acknowledged")
        if mid in self._uncertain:
            if not await self._reader.catch_up(self._catch_up_timeout_s):
                return self._reject(503, "not_ready", "could not read the topic to check an earlier attempt")
            if mid in self._seen:
                self._uncertain.pop(mid, None)
                return self._duplicate(mid)
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._inflight[mid] = done
        started = time.perf_counter()
        try:
            await self._sink.send(item)
        except ProduceError as exc:
            self._mark_uncertain(mid)
            done.set_result(False)
            status = 413 if exc.too_large else 503
            reason = "too_large" if exc.too_large else "produce_failed"
            return self._reject(status, reason, f"not acknowledged by Kafka: {exc}")
        except BaseException:
            self._mark_uncertain(mid)
            done.set_result(False)
            raise
        finally:
            self._inflight.pop(mid, None)
        self.metrics.produce_latency.observe(time.perf_counter() - started)
        self._seen.add(mid)
        self._uncertain.pop(mid, None)
        done.set_result(True)
        self.metrics.produced.labels(item.event["event"]).inc()
        self.metrics.window_ids.set(len(self._seen))
        return _answer(200, status="produced", messageId=mid, event=item.event["event"])

    def _mark_uncertain(self, mid: str) -> None:
        self._uncertain[mid] = None
        while len(self._uncertain) > self._seen.max_ids:
            self._uncertain.popitem(last=False)

    def _duplicate(self, mid: str) -> web.Response:
        self.metrics.duplicates.inc()
        log.info("webhook duplicate", extra={"message_id": mid})
        return _answer(200, status="duplicate", messageId=mid)


def _epoch_ms(value: Any) -> float:
    """ISO 8601 (``2024-01-01T11:11:11.111Z``) -> epoch ms; raises ``MalformedDelivery``."""
    if not isinstance(value, str):
        raise MalformedDelivery("event.created_at / created_at is missing")
    try:
        return datetime.fromisoformat(value).timestamp() * 1000
    except ValueError:
        raise MalformedDelivery(f"event time {value[:40]!r} is not ISO 8601") from None


def build_app(receiver: Receiver, path: str) -> web.Application:
    """The webhook application: ``POST <path>`` only (probes and metrics live on the ops port)."""
    app = web.Application(client_max_size=receiver.max_body_bytes)
    app.router.add_post(path, receiver.handle)
    return app
