"""The engine's protocol step by step, with fakes for every port and fake time (see fakes.py).

Each test plays the consumer thread (assign, batches, revoke, stop) and checks what reached the
sender, the producer (retry tiers, dead letters) and the consumer (paused partitions, stored and
committed offsets).
"""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from processor.engine import headers as h
from processor.engine.partitions import Partitions
from processor.engine.pipeline import EngineSettings, HandoffFailed
from processor.engine.ports import ProduceError
from tests.engine.fakes import DLQ, EPOCH, SOURCE, TIERS, Rig, failed, run, settle, wait_for

TP0 = (SOURCE, 0)
TP1 = (SOURCE, 1)
TIER0 = (TIERS[0], 0)


def settings(**overrides) -> EngineSettings:
    base = dict(quick_retries=2, quick_retry_backoff_s=0.2, quick_retry_max_wait_s=5.0, commit_interval_s=1.0,
                drain_timeout_s=20.0)
    return EngineSettings(**{**base, **overrides})


# -- arrival, delivery, commit ------------------------------------------------------------------


def test_delivered_records_are_committed_in_offset_order():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            await rig.feed(rig.record(user="a"), rig.record(user="b"), rig.record(user="c"))
            assert rig.engine.in_flight == 3
            assert rig.consumer.stored == {}  # step 1: tracked, nothing finished yet
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 3)  # periodic store of the prefix
            assert sorted(rig.sender.ids()) == [0, 1, 2]
            assert rig.engine.in_flight == 0
        assert rig.consumer.committed == {TP0: 3}  # stop: final commit

    run(main)


def test_commit_never_passes_an_unfinished_record():
    async def main():
        async with Rig() as rig:
            rig.sender.latency = 0.0
            await rig.assign(TP0)
            slow = rig.record(user="slow")
            rig.sender.answer(0, "A", failed("retryable"), failed("retryable"))  # two quick retries
            await rig.feed(slow, rig.record(user="fast1"), rig.record(user="fast2"))
            await asyncio.sleep(0.05)  # the fast ones are done, the slow one backs off
            rig.engine._commits.store_finished()
            assert rig.consumer.stored == {TP0: 0}  # offset 0 is unfinished: the commit stays before it
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 3)

    run(main)


def test_records_of_partitions_not_assigned_or_revoking_are_skipped():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            await rig.feed(rig.record(SOURCE, 1))
            assert rig.engine.in_flight == 0 and rig.sender.sent == []

    run(main)


def test_nothing_triggered_finishes_at_once():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            await rig.feed(rig.record(subs=[]))
            assert rig.engine.in_flight == 0 and rig.sender.sent == []
            assert rig.engine._dispatcher.limit.in_use == 0  # the slot taken for it was given back

    run(main)


# -- ordering -----------------------------------------------------------------------------------


def test_same_key_runs_in_offset_order_and_other_keys_in_parallel():
    async def main():
        async with Rig() as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0)
            await rig.feed(rig.record(user="u1"), rig.record(user="u1"), rig.record(user="u2"),
                           rig.record(user="u1"))
            await settle()
            assert sorted(rig.sender.ids()) == [0, 2]  # u1's second record waits behind the first
            await wait_for(lambda: len(rig.sender.sent) == 4)
            starts = {s.event_id: s.at for s in rig.sender.sent}
            assert starts[0] == starts[2] == 0
            assert starts[1] == pytest.approx(1.0) and starts[3] == pytest.approx(2.0)
            await wait_for(lambda: rig.engine.in_flight == 0)

    run(main)


def test_partition_ordering_runs_one_record_at_a_time():
    async def main():
        async with Rig(ordering=("partition",)) as rig:
            await rig.assign(TP0)
            await rig.feed(*(rig.record(user=f"u{i}") for i in range(4)))
            await wait_for(lambda: len(rig.sender.sent) == 4)
            assert rig.sender.ids() == [0, 1, 2, 3]
            assert rig.sender.peak == 1

    run(main)


