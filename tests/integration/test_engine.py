"""The stream engine end to end: real broker, real HTTP to the stub, the real destination.

Every test runs the same code path as ``voucherify-processor run`` (``run_processor``) in a
background thread, with its own source topic, group, retry tiers and dead-letter topic.
"""

from __future__ import annotations

import random
from collections import defaultdict

import orjson
import pytest

from dev.stub import StubServer
from processor.engine import headers as h
from tests.support.processor import (
    ProcessorRun,
    committed_offsets,
    end_offsets,
    processor_config,
    produce_events,
    read_topic,
    wait_until,
)

pytestmark = pytest.mark.integration

EVENT_PATH = "/segmentio/event-processing"
CUSTOMER_PATH = "/segmentio/customer-processing"
GROUP_PATH = "/segmentio/group-processing"


def track(user: str, seq: int, **props) -> dict:
    return {"type": "track", "event": "Order Completed", "userId": user, "messageId": f"m-{user}-{seq}",
            "properties": {"seq": seq, "email": f"{user}@example.com", "metadata": {"seq": seq}, **props},
            "context": {"traits": {"email": f"{user}@example.com"}}}


def mixed_events(n: int, users: int = 20, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        user = f"user-{rnd.randrange(users)}"
        kind = ["track", "identify", "page", "screen", "group"][i % 5]
        if kind == "track":
            out.append(track(user, i))
        elif kind == "identify":
            out.append({"type": "identify", "userId": user, "traits": {"email": f"{user}@example.com", "name": user}})
        elif kind in ("page", "screen"):
            out.append({"type": kind, "name": "Home", "userId": user, "properties": {"seq": i}})
        else:
            out.append({"type": "group", "userId": user, "groupId": f"g-{i % 3}", "traits": {"name": "Acme"}})
    return out


def stub_paths(stub: StubServer, status: int | None = 200) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in stub.requests:
        if status is None or r.status == status:
            counts[r.path] += 1
    return dict(counts)


def test_every_triggered_subscription_reaches_the_stub_and_offsets_are_committed(kafka_bootstrap, make_topic):
    source = make_topic(partitions=3)
    events = mixed_events(300)
    with StubServer(latency_ms=5, latency_jitter_ms=5) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source)
        produce_events(kafka_bootstrap, source, events)
        with ProcessorRun(cfg) as proc:
            wait_until(lambda: stub.count >= 300, 60, message="stub never got 300 requests")
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 3)
                       == end_offsets(kafka_bootstrap, source, 3), 30, message="offsets not committed")
        assert stub_paths(stub) == {EVENT_PATH: 180, CUSTOMER_PATH: 60, GROUP_PATH: 60}
        assert len(stub.requests) == 300  # no duplicates on a clean run
        sent = proc.metrics.registry.get_sample_value("voucherify_processor_sent_total",
                                                      {"action": "addCustomEvent"})
        assert sent == 180
    assert read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, timeout=2) == []


def test_only_the_failed_subscription_is_retried_and_later_succeeds(kafka_bootstrap, make_topic):
    """One event triggers three subscriptions; the customer endpoint fails 5 times (past quick retries)."""
    source = make_topic(partitions=1)
    subs = [
        {"name": "Event", "subscribe": 'type = "track"', "action": "addCustomEvent"},
        {"name": "Customer", "subscribe": 'type = "track"', "action": "upsertCustomer",
         "mapping": {"source_id": {"@path": "$.userId"}, "email": {"@path": "$.properties.email"},
                     "type": {"@path": "$.type"}}},
        {"name": "Group", "subscribe": 'type = "track"', "action": "assignCustomerToGroup",
         "mapping": {"customer": {"source_id": {"@path": "$.userId"}}, "group_id": {"@literal": "vip"},
                     "type": {"@path": "$.type"}}},
    ]
    with StubServer() as stub:
        # 1 try + 2 quick retries fail in the first round, then the first retry tier fails twice more...
        stub.configure(script=[{"status": 503, "count": 3, "path": CUSTOMER_PATH}])
        cfg = processor_config(kafka_bootstrap, stub.url, source, subscriptions=subs,
                               engine={"quick_retries": 2, "retry_delays_s": [1.0, 1.0, 1.0]})
        produce_events(kafka_bootstrap, source, [track("alice", 1)])
        with ProcessorRun(cfg) as proc:
            wait_until(lambda: stub_paths(stub).get(CUSTOMER_PATH, 0) >= 1, 30, message="customer never delivered")
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1) == {0: 1}, 30)
        assert stub_paths(stub) == {EVENT_PATH: 1, CUSTOMER_PATH: 1, GROUP_PATH: 1}
        assert stub_paths(stub, status=503) == {CUSTOMER_PATH: 3}
        retried = read_topic(kafka_bootstrap, f"{source}.retry.0", expect=1)
        assert len(retried) == 1
        hd = retried[0]["headers"]
        assert orjson.loads(hd[h.SUBSCRIPTIONS]) == ["Customer"]
        assert hd[h.ATTEMPT] == "1"
        assert hd[h.ERROR_CLASS] == "retryable" and hd[h.ERROR_STATUS] == "503"
        assert hd[h.ORIGIN_TOPIC] == source and hd[h.ORIGIN_OFFSET] == "0"
        assert orjson.loads(retried[0]["value"])["userId"] == "alice"  # original bytes
        assert proc.metrics.registry.get_sample_value("voucherify_processor_retried_total",
                                                      {"action": "upsertCustomer"}) == 1
    assert read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, timeout=2) == []


