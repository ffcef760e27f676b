"""AdaptiveRate (pure, fake clock) and RateGate (priority order) for issue 14's "rate, not pauses"."""

from __future__ import annotations

import asyncio

import pytest

from processor.engine.rate import AdaptiveRate
from processor.engine.rate_gate import RateGate


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def send_for(rate: AdaptiveRate, clock: Clock, seconds: float, step: float = 0.0002,
             limit_per_s: float | None = None) -> tuple[int, int]:
    """Offer requests every ``step`` s; a server with a token bucket of ``limit_per_s`` (burst
    a tenth of it) answers each at once. Returns (successes, 429s)."""
    tokens = burst = (limit_per_s or 0) / 10
    ok = throttled = 0
    end = clock.t + seconds
    last = clock.t
    while clock.t < end:
        sent = rate.try_take()
        if sent is not None:
            if limit_per_s is not None:
                tokens = min(burst, tokens + (clock.t - last) * limit_per_s)
                last = clock.t
            if limit_per_s is None or tokens >= 1:
                tokens -= 1
                ok += 1
                rate.on_success()
            else:
                throttled += 1
                rate.on_throttled(sent, 1.0)
        clock.t += step
    return ok, throttled


def test_unlimited_until_throttled() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock)
    assert all(rate.try_take() is not None for _ in range(10_000))
    assert rate.rate is None


def test_ceiling_paces_evenly() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=10)
    assert rate.try_take() is not None
    assert rate.try_take() is None
    assert rate.next_free() == pytest.approx(clock.t + 0.1)
    clock.t += 0.1
    assert rate.try_take() is not None
    for _ in range(100):
        rate.on_success()
    assert rate.rate == 10  # never above the ceiling


def test_first_throttle_cuts_from_the_rate_actually_sent() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock)
    sent = 0.0
    for _ in range(2000):  # 2,000/s for one second
        sent = rate.try_take() or sent
        clock.t += 0.0005
    rate.on_throttled(sent, None)
    assert rate.rate == pytest.approx(2000 * 0.85, rel=0.05)


def test_one_cut_per_window_of_requests() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=100)
    old = rate.try_take()
    assert old is not None
    clock.t += 0.01
    rate.on_throttled(old, None)
    assert rate.rate == pytest.approx(85)
    rate.on_throttled(old, None)  # sent before the cut: says nothing new
    assert rate.rate == pytest.approx(85)
    clock.t += 1
    new = rate.try_take()
    assert new is not None
    rate.on_throttled(new, None)
    assert rate.rate == pytest.approx(85 * 0.85)
    assert rate.decreases == 2 and rate.throttled_total == 3


def test_additive_increase_back_to_the_ceiling() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=100)
    sent = rate.try_take()
    assert sent is not None
    rate.on_throttled(sent, None)
    for _ in range(85):  # about one second's successes at 85/s
        rate.on_success()
    assert rate.rate == pytest.approx(87, abs=0.2)  # +2 % of the limit per second
    for _ in range(10_000):
        rate.on_success()
    assert rate.rate == 100


def test_never_below_the_minimum() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=1, min_rate_per_s=0.5)
    for _ in range(20):
        clock.t += 10
        sent = rate.try_take()
        assert sent is not None
        rate.on_throttled(sent, None)
    assert rate.rate == 0.5


@pytest.mark.parametrize("limit", [50.0, 500.0, 1000.0])
def test_converges_just_under_the_server_limit(limit: float) -> None:
    """AIMD against a token-bucket server: >= 85 % of its limit with few 429s, from unlimited."""
    clock = Clock()
    rate = AdaptiveRate(clock=clock)
    send_for(rate, clock, 20, limit_per_s=limit)  # converge
    ok, throttled = send_for(rate, clock, 60, limit_per_s=limit)
    assert ok / 60 >= 0.85 * limit
    assert throttled / (ok + throttled) <= 0.02
    assert rate.rate is not None and rate.rate <= limit * 1.05


def test_retry_after_holds_new_requests_only_when_throttling_is_across_the_board() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=1000, hold_window=10)
    for _ in range(9):  # 1 in 10 throttled: Retry-After concerns that request only
        sent = rate.try_take()
        assert sent is not None
        rate.on_success()
        clock.t += 0.001
    sent = rate.try_take()
    assert sent is not None
    rate.on_throttled(sent, 2.0)
    assert rate.hold_until == 0.0
    for n in range(1, 10):  # now 429s keep coming: a global limit once half the window is 429s
        clock.t += 0.01
        sent = rate.try_take()
        assert sent is not None
        rate.on_throttled(sent, 2.0)
        if rate.hold_until:
            break
    assert n == 4  # 5 of the last 10 answers
    assert rate.hold_until == pytest.approx(clock.t + 2.0)
    held_until = rate.hold_until
    assert rate.try_take() is None and rate.next_free() == held_until


def test_a_hold_is_never_extended_and_needs_fresh_evidence() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=1000, hold_window=4)
    for _ in range(4):
        clock.t += 0.01
        sent = rate.try_take()
        assert sent is not None
        rate.on_throttled(sent, 5.0)
    first = rate.hold_until
    assert first > clock.t
    for _ in range(10):  # late 429s for requests sent before the hold
        clock.t += 0.1
        rate.on_throttled(sent, 5.0)
    assert rate.hold_until == first  # not extended
    clock.t = first
    sent = rate.try_take()
    assert sent is not None
    rate.on_throttled(sent, 5.0)  # one 429 after the hold: not yet a window of evidence
    assert rate.hold_until == first
    clock.t += 1
    assert rate.try_take() is not None


def test_bad_settings() -> None:
    with pytest.raises(ValueError):
        AdaptiveRate(clock=Clock(), ceiling_per_s=0)
    with pytest.raises(ValueError):
        AdaptiveRate(clock=Clock(), decrease=1.0)


# -- RateGate ------------------------------------------------------------------------------


def test_gate_lets_priority_waiters_go_before_fresh_work() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        rate = AdaptiveRate(clock=loop.time, ceiling_per_s=200)  # one slot per 5 ms
        gate = RateGate(rate)
        order: list[str] = []

        async def one(name: str, priority: bool) -> None:
            await gate.acquire(priority)
            order.append(name)

        tasks = [asyncio.create_task(one(f"fresh{i}", False)) for i in range(5)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(one("retry", True)))
        await asyncio.gather(*tasks)
        return order

    order = asyncio.run(main())
    assert order[0] == "fresh0"  # took the free slot before anyone queued
    assert order[1] == "retry"  # the next slot goes to the throttled request's retry
    assert order[2:] == ["fresh1", "fresh2", "fresh3", "fresh4"]


def test_gate_without_pacing_does_not_queue() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        gate = RateGate(AdaptiveRate(clock=loop.time))
        for _ in range(1000):
            await gate.acquire()
        return gate.waiting

    assert asyncio.run(main()) == 0


def test_gate_cancelled_waiter_leaves_the_queue() -> None:
    async def main() -> int:
        loop = asyncio.get_running_loop()
        gate = RateGate(AdaptiveRate(clock=loop.time, ceiling_per_s=10))
        await gate.acquire()
        task = asyncio.create_task(gate.acquire())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await gate.acquire(priority=True)
        return gate.waiting

    assert asyncio.run(main()) == 0
