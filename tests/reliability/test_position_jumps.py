"""The consumer's position moves by itself (issue 13 item 6), on a real broker.

* The source topic is deleted and re-created while the processor runs: nothing of the new topic is
  lost and no position of the old topic is committed onto the new one.
* Records the group had not read yet are deleted (retention; here the DeleteRecords API, which
  moves the log start offset exactly as retention does): a WARNING names the partition, the old
  and new position and how many offsets were skipped, and ``offsets_skipped_total`` counts them.
* Partitions added to the source topic are consumed within seconds, not after librdkafka's
  default 5-minute metadata refresh.
* A partition that ends with a transaction marker commits to its end: lag 0.
"""

from __future__ import annotations

import logging
import time

import orjson
import pytest
from confluent_kafka import Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions

from dev.stub import StubServer
from tests.integration.test_engine import track
from tests.integration.test_operations import SUBS, delivered_seqs
from tests.support.kafka_broker import create_topic, delete_topics
from tests.support.processor import (
    ProcessorRun,
    committed_offsets,
    end_offsets,
    processor_config,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability]



def _produce(bootstrap: str, topic: str, seqs: range, partitions: int | None = None, **conf) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **conf})
    for i in seqs:
        kwargs = {"partition": i % partitions} if partitions else {}
        producer.produce(topic, orjson.dumps(track(f"u{i % 13}", i)), key=f"u{i % 13}".encode(), **kwargs)
    assert producer.flush(30) == 0


def _metric(proc: ProcessorRun, name: str, labels: dict[str, str]) -> float:
    return proc.metrics.registry.get_sample_value(name, labels) or 0.0


def test_topic_deleted_and_recreated_while_running_loses_nothing_and_commits_no_stale_offset(
        kafka_bootstrap, make_topic, caplog):
    source = make_topic(partitions=2)
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=SUBS)
        group = cfg.kafka.group_id
        _produce(kafka_bootstrap, source, range(300))
        with caplog.at_level(logging.WARNING), ProcessorRun(cfg):
            wait_until(lambda: len(delivered_seqs(stub)) >= 300, 60, message="the first 300")
            wait_until(lambda: committed_offsets(kafka_bootstrap, group, source, 2) == end_offsets(kafka_bootstrap, source, 2),
                       30, message="first 300 committed")
            old_ends = end_offsets(kafka_bootstrap, source, 2)
            delete_topics(kafka_bootstrap, [source])
            time.sleep(2)
            create_topic(kafka_bootstrap, source, 2)
            time.sleep(2)
            _produce(kafka_bootstrap, source, range(1000, 1500))
            wait_until(lambda: set(range(1000, 1500)) <= set(delivered_seqs(stub)), 90,
                       message="not every event of the re-created topic was delivered")
            new_ends = end_offsets(kafka_bootstrap, source, 2)
            wait_until(lambda: committed_offsets(kafka_bootstrap, group, source, 2) == new_ends, 30,
                       message="the new topic's offsets were not committed to its end")
        # After the graceful stop: the commits are the new topic's, not the old topic's positions.
        assert committed_offsets(kafka_bootstrap, group, source, 2) == new_ends, (old_ends, new_ends)
        # A restart delivers nothing more (everything of the new topic is behind the commit).
        stub.reset()
        with ProcessorRun(cfg):
            time.sleep(3)
        assert delivered_seqs(stub) == []


def test_records_deleted_before_they_were_read_are_reported(kafka_bootstrap, make_topic, caplog):
    source = make_topic(partitions=1)
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=SUBS)
        group = cfg.kafka.group_id
        _produce(kafka_bootstrap, source, range(100), partitions=1)
        with ProcessorRun(cfg):
            wait_until(lambda: committed_offsets(kafka_bootstrap, group, source, 1) == {0: 100}, 60,
                       message="first 100 committed")
        _produce(kafka_bootstrap, source, range(100, 300), partitions=1)
        # Retention deletes what the group has not read yet: offsets 100-249.
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
        for f in admin.delete_records([TopicPartition(source, 0, 250)]).values():
            f.result(30)
        with caplog.at_level(logging.WARNING), ProcessorRun(cfg) as proc:
            wait_until(lambda: set(range(250, 300)) <= set(delivered_seqs(stub)), 60, message="records after the gap")
            wait_until(lambda: committed_offsets(kafka_bootstrap, group, source, 1) == {0: 300}, 30,
                       message="committed to the end")
            skipped = _metric(proc, "voucherify_processor_offsets_skipped_total", {"topic": source, "partition": "0"})
        assert skipped == 150
        assert f"{source}[0] position jumped from offset 100 to 250 (150 offsets skipped" in caplog.text
        assert sorted(delivered_seqs(stub)) == list(range(100)) + list(range(250, 300))


def test_partitions_added_to_the_source_are_consumed_within_seconds(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=SUBS)
        _produce(kafka_bootstrap, source, range(10), partitions=1)
        with ProcessorRun(cfg):
            wait_until(lambda: len(delivered_seqs(stub)) >= 10, 60, message="first events")
            admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
            for f in admin.create_partitions([NewPartitions(source, 3)]).values():
                f.result(30)
            def leaders() -> bool:
                meta = admin.list_topics(source, timeout=10).topics.get(source)
                return meta is not None and len(meta.partitions) == 3 and all(
                    p.leader >= 0 for p in meta.partitions.values())

            wait_until(leaders, 30, message="the added partitions have no leader")
            _produce(kafka_bootstrap, source, range(10, 40), partitions=3)
            # librdkafka's default metadata refresh (5 min) would miss this by minutes.
            wait_until(lambda: set(range(10, 40)) <= set(delivered_seqs(stub)), 30,
                       message="events on the added partitions were not consumed within 30 s")


def test_a_partition_ending_with_a_transaction_marker_reaches_lag_zero(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=SUBS)
        producer = Producer({"bootstrap.servers": kafka_bootstrap, "transactional.id": f"tx-{source}"})
        producer.init_transactions(30)
        producer.begin_transaction()
        for i in range(20):
            producer.produce(source, orjson.dumps(track(f"u{i}", i)), partition=0)
        producer.commit_transaction(30)
        end = 21  # 20 records and the commit marker (the stable end moves there once the marker is written)
        wait_until(lambda: end_offsets(kafka_bootstrap, source, 1)[0] == end, 30, message="transaction not visible")
        with ProcessorRun(cfg) as proc:
            wait_until(lambda: len(delivered_seqs(stub)) >= 20, 60, message="the transaction's records")
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1) == {0: end}, 30,
                       message="the commit never passed the transaction marker")
            wait_until(lambda: proc.metrics.registry.get_sample_value(
                "voucherify_processor_consumer_lag", {"topic": source, "partition": "0"}) == 0, 30,
                message="lag never reached 0")
