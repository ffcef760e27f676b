"""The receiver's Kafka side: the producer adapter, and the reader that keeps the dedupe window.

The producer is :class:`processor.kafka.producer.AsyncProducer` (idempotent, ``acks=all``, enforced
there): a send resolves only once the broker acknowledged the record, which is when the receiver
may answer 2xx. ``message.timeout.ms`` is the configured produce timeout, so a broker that does not
answer turns into a 503 the sender retries, never into a request hanging past its own timeout.

The window survives restarts because it *is* the topic: :class:`SeenIdsReader` reads the output
topic from ``now - window`` (``offsets_for_times``) on start and keeps following it, so ids produced
by an earlier run, or by another replica, are known. Records carry the Voucherify event id in the
``vp.event.id`` header so the reader never parses values (and the sendout id in ``vp.webhook.id``).
Records written before ``vp.event.id`` existed carried the event id in ``vp.webhook.id``; the
reader falls back to it only when ``vp.event.id`` is absent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Any

import orjson
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from processor.kafka.producer import AsyncProducer
from processor.webhooks.dedupe import SeenIds
from processor.webhooks.translation import Translated

__all__ = ["EVENT_ID_HEADER", "WEBHOOK_ID_HEADER", "TYPE_HEADER", "EventSink", "SeenIdsReader"]

log = logging.getLogger(__name__)

#: Headers on every produced record (UTF-8): the Voucherify event id (= ``messageId``, the dedupe
#: key), the webhook (sendout) id ``whs_...`` as Voucherify's delivery logs show it, and the type.
EVENT_ID_HEADER = "vp.event.id"
WEBHOOK_ID_HEADER = "vp.webhook.id"
TYPE_HEADER = "vp.webhook.type"


class EventSink:
    """Produces translated events to the output topic, keyed by ``userId``."""

    def __init__(self, conf: dict[str, Any], topic: str, *, timeout_s: float) -> None:
        self.topic = topic
        self._producer = AsyncProducer({**conf, "message.timeout.ms": int(timeout_s * 1000)})

    async def send(self, item: Translated) -> tuple[int, int]:
        """Resolves to ``(partition, offset)`` once acknowledged; raises ``ProduceError`` otherwise."""
        headers = [(EVENT_ID_HEADER, item.message_id.encode()), (WEBHOOK_ID_HEADER, item.webhook_id.encode()),
                   (TYPE_HEADER, item.voucherify_type.encode())]
        return await self._producer.send(self.topic, orjson.dumps(item.event), key=item.user_id.encode(),
                                         headers=headers)

    def close(self, timeout: float) -> int:
        return self._producer.close(timeout)


class SeenIdsReader:
    """A thread that loads the last window of ids from the topic into ``seen``, then follows it.

    Protocol:

    1. wait until the topic's metadata is available (the broker may be down at start);
    2. find, per partition, the first offset whose timestamp is within the window
       (``offsets_for_times``; the end offset where none is) and note the end offsets;
    3. consume from there, adding each record's ``vp.webhook.id`` with its timestamp;
    4. once every partition reached the end offsets of step 2, set :attr:`loaded` — only then may
       the receiver answer deliveries, since before it a retry could not be recognised;
    5. keep consuming for as long as the receiver runs (other replicas' records, and records whose
       produce timed out on our side but reached the broker after all); every
       ``metadata_interval_s`` look for partitions added to the topic and read them from the start.
    """

    metadata_interval_s = 30.0

    def __init__(self, conf: dict[str, Any], topic: str, seen: SeenIds) -> None:
        self.topic = topic
        self.seen = seen
        self.loaded = threading.Event()
        self._conf = {
            **conf,
            "group.id": f"vp-webhooks-reader-{uuid.uuid4().hex[:12]}",  # never commits; assign() only
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
        self._positions: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhooks-seen-reader", daemon=True)
        self._probe = Consumer({**self._conf, "group.id": self._conf["group.id"] + "-probe"})
        self._probe_lock = threading.Lock()
        self.records_loaded = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        with self._probe_lock:
            self._probe.close()

    # -- called from the event loop (through an executor: these block) -------------------------

    def broker_answers(self, timeout: float = 2.0) -> bool:
        """Whether the cluster returns metadata for the topic within ``timeout`` seconds."""
        try:
            with self._probe_lock:
                md = self._probe.list_topics(self.topic, timeout=timeout)
        except KafkaException:
            return False
        t = md.topics.get(self.topic)
        return t is not None and t.error is None and bool(md.brokers)

    def end_offsets(self, timeout: float = 5.0) -> dict[int, int] | None:
        """Current end offset of every partition, or ``None`` when the broker does not answer."""
        try:
            with self._probe_lock:
                md = self._probe.list_topics(self.topic, timeout=timeout)
                t = md.topics.get(self.topic)
                if t is None or t.error is not None:
                    return None
                return {p: self._probe.get_watermark_offsets(TopicPartition(self.topic, p), timeout=timeout,
                                                             cached=False)[1] for p in t.partitions}
        except KafkaException:
            return None

    async def catch_up(self, timeout: float) -> bool:
        """Wait until every record on the topic *now* has been read into ``seen`` (False: not in time)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        ends = await loop.run_in_executor(None, self.end_offsets, max(timeout, 0.5))
        if ends is None:
            return False
        while loop.time() < deadline:
            if all(self._positions.get(p, 0) >= end for p, end in ends.items()):
                return True
            await asyncio.sleep(0.02)
        return False

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        consumer = Consumer(self._conf)
        try:
            targets = self._assign_window(consumer)
            if targets is None:
                return
            last_metadata = time.monotonic()
            while not self._stop.is_set():
                if time.monotonic() - last_metadata >= self.metadata_interval_s:
                    self._follow_new_partitions(consumer)
                    last_metadata = time.monotonic()
                msg = consumer.poll(0.2)
                if msg is not None:
                    if msg.error():
                        log.debug("seen-ids reader: %s", msg.error())
                    else:
                        self._remember(msg)
                if not self.loaded.is_set() and all(self._positions.get(p, 0) >= end for p, end in targets.items()):
                    log.info("dedupe window loaded: %d record(s) from %s, %d id(s) remembered",
                             self.records_loaded, self.topic, len(self.seen))
                    self.loaded.set()
        except Exception:  # noqa: BLE001 - a dead reader must show in the log and in readiness
            log.exception("seen-ids reader stopped")
            self.loaded.clear()
        finally:
            consumer.close()

    def _assign_window(self, consumer: Consumer) -> dict[int, int] | None:
        """Steps 1-2: assign every partition at the window's first offset; returns the end offsets."""
        while not self._stop.is_set():
            try:
                md = consumer.list_topics(self.topic, timeout=5)
                t = md.topics.get(self.topic)
                if t is None or t.error is not None or not t.partitions:
                    raise KafkaException(t.error if t is not None else "no such topic")
                since = int(time.time() * 1000) - self.seen.window_ms
                wanted = [TopicPartition(self.topic, p, since) for p in sorted(t.partitions)]
                found = consumer.offsets_for_times(wanted, timeout=10)
                ends = {p: consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10, cached=False)[1]
                        for p in t.partitions}
            except KafkaException as exc:
                log.warning("dedupe window: %s not readable yet (%s); retrying", self.topic, exc)
                self._stop.wait(1.0)
                continue
            start = [TopicPartition(self.topic, tp.partition, tp.offset if tp.offset >= 0 else ends[tp.partition])
                     for tp in found]
            for tp in start:
                self._positions[tp.partition] = tp.offset
            consumer.assign(start)
            return ends
        return None

    def _follow_new_partitions(self, consumer: Consumer) -> None:
        """Step 5: partitions added since start hold only new records: read them from the beginning."""
        try:
            t = consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
        except KafkaException:
            return
        if t is None or t.error is not None:
            return
        new = sorted(set(t.partitions) - set(self._positions))
        if new:
            for p in new:
                self._positions[p] = 0
            consumer.incremental_assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in new])
            log.info("dedupe window: following new partition(s) %s of %s", new, self.topic)

    def _remember(self, msg: Any) -> None:
        self._positions[msg.partition()] = msg.offset() + 1
        self.records_loaded += 1
        headers = dict(msg.headers() or ())
        value = headers.get(EVENT_ID_HEADER) if EVENT_ID_HEADER in headers else headers.get(WEBHOOK_ID_HEADER)
        if value:
            self.seen.add(value.decode("utf-8", "replace"), msg.timestamp()[1])
