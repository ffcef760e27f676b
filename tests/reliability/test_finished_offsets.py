"""Finished offsets committed with the offset (issue 13 item 1) on a real broker.

* A slow key no longer makes the next owner repeat every finished event behind it: the old owner
  commits the finished offsets above the stuck one in the commit metadata, the new owner skips them.
* Metadata that is foreign, of another version, or written for another offset (a reset or replay
  moved the offset) makes the new owner skip nothing: duplicates, never loss.
"""

from __future__ import annotations

import logging
import time

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from dev.stub import StubServer
from processor.engine.finished_offsets import encode
from tests.integration.test_engine import EVENT_PATH, track
from tests.integration.test_operations import SUBS, delivered_seqs
from tests.support.processor import (
    ProcessorRun,
    committed_offsets,
    end_offsets,
    processor_config,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability]



def _committed_with_metadata(bootstrap: str, group: str, topic: str, partitions: int) -> dict[int, tuple[int, str]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return {tp.partition: (tp.offset, tp.metadata or "") for tp in tps}
    finally:
        consumer.close()


def _commit(bootstrap: str, group: str, commits: dict[TopicPartition, None] | list[TopicPartition]) -> None:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=list(commits), asynchronous=False)
    finally:
        consumer.close()


def _sent_count(proc: ProcessorRun, name: str, labels: dict[str, str]) -> float:
    return proc.metrics.registry.get_sample_value(name, labels) or 0.0


def test_new_owner_skips_what_the_old_one_finished_behind_a_slow_key(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    n = 200
    with StubServer() as stub:
        # The first event's request hangs for 20 s (then fails; the stub records it as a 503 at
        # once): its offset stays the committed one while the 199 events behind it finish.
        stub.configure(script=[{"path": EVENT_PATH, "status": 503, "delay_ms": 20_000, "count": 1}])
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=SUBS,
                               engine={"drain_timeout_s": 1.0, "commit_interval_s": 0.2})
        events = [track("slow-user", 0)] + [track(f"user-{i}", i) for i in range(1, n)]
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        for e in events:
            producer.produce(source, orjson.dumps(e), key=e["userId"].encode(), partition=0)
        assert producer.flush(10) == 0
        with ProcessorRun(cfg):
            wait_until(lambda: len(delivered_seqs(stub)) >= n - 1, 60, message="the events behind the slow one")
            wait_until(lambda: _committed_with_metadata(kafka_bootstrap, cfg.kafka.group_id, source, 1)[0][1]
                       .startswith("vp1:0:"), 30, message="no finished offsets committed with offset 0")
        # The old owner left (drain timed out on the slow event): offset 0 and, above it, 1-199.
        offset, metadata = _committed_with_metadata(kafka_bootstrap, cfg.kafka.group_id, source, 1)[0]
        assert offset == 0 and metadata.startswith("vp1:0:")
        before = sorted(delivered_seqs(stub))
        assert before == list(range(1, n))
        stub.configure(script=[])
        with ProcessorRun(cfg) as new_owner:
            wait_until(lambda: 0 in delivered_seqs(stub), 60, message="the slow event was never delivered by the new owner")
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1)
                       == end_offsets(kafka_bootstrap, source, 1), 30, message="not committed to the end")
            skipped = _sent_count(new_owner, "voucherify_processor_already_finished_total", {"topic": source})
        assert sorted(delivered_seqs(stub)) == list(range(n))  # the slow one once more, nothing else twice
        assert skipped == n - 1


@pytest.mark.parametrize("kind", ["foreign", "future version", "moved offset", "corrupt"])
def test_metadata_we_cannot_trust_means_duplicates_never_loss(kafka_bootstrap, make_topic, caplog, kind):
    source = make_topic(partitions=1)
    n, committed = 40, 10
    claims = list(range(committed + 1, n))  # what the metadata would have us skip
    metadata = {
        "foreign": "11-39",  # e.g. another tool's ranges
        "future version": "vp2" + encode(committed, claims).text[3:],
        "moved offset": encode(committed - 5, list(range(committed - 4, n))).text,  # reset/replay moved it
        "corrupt": encode(committed, claims).text[:-6] + "AAAAAA",
    }[kind]
    with caplog.at_level(logging.WARNING):
        delivered = _run_from(kafka_bootstrap, source, n, committed, metadata)
    assert delivered == list(range(committed, n))  # nothing skipped
    assert "delivered again" in caplog.text


def test_valid_metadata_skips_exactly_the_finished_offsets(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    n, committed = 40, 10
    finished = [12, 13, 14, 20, 39]
    delivered = _run_from(kafka_bootstrap, source, n, committed, encode(committed, finished).text)
    assert delivered == [i for i in range(committed, n) if i not in finished]


def _run_from(bootstrap: str, source: str, n: int, committed: int, metadata: str) -> list[int]:
    """Produce ``n`` events, commit ``committed`` with ``metadata``, run to the end: the seqs sent."""
    with StubServer() as stub:
        cfg = processor_config(bootstrap, stub.url, source, subscriptions=SUBS)
        producer = Producer({"bootstrap.servers": bootstrap})
        for i in range(n):
            producer.produce(source, orjson.dumps(track(f"u{i}", i)), partition=0)
        assert producer.flush(10) == 0
        _commit(bootstrap, cfg.kafka.group_id, [TopicPartition(source, 0, committed, metadata=metadata)])
        with ProcessorRun(cfg):
            wait_until(lambda: committed_offsets(bootstrap, cfg.kafka.group_id, source, 1)
                       == end_offsets(bootstrap, source, 1), 60, message="not committed to the end")
        return sorted(delivered_seqs(stub))
