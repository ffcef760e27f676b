"""``dlq``: list/show/filter on a real DLQ; re-drive twice lands each record once in tier 0."""

from __future__ import annotations

import time

import orjson
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from processor.cli.main import main
from processor.engine import headers as h
from processor.kafka.dlq import RedriveLedger
from tests.cli.conftest import WriteConfig

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000


def test_ledger_ranges_and_gaps() -> None:
    ledger = RedriveLedger()
    for o in (0, 1, 5, 9):
        ledger.add(o)
    ledger.compact([0, 1, 2, 5, 9])  # 3, 4, 6-8 have no record
    assert ledger.watermark == 2 and ledger.metadata() == "5,9"
    again = RedriveLedger.parse(ledger.watermark, ledger.metadata())
    assert [o in again for o in (1, 2, 5, 9)] == [True, False, True, True]
    again.add(2)
    again.compact([0, 1, 2, 5, 9])
    assert again.watermark == 10 and again.metadata() == ""


def _dlq_record(i: int, error_class: str, subs: list[str], at_ms: int) -> dict:
    return {
        "key": f"user-{i}".encode(),
        "value": orjson.dumps({"type": "track", "event": f"E{i}", "userId": f"user-{i}"}),
        "headers": h.encode_headers(
            {
                h.ATTEMPT: 5,
                h.NOT_BEFORE: at_ms,
                h.FIRST_FAILED: at_ms - 1000,
                h.ORIGIN_TOPIC: "segment-events",
                h.ORIGIN_PARTITION: 0,
                h.ORIGIN_OFFSET: 100 + i,
                h.ORIGIN_TIMESTAMP: at_ms - 2000,
                h.SUBSCRIPTIONS: orjson.dumps(subs).decode(),
                h.ERROR_CLASS: error_class,
                h.ERROR_STATUS: 503 if error_class == "retryable" else None,
                h.ERROR_MESSAGE: f"failure number {i}",
                h.DEAD_LETTERED_AT: at_ms,
            }
        )
        + [("traceparent", b"00-abc")],
    }


def _read_all(bootstrap: str, topic: str, partitions: int, expect_at_least: int) -> list:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"r-{time.time_ns()}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out, deadline = [], time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = consumer.poll(0.3)
        if msg is not None and not msg.error():
            out.append(msg)
        elif msg is None and len(out) >= expect_at_least:
            break
    consumer.close()
    return out


