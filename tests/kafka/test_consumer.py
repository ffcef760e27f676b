"""The consumer thread's offset rules (issue 13), driven step by step over a fake librdkafka consumer.

The thread's methods are called directly (no thread, no broker): assignment with committed
offsets and metadata, records handed over with position jumps in between, commits with
metadata, records below the committed offset after an assignment, transaction markers.
The same rules run on a real broker in tests/reliability/test_position_jumps.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import KafkaError, TopicPartition

import processor.kafka.consumer as consumer_module
from processor.kafka.consumer import ConsumerThread

T = "events"
TP0 = (T, 0)


@dataclass
class Msg:
    topic_: str
    partition_: int
    offset_: int
    value_: bytes = b"{}"
    headers_: list[tuple[str, bytes]] | None = None

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self.topic_

    def partition(self) -> int:
        return self.partition_

    def offset(self) -> int:
        return self.offset_

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return self.value_

    def headers(self) -> list[tuple[str, bytes]] | None:
        return self.headers_

    def timestamp(self) -> tuple[int, int]:
        return 1, 1000


@dataclass
class FakeKafka:
    """Just what ConsumerThread calls on librdkafka's Consumer."""

    conf: dict[str, Any]
    committed_offsets: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)
    low: dict[tuple[str, int], int] = field(default_factory=dict)
    high: dict[tuple[str, int], int] = field(default_factory=dict)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)
    commits: list[list[tuple[tuple[str, int], int, str]]] = field(default_factory=list)
    seeks: list[tuple[tuple[str, int], int]] = field(default_factory=list)
    resumed: list[tuple[str, int]] = field(default_factory=list)
    paused: list[tuple[str, int]] = field(default_factory=list)
    queued: list[Msg] = field(default_factory=list)  # what consume() returns, in order
    asked: list[int] = field(default_factory=list)  # num_messages of every consume() call

    def consume(self, num_messages: int, timeout: float) -> list[Msg]:
        self.asked.append(num_messages)
        out, self.queued = self.queued[:num_messages], self.queued[num_messages:]
        return out

    def committed(self, tps: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        out = []
        for tp in tps:
            offset, meta = self.committed_offsets.get((tp.topic, tp.partition), (-1001, ""))
            out.append(TopicPartition(tp.topic, tp.partition, offset, metadata=meta))
        return out

    def commit(self, offsets: list[TopicPartition], asynchronous: bool = True) -> None:
        self.commits.append([((tp.topic, tp.partition), tp.offset, tp.metadata or "") for tp in offsets])
        for tp in offsets:
            self.committed_offsets[(tp.topic, tp.partition)] = (tp.offset, tp.metadata or "")

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool = False) -> tuple[int, int]:
        return self.low.get((tp.topic, tp.partition), 0), self.high.get((tp.topic, tp.partition), 10**9)

    def seek(self, tp: TopicPartition) -> None:
        self.seeks.append(((tp.topic, tp.partition), tp.offset))

    def resume(self, tps: list[TopicPartition]) -> None:
        self.resumed.extend((tp.topic, tp.partition) for tp in tps)

    def pause(self, tps: list[TopicPartition]) -> None:
        self.paused.extend((tp.topic, tp.partition) for tp in tps)

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, self.positions.get((tp.topic, tp.partition), -1001))
                for tp in tps]


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.committed: dict[tuple[str, int], tuple[int, str]] = {}
        self.sizes: list[int] = []

    def on_assigned(self, partitions, committed) -> None:
        self.events.append(("assigned", partitions))
        self.committed = committed

    def on_messages(self, batch) -> None:
        self.events.append(("batch", [(m.partition, m.offset) for m in batch]))
        self.sizes.extend(m.size for m in batch)

    def on_revoked(self, partitions):
        return {}

    def on_position_jump(self, tp, old, new, skipped) -> None:
        self.events.append(("jump", (tp, old, new, skipped)))


