"""Flow control's byte bound (processor/engine/flow.py, rule 1) through the whole engine, with
fakes for every port and fake time (see fakes.py): pausing on bytes, resuming with hysteresis,
a record bigger than the whole budget, and the bytes a revoke gives back.

The engine counts the size the consumer port reports (``Inbound.size``; the Kafka adapter counts
key, value and headers), so the records here simply say how big they are.
"""

from __future__ import annotations

import asyncio

from processor.engine.ports import Inbound
from tests.engine.fakes import SOURCE, Rig, run, wait_for
from tests.engine.test_pipeline import TIER0, TP0, TP1, settings, tier_record


def sized(record: Inbound, size: int) -> Inbound:
    record.size = size
    return record


def test_consumption_pauses_on_bytes_and_resumes_below_80_percent():
    async def main():
        async with Rig(settings=settings(max_in_flight_bytes=1000)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0, TP1)
            await rig.feed(*(sized(rig.record(user="u"), 100) for _ in range(9)))  # one key: one finishes per second
            assert rig.engine.in_flight_bytes == 900 == rig.observer.read_in_flight_bytes()
            assert rig.consumer.paused == set()
            await rig.feed(sized(rig.record(SOURCE, 1, user="v"), 100))
            assert rig.consumer.paused == {TP0, TP1}  # 1,000 bytes, 10 records: far below max_in_flight
            assert rig.observer.pauses[-1] == {"in_flight_bytes": 2}
            await wait_for(lambda: rig.engine.in_flight_bytes == 900)
            assert rig.consumer.paused == {TP0, TP1}  # 900 > 80 % of 1,000: still paused
            await wait_for(lambda: rig.engine.in_flight_bytes == 800)
            assert rig.consumer.paused == set()
            assert rig.observer.pauses[-1] == {}
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert rig.engine.in_flight_bytes == 0

    run(main)


def test_the_pause_reason_says_which_bound_was_reached():
    async def main():
        async with Rig(settings=settings(max_in_flight=3, max_in_flight_bytes=1000)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0)
            await rig.feed(*(sized(rig.record(user="u"), 10) for _ in range(3)))
            assert rig.observer.pauses[-1] == {"in_flight": 1}
            await wait_for(lambda: rig.engine.in_flight == 0)
            await rig.feed(sized(rig.record(user="u"), 2000))
            assert rig.observer.pauses[-1] == {"in_flight_bytes": 1}
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert rig.observer.pauses[-1] == {}

    run(main)


def test_a_record_bigger_than_the_whole_budget_still_runs_and_everything_resumes_after_it():
    async def main():
        async with Rig(settings=settings(max_in_flight_bytes=1000)) as rig:
            rig.sender.latency = 1.0
            await rig.assign(TP0, TP1)
            await rig.feed(sized(rig.record(user="big", id="first"), 50_000))
            assert rig.consumer.paused == {TP0, TP1}  # nothing else comes in while it runs
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert rig.sender.ids() == ["first"]
            assert rig.consumer.paused == set() and rig.engine.in_flight_bytes == 0
            await rig.feed(sized(rig.record(user="big", id="second"), 50_000),
                           sized(rig.record(SOURCE, 1, user="b2", id="third"), 70_000))
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert sorted(rig.sender.ids()) == ["first", "second", "third"]
            await wait_for(lambda: rig.consumer.stored == {TP0: 2, TP1: 1})

    run(main)


def test_a_revoke_gives_back_the_bytes_of_records_it_cancels_and_resumes():
    async def main():
        async with Rig(settings=settings(max_in_flight_bytes=1000, drain_timeout_s=5.0)) as rig:
            rig.sender.latency = 100.0
            await rig.assign(TP0, TP1)
            await rig.feed(sized(rig.record(user="stuck"), 700), sized(rig.record(user="stuck"), 200),
                           sized(rig.record(SOURCE, 1, user="other"), 300))
            assert rig.engine.in_flight_bytes == 1200 and rig.consumer.paused == {TP0, TP1}
            final = await rig.revoke(TP0)  # the drain times out: TP0's records are the next owner's
            assert final == {TP0: 0}  # nothing of it finished
            assert rig.engine.in_flight_bytes == 300 and rig.engine.in_flight == 1
            assert rig.consumer.paused == set()  # 300 <= 800: TP1 resumes
            await wait_for(lambda: rig.engine.in_flight == 0, limit=200)
            assert rig.engine.in_flight_bytes == 0

    run(main)


def test_revoking_a_tier_gives_back_the_bytes_of_records_not_yet_due():
    async def main():
        async with Rig(settings=settings(max_in_flight_bytes=10_000)) as rig:
            await rig.assign(TP0, TIER0)
            await rig.feed(sized(tier_record(rig, due_in_s=30, event_id=1), 4000),
                           sized(tier_record(rig, due_in_s=40, event_id=2), 6000))
            assert rig.engine.in_flight_bytes == 10_000
            assert rig.consumer.paused == {TP0, TIER0}
            assert rig.observer.pauses[-1] == {"in_flight_bytes": 2}
            await rig.revoke(TIER0)
            assert rig.engine.in_flight_bytes == 0 and rig.consumer.paused == set()
            await asyncio.sleep(60)
            assert rig.sender.ids() == []

    run(main)
