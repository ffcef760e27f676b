"""Kafka side of the benchmark: the source topic, producing (backlog or paced), and progress.

Produce timestamps are set explicitly (``timestamp=`` in ms, CreateTime) and remembered per event
index, so end-to-end latency is "Kafka message timestamp -> stub receipt" with nothing inferred.
"""

from __future__ import annotations

import threading
import time
import uuid
from array import array
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from dev.sample_events import event_tag


def create_topic(bootstrap: str, topic: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(topic, partitions, 1)], operation_timeout=30)
    futures[topic].result(30)
    # wait until leaders are known, so the first produce does not race the election
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        md = admin.list_topics(topic, timeout=10).topics.get(topic)
        if md is not None and md.error is None and len(md.partitions) == partitions and all(
            p.leader >= 0 for p in md.partitions.values()
        ):
            return
        time.sleep(0.2)
    raise RuntimeError(f"topic {topic} has no leaders after 30 s")


def _producer(bootstrap: str, linger_ms: int) -> Producer:
    # idempotence: a retried produce request must not reorder a partition, or the order check
    # would blame the processor for the producer (seen once: 11 "violations" already in the topic)
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": linger_ms, "enable.idempotence": True, "batch.size": 1_000_000,
                     "compression.type": "lz4", "queue.buffering.max.messages": 1_000_000,
                     "queue.buffering.max.kbytes": 1_048_576})


class Produced:
    """What was produced: per-index timestamps (ms) and counts by event type."""

    def __init__(self) -> None:
        self.ts_ms = array("q")
        self.by_type: Counter[str] = Counter()

    @property
    def count(self) -> int:
        return len(self.ts_ms)


def produce(bootstrap: str, topic: str, events: Iterable[dict[str, Any]], produced: Produced,
            rate: float | None = None, stop: threading.Event | None = None) -> None:
    """Produce ``events`` keyed by userId, as fast as possible or paced at ``rate`` events/s."""
    # paced: a short linger, so producer batching adds little to the measured end-to-end latency
    producer = _producer(bootstrap, 2 if rate else 20)
    start = time.perf_counter()
    n = 0
    for event in events:
        if stop is not None and stop.is_set():
            break
        if rate:
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0.001:
                producer.poll(0)
                time.sleep(delay)
        ts = int(time.time() * 1000)
        value = orjson.dumps(event)
        while True:
            try:
                producer.produce(topic, value=value, key=event["userId"].encode(), timestamp=ts)
                break
            except BufferError:
                producer.poll(0.05)
        produced.ts_ms.append(ts)
        produced.by_type[event["type"]] += 1
        n += 1
        if n % 2000 == 0:
            producer.poll(0)
    if producer.flush(60) != 0:
        raise RuntimeError("producer could not deliver every event within 60 s")


class CommitWatcher:
    """Reuses one consumer handle to poll committed offsets (cheap, no group membership)."""

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int) -> None:
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
        self._tps = [TopicPartition(topic, p) for p in range(partitions)]

    def total(self) -> int:
        return sum(max(tp.offset, 0) for tp in self._consumer.committed(self._tps, timeout=10))

    def close(self) -> None:
        self._consumer.close()


def consume_ceiling(bootstrap: str, topic: str, expected: int, batch: int = 500) -> dict[str, float]:
    """confluent-kafka ``consume(n)`` + orjson decode of the whole topic in a fresh group: events/s.

    Also counts per-user ``seq`` regressions in the topic itself (must be 0 for the processor's
    order check to mean anything).
    """
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-ceiling-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    n = out_of_order = 0
    last_seq: dict[str, int] = {}
    started = None
    cpu0 = time.process_time()
    deadline = time.monotonic() + 300
    while n < expected and time.monotonic() < deadline:
        msgs = consumer.consume(batch, 0.5)
        for m in msgs:
            if m.error() is None:
                if started is None:
                    started = time.perf_counter()
                    cpu0 = time.process_time()
                event = orjson.loads(m.value())
                user, seq = event["userId"], event_tag(event)["seq"]
                if seq < last_seq.get(user, 0):
                    out_of_order += 1
                else:
                    last_seq[user] = seq
                n += 1
    elapsed = time.perf_counter() - (started or time.perf_counter())
    cpu = time.process_time() - cpu0
    consumer.close()
    return {"events": n, "seconds": elapsed, "events_per_s": n / elapsed if elapsed else 0.0,
            "cpu_s_per_1k": cpu / n * 1000 if n else 0.0, "topic_order_violations": out_of_order}