@pytest.fixture
def rig(monkeypatch):
    monkeypatch.setattr(consumer_module, "Consumer", FakeKafka)
    listener = Listener()
    thread = ConsumerThread({"group.id": "g"}, [T], listener)
    return thread, thread._consumer, listener


def _assign(thread: ConsumerThread, kafka: FakeKafka, *partitions: int) -> None:
    thread._on_assign(kafka, [TopicPartition(T, p) for p in partitions])


def test_settings_commit_manually_and_refresh_metadata_within_seconds(rig):
    thread, kafka, _ = rig
    assert kafka.conf["enable.auto.commit"] is False
    assert kafka.conf["topic.metadata.refresh.interval.ms"] <= 10_000


def test_a_full_prefetch_buffer_is_refilled_within_milliseconds_not_a_second(rig):
    """librdkafka's default (1 s) capped one process at ~11,000 events/s (bench/run.py)."""
    _thread, kafka, _ = rig
    assert kafka.conf["queued.max.messages.kbytes"] == 2048
    assert kafka.conf["fetch.queue.backoff.ms"] <= 50


def test_every_topic_is_split_over_the_members_by_default_and_the_user_may_choose(rig, monkeypatch):
    """cooperative-sticky balanced the count over source + retry topics together: a second member
    got only retry partitions (tests/integration/test_assignment.py shows it on a broker)."""
    _thread, kafka, _ = rig
    assert kafka.conf["partition.assignment.strategy"] == "range"
    other = ConsumerThread({"group.id": "g", "partition.assignment.strategy": "cooperative-sticky"}, [T], Listener())
    assert other._consumer.conf["partition.assignment.strategy"] == "cooperative-sticky"


def test_assignment_hands_the_committed_offsets_and_metadata_to_the_listener(rig):
    thread, kafka, listener = rig
    kafka.committed_offsets[TP0] = (42, "vp1:42:r:xyz")
    _assign(thread, kafka, 0, 1)
    assert listener.committed == {TP0: (42, "vp1:42:r:xyz")}  # partition 1 has none


def test_offsets_are_committed_with_metadata_also_when_only_the_metadata_changed(rig):
    thread, kafka, _ = rig
    _assign(thread, kafka, 0)
    thread.store_offsets({TP0: (5, "a")})
    thread._apply_commands()
    thread._commit_async()
    thread.store_offsets({TP0: (5, "b")})  # same offset, more finished above it
    thread._apply_commands()
    thread._commit_async()
    thread._commit_async()  # nothing changed: nothing sent
    assert kafka.commits == [[(TP0, 5, "a")], [(TP0, 5, "b")]]


def test_a_failed_commit_is_sent_again(rig):
    thread, kafka, _ = rig
    _assign(thread, kafka, 0)
    thread.store_offsets({TP0: (5, "a")})
    thread._apply_commands()
    thread._commit_async()
    failed = TopicPartition(T, 0, 5)
    thread._on_commit(KafkaError(KafkaError.REQUEST_TIMED_OUT), [failed])
    thread._commit_async()
    assert kafka.commits == [[(TP0, 5, "a")], [(TP0, 5, "a")]]


def test_a_backward_jump_is_reported_before_the_record_and_replaces_the_stored_offset(rig, caplog):
    thread, kafka, listener = rig
    _assign(thread, kafka, 0)
    thread._hand_over([Msg(T, 0, 154), Msg(T, 0, 155)])
    thread.store_offsets({TP0: (156, "")})  # the engine finished them; not committed yet
    thread._hand_over([Msg(T, 0, 0), Msg(T, 0, 1)])  # the topic was re-created
    assert listener.events[1:] == [("batch", [(0, 154), (0, 155)]), ("jump", (TP0, 156, 0, 0)),
                                   ("batch", [(0, 0), (0, 1)])]
    thread._apply_commands()
    thread._commit_async()
    assert kafka.commits == [[(TP0, 0, "")]]  # never 156 on the new log
    assert "position jumped from offset 156 to 0" in caplog.text