def test_message_key_orders_when_the_event_has_no_user():
    async def main():
        async with Rig() as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0)
            await rig.feed(rig.record(user=None, key=b"k"), rig.record(user=None, key=b"k"))
            await settle()
            assert rig.sender.ids() == [0]
            await wait_for(lambda: rig.engine.in_flight == 0)

    run(main)


# -- quick retries ------------------------------------------------------------------------------


def test_a_retryable_failure_is_retried_in_place_with_backoff():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            rig.sender.answer(0, "A", failed("retryable"))
            await rig.feed(rig.record())
            await wait_for(lambda: rig.engine.in_flight == 0)
            first, second = rig.sender.sent
            assert 0.1 <= second.at - first.at - rig.sender.latency <= 0.3  # 0.2 s jittered by [0.5, 1.5)
            assert rig.producer.records == []
            assert rig.observer.retried_n == 0

    run(main)


def test_the_servers_retry_after_is_honoured():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            rig.sender.answer(0, "A", failed("retryable", 429, retry_after=3.0, throttled=True))
            await rig.feed(rig.record())
            await wait_for(lambda: rig.engine.in_flight == 0)
            first, second = rig.sender.sent
            assert second.at - first.at == pytest.approx(3.0 + rig.sender.latency)

    run(main)


def test_a_long_retry_after_goes_to_the_tier_instead_of_waiting():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            rig.sender.answer(0, "A", failed("retryable", 429, retry_after=30.0))
            await rig.feed(rig.record())
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert len(rig.sender.sent) == 1
            assert [r.topic for r in rig.producer.records] == [TIERS[0]]

    run(main)


# -- retry tiers --------------------------------------------------------------------------------


def test_still_failing_subscriptions_go_to_the_next_tier_in_one_record():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            for sub in ("A", "B"):
                rig.sender.answer(0, sub, *[failed("retryable")] * 3)
            await rig.feed(rig.record(subs=["A", "B", "C"]))
            await wait_for(lambda: rig.engine.in_flight == 0)
            [record] = rig.producer.records
            assert record.topic == TIERS[0] and record.key is None
            assert record.headers[h.SUBSCRIPTIONS] == '["A","B"]'
            assert record.headers[h.ATTEMPT] == "1" and record.headers[h.ERROR_CLASS] == "retryable"
            assert record.headers[h.ORIGIN_OFFSET] == "0"
            handed_off_at_ms = int(record.headers[h.FIRST_FAILED])
            assert int(record.headers[h.NOT_BEFORE]) == handed_off_at_ms + 10_000
            assert rig.observer.retried_n == 2
            assert rig.sender.ids("C") == [0]
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 1)  # handed off = finished

    run(main)


def tier_record(rig: Rig, *, due_in_s: float, subs: str = '["B"]', attempt: int = 1, event_id: int = 0,
                first_failed_ms: int | None = None):
    now_ms = int((EPOCH + asyncio.get_running_loop().time()) * 1000)
    headers = h.encode_headers({
        h.ATTEMPT: attempt, h.FIRST_FAILED: first_failed_ms or now_ms, h.NOT_BEFORE: now_ms + int(due_in_s * 1000),
        h.ORIGIN_TOPIC: SOURCE, h.ORIGIN_PARTITION: 0, h.ORIGIN_OFFSET: 7, h.ORIGIN_TIMESTAMP: 1,
        h.SUBSCRIPTIONS: subs,
    })
    return rig.record(TIERS[attempt - 1], 0, id=event_id, subs=["A", "B"], headers=headers)


def test_a_tier_record_waits_until_due_with_its_partition_paused_then_delivers_only_what_it_lists():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0, TIER0)
            await rig.feed(tier_record(rig, due_in_s=10, event_id=1), tier_record(rig, due_in_s=12, event_id=2))
            assert rig.sender.sent == []
            assert rig.consumer.paused == {TIER0}  # rule 3: waiting records keep the tier paused
            await wait_for(lambda: len(rig.sender.sent) == 2)
            first, second = rig.sender.sent
            assert (first.subscription, first.event_id) == ("B", 1) and first.at == pytest.approx(10.0)
            assert (second.subscription, second.event_id) == ("B", 2) and second.at == pytest.approx(12.0)
            await wait_for(lambda: rig.consumer.stored.get(TIER0) == 2)
            assert rig.consumer.paused == set()

    run(main)


