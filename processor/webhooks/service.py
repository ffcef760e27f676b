"""The composition root of ``voucherify-processor webhooks``: configuration in, a running receiver out.

Start-up: build the table, create the output topic if missing (retention at least twice the
dedupe window, so the window can always be rebuilt from it), start the reader that loads the
window, serve ``/metrics`` ``/healthz`` ``/readyz`` on the ops port and the webhook path on its own
port. Deliveries are answered 503 until the window is loaded.

Shutdown (SIGTERM), in order: stop answering new deliveries (503, and ``/readyz`` fails so the
Service stops routing here), wait up to ``drain_timeout_s`` for in-flight deliveries to get their
broker ack and their answer, close the listener, flush the producer, stop the reader.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from aiohttp import web

from processor import __version__
from processor.ops.http_server import OpsServer, start_ops_server
from processor.webhooks.config import ReceiverConfig
from processor.webhooks.dedupe import SeenIds
from processor.webhooks.kafka_io import EventSink, SeenIdsReader
from processor.webhooks.metrics import WebhookMetrics
from processor.webhooks.receiver import Receiver, build_app
from processor.webhooks.translation import Translator

__all__ = ["WebhookService", "run_receiver", "ensure_topic"]

log = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000


def ensure_topic(cfg: ReceiverConfig, timeout: float = 10.0) -> str:
    """Create the output topic when missing; returns ``created``, ``exists`` or ``failed: ...``."""
    from confluent_kafka.admin import AdminClient

    from processor.kafka.admin import KafkaUnavailable, TopicPlan, create_topics

    w = cfg.webhooks
    retention = max(7 * DAY_MS, int(2 * w.dedupe_window_s * 1000))
    plan = TopicPlan(w.topic, "webhooks", {"cleanup.policy": "delete", "retention.ms": str(retention)})
    try:
        admin = AdminClient(cfg.kafka.librdkafka("admin"))
        return create_topics(admin, [plan], partitions=w.topic_partitions, timeout=timeout)[w.topic]
    except KafkaUnavailable as exc:
        return f"failed: {exc}"


class WebhookService:
    """A started receiver; ``port`` / ``ops_port`` are the bound ports (useful with port 0)."""

    def __init__(self, cfg: ReceiverConfig, metrics: WebhookMetrics | None = None) -> None:
        w = cfg.webhooks
        self.cfg = cfg
        self.metrics = metrics or WebhookMetrics()
        self.seen = SeenIds(w.dedupe_window_s, w.dedupe_max_ids)
        self.reader = SeenIdsReader(cfg.kafka.librdkafka("consumer"), w.topic, self.seen)
        self.sink = EventSink(cfg.kafka.librdkafka("producer"), w.topic, timeout_s=w.produce_timeout_s)
        self.receiver = Receiver(
            secret=w.secret_bytes(),
            translator=Translator(include=w.include, exclude=w.exclude, rename=w.rename, version=__version__),
            seen=self.seen,
            sink=self.sink,
            reader=self.reader,
            metrics=self.metrics,
            max_body_bytes=w.max_body_bytes,
            catch_up_timeout_s=w.produce_timeout_s,
            body_timeout_s=w.body_timeout_s,
            max_future_skew_s=w.max_future_skew_s,
        )
        self.port = 0
        self.ops_port = 0
        self._runner: web.AppRunner | None = None
        self._ops: OpsServer | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        w, ops = self.cfg.webhooks, self.cfg.ops
        self._watch = asyncio.create_task(self._watch_broker(), name="webhooks-watch")
        if ops.http_port:  # 0 disables, as for the processor
            self._ops = await start_ops_server(ops.http_host, ops.http_port, self.metrics, self.receiver)  # type: ignore[arg-type]
            self.ops_port = self._ops.port
        self._runner = web.AppRunner(build_app(self.receiver, w.path), access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, w.host, w.port).start()
        self.port = self._runner.addresses[0][1] if self._runner.addresses else w.port
        log.info("receiving Voucherify webhooks on http://%s:%d%s -> topic %s", w.host, self.port, w.path, w.topic)

    async def _watch_broker(self) -> None:
        """Create the topic once the broker answers, start the reader, then keep probing for /readyz."""
        loop = asyncio.get_running_loop()
        w = self.cfg.webhooks
        while True:
            outcome = await loop.run_in_executor(None, ensure_topic, self.cfg)
            if not outcome.startswith("failed"):
                if outcome == "created":
                    log.info("created topic %s (%d partitions)", w.topic, w.topic_partitions)
                break
            log.warning("output topic %s not ready: %s; retrying", w.topic, outcome)
            await asyncio.sleep(min(w.readiness_probe_interval_s, 2.0))
        # The topic was created or found: the broker answered. A probe that fails is retried within
        # a second rather than after the full interval, so /readyz does not report a broker that is
        # up as unanswering for a whole interval after start (e.g. while new topic metadata spreads).
        self.receiver.broker_ok = True
        self.reader.start()
        next_probe = 0.0
        while True:
            self.receiver.loaded = self.reader.loaded.is_set()
            now = loop.time()
            if now >= next_probe:
                self.receiver.broker_ok = await loop.run_in_executor(None, self.reader.broker_answers, 2.0)
                retry_s = w.readiness_probe_interval_s if self.receiver.broker_ok else min(w.readiness_probe_interval_s, 0.5)
                next_probe = now + retry_s
            self.metrics.window_ids.set(len(self.seen))
            await asyncio.sleep(0.05 if not self.receiver.loaded else 0.5)

    async def stop(self) -> None:
        """Drain (see the module docstring) and release everything; safe to call once."""
        w = self.cfg.webhooks
        self.receiver.draining = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + w.drain_timeout_s
        while self.receiver.handling and loop.time() < deadline:
            await asyncio.sleep(0.02)
        if self.receiver.handling:
            log.warning("drain timeout: %d delivery(ies) still in flight", self.receiver.handling)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._watch is not None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
        remaining = await loop.run_in_executor(None, self.sink.close, w.drain_timeout_s)
        if remaining:
            log.warning("%d record(s) not flushed at shutdown", remaining)
        await loop.run_in_executor(None, self.reader.stop)
        if self._ops is not None:
            await self._ops.stop()
        log.info("webhook receiver stopped")


async def run_receiver(cfg: ReceiverConfig, stop: asyncio.Event, *, metrics: WebhookMetrics | None = None) -> None:
    """Run until ``stop`` is set, then drain."""
    service = WebhookService(cfg, metrics)
    await service.start()
    try:
        await stop.wait()
    finally:
        await service.stop()