def test_a_gap_over_records_the_log_no_longer_has_is_a_jump_other_gaps_are_not(rig, caplog):
    thread, kafka, listener = rig
    kafka.committed_offsets[TP0] = (100, "")
    _assign(thread, kafka, 0)
    kafka.low[TP0] = 250  # retention deleted 100-249 before they were read
    thread._hand_over([Msg(T, 0, 250), Msg(T, 0, 251), Msg(T, 0, 253)])  # 252: a transaction marker
    assert listener.events[1:] == [("jump", (TP0, 100, 250, 150)), ("batch", [(0, 250), (0, 251), (0, 253)])]
    assert "(150 offsets skipped" in caplog.text


def test_records_below_the_committed_offset_after_an_assignment_are_dropped_and_the_partition_seeks(rig, caplog):
    thread, kafka, listener = rig
    kafka.committed_offsets[TP0] = (226, "")
    _assign(thread, kafka, 0)
    thread._hand_over([Msg(T, 0, 0), Msg(T, 0, 1)])  # librdkafka started at the beginning
    assert kafka.seeks == [(TP0, 226)]
    thread._hand_over([Msg(T, 0, 2), Msg(T, 0, 226), Msg(T, 0, 227)])
    assert listener.events[1:] == [("batch", [(0, 226), (0, 227)])]
    assert "below the group's committed offset 226" in caplog.text
    thread._hand_over([Msg(T, 0, 5)])  # later, a real backward jump is one again
    assert listener.events[-2] == ("jump", (TP0, 228, 5, 0))


def test_an_idle_partition_commits_past_a_transaction_marker(rig):
    thread, kafka, _ = rig
    _assign(thread, kafka, 0)
    thread._hand_over([Msg(T, 0, 18), Msg(T, 0, 19)])
    thread.store_offsets({TP0: (20, "")})
    thread._apply_commands()
    kafka.positions[TP0] = 21  # offset 20 is the commit marker
    thread._store_past_markers()
    thread._commit_async()
    assert kafka.commits == [[(TP0, 20, "")], [(TP0, 21, "")]]


def test_a_busy_partition_does_not_commit_its_position(rig):
    thread, kafka, _ = rig
    _assign(thread, kafka, 0)
    thread._hand_over([Msg(T, 0, 18), Msg(T, 0, 19)])
    thread.store_offsets({TP0: (19, "")})  # 19 still in flight
    thread._apply_commands()
    kafka.positions[TP0] = 21
    thread._store_past_markers()
    thread._commit_async()
    assert kafka.commits == [[(TP0, 19, "")]]


def test_a_committed_offset_beyond_the_log_is_not_sought_the_start_below_it_is_a_jump(rig):
    """The topic was re-created and the group's old offset survived: the new log is shorter."""
    thread, kafka, listener = rig
    kafka.committed_offsets[TP0] = (156, "")
    kafka.high[TP0] = 40
    _assign(thread, kafka, 0)
    thread._hand_over([Msg(T, 0, 0), Msg(T, 0, 1)])
    assert kafka.seeks == []
    assert listener.events[1:] == [("jump", (TP0, 156, 0, 0)), ("batch", [(0, 0), (0, 1)])]


def test_an_assigned_partition_is_resumed_librdkafka_keeps_a_pause_across_revoke(rig):
    """A partition paused by flow control when it was revoked came back paused and stalled."""
    thread, kafka, _ = rig
    _assign(thread, kafka, 0, 1)
    assert sorted(kafka.resumed) == [TP0, (T, 1)]