def test_a_due_tier_record_starts_at_once_and_fails_on_to_the_next_tier():
    async def main():
        async with Rig() as rig:
            await rig.assign(TIER0)
            rig.sender.answer(0, "B", *[failed("retryable")] * 3)
            await rig.feed(tier_record(rig, due_in_s=0))
            await wait_for(lambda: rig.engine.in_flight == 0)
            [record] = rig.producer.records
            assert record.topic == TIERS[1] and record.headers[h.ATTEMPT] == "2"
            assert record.headers[h.ORIGIN_OFFSET] == "7"  # the origin travels along

    run(main)


def test_a_tier_record_without_a_subscription_list_plans_every_subscription():
    async def main():
        async with Rig() as rig:
            await rig.assign(TIER0)
            await rig.feed(tier_record(rig, due_in_s=0, subs=""))
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert sorted(s.subscription for s in rig.sender.sent) == ["A", "B"]

    run(main)


# -- dead letters -------------------------------------------------------------------------------


def test_retries_exhausted_on_the_last_tier_go_to_the_dead_letter_topic():
    async def main():
        async with Rig() as rig:
            await rig.assign((TIERS[1], 0))
            rig.sender.answer(0, "B", *[failed("retryable")] * 3)
            await rig.feed(tier_record(rig, due_in_s=0, attempt=2))
            await wait_for(lambda: rig.engine.in_flight == 0)
            [record] = rig.producer.records
            assert record.topic == DLQ and "retries exhausted" in record.headers[h.ERROR_MESSAGE]

    run(main)


def test_permanent_failures_rejections_and_undecodable_values_are_dead_lettered():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            rig.sender.answer(0, "A", failed("permanent", 422))
            await rig.feed(rig.record(subs=["A", "B"], reject=["B"]), rig.record(value=b"{not json"),
                           rig.record(value=b"[1]"))
            await wait_for(lambda: rig.engine.in_flight == 0)
            by_class = sorted((r.headers[h.ERROR_CLASS], r.headers[h.ORIGIN_OFFSET], r.headers[h.SUBSCRIPTIONS])
                              for r in rig.producer.on(DLQ))
            assert by_class == [("decode", "1", "[]"), ("decode", "2", "[]"), ("permanent", "0", '["A"]'),
                                ("validation", "0", '["B"]')]
            assert len(rig.sender.sent) == 1  # a permanent failure is not retried
            assert sorted(rig.observer.dead) == ["decode", "decode", "permanent", "validation"]
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 3)

    run(main)


def test_an_undecodable_tier_record_is_dead_lettered_with_its_context():
    async def main():
        async with Rig() as rig:
            await rig.assign(TIER0)
            record = tier_record(rig, due_in_s=0)
            record.value = b"garbage"
            await rig.feed(record)
            await wait_for(lambda: rig.engine.in_flight == 0)
            [dead] = rig.producer.records
            assert dead.topic == DLQ and dead.headers[h.ERROR_CLASS] == "decode"
            assert dead.headers[h.ATTEMPT] == "2" and dead.headers[h.ORIGIN_OFFSET] == "7"

    run(main)


def test_a_failed_hand_off_stops_the_engine_without_finishing_the_record():
    async def main():
        rig = Rig()
        async with rig:
            await rig.assign(TP0)
            rig.producer.fail_with = ProduceError("events.dlq: timed out", 7)
            rig.sender.answer(0, "A", failed("permanent", 400))
            await rig.feed(rig.record(), rig.record(user="other"))
            with pytest.raises(HandoffFailed, match=r"events\[0\]@0"):
                await rig.task
        assert rig.consumer.committed == {TP0: 0}  # the record is delivered again after restart

    run(main)


