"""The test broker really is Kafka: keys, headers, consumer groups and committed offsets.

If these fail, every other integration test's failure is about the environment,
not the processor; that is why they exist.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.support.kafka_broker import SaslEndpoint

pytestmark = pytest.mark.integration


def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes, list[tuple[str, bytes]]]]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    errors: list[KafkaError] = []

    def on_delivery(err: KafkaError | None, _msg: Message) -> None:
        if err is not None:
            errors.append(err)

    for key, value, headers in records:
        producer.produce(topic, value=value, key=key, headers=headers, on_delivery=on_delivery)
    assert producer.flush(30) == 0, "messages still queued after 30 s"
    assert errors == []


def _consumer(bootstrap: str, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "session.timeout.ms": 10000,
        }
    )


def _poll(consumer: Consumer, count: int, timeout: float = 30.0) -> list[Message]:
    got: list[Message] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        assert msg.error() is None, msg.error()
        got.append(msg)
    assert len(got) == count, f"got {len(got)} of {count} messages in {timeout}s"
    return got


def _records(n: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    return [
        (f"user-{i}".encode(), f'{{"n": {i}}}'.encode(), [("vp.attempt", str(i).encode()), ("trace", b"\x00\xff")])
        for i in range(n)
    ]


def test_keys_values_and_headers_round_trip(kafka_bootstrap: str, unique_topic: str) -> None:
    records = _records(5)
    _produce(kafka_bootstrap, unique_topic, records)

    consumer = _consumer(kafka_bootstrap, f"g-{uuid.uuid4().hex}")
    consumer.subscribe([unique_topic])
    try:
        got = _poll(consumer, 5)
    finally:
        consumer.close()

    assert [(m.key(), m.value(), m.headers()) for m in got] == records
    assert [m.offset() for m in got] == [0, 1, 2, 3, 4]


def test_committed_offset_survives_reopen(kafka_bootstrap: str, unique_topic: str) -> None:
    _produce(kafka_bootstrap, unique_topic, _records(5))
    group = f"g-{uuid.uuid4().hex}"

    first = _consumer(kafka_bootstrap, group)
    first.subscribe([unique_topic])
    try:
        got = _poll(first, 3)
        first.commit(message=got[-1], asynchronous=False)  # commits offset 3 = next to read
    finally:
        first.close()

    second = _consumer(kafka_bootstrap, group)
    try:
        committed = second.committed([TopicPartition(unique_topic, 0)], timeout=15)
        assert committed[0].offset == 3
        second.subscribe([unique_topic])
        rest = _poll(second, 2)
    finally:
        second.close()
    assert [m.offset() for m in rest] == [3, 4]
    assert [m.key() for m in rest] == [b"user-3", b"user-4"]


def test_same_key_lands_on_same_partition(kafka_bootstrap: str, make_topic: Callable[..., str]) -> None:
    topic = make_topic(partitions=3)
    _produce(kafka_bootstrap, topic, [(b"same-key", str(i).encode(), []) for i in range(6)])

    consumer = _consumer(kafka_bootstrap, f"g-{uuid.uuid4().hex}")
    consumer.subscribe([topic])
    try:
        got = _poll(consumer, 6)
    finally:
        consumer.close()
    assert len({m.partition() for m in got}) == 1
    assert [m.value() for m in got] == [str(i).encode() for i in range(6)]


def test_scram_listener_accepts_the_user_and_rejects_a_wrong_password(kafka_sasl: SaslEndpoint) -> None:
    good = AdminClient(kafka_sasl.client_config())
    assert good.list_topics(timeout=15).brokers

    bad = AdminClient({**kafka_sasl.client_config(), "sasl.password": "wrong", "log_level": 0})
    with pytest.raises(KafkaException):
        bad.list_topics(timeout=3)