def test_per_key_order_holds_under_concurrency(kafka_bootstrap, make_topic):
    source = make_topic(partitions=2)
    rnd = random.Random(7)
    events = [track(f"u{rnd.randrange(25)}", i) for i in range(600)]
    # Every answer takes 10-30 ms, so a sequential consumer could never start two requests
    # less than 10 ms apart; jitter lets later requests overtake earlier ones if order were loose.
    with StubServer(latency_ms=20, latency_jitter_ms=10, seed=3) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source,
                               subscriptions=[{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}])
        produce_events(kafka_bootstrap, source, events)
        with ProcessorRun(cfg):
            wait_until(lambda: stub.count >= 600, 120)
        seen: dict[str, list[int]] = defaultdict(list)
        for r in stub.requests:
            body = r.json
            seen[body["customer"]["source_id"]].append(body["metadata"]["seq"])
        assert sum(len(v) for v in seen.values()) == 600
        for user, seqs in seen.items():
            assert seqs == sorted(seqs), f"{user} delivered out of order"
        # and it really ran in parallel: requests started while others were still being answered
        arrivals = sorted(r.time for r in stub.requests)
        overlapping = sum(1 for a, b in zip(arrivals, arrivals[1:]) if b - a < 0.010)
        assert overlapping > 100


def test_a_429_storm_slows_down_without_loss(kafka_bootstrap, make_topic):
    source = make_topic(partitions=2)
    events = [track(f"u{i % 40}", i) for i in range(400)]
    with StubServer(rate_429=0.4, retry_after=0.05, seed=11) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, engine={"quick_retries": 3},
                               subscriptions=[{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}])
        produce_events(kafka_bootstrap, source, events)
        with ProcessorRun(cfg) as proc:
            wait_until(lambda: stub_paths(stub).get(EVENT_PATH, 0) >= 400, 120, message="not all delivered")
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 2)
                       == end_offsets(kafka_bootstrap, source, 2), 60)
        delivered = {r.json["metadata"]["seq"] for r in stub.requests if r.status == 200}
        assert delivered == set(range(400))
        assert stub_paths(stub, status=429).get(EVENT_PATH, 0) > 50
        throttled = proc.metrics.registry.get_sample_value(
            "voucherify_processor_failed_total", {"action": "addCustomEvent", "error_class": "retryable"})
        assert throttled and throttled > 50
    assert read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, timeout=2) == []


def test_5xx_goes_through_the_retry_topic_to_eventual_success(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    with StubServer() as stub:
        stub.configure(script=[{"status": 500, "count": 2, "path": EVENT_PATH}])
        cfg = processor_config(kafka_bootstrap, stub.url, source, engine={"quick_retries": 0},
                               subscriptions=[{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}])
        produce_events(kafka_bootstrap, source, [track("bob", 1)])
        with ProcessorRun(cfg):
            wait_until(lambda: stub_paths(stub).get(EVENT_PATH, 0) == 1, 30)
        assert len(read_topic(kafka_bootstrap, f"{source}.retry.0", expect=1)) == 1
        tier1 = read_topic(kafka_bootstrap, f"{source}.retry.1", expect=1)
        assert len(tier1) == 1 and tier1[0]["headers"][h.ATTEMPT] == "2"
    assert read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, timeout=2) == []


def test_retries_exhausted_end_in_the_dead_letter_topic(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    with StubServer(error_rate_5xx=1.0, error_status=502) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, engine={"quick_retries": 0, "retry_delays_s": [0.5]},
                               subscriptions=[{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}])
        produce_events(kafka_bootstrap, source, [track("carol", 1)])
        with ProcessorRun(cfg):
            dlq = read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, expect=1, timeout=30)
        assert stub.count == 2
    assert len(dlq) == 1
    hd = dlq[0]["headers"]
    assert hd[h.ERROR_CLASS] == "retryable" and hd[h.ERROR_STATUS] == "502"
    assert "retries exhausted" in hd[h.ERROR_MESSAGE]
    assert orjson.loads(hd[h.SUBSCRIPTIONS]) == ["E"]


