"""AdaptiveLimit: AIMD concurrency, halved on throttling at most once per cooldown (fake clock)."""

from __future__ import annotations

import asyncio

import pytest

from processor.engine.concurrency import AdaptiveLimit
from tests.engine.fakes import run, settle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_throttling_halves_the_limit_once_per_cooldown_and_success_creeps_back():
    clock = Clock()
    limit = AdaptiveLimit(16, minimum=2, cooldown_s=1.0, clock=clock)

    async def main():
        for _ in range(3):  # one burst of 429s from one window counts once
            await limit.acquire()
            limit.release(throttled=True)
        assert limit.limit == 8
        clock.now = 1.0
        await limit.acquire()
        limit.release(throttled=True)
        assert limit.limit == 4
        for _ in range(3):
            clock.now += 1.0
            await limit.acquire()
            limit.release(throttled=True)
        assert limit.limit == 2  # never below the minimum
        for _ in range(5):  # each success adds 1/limit
            await limit.acquire()
            limit.release()
        assert limit.limit == 3
        for _ in range(1000):
            await limit.acquire()
            limit.release()
        assert limit.limit == 16  # never above the maximum

    run(main)


def test_waiters_get_slots_in_order_as_they_free_up():
    limit = AdaptiveLimit(2)
    order: list[int] = []

    async def worker(i: int, hold: asyncio.Event) -> None:
        await limit.acquire()
        order.append(i)
        await hold.wait()
        limit.release()

    async def main():
        holds = [asyncio.Event() for _ in range(4)]
        tasks = [asyncio.create_task(worker(i, holds[i])) for i in range(4)]
        await settle()
        assert order == [0, 1] and limit.in_use == 2
        holds[1].set()
        await settle()
        assert order == [0, 1, 2]
        holds[0].set()
        await settle()
        assert order == [0, 1, 2, 3]
        for hold in holds:
            hold.set()
        await asyncio.gather(*tasks)
        assert limit.in_use == 0

    run(main)


def test_a_cancelled_waiter_gives_back_its_place_or_its_slot():
    limit = AdaptiveLimit(1)

    async def main():
        await limit.acquire()
        waiting = asyncio.create_task(limit.acquire())
        await settle()
        waiting.cancel()  # still waiting: it leaves the queue
        with pytest.raises(asyncio.CancelledError):
            await waiting
        handed = asyncio.create_task(limit.acquire())
        await settle()
        limit.release()  # hands the slot to `handed` ...
        handed.cancel()  # ... which is cancelled before it runs: the slot comes back
        with pytest.raises(asyncio.CancelledError):
            await handed
        assert limit.in_use == 0
        await asyncio.wait_for(limit.acquire(), 1)
        assert limit.in_use == 1

    run(main)


class Work:
    """Deferred fresh work: records when it got its slot."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log
        self.cancelled = False

    def run(self) -> None:
        self.log.append(self.name)


def test_deferred_work_runs_at_once_when_a_slot_is_free_else_after_every_waiter():
    limit = AdaptiveLimit(1)
    ran: list[str] = []

    async def main():
        limit.acquire_then(Work("a", ran))  # a free slot: runs now, and holds it
        assert ran == ["a"] and limit.in_use == 1
        limit.acquire_then(Work("b", ran))
        retry = asyncio.create_task(limit.acquire(priority=True))
        await settle()
        assert ran == ["a"] and limit.deferred == 1
        limit.release()  # a's slot: the waiting acquire (a retry) goes first ...
        await settle()
        assert retry.done() and ran == ["a"]
        limit.release()  # ... then the deferred work
        assert ran == ["a", "b"] and limit.in_use == 1
        limit.release()
        assert limit.in_use == 0

    run(main)


def test_withdrawn_or_cancelled_deferred_work_never_gets_a_slot():
    limit = AdaptiveLimit(1)
    ran: list[str] = []

    async def main():
        limit.acquire_then(Work("a", ran))
        b, c, d = Work("b", ran), Work("c", ran), Work("d", ran)
        for w in (b, c, d):
            limit.acquire_then(w)
        assert limit.withdraw(lambda w: w is c) == [c]
        b.cancelled = True
        limit.release()
        assert ran == ["a", "d"] and limit.in_use == 1 and limit.deferred == 0

    run(main)
