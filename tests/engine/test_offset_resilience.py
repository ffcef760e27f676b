"""Issue 13 in the engine, with fakes and fake time (see fakes.py):

* finished offsets travel with the commit, and a new owner skips them (item 1);
* a position jump restarts the partition, and nothing of the old position is committed (item 6);
* whatever the planner raises for one event is that event's dead letter, never a stop (item 5);
* nothing raised while dispatching drops the rest of a batch silently (item 6).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from processor.engine import headers as h
from processor.engine.finished_offsets import decode, encode
from tests.engine.fakes import DLQ, SOURCE, FakePlanner, Rig, failed, run, settle, wait_for

TP0 = (SOURCE, 0)


def test_finished_offsets_above_a_slow_one_are_committed_with_it():
    async def main():
        async with Rig() as rig:
            rig.sender.latency = 0.0
            await rig.assign(TP0)
            rig.sender.answer(0, "A", failed("retryable"), failed("retryable"))
            await rig.feed(rig.record(user="slow"), *(rig.record(user=f"u{i}") for i in range(1, 6)))
            await asyncio.sleep(0.05)  # 1-5 are done; 0 backs off between quick retries
            rig.engine._commits.store_finished()
            assert rig.consumer.stored == {TP0: 0}
            assert decode(rig.consumer.stored_metadata[TP0], 0).offsets() == [1, 2, 3, 4, 5]
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 6)
            assert rig.consumer.stored_metadata[TP0] == ""

    run(main)


def test_a_new_owner_skips_what_the_previous_one_finished():
    async def main():
        async with Rig() as rig:
            rig.consumer.assigned.add(TP0)
            rig.engine.assign([TP0], {TP0: (0, encode(0, [1, 2, 4]).text)})
            await settle()
            await rig.feed(*(rig.record(user=f"u{i}") for i in range(6)))
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 6)
            assert sorted(rig.sender.ids()) == [0, 3, 5]  # 1, 2 and 4 were finished before
            assert rig.observer.skipped == {SOURCE: 3}

    run(main)


def test_a_position_jump_restarts_the_partition_and_commits_nothing_stale():
    async def main():
        async with Rig() as rig:
            await rig.assign(TP0)
            rig.sender.latency = 5.0  # the old position's records are still in flight at the jump
            await rig.feed(*(rig.record(user=f"u{i}") for i in range(150, 153)))  # offsets 0-2
            rig._offsets[TP0] = 0
            await rig.engine.restart_partition(TP0, skipped=0)  # the topic was re-created: back to 0
            assert rig.observer.jumps == [(TP0, 0)]
            rig.sender.latency = 0.0
            await rig.feed(rig.record(user="new"))  # offset 0 of the new log: no OffsetOrderError
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 1)
            await wait_for(lambda: len(rig.sender.ids()) == 4)  # the old records still finish...
            await asyncio.sleep(6)  # their 5 s answers arrive
            rig.engine._commits.store_finished()
            assert rig.consumer.stored == {TP0: 1}  # ...but their offsets never reach a commit
            assert rig.engine.in_flight == 0

    run(main)


def test_the_planner_raising_for_an_event_dead_letters_it_and_the_engine_goes_on():
    class Raising(FakePlanner):
        def plan_only(self, event, names):
            if event.get("raise"):
                raise TypeError("_at_least() takes from 1 to 2 positional arguments but 3 were given")
            return super().plan_only(event, names)

    async def main():
        async with Rig() as rig:
            rig.engine._dispatcher._work._planner = Raising()
            await rig.assign(TP0)
            await rig.feed(rig.record(user="a"), rig.record(user="b", **{"raise": True}), rig.record(user="c"))
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 3)
            [dead] = rig.producer.on(DLQ)
            assert dead.headers[h.ERROR_CLASS] == "internal" and "TypeError" in dead.headers[h.ERROR_MESSAGE]
            assert dead.headers[h.ORIGIN_OFFSET] == "1"
            assert sorted(rig.sender.ids()) == [0, 2]
            assert "internal" in rig.observer.dead
            assert not rig.task.done()  # still running

    run(main)


def test_a_rejection_with_an_error_class_is_dead_lettered_with_it():
    @dataclass(frozen=True)
    class Internal:
        subscription: str
        action: str
        message: str
        status: int | None
        error_class: str

    class Planner(FakePlanner):
        def plan_only(self, event, names):
            return [Internal("A", "act", "internal error in subscription 'A': TypeError: boom", None, "internal")]

    async def main():
        async with Rig() as rig:
            rig.engine._dispatcher._work._planner = Planner()
            await rig.assign(TP0)
            await rig.feed(rig.record())
            await wait_for(lambda: rig.consumer.stored.get(TP0) == 1)
            [dead] = rig.producer.on(DLQ)
            assert dead.headers[h.ERROR_CLASS] == "internal"
            assert dead.headers[h.SUBSCRIPTIONS] == '["A"]'

    run(main)


def test_an_exception_while_dispatching_stops_the_engine_instead_of_dropping_the_batch():
    async def main():
        rig = Rig()
        async with rig:
            await rig.assign(TP0)
            st = rig.engine._partitions.get(TP0)

            class Broken:
                in_flight = 0

                def track(self, offset):
                    raise RuntimeError("tracker broke")

            st.offsets = Broken()  # type: ignore[assignment]
            await rig.feed(rig.record(), rig.record())
            try:
                await asyncio.wait_for(rig.task, 60)
            except RuntimeError as exc:
                assert "tracker broke" in str(exc)
            else:
                raise AssertionError("the engine kept running after dropping a batch")

    run(main)