def test_list_show_filter_and_redrive_once(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, cleanup_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(kafka_bootstrap, topic_base)
    assert main(["topics", "create", "--config", str(path), "--partitions", "2", "--replication-factor", "1"]) == 0
    now = int(time.time() * 1000)
    old = now - 3 * DAY_MS
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    specs = [
        ("retryable", ["Track Event"], old),
        ("permanent", ["Upsert Customer"], now),
        ("retryable", ["Track Event", "Upsert Customer"], now),
        ("auth", ["Track Event"], now),
        ("retryable", ["Upsert Customer"], now),
    ]
    for i, (cls, subs, at) in enumerate(specs):
        producer.produce(f"{topic_base}.dlq", partition=i % 2, **_dlq_record(i, cls, subs, at))
    assert producer.flush(10) == 0
    capsys.readouterr()

    base = ["--config", str(path)]
    assert main(["dlq", "list", *base]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 6 and all(" dead " in line for line in out[1:])

    assert main(["dlq", "list", *base, "--error-class", "retryable"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 3

    assert main(["dlq", "list", *base, "--subscription", "Upsert Customer", "--error-class", "retryable"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 2

    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((now - DAY_MS) / 1000))
    assert main(["dlq", "list", *base, "--since", since]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 4
    assert main(["dlq", "list", *base, "--until", since]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 1

    assert main(["dlq", "show", *base, "--at", "1:0"]) == 0
    shown = capsys.readouterr().out
    assert "record 1:0" in shown and "vp.error.class: permanent" in shown and '"event": "E1"' in shown

    # Re-drive the retryable ones, then everything, then everything again.
    assert main(["dlq", "redrive", *base, "--error-class", "retryable"]) == 0
    assert "redriven 3 record(s)" in capsys.readouterr().err
    assert main(["dlq", "redrive", *base]) == 0
    assert "redriven 2 record(s)" in capsys.readouterr().err
    assert main(["dlq", "redrive", *base]) == 0
    assert "redriven 0 record(s)" in capsys.readouterr().err

    assert main(["dlq", "list", *base]) == 0
    assert all(" redriven " in line for line in capsys.readouterr().out.splitlines()[1:])

    retried = _read_all(kafka_bootstrap, f"{topic_base}.retry.0", 2, expect_at_least=5)
    assert sorted(m.key() for m in retried) == [f"user-{i}".encode() for i in range(5)]
    for msg in retried:
        hdrs = h.decode_headers(msg.headers())
        i = int(msg.key().decode().split("-")[1])
        assert hdrs[h.ATTEMPT] == "0"
        assert int(hdrs[h.NOT_BEFORE]) >= now and int(hdrs[h.FIRST_FAILED]) >= now
        assert hdrs[h.ORIGIN_OFFSET] == str(100 + i)
        assert orjson.loads(hdrs[h.SUBSCRIPTIONS]) == specs[i][1]
        assert h.ERROR_CLASS not in hdrs and h.DEAD_LETTERED_AT not in hdrs
        assert hdrs["traceparent"] == "00-abc"
        assert orjson.loads(msg.value())["event"] == f"E{i}"


# -- issue 12 item 9 (and 11: columns) ------------------------------------------------------------

def test_redrive_defaults_skip_what_fails_again_resolve_marks_handled_and_columns_align(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, cleanup_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(kafka_bootstrap, topic_base)
    assert main(["topics", "create", "--config", str(path), "--partitions", "1", "--replication-factor", "1"]) == 0
    now = int(time.time() * 1000)
    long_name = "Create Or Update Customer (Identify, all traits)"
    specs = [("decode", []), ("validation", [long_name]), ("retryable", ["Track Event"])]
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    for i, (cls, subs) in enumerate(specs):
        producer.produce(f"{topic_base}.dlq", partition=0, **_dlq_record(i, cls, subs, now))
    assert producer.flush(10) == 0
    capsys.readouterr()
    base = ["--config", str(path)]

    # SUBSCRIPTIONS no longer runs into MESSAGE: every row's message starts under the header's
    assert main(["dlq", "list", *base]) == 0
    lines = capsys.readouterr().out.splitlines()
    column = lines[0].index("MESSAGE")
    for line, i in zip(lines[1:], range(3)):
        assert line[column:] == f"failure number {i}" and line[column - 2:column] == "  ", lines

    # an unknown class is an error, not "0 records"
    with pytest.raises(SystemExit) as info:
        main(["dlq", "redrive", *base, "--error-class", "retriable"])
    assert info.value.code == 2 and "invalid choice: 'retriable'" in capsys.readouterr().err

    # by default only what can succeed on a second try; the rest is named with the reason
    assert main(["dlq", "redrive", *base]) == 0
    text = capsys.readouterr().err
    assert "redriven 1 record(s)" in text
    assert "skipped 2 record(s) that would only fail again (1 decode: " in text and "; 1 validation: " in text
    assert "--any-class" in text
    assert len(_read_all(kafka_bootstrap, f"{topic_base}.retry.0", 1, expect_at_least=1)) == 1

    # mark the decode record handled; list --pending shows what still needs attention
    assert main(["dlq", "resolve", *base]) == 2  # no filter: refuses to mark everything
    capsys.readouterr()
    assert main(["dlq", "resolve", *base, "--error-class", "decode"]) == 0
    assert "marked 1 record(s) as handled" in capsys.readouterr().err
    assert main(["dlq", "list", *base]) == 0
    statuses = [line.split()[3] for line in capsys.readouterr().out.splitlines()[1:]]
    assert statuses == ["handled", "dead", "redriven"]
    assert main(["dlq", "list", *base, "--pending"]) == 0
    captured = capsys.readouterr()
    assert [line.split()[0] for line in captured.out.splitlines()[1:]] == ["0:1"]
    assert "1 record(s); 1 still need attention" in captured.err

    # explicitly asked for: the validation record goes; the handled one is still skipped
    assert main(["dlq", "redrive", *base, "--any-class"]) == 0
    text = capsys.readouterr().err
    assert "redriven 1 record(s)" in text and "1 already redriven earlier" in text
    assert "skipped 1 record(s) marked as handled" in text
    assert len(_read_all(kafka_bootstrap, f"{topic_base}.retry.0", 1, expect_at_least=2)) == 2



def _record(partition: int, offset: int, origin_offset: int | None, subs: list[str], at_ms: int = 0):
    from processor.kafka.dlq import DlqRecord

    values = {h.SUBSCRIPTIONS: orjson.dumps(subs).decode()}
    if origin_offset is not None:
        values |= {h.ORIGIN_TOPIC: "segment-events", h.ORIGIN_PARTITION: "3", h.ORIGIN_OFFSET: str(origin_offset)}
    return DlqRecord(partition, offset, at_ms, None, None, {k: str(v) for k, v in values.items()}, [])


def test_records_with_the_same_origin_and_subscriptions_are_one_entry() -> None:
    from processor.kafka.dlq import by_origin

    records = [
        _record(0, 0, 100, ["A"], at_ms=1),
        _record(0, 1, 100, ["B"]),            # same event, other subscription: its own failure
        _record(0, 2, 101, ["A"]),
        _record(1, 0, 100, ["A"], at_ms=3),   # the crash re-processed offset 100: same failure
        _record(0, 3, None, ["A"]),           # no origin headers (another tool): never merged
        _record(0, 4, None, ["A"]),
        _record(0, 5, 100, ["A"], at_ms=2),
    ]
    entries = by_origin(records)
    assert [[(r.partition, r.offset) for r in e.copies] for e in entries] == [
        [(0, 0), (1, 0), (0, 5)], [(0, 1)], [(0, 2)], [(0, 3)], [(0, 4)]]
    assert (entries[0].record.partition, entries[0].record.offset) == (1, 0)  # the newest copy
    ledgers = {0: RedriveLedger(), 1: RedriveLedger()}
    ledgers[1].add(0)
    assert [(r.partition, r.offset) for r in entries[0].pending(ledgers)] == [(0, 0), (0, 5)]


def test_crash_duplicates_are_listed_and_redriven_once(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, cleanup_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 13 item 2: a crash re-processed dead-lettered events, so each was dead-lettered again."""
    path = write_config(kafka_bootstrap, topic_base)
    assert main(["topics", "create", "--config", str(path), "--partitions", "1", "--replication-factor", "1"]) == 0
    now = int(time.time() * 1000)
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    # origin offsets 100 (x3: two crashes), 101 (x1), 102 (x2); then 100 with another subscription
    for i, copies in ((0, 3), (1, 1), (2, 2)):
        for c in range(copies):
            producer.produce(f"{topic_base}.dlq", partition=0, **_dlq_record(i, "permanent", ["Track Event"], now + c))
    producer.produce(f"{topic_base}.dlq", partition=0, **_dlq_record(0, "permanent", ["Upsert Customer"], now))
    assert producer.flush(10) == 0
    capsys.readouterr()
    base = ["--config", str(path)]

    assert main(["dlq", "list", *base]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert len(lines) == 4
    assert [line.split()[4] for line in lines] == ["3", "1", "2", "1"]  # COPIES

    assert main(["dlq", "show", *base, "--at", "0:1"]) == 0
    shown = capsys.readouterr().out
    assert "record 0:1" in shown and "dead-lettered 3 times" in shown and "0:0, 0:2" in shown

    assert main(["dlq", "redrive", *base]) == 0
    assert "redriven 4 record(s)" in capsys.readouterr().err
    assert main(["dlq", "redrive", *base]) == 0
    assert "redriven 0 record(s)" in capsys.readouterr().err
    retried = _read_all(kafka_bootstrap, f"{topic_base}.retry.0", 1, expect_at_least=4)
    assert sorted((h.decode_headers(m.headers())[h.ORIGIN_OFFSET], h.decode_headers(m.headers())[h.SUBSCRIPTIONS])
                  for m in retried) == [("100", '["Track Event"]'), ("100", '["Upsert Customer"]'),
                                        ("101", '["Track Event"]'), ("102", '["Track Event"]')]

    # The re-driven event failed again: a new failure, re-driven again (once).
    producer.produce(f"{topic_base}.dlq", partition=0, **_dlq_record(0, "permanent", ["Track Event"], now + 10))
    assert producer.flush(10) == 0
    assert main(["dlq", "list", *base]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [(line.split()[3], line.split()[4]) for line in lines] == [
        ("dead", "4"), ("redriven", "1"), ("redriven", "2"), ("redriven", "1")]
    assert main(["dlq", "redrive", *base]) == 0
    assert "redriven 1 record(s)" in capsys.readouterr().err

    # resolve marks every copy of the entry it selects: a new copy of origin 102, then one of its
    # old copies named by --at; the whole entry is handled and nothing is pending any more
    producer.produce(f"{topic_base}.dlq", partition=0, **_dlq_record(2, "permanent", ["Track Event"], now + 20))
    assert producer.flush(10) == 0
    assert main(["dlq", "list", *base, "--pending"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["0:8"]
    assert main(["dlq", "resolve", *base, "--at", "0:4"]) == 0
    assert "marked 1 record(s) as handled" in capsys.readouterr().err
    assert main(["dlq", "list", *base]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert [(line.split()[3], line.split()[4]) for line in lines] == [
        ("redriven", "4"), ("redriven", "1"), ("handled", "3"), ("redriven", "1")]
    assert main(["dlq", "list", *base, "--pending"]) == 0
    assert "0 record(s)" in capsys.readouterr().err
    assert main(["dlq", "redrive", *base]) == 0
    assert "redriven 0 record(s)" in capsys.readouterr().err
