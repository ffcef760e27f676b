"""``replay``: offsets move to the right place on a real broker; refused while the group runs."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from processor.cli.main import main
from processor.cli.replay import (
    ReplayError,
    ReplayTarget,
    parse_datetime,
    parse_duration,
    parse_offsets,
    plan_replay,
)
from processor.config import load_config
from processor.kafka.admin import alter_committed_offsets, committed_offsets
from tests.cli.conftest import WriteConfig
from tests.support.kafka_broker import create_topic

PER_PARTITION = 10


def test_parsers() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_offsets("0:12, 1:3") == {0: 12, 1: 3}
    assert parse_datetime("2024-05-01T10:00:00").tzinfo is not None
    assert parse_datetime("2024-05-01T10:00:00Z").utcoffset() == timedelta(0)
    for bad in ("2x", "h", ""):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_offsets("0=1")


@pytest.fixture
def produced(kafka_bootstrap: str, topic_base: str, cleanup_topics: None) -> int:
    """2 partitions x 10 events, one second apart, an hour ago; the group committed at the end."""
    create_topic(kafka_bootstrap, topic_base, partitions=2)
    base_ms = int(time.time() * 1000) - 3_600_000
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for p in (0, 1):
        for i in range(PER_PARTITION):
            producer.produce(topic_base, b'{"type":"track"}', partition=p, timestamp=base_ms + i * 1000)
    assert producer.flush(30) == 0
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    alter_committed_offsets(admin, f"{topic_base}-group", topic_base, {0: PER_PARTITION, 1: PER_PARTITION})
    return base_ms


@pytest.mark.integration
def test_to_datetime_moves_committed_offsets(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, produced: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(kafka_bootstrap, topic_base)
    cfg = load_config(path, environ={})
    # 6.5 s after the first event: the first event at/after it is index 7.
    when_ms = produced + 6_500
    plan = plan_replay(cfg, ReplayTarget(timestamp_ms=when_ms))
    assert [(p.partition, p.committed, p.new_offset, p.to_reprocess) for p in plan.partitions] == [
        (0, 10, 7, 3),
        (1, 10, 7, 3),
    ]

    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when_ms // 1000)) + f".{when_ms % 1000:03d}+00:00"
    assert main(["replay", "--config", str(path), "--to-datetime", iso, "--dry-run"]) == 0
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert committed_offsets(admin, cfg.kafka.group_id, topic_base, [0, 1]) == {0: 10, 1: 10}

    # No terminal and no --yes: refuse, change nothing.
    assert main(["replay", "--config", str(path), "--to-datetime", iso]) == 1
    assert "--yes" in capsys.readouterr().err
    assert committed_offsets(admin, cfg.kafka.group_id, topic_base, [0, 1]) == {0: 10, 1: 10}

    assert main(["replay", "--config", str(path), "--to-datetime", iso, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "total events to re-process: 6" in out
    assert committed_offsets(admin, cfg.kafka.group_id, topic_base, [0, 1]) == {0: 7, 1: 7}

    assert main(["replay", "--config", str(path), "--to-offset", "1:2", "--yes"]) == 0
    assert committed_offsets(admin, cfg.kafka.group_id, topic_base, [0, 1]) == {0: 7, 1: 2}

    assert main(["replay", "--config", str(path), "--to-earliest", "--yes"]) == 0
    assert committed_offsets(admin, cfg.kafka.group_id, topic_base, [0, 1]) == {0: 0, 1: 0}

    # A time after the last event: the end of each partition (nothing to re-process).
    plan = plan_replay(cfg, ReplayTarget(timestamp_ms=produced + 60_000))
    assert [p.new_offset for p in plan.partitions] == [10, 10]

    with pytest.raises(ReplayError):
        plan_replay(cfg, ReplayTarget(offsets={0: 99}))
    with pytest.raises(ReplayError):
        plan_replay(cfg, ReplayTarget(offsets={5: 1}))


@pytest.mark.integration
def test_refuses_while_group_is_active(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, produced: int, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(kafka_bootstrap, topic_base)
    consumer = Consumer(
        {"bootstrap.servers": kafka_bootstrap, "group.id": f"{topic_base}-group", "enable.auto.commit": False}
    )
    consumer.subscribe([topic_base])
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(0.2)
        assert consumer.assignment()
        capsys.readouterr()
        assert main(["replay", "--config", str(path), "--to-earliest", "--yes"]) == 1
        assert "active member" in capsys.readouterr().err
    finally:
        consumer.close()
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    assert committed_offsets(admin, f"{topic_base}-group", topic_base, [0, 1]) == {0: 10, 1: 10}
