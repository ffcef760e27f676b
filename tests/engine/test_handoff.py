"""Routing of failures to retry tiers and the dead-letter topic (fake producer, fixed clock)."""

import asyncio

import orjson

from processor.engine.handoff import Failure, Handoff, RetryContext
from processor.engine import headers as h
from processor.engine.ports import Inbound

NOW = 1_800_000_000.0


def make_handoff(sent, max_age_s=3600.0):
    async def produce(topic, value, *, key=None, headers=None):
        sent.append((topic, value, key, h.decode_headers(headers)))
        return (0, len(sent))

    return Handoff(produce, retry_topics=["t.retry.0", "t.retry.1"], retry_delays_s=[10, 60],
                   dead_letter_topic="t.dlq", max_age_s=max_age_s, clock=lambda: NOW)


def source_msg():
    return Inbound("t", 2, 41, b"user-1", b'{"type":"track"}', None, 1_799_999_000_000)


def retry_msg(attempt, first_failed_ms):
    headers = h.encode_headers({h.ATTEMPT: attempt, h.FIRST_FAILED: first_failed_ms, h.ORIGIN_TOPIC: "t",
                                h.ORIGIN_PARTITION: 2, h.ORIGIN_OFFSET: 41, h.ORIGIN_TIMESTAMP: 5,
                                h.SUBSCRIPTIONS: '["B"]', h.NOT_BEFORE: 0})
    return Inbound(f"t.retry.{attempt - 1}", 0, 7, b"user-1", b'{"type":"track"}', headers, 6)


def test_first_failure_goes_to_tier_0_with_full_context():
    sent = []
    topic = asyncio.run(make_handoff(sent).retry(source_msg(), RetryContext.from_source(source_msg()), ["B", "C"],
                                                 Failure("retryable", 503, "boom")))
    assert topic == "t.retry.0"
    [(t, value, key, hd)] = sent
    assert (t, value, key) == ("t.retry.0", b'{"type":"track"}', b"user-1")
    assert hd[h.ATTEMPT] == "1" and int(hd[h.NOT_BEFORE]) == int(NOW * 1000) + 10_000
    assert orjson.loads(hd[h.SUBSCRIPTIONS]) == ["B", "C"]
    assert (hd[h.ORIGIN_TOPIC], hd[h.ORIGIN_PARTITION], hd[h.ORIGIN_OFFSET]) == ("t", "2", "41")
    assert (hd[h.ERROR_CLASS], hd[h.ERROR_STATUS], hd[h.ERROR_MESSAGE]) == ("retryable", "503", "boom")


def test_second_failure_goes_to_the_next_tier_keeping_the_origin():
    sent = []
    msg = retry_msg(1, int(NOW * 1000) - 5_000)
    topic = asyncio.run(make_handoff(sent).retry(msg, RetryContext.from_headers(msg), ["B"],
                                                 Failure("retryable", 500, "again")))
    assert topic == "t.retry.1"
    hd = sent[0][3]
    assert hd[h.ATTEMPT] == "2" and hd[h.ORIGIN_OFFSET] == "41" and hd[h.ORIGIN_TOPIC] == "t"
    assert hd[h.FIRST_FAILED] == str(int(NOW * 1000) - 5_000)


def test_after_the_last_tier_the_record_is_dead_lettered():
    sent = []
    msg = retry_msg(2, int(NOW * 1000) - 5_000)
    topic = asyncio.run(make_handoff(sent).retry(msg, RetryContext.from_headers(msg), ["B"],
                                                 Failure("retryable", 500, "still")))
    assert topic == "t.dlq"
    hd = sent[0][3]
    assert "retries exhausted" in hd[h.ERROR_MESSAGE] and hd[h.DEAD_LETTERED_AT] == str(int(NOW * 1000))


def test_a_failure_older_than_max_age_is_dead_lettered_even_with_tiers_left():
    sent = []
    msg = retry_msg(1, int(NOW * 1000) - 7_200_000)
    topic = asyncio.run(make_handoff(sent, max_age_s=3600).retry(msg, RetryContext.from_headers(msg), ["B"],
                                                                 Failure("retryable", 500, "old")))
    assert topic == "t.dlq" and "older than max age" in sent[0][3][h.ERROR_MESSAGE]


def test_retry_context_tolerates_foreign_records():
    msg = Inbound("t.retry.0", 0, 3, None, b"{}", [("vp.attempt", b"x"), ("vp.subscriptions", b"not json")], None)
    ctx = RetryContext.from_headers(msg)
    assert ctx.attempt == 0 and ctx.subscriptions is None and ctx.origin_topic == "t.retry.0"


# -- INFO lines for hand-offs (issue 12 item 3) ------------------------------------------------

def test_dead_letter_and_retry_hand_offs_are_logged_at_info_with_their_context(caplog):
    import logging

    sent = []
    handoff = make_handoff(sent)
    with caplog.at_level(logging.INFO, logger="processor.engine.handoff"):
        asyncio.run(handoff.dead_letter(source_msg(), RetryContext.from_source(source_msg()), ["A"],
                                        Failure("permanent", 422, "rejected")))
        asyncio.run(handoff.retry(source_msg(), RetryContext.from_source(source_msg()), ["B", "C"],
                                  Failure("retryable", 503, "unavailable")))
    dead, retry = [r for r in caplog.records if r.levelno == logging.INFO]
    assert dead.getMessage() == "dead-lettered t[2]@41 -> t.dlq (subscriptions: A; permanent 422): rejected"
    assert (dead.origin_topic, dead.origin_partition, dead.origin_offset) == ("t", 2, 41)
    assert (dead.subscriptions, dead.error_class, dead.status) == (["A"], "permanent", 422)
    assert retry.getMessage() == "handed to retry tier t[2]@41 -> t.retry.0 (subscriptions: B, C; retryable 503): unavailable"


def test_many_hand_offs_are_aggregated_per_interval(caplog):
    import logging

    from processor.engine.handoff_log import HandoffLog

    now = [0.0]
    sent = []
    handoff = make_handoff(sent)
    handoff._log = HandoffLog(interval_s=10, burst=3, clock=lambda: now[0])
    ctx = RetryContext.from_source(source_msg())

    async def many() -> None:
        for _ in range(50):
            await handoff.dead_letter(source_msg(), ctx, ["A"], Failure("permanent", 400, "bad"))
        for _ in range(7):
            await handoff.dead_letter(source_msg(), ctx, [], Failure("decode", None, "invalid JSON"))

    with caplog.at_level(logging.INFO, logger="processor.engine.handoff"):
        asyncio.run(many())
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 3  # the burst; the rest waits for the end of the interval
        now[0] = 10.0
        handoff._log.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and len(sent) == 57
    assert lines[3] == ("54 more hand-off(s) in the last 10s not logged one by one: "
                        "47 dead-lettered -> t.dlq (permanent 400); 7 dead-lettered -> t.dlq (decode)")