def test_an_undecodable_record_whose_dead_letter_fails_stops_the_engine():
    async def main():
        rig = Rig()
        async with rig:
            await rig.assign(TP0)
            rig.producer.fail_with = ProduceError("events.dlq: timed out", 7)
            await rig.feed(rig.record(value=b"nope"))
            with pytest.raises(HandoffFailed):
                await rig.task
        assert rig.consumer.committed == {TP0: 0}

    run(main)


# -- the auth circuit ---------------------------------------------------------------------------


def test_an_auth_failure_pauses_everything_until_a_probe_passes_and_dead_letters_nothing():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0, TP1)
            rig.sender.answer(0, "A", failed("auth", 401), failed("auth", 401))
            rig.sender.probes = [False, RuntimeError("network"), True]
            await rig.feed(rig.record())
            await wait_for(lambda: rig.engine.circuit_open)
            assert rig.consumer.paused == {TP0, TP1}  # rule 4: consumption pauses
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert not rig.engine.circuit_open and rig.consumer.paused == set()
            assert rig.sender.probed == 4  # no, failed, yes; then one more after the second 401
            assert rig.sender.ids() == [0, 0, 0]  # retried after the circuit closed, never dead-lettered
            assert rig.producer.records == []
            assert rig.observer.circuit_changes == [True, False, True, False]  # the retry met a 401 again

    run(main)


def test_deliveries_that_meet_an_open_circuit_wait_for_it():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            rig.sender.answer(0, "A", failed("auth", 403))
            rig.sender.probes = [False, False, True]
            await rig.feed(rig.record(user="a"))
            await wait_for(lambda: rig.engine.circuit_open)
            opened = asyncio.get_running_loop().time()
            await rig.feed(rig.record(user="b"))  # consumed before the pause took effect
            await wait_for(lambda: len(rig.sender.sent) == 3)
            assert rig.sender.ids() == [0, 0, 1]  # both waited for the circuit, in the order they met it
            assert all(s.at > opened for s in rig.sender.sent[1:])

    run(main)


# -- flow control -------------------------------------------------------------------------------


def test_consumption_pauses_at_max_in_flight_and_resumes_below_80_percent():
    async def main():
        async with Rig(settings=settings(max_in_flight=10)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0, TP1)
            await rig.feed(*(rig.record(user="u") for _ in range(9)))  # one key: one finishes per second
            assert rig.consumer.paused == set()
            await rig.feed(rig.record(user="u"))
            assert rig.consumer.paused == {TP0, TP1}
            await wait_for(lambda: rig.engine.in_flight == 9)
            assert rig.consumer.paused == {TP0, TP1}  # 9 > 80 % of 10
            await wait_for(lambda: rig.engine.in_flight == 8)
            assert rig.consumer.paused == set()
            await wait_for(lambda: rig.engine.in_flight == 0)

    run(main)


def test_one_partition_pauses_at_its_own_limit():
    async def main():
        async with Rig(settings=settings(max_in_flight_per_partition=2)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0, TP1)
            await rig.feed(rig.record(user="a"), rig.record(user="a"), rig.record(SOURCE, 1, user="b"))
            assert rig.consumer.paused == {TP0}
            await wait_for(lambda: rig.consumer.paused == set())
            await wait_for(lambda: rig.engine.in_flight == 0)

    run(main)


# -- revoke and drain ---------------------------------------------------------------------------


def test_revoke_drains_the_partition_including_records_waiting_behind_a_key():
    async def main():
        async with Rig() as rig:
            rig.sender.latency = 2.0
            await rig.assign(TP0, TP1)
            await rig.feed(rig.record(user="u"), rig.record(user="u"), rig.record(SOURCE, 1, user="v"))
            final = await rig.revoke(TP0)
            assert final == {TP0: 2}  # both finished, no hole left for the next owner
            assert rig.observer.released_tps == [TP0]  # its lag is the next owner's to report
            assert asyncio.get_running_loop().time() == pytest.approx(4.0)
            assert rig.engine.in_flight == 0  # TP1's record finished meanwhile (in parallel)
            await rig.feed(rig.record(user="late"))  # consumed before the revoke: not ours any more
            assert len(rig.sender.sent) == 3

    run(main)