def test_records_carry_their_size_and_batches_hold_about_half_a_mebibyte(rig):
    """Rule 2: the engine pauses after a batch arrived, so a batch of 500 records of 30 KB put
    15 MB beyond its byte bound at once; batches are sized by the previous batch's records."""
    thread, kafka, listener = rig
    _assign(thread, kafka, 0)
    big = b"x" * 30_000
    kafka.queued = [Msg(T, 0, o, big, [("h", b"vv")]) for o in range(200)]
    for _ in range(4):
        thread._consume_batch()
    assert listener.sizes[0] == len(b"k") + 30_000 + len("h") + 2
    assert kafka.asked == [1, 17, 17, 17]  # unknown size: one record first; then 512 KiB / 30 KB
    kafka.queued = [Msg(T, 0, o) for o in range(200, 2000)]
    for _ in range(3):
        thread._consume_batch()
    assert kafka.asked[4:] == [17, 500, 500]  # small records: the record limit applies again


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _held(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(consumer_module.time, "monotonic", clock)
    return clock


def test_pausing_everything_first_holds_without_pausing_in_librdkafka(rig, monkeypatch):
    """Rule 5 (issue 16): librdkafka's pause drops the prefetched records and its resume fetched
    again only ~0.7 s later, so a full in-flight window starved the engine at every cycle."""
    thread, kafka, _ = rig
    clock = _held(monkeypatch)
    _assign(thread, kafka, 0, 1)
    thread.set_paused({TP0, (T, 1)})
    thread._apply_commands()
    assert thread._holding_since is not None  # consume() is not called while holding
    assert kafka.paused == []
    clock.now += 0.5
    thread.set_paused(set())  # the window drained within the hold: carry on, nothing refetched
    thread._apply_commands()
    assert thread._holding_since is None
    assert kafka.paused == [] and kafka.resumed == [TP0, (T, 1)]  # (the resumes of the assignment)


def test_a_hold_that_lasts_pauses_in_librdkafka_and_consuming_goes_on(rig, monkeypatch):
    """A long pause (an open circuit) must not stop consume(): rebalances are served inside it."""
    thread, kafka, _ = rig
    clock = _held(monkeypatch)
    _assign(thread, kafka, 0, 1)
    thread.set_paused({TP0, (T, 1)})
    thread._apply_commands()
    clock.now += thread._pause_hold_s
    thread._apply_commands()
    assert sorted(kafka.paused) == [TP0, (T, 1)]
    assert thread._holding_since is None
    thread._apply_commands()  # already paused: no new hold
    assert thread._holding_since is None and len(kafka.paused) == 2
    thread.set_paused(set())
    thread._apply_commands()
    assert sorted(kafka.resumed[-2:]) == [TP0, (T, 1)]


def test_pausing_some_partitions_applies_at_once(rig, monkeypatch):
    """A retry tier that is not due, or one partition over its own limit: the others go on."""
    thread, kafka, _ = rig
    _held(monkeypatch)
    _assign(thread, kafka, 0, 1)
    thread.set_paused({TP0})
    thread._apply_commands()
    assert kafka.paused == [TP0] and thread._holding_since is None


def test_stop_ends_a_hold_at_once(rig, monkeypatch):
    thread, kafka, _ = rig
    _held(monkeypatch)
    _assign(thread, kafka, 0)
    thread.set_paused({TP0})
    thread._wake.clear()
    thread.stop()
    assert thread._wake.is_set()


@dataclass
class ErrorMsg(Msg):
    """What consume() returns in place of a record for a group error."""

    err: KafkaError | None = None

    def error(self) -> KafkaError | None:  # type: ignore[override]
        return self.err


def test_a_member_refused_for_its_assignment_strategy_says_what_to_do(rig, caplog):
    """On a broker, a range member joining a cooperative-sticky group (the upgrade of issue 16)
    gets INCONSISTENT_GROUP_PROTOCOL from consume(), in place of a record, and no partitions:
    it was logged as a bare 'consume error' WARNING (a newcomer's finding)."""
    thread, _, listener = rig
    refused = KafkaError(KafkaError.INCONSISTENT_GROUP_PROTOCOL, "JoinGroup failed: Broker: Inconsistent group protocol")
    with caplog.at_level("ERROR"):
        thread._hand_over([ErrorMsg(T, -1, -1001, err=refused)])
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors and "partition.assignment.strategy" in errors[0].getMessage()
    assert "this member's (range)" in errors[0].getMessage()  # its own, not a fixed text (a newcomer's finding)
    assert "Scaling out" in errors[0].getMessage()
    assert listener.events == []
