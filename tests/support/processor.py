"""Running the real processor against the real broker and the stub, from a test.

``ProcessorRun`` runs ``processor.app.run_processor`` on its own event loop in a thread (the
same code path as ``voucherify-processor run``), so a test can start it, produce, watch the stub,
stop it gracefully, and inspect committed offsets and the retry / dead-letter topics.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from processor.config import AppConfig, parse_config
from processor.engine import headers as h
from processor.ops.health import Health
from processor.ops.metrics import Metrics


def processor_config(*args: Any, **kwargs: Any) -> AppConfig:
    """A config for one test: its own group and its own retry / dead-letter topics."""
    return parse_config(processor_config_doc(*args, **kwargs))


def write_config(path: Any, doc: dict[str, Any]) -> str:
    """Write a config document as YAML, for the CLI commands; returns the path."""
    import yaml

    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(doc, f)
    return str(path)


def processor_config_doc(
    bootstrap: str,
    stub_url: str,
    source_topic: str,
    *,
    application_id: str = "stub-application-id",
    secret_key: str = "stub-secret-key",
    subscriptions: list[dict[str, Any]] | None = None,
    engine: dict[str, Any] | None = None,
    kafka: dict[str, Any] | None = None,
    input: dict[str, Any] | None = None,
    group_id: str | None = None,
    ops_port: int = 0,
    ops: dict[str, Any] | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "destination": {"application_id": application_id, "secret_key": secret_key, "custom_url": stub_url},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "source_topic": source_topic,
            "group_id": group_id or f"g-{source_topic}",
            "retry_topic": f"{source_topic}.retry",
            "dead_letter_topic": f"{source_topic}.dlq",
            "consumer": {"session.timeout.ms": 10000, "heartbeat.interval.ms": 1000},
            **(kafka or {}),
        },
        "engine": {"retry_delays_s": [1.0, 2.0], "commit_interval_s": 0.2, "quick_retry_backoff_s": 0.05,
                   "drain_timeout_s": 10.0, **(engine or {})},
        "ops": {"http_port": ops_port, "http_host": "127.0.0.1", "log_format": "text", **(ops or {})},
    }
    if subscriptions is not None:
        doc["subscriptions"] = subscriptions
    if input is not None:
        doc["input"] = input
    return doc


class ProcessorRun:
    """The processor in a background thread; ``stop()`` drains and commits like SIGTERM does."""

    def __init__(self, cfg: AppConfig) -> None:
        self.cfg = cfg
        self.metrics = Metrics()
        self.health = Health()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"processor-{cfg.kafka.group_id}", daemon=True)

    def _main(self) -> None:
        from processor.app import run_processor

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await run_processor(self.cfg, self._stop, metrics=self.metrics, health=self.health)

        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc
            self._started.set()

    def start(self) -> "ProcessorRun":
        self._thread.start()
        self._started.wait(30)
        return self

    def stop(self, timeout: float = 60.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "processor did not stop in time"
        if self.error is not None:
            raise self.error

    def __enter__(self) -> "ProcessorRun":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def produce_events(
    bootstrap: str,
    topic: str,
    events: Iterable[dict[str, Any] | bytes],
    *,
    key_field: str | None = "userId",
    timestamp_ms: int | None = None,
) -> int:
    """Produce and flush; ``timestamp_ms`` stamps every record (else the producer's clock does)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    stamp: dict[str, Any] = {} if timestamp_ms is None else {"timestamp": timestamp_ms}
    n = 0
    for event in events:
        if isinstance(event, (bytes, bytearray)):
            producer.produce(topic, value=bytes(event), **stamp)
        else:
            key = event.get(key_field) if key_field else None
            producer.produce(topic, value=orjson.dumps(event), key=key.encode() if isinstance(key, str) else None,
                             **stamp)
        n += 1
        if n % 1000 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0
    return n


def committed_offsets(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, int]:
    """The group's committed offsets (-1001: none); retries while the coordinator moves."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        for attempt in range(20):
            try:
                tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
                return {tp.partition: tp.offset for tp in tps}
            except KafkaException as exc:
                if not exc.args[0].retriable() and exc.args[0].code() != KafkaError.NOT_COORDINATOR:
                    raise
                time.sleep(0.2)
        raise AssertionError("the group coordinator never answered")
    finally:
        consumer.close()


def end_offsets(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex}"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(partitions)}
    finally:
        consumer.close()


def read_topic(bootstrap: str, topic: str, *, timeout: float = 10.0, expect: int | None = None) -> list[dict[str, Any]]:
    """Every record of ``topic`` (all partitions), with decoded headers; waits for ``expect`` records."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "allow.auto.create.topics": False})
    consumer.subscribe([topic])
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                if expect is not None and len(records) >= expect:
                    break
                continue
            records.append({"key": msg.key(), "value": msg.value(), "partition": msg.partition(),
                            "offset": msg.offset(), "headers": h.decode_headers(msg.headers())})
            if expect is not None and len(records) >= expect:
                # keep polling briefly to notice extra records
                deadline = min(deadline, time.monotonic() + 1.0)
    finally:
        consumer.close()
    return records


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s: {message}")