def test_a_drain_that_times_out_cancels_and_commits_only_the_finished_prefix():
    async def main():
        async with Rig(settings=settings(drain_timeout_s=5.0)) as rig:
            await rig.assign(TP0)
            await rig.feed(rig.record(user="quick"))
            await wait_for(lambda: rig.engine.in_flight == 0)
            rig.sender.latency = 100.0
            await rig.feed(rig.record(user="stuck"), rig.record(user="stuck"))
            final = await rig.revoke(TP0)
            assert final == {TP0: 1}
            assert asyncio.get_running_loop().time() < 10
            assert rig.engine.in_flight == 0  # the cancelled records are the next owner's

    run(main)


def test_revoking_a_tier_drops_records_not_yet_due_and_commits_before_them():
    async def main():
        async with Rig() as rig:
            await rig.assign(TIER0)
            await rig.feed(tier_record(rig, due_in_s=0, event_id=1), tier_record(rig, due_in_s=30, event_id=2))
            final = await rig.revoke(TIER0)
            assert final == {TIER0: 1}
            assert rig.sender.ids() == [1]
            await asyncio.sleep(60)
            assert rig.sender.ids() == [1]  # the timer went with the partition

    run(main)


def test_revoking_a_partition_never_assigned_commits_nothing():
    async def main():
        async with Rig() as rig:
            assert await rig.revoke(TP1) == {}

    run(main)


def test_records_queued_for_a_concurrency_slot_are_drained_on_revoke():
    """Records beyond max_concurrent_requests wait in the limit's queue, not as tasks; a revoke
    turns them into tasks so the drain delivers them too (no hole for the next owner). TP1's
    record holds the only slot when TP0 is revoked, so TP0 has no task running: a drain that did
    not see its queued records would end at once and commit nothing."""
    async def main():
        async with Rig(settings=settings(max_concurrent_requests=1)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0, TP1)
            await rig.feed(rig.record(SOURCE, 1, user="v"), *(rig.record(user=f"u{i}") for i in range(3)))
            assert rig.engine._dispatcher.limit.deferred >= 2
            assert await rig.revoke(TP0) == {TP0: 3}
            assert len(rig.sender.sent) >= 3
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert rig.engine._dispatcher.limit.in_use == 0

    run(main)


def test_a_drain_that_cancels_records_before_they_ran_gives_their_slots_back():
    """Records that got a slot but run as tasks (two subscriptions each: not the task-free path)
    and are cancelled by the drain before their task ever ran give their slots back."""
    async def main():
        async with Rig(settings=settings(drain_timeout_s=0.0, max_concurrent_requests=2)) as rig:
            await rig.assign(TP0, TP1)
            rig.engine.dispatch([rig.record(user=u, subs=["A", "B"]) for u in "abc"])
            limit = rig.engine._dispatcher.limit
            assert limit.in_use == 2 and limit.deferred == 1  # two started with a slot, one queued
            assert rig.sender.sent == []  # their tasks have not run yet
            assert await rig.revoke(TP0) == {TP0: 0}
            assert limit.in_use == 0 and limit.deferred == 0
            await rig.feed(rig.record(SOURCE, 1, user="d"))
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert [s.subscription for s in rig.sender.sent] == ["A"]  # delivered: the slots were not lost

    run(main)


def test_a_drain_that_times_out_abandons_requests_in_flight_without_a_task():
    """A record whose one request went out at once (no task of its own) is waited for by the
    drain; when the drain times out, its slot comes back at once, and its late answer finishes
    nothing (the next owner delivers the record again) and gives no slot back twice."""
    async def main():
        async with Rig(settings=settings(drain_timeout_s=0.2, max_concurrent_requests=2)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0, TP1)
            rig.engine.dispatch([rig.record(user="a"), rig.record(user="b")])
            limit = rig.engine._dispatcher.limit
            assert limit.in_use == 2
            state = rig.engine._partitions.get(TP0)
            assert len(state.flights) == 2  # in flight without a task
            assert await rig.revoke(TP0) == {TP0: 0}
            assert limit.in_use == 0 and not state.flights
            await asyncio.sleep(1.2)  # the abandoned answers arrive
            assert limit.in_use == 0 and rig.engine.in_flight == 0
            await rig.feed(rig.record(SOURCE, 1, user="c"))
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert len(rig.sender.sent) == 3
            assert rig.engine._dispatcher.limit.in_use == 0

    run(main)


