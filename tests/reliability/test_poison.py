"""Poison input the JSON cases in tests/integration/test_engine.py do not cover: oversized values,
tombstones, and wrong Avro. Each lands in the dead-letter topic with a reason, and the partition
keeps moving: good events after them are delivered and offsets are committed to the end.
"""

from __future__ import annotations

import io

import orjson
import pytest
from fastavro import parse_schema, schemaless_writer

from dev.stub import StubServer
from processor.engine import headers as h
from tests.support.processor import (
    ProcessorRun,
    committed_offsets,
    end_offsets,
    processor_config,
    read_topic,
    wait_until,
)
from tests.support.reliability import REPO, make_events, ok_eids

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

AVSC = REPO / "schemas" / "segment-event.avsc"


def _sized(event: dict, size: int) -> bytes:
    """The event as JSON of exactly ``size`` bytes (padded in context.pad)."""
    base = orjson.dumps({**event, "context": {"pad": ""}})
    value = orjson.dumps({**event, "context": {"pad": "x" * (size - len(base))}})
    assert len(value) == size
    return value


def _produce_raw(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for v in values:
        producer.produce(topic, value=v, key=b"poison-key")  # one key: one partition, strict order
    assert producer.flush(30) == 0


def _run_until_done(bootstrap: str, cfg, source: str, stub: StubServer, good: set[int], poison: int):
    with ProcessorRun(cfg):
        wait_until(lambda: ok_eids(stub.requests) >= good, 60, message="good events not all delivered")
        dlq = read_topic(bootstrap, cfg.kafka.dead_letter_topic, expect=poison, timeout=30)
        wait_until(lambda: committed_offsets(bootstrap, cfg.kafka.group_id, source, 1)
                   == end_offsets(bootstrap, source, 1), 30, message="offsets not committed to the end")
    assert ok_eids(stub.requests) == good
    return dlq


def test_oversized_and_tombstone_values_are_dead_lettered_and_the_partition_moves_on(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    limit = 2048
    ev = make_events(4, users=1, seed=5)
    at_limit = _sized(ev[1].event, limit)  # exactly the limit: delivered
    over = _sized(ev[2].event, limit + 1)  # one byte more: dead-lettered
    huge = b'{"type":"track","pad":"' + b"y" * 5_000_000 + b'"}'
    values = [ev[0].value(), over, at_limit, None, huge, ev[3].value()]
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, input={"max_value_bytes": limit})
        _produce_raw(kafka_bootstrap, source, values[:4])
        from confluent_kafka import Producer

        big = Producer({"bootstrap.servers": kafka_bootstrap, "message.max.bytes": 10_000_000,
                        "compression.type": "lz4"})  # compressed it fits the broker's 1 MB limit
        big.produce(source, value=huge, key=b"poison-key")
        assert big.flush(30) == 0
        _produce_raw(kafka_bootstrap, source, [ev[3].value()])
        good = {ev[0].eid, ev[1].eid, ev[3].eid}  # ev[1] is exactly at the limit: delivered
        dlq = _run_until_done(kafka_bootstrap, cfg, source, stub, good, poison=3)
    by_offset = {int(r["headers"][h.ORIGIN_OFFSET]): r for r in dlq}
    assert sorted(by_offset) == [1, 3, 4]
    for r in dlq:
        assert r["headers"][h.ERROR_CLASS] == "decode"
    assert by_offset[1]["headers"][h.ERROR_MESSAGE] == f"value of {limit + 1} bytes exceeds max_value_bytes ({limit})"
    assert by_offset[1]["value"] == over
    assert by_offset[3]["headers"][h.ERROR_MESSAGE] == "null value (tombstone)"
    # 5 MB arrived compressed; uncompressed it is too large for a dead-letter record: the record
    # carries the context without the value (before the fix the hand-off failed on every restart).
    assert "exceeds max_value_bytes" in by_offset[4]["headers"][h.ERROR_MESSAGE]
    assert "left out" in by_offset[4]["headers"][h.ERROR_MESSAGE]
    assert by_offset[4]["value"] is None and by_offset[4]["key"] == b"poison-key"


def test_a_dead_letter_too_large_for_kafka_is_recorded_without_its_value():
    """Unit-level twin of the case above: the broker refuses the record as too large."""
    import asyncio

    from confluent_kafka import KafkaError

    from processor.engine.handoff import Failure, Handoff, RetryContext
    from processor.engine.ports import Inbound, ProduceError

    sent = []

    async def produce(topic, value, **kw):
        if value is not None and len(value) > 100:
            raise ProduceError(f"{topic}: Message size too large", KafkaError.MSG_SIZE_TOO_LARGE)
        sent.append((topic, value, kw))

    handoff = Handoff(produce, retry_topics=["r0"], retry_delays_s=[1], dead_letter_topic="dlq", max_age_s=60)
    msg = Inbound("src", 0, 7, b"k", b"x" * 500, None, 1)
    asyncio.run(handoff.dead_letter(msg, RetryContext.from_source(msg), [], Failure("decode", None, "too big")))
    [(topic, value, kw)] = sent
    hd = h.decode_headers(kw["headers"])
    assert topic == "dlq" and value is None and kw["key"] == b"k"
    assert hd[h.ORIGIN_OFFSET] == "7" and hd[h.ERROR_CLASS] == "decode"
    assert hd[h.ERROR_MESSAGE].startswith("too big [value of 500 bytes left out")

    async def broken(topic, value, **kw):  # any other produce failure still stops the engine
        raise ProduceError(f"{topic}: timed out", KafkaError._MSG_TIMED_OUT)

    handoff = Handoff(broken, retry_topics=["r0"], retry_delays_s=[1], dead_letter_topic="dlq", max_age_s=60)
    with pytest.raises(ProduceError):
        asyncio.run(handoff.dead_letter(msg, RetryContext.from_source(msg), [], Failure("decode", None, "x")))


def _avro(record: dict) -> bytes:
    schema = parse_schema(orjson.loads(AVSC.read_bytes()))
    buf = io.BytesIO()
    schemaless_writer(buf, schema, record)
    return buf.getvalue()


def _avro_event(e) -> dict:
    ev = dict(e.event)
    for name in ("properties", "traits", "context"):
        if name in ev:
            ev[name] = orjson.dumps(ev[name]).decode()
    return ev


def test_wrong_avro_is_dead_lettered_with_its_reason_and_the_partition_moves_on(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    events = [e for e in make_events(40, users=1, seed=9) if e.path is not None][:6]
    good_values = [_avro(_avro_event(e)) for e in events]
    props_not_json = _avro({**_avro_event(events[0]), "properties": "{not json"})
    props_array = _avro({**_avro_event(events[0]), "properties": "[1, 2]"})
    poison = {
        "json instead of avro": (events[0].value(), "invalid Avro"),
        "truncated": (good_values[1][: len(good_values[1]) // 2], "invalid Avro"),
        "trailing bytes": (good_values[2] + b"\x00\x00\x00", "trailing bytes"),
        "enum index out of range": (b"\x7e" + good_values[3][1:], "invalid Avro"),
        "properties not JSON text": (props_not_json, "'properties' is not valid JSON text"),
        "properties not an object": (props_array, "'properties' must hold a JSON object"),
        "empty": (b"", "invalid Avro"),
        "short": (b"\x00" * 3, "invalid Avro"),  # last: the commit must move past a trailing poison too
    }
    values: list[bytes | None] = []
    for i, (bad, _reason) in enumerate(poison.values()):
        values.append(bad)
        if i < len(good_values):
            values.append(good_values[i])
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, input={"format": "avro", "avro_schema": str(AVSC)})
        _produce_raw(kafka_bootstrap, source, values)
        dlq = _run_until_done(kafka_bootstrap, cfg, source, stub, {e.eid for e in events}, poison=len(poison))
    assert len(dlq) == len(poison), [r["headers"][h.ERROR_MESSAGE] for r in dlq]
    by_value = {r["value"]: r["headers"] for r in dlq}
    for name, (bad, reason) in poison.items():
        hd = by_value.get(bad)
        assert hd is not None, f"{name}: not dead-lettered"
        assert hd[h.ERROR_CLASS] == "decode", name
        assert reason in hd[h.ERROR_MESSAGE], (name, hd[h.ERROR_MESSAGE])


def test_a_subscription_that_raises_for_one_event_dead_letters_that_pair_and_the_stream_goes_on(
        kafka_bootstrap, make_topic, caplog, monkeypatch):
    """Issue 13 item 5: ``{{ properties.v | at_least: properties.k, 99 }}`` raised a Python TypeError
    in our Liquid port; ``run`` logged "event processing failed; stopping so it is redelivered" and
    exited 1, and the event stopped it again after every restart. (The port has since been fixed;
    the same defect is simulated in the body encoding of one subscription, in this process.)"""
    import logging

    from tests.integration.test_engine import EVENT_PATH, track
    from tests.support.reliability import poison_body_encoding

    poison_body_encoding(monkeypatch)
    source = make_topic(partitions=1)
    subs = [
        {"name": "Poison", "subscribe": 'type = "track" and event = "Order Completed" and properties.poison = true',
         "action": "addCustomEvent",
         "mapping": {"customer": {"source_id": {"@path": "$.userId"}}, "event": "Poison", "type": {"@path": "$.type"}}},
        {"name": "All", "subscribe": 'type = "track"', "action": "addCustomEvent"},
    ]
    events = [track("u1", i) for i in range(20)]
    events[5] = {**events[5], "properties": {**events[5]["properties"], "poison": True}}
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=subs)
        _produce_raw(kafka_bootstrap, source, [orjson.dumps(e) for e in events])
        with caplog.at_level(logging.ERROR), ProcessorRun(cfg) as proc:
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1)
                       == end_offsets(kafka_bootstrap, source, 1), 60, message="offsets not committed to the end")
            dlq = read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, expect=1, timeout=30)
            internal = proc.metrics.registry.get_sample_value(
                "voucherify_processor_dead_lettered_total", {"error_class": "internal"})
        # ProcessorRun.stop() re-raises anything that stopped the processor: it kept running.
    delivered = sorted(r.json["metadata"]["seq"] for r in stub.requests if r.status == 200 and r.path == EVENT_PATH)
    assert delivered == list(range(20))  # "All" for every event, the poison one included
    [record] = dlq
    assert record["headers"][h.ERROR_CLASS] == "internal"
    assert record["headers"][h.ORIGIN_OFFSET] == "5"
    assert record["headers"][h.SUBSCRIPTIONS] == '["Poison"]'
    assert "TypeError" in record["headers"][h.ERROR_MESSAGE]
    assert internal == 1
    assert "subscription 'Poison' failed" in caplog.text and "Traceback" in caplog.text