def test_permanent_400_and_invalid_payloads_go_to_the_dead_letter_topic_with_context(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    with StubServer() as stub:
        stub.configure(script=[{"status": 400, "count": 1, "path": EVENT_PATH}])
        cfg = processor_config(kafka_bootstrap, stub.url, source)
        no_user = {"type": "track", "event": "x", "properties": {}}  # source_id is required
        produce_events(kafka_bootstrap, source, [track("dave", 1), no_user, track("erin", 2)])
        with ProcessorRun(cfg):
            dlq = read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, expect=2, timeout=30)
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1) == {0: 3}, 30)
        assert stub_paths(stub) == {EVENT_PATH: 1}  # erin; dave got the 400
    by_offset = {int(r["headers"][h.ORIGIN_OFFSET]): r["headers"] for r in dlq}
    assert by_offset[0][h.ERROR_CLASS] == "permanent" and by_offset[0][h.ERROR_STATUS] == "400"
    assert by_offset[0][h.SUBSCRIPTIONS] == '["Add Custom Event (Track Event)"]'
    assert by_offset[1][h.ERROR_CLASS] == "validation"
    assert by_offset[1][h.ERROR_MESSAGE] == "Customer Object is missing the required field 'source_id'."
    for hd in by_offset.values():
        assert hd[h.ORIGIN_TOPIC] == source and hd[h.ORIGIN_PARTITION] == "0"
        assert int(hd[h.DEAD_LETTERED_AT]) > 0 and hd[h.ORIGIN_TIMESTAMP]


def test_401_pauses_until_credentials_work_then_delivers_everything(kafka_bootstrap, make_topic):
    source = make_topic(partitions=2)
    events = [track(f"u{i % 10}", i) for i in range(100)]
    with StubServer() as stub:
        stub.configure(credentials={"application_id": "rotated", "secret_key": "rotated"})
        cfg = processor_config(kafka_bootstrap, stub.url, source, engine={"auth_probe_max_interval_s": 0.5},
                               subscriptions=[{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}])
        produce_events(kafka_bootstrap, source, events)
        with ProcessorRun(cfg) as proc:
            wait_until(lambda: proc.metrics.registry.get_sample_value("voucherify_processor_circuit_open") == 1, 30)
            # Nothing committed past the waiting events: none, or the offset of the first one (0),
            # which the consumer commits with its metadata since issue 13 (it pins the position).
            assert set(committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 2).values()) <= {-1001, 0}
            stub.configure(credentials={"application_id": "stub-application-id", "secret_key": "stub-secret-key"})
            wait_until(lambda: stub_paths(stub).get(EVENT_PATH, 0) >= 100, 60)
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 2)
                       == end_offsets(kafka_bootstrap, source, 2), 30)
            assert proc.metrics.registry.get_sample_value("voucherify_processor_circuit_open") == 0
        delivered = {r.json["metadata"]["seq"] for r in stub.requests if r.status == 200 and r.path == EVENT_PATH}
        assert delivered == set(range(100))
        assert stub_paths(stub, status=401).get(EVENT_PATH, 0) >= 1
    assert read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, timeout=2) == []


def test_undecodable_messages_go_to_the_dead_letter_topic_and_the_partition_moves_on(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    poison = [b"not json", b"[1,2]", b"42", b'"str"', b'{"no":"type"}', b'{"type":"bogus"}', b"\xff\xfe\x00"]
    with StubServer() as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source)
        produce_events(kafka_bootstrap, source, [*poison, track("frank", 1)])
        with ProcessorRun(cfg):
            wait_until(lambda: stub.count == 1, 30)
            dlq = read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, expect=len(poison), timeout=30)
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1)
                       == {0: len(poison) + 1}, 30)
    assert sorted(r["value"] for r in dlq) == sorted(poison)
    for r in dlq:
        assert r["headers"][h.ERROR_CLASS] == "decode" and r["headers"][h.ERROR_MESSAGE]


def test_a_second_consumer_joining_mid_stream_loses_nothing(kafka_bootstrap, make_topic):
    source = make_topic(partitions=4)
    n = 2000
    events = [track(f"u{i % 50}", i) for i in range(n)]
    with StubServer(latency_ms=2) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source,
                               subscriptions=[{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}])
        produce_events(kafka_bootstrap, source, events[: n // 2])
        with ProcessorRun(cfg):
            wait_until(lambda: stub.count >= 200, 60)
            with ProcessorRun(cfg):
                produce_events(kafka_bootstrap, source, events[n // 2:])
                wait_until(lambda: len({r.json["metadata"]["seq"] for r in stub.requests}) >= n, 120)
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 4)
                       == end_offsets(kafka_bootstrap, source, 4), 60)
        delivered = [r.json["metadata"]["seq"] for r in stub.requests]
        assert set(delivered) == set(range(n))
        duplicates = len(delivered) - n
        assert duplicates <= cfg.engine.max_in_flight  # bounded by the in-flight window