def test_a_drain_waits_for_requests_in_flight_without_a_task():
    async def main():
        async with Rig(settings=settings(drain_timeout_s=30.0)) as rig:
            rig.sender.latency = 0.3
            await rig.assign(TP0)
            rig.engine.dispatch([rig.record(user=u) for u in "abc"])
            assert len(rig.engine._partitions.get(TP0).flights) == 3
            assert await rig.revoke(TP0) == {TP0: 3}  # all three finished before the commit point
            assert len(rig.sender.sent) == 3

    run(main)


def test_records_cancelled_before_they_ran_leave_no_task_or_coroutine_behind(recwarn):
    """A drain that times out at once cancels tasks that never ran: nothing sent, nothing
    committed, nothing left in flight, and no "coroutine ... was never awaited" in the log."""
    async def main():
        async with Rig(settings=settings(drain_timeout_s=0.0)) as rig:
            await rig.assign(TP0)
            rig.engine.dispatch([rig.record(user="a"), rig.record(user="b"), rig.record(user="a")])
            assert await rig.revoke(TP0) == {TP0: 0}  # the next owner starts at the first record
            assert rig.sender.ids() == []
            assert rig.engine.in_flight == 0

    run(main)
    gc.collect()
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


def test_stop_drains_in_flight_work_and_commits_it():
    async def main():
        rig = Rig()
        async with rig:
            rig.sender.latency = 0.05
            await rig.assign(TP0)
            await rig.feed(rig.record(user="a"), rig.record(user="a"))
            await rig.stop()
        assert rig.consumer.stopped and rig.sender.ids() == [0, 1]
        assert rig.consumer.committed == {TP0: 2}

    run(main)


# -- the consumer thread and fatal errors -------------------------------------------------------


def test_the_listener_methods_bridge_the_consumer_thread_to_the_loop():
    async def main():
        async with Rig() as rig:
            loop = asyncio.get_running_loop()
            records = [rig.record(user=f"u{i}") for i in range(3)]
            done = loop.create_future()

            def consumer_thread():
                rig.engine.on_assigned([TP0])
                rig.engine.on_messages(records[:2])
                rig.engine.on_messages(records[2:])  # waits until the first batch was dispatched
                final = rig.engine.on_revoked([TP0])
                loop.call_soon_threadsafe(done.set_result, final)

            threading.Thread(target=consumer_thread, daemon=True).start()
            assert await done == {TP0: (3, "")}  # offset 3, nothing finished above it
            assert sorted(rig.sender.ids()) == [0, 1, 2]

    run(main)


def test_fail_stops_the_engine_with_that_error():
    async def main():
        rig = Rig()
        async with rig:
            threading.Thread(target=rig.engine.fail, args=("fatal consumer error: boom",)).start()
            with pytest.raises(RuntimeError, match="boom"):
                await asyncio.wait_for(rig.task, 60)

    run(main)


def test_a_consumer_thread_failure_is_raised_after_stopping():
    async def main():
        rig = Rig()
        async with rig:
            rig.consumer.fatal_error = ValueError("consumer thread failed")
            with pytest.raises(ValueError, match="consumer thread failed"):
                await rig.stop()

    run(main)


def test_a_revoke_that_fails_commits_nothing(monkeypatch):
    async def broken(states, timeout_s):
        raise RuntimeError("drain broke")

    monkeypatch.setattr(Partitions, "drain", staticmethod(broken))

    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            loop = asyncio.get_running_loop()
            done = loop.create_future()
            threading.Thread(target=lambda: loop.call_soon_threadsafe(
                done.set_result, rig.engine.on_revoked([TP0]))).start()
            assert await done == {}

    run(main)
