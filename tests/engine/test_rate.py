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
    rate = AdaptiveRate(clock=clock, slow_start_per_s=None)
    assert all(rate.try_take() is not None for _ in range(10_000))
    assert rate.rate is None


def test_slow_start_grows_sixteenfold_a_second_then_stops_pacing() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock)
    assert rate.rate == 200
    sent = 0
    while rate.rate is not None and clock.t < 1010:
        clock.t += 0.0001
        if rate.try_take() is not None:
            rate.on_success()
            sent += 1
    assert rate.rate is None  # no limit found
    assert 1.5 <= clock.t - 1000 <= 2.5  # 200 -> 20,000 at x16 a second: ln(100)/ln(16) = 1.7 s


def test_a_ceiling_means_no_slow_start() -> None:
    assert AdaptiveRate(clock=Clock(), ceiling_per_s=30).rate == 30
    rate = AdaptiveRate(clock=Clock())
    rate.set_ceiling(30)  # reloaded during the slow start: the ceiling holds
    for _ in range(1000):
        rate.on_success()
    assert rate.rate == 30


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


def evidence(rate: AdaptiveRate, clock: Clock) -> float | None:
    """Answers that show a limit (100 answers, the last 6 of them 429s for requests sent before
    now, so they do not cut by themselves); returns the rate they leave."""
    before = rate.rate
    last_cut, rate._last_cut = rate._last_cut, float("inf")  # answers to requests of "before"
    for i in range(100):
        if i >= 94:
            rate.on_throttled(float("-inf"), None)
        else:
            rate._answered(False, rate.now())  # an answer that does not move the rate
    rate._last_cut = last_cut
    assert rate.rate == before
    return before


def test_one_throttle_among_few_answers_is_not_yet_a_limit() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=100)
    sent = rate.try_take()
    assert sent is not None
    rate.on_throttled(sent, None)
    assert rate.rate == 100 and rate.decreases == 0


def test_first_throttle_cuts_from_the_rate_actually_sent() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, slow_start_per_s=None)  # starting unpaced, as before the first cut
    sent = 0.0
    for _ in range(2000):  # 2,000/s for one second
        sent = rate.try_take() or sent
        clock.t += 0.0005
    evidence(rate, clock)
    rate.on_throttled(sent, None)
    assert rate.rate == pytest.approx(2000 * 0.9, rel=0.05)


def test_one_cut_per_window_of_requests() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=100)
    old = rate.try_take()
    assert old is not None
    evidence(rate, clock)
    clock.t += 0.01
    rate.on_throttled(old, None)
    assert rate.rate == pytest.approx(90)
    rate.on_throttled(old, None)  # sent before the cut: says nothing new
    assert rate.rate == pytest.approx(90)
    clock.t += 0.3
    new = rate.try_take()
    assert new is not None
    rate.on_throttled(new, None)
    assert rate.rate == pytest.approx(90 * 0.9)  # 9 % 429s: the usual 0.9
    assert rate.decreases == 2 and rate.throttled_total == 9


def test_a_deep_overshoot_is_cut_deeper() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=3000)
    sent = 0.0
    for i in range(300):  # 3,000/s for 0.1 s against a 500/s limit: 5 of 6 answers are 429s
        clock.t += 1 / 3000
        sent = rate.try_take() or sent
        if i % 6:
            rate._answered(True, rate.now())
        else:
            rate.on_success()
    rate.on_throttled(sent, None)
    assert rate.rate is not None and 1000 <= rate.rate <= 1600  # halved at most, not 0.85


def test_additive_increase_back_to_the_ceiling() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=100)
    sent = rate.try_take()
    assert sent is not None
    evidence(rate, clock)
    rate.on_throttled(sent, None)
    assert rate.rate == pytest.approx(90)
    for _ in range(90):  # about one second's successes at 90/s
        rate.on_success()
    assert 93 <= rate.rate <= 97  # far below the rate of the cut (100): about half the gap a second
    for _ in range(300):
        rate.on_success()
    assert rate.rate >= 98
    for _ in range(10_000):
        rate.on_success()
    assert rate.rate == 100


def test_ceiling_changed_while_running() -> None:
    """Configuration reload of requests_per_minute: a never-throttled rate follows the ceiling;
    a rate learned from throttling stays, capped by the new ceiling."""
    clock = Clock()
    rate = AdaptiveRate(clock=clock)
    rate.set_ceiling(10)
    assert rate.rate == 10 and rate.try_take() is not None and rate.try_take() is None
    rate.set_ceiling(None)
    assert rate.rate is None and rate.try_take() is not None  # unpaced again (rule 1)
    rate.set_ceiling(100)
    sent = rate.try_take()
    assert sent is not None
    evidence(rate, clock)
    rate.on_throttled(sent, None)
    assert rate.rate == pytest.approx(90)
    rate.set_ceiling(200)
    assert rate.rate == pytest.approx(90)  # learned from the server: kept, grows up to 200
    rate.set_ceiling(50)
    assert rate.rate == 50
    with pytest.raises(ValueError):
        rate.set_ceiling(0)


def test_never_below_the_minimum() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=1, min_rate_per_s=0.5)
    evidence(rate, clock)
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
    assert throttled / (ok + throttled) <= 0.05  # issue 14: 429s <= 5 % of requests
    assert rate.rate is not None and rate.rate <= limit * 1.3  # at most a little over, while probing


def test_random_429s_do_not_drag_the_rate_down() -> None:
    """2 % of answers 429 whatever the rate (issue 14's test): not a rate limit, no cut."""
    import random

    rng = random.Random(3)
    clock = Clock()
    rate = AdaptiveRate(clock=clock, slow_start_per_s=None)  # starting unpaced, as before the first cut
    ok = 0
    for _ in range(30_000):  # 3,000/s for 10 s
        sent = rate.try_take()
        assert sent is not None
        if rng.random() < 0.02:
            rate.on_throttled(sent, 1.0)
        else:
            rate.on_success()
            ok += 1
        clock.t += 1 / 3000
    assert rate.rate is None and rate.decreases == 0 and rate.hold_until == 0.0
    assert rate.throttled_total == 30_000 - ok


def test_a_429_storm_cuts_the_rate() -> None:
    clock = Clock()
    rate = AdaptiveRate(clock=clock, slow_start_per_s=None)  # starting unpaced, as before the first cut
    for i in range(300):  # offered at 3,000/s, one in ten throttled: a limit is being hit
        clock.t += 1 / 3000
        sent = rate.try_take()
        if sent is None:
            continue
        if i % 10 == 0:
            rate.on_throttled(sent, None)
        else:
            rate.on_success()
    assert rate.rate is not None and rate.decreases >= 1


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
    for n in range(1, 10):  # now 429s keep coming: a global limit once 90 % of the window are 429s
        clock.t += 0.01
        sent = rate.try_take()
        assert sent is not None
        rate.on_throttled(sent, 2.0)
        if rate.hold_until:
            break
    assert n == 8  # 9 of the last 10 answers
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
        rate = AdaptiveRate(clock=loop.time, ceiling_per_s=20)  # one slot per 50 ms, no catch-up slack
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


def test_a_storm_of_random_429s_does_not_collapse_the_rate() -> None:
    """40 % of answers 429 whatever the rate: cuts stop at 90 % of the goodput the server showed."""
    import random

    rng = random.Random(5)
    clock = Clock()
    rate = AdaptiveRate(clock=clock, slow_start_per_s=None)  # starting unpaced, as before the first cut
    first_cut = None
    at_10s = None
    for step in range(200_000):  # offered at 10,000/s for 20 s
        if step == 100_000:
            at_10s = rate.rate
        clock.t += 0.0001
        sent = rate.try_take()
        if sent is None:
            continue
        if rng.random() < 0.4:
            rate.on_throttled(sent, None)
            if first_cut is None and rate.rate is not None:
                first_cut = rate.rate
        else:
            rate.on_success()
    assert first_cut is not None and at_10s is not None and rate.decreases >= 2
    # AIMD alone would be at a few requests/s within a second or two; the goodput floor (90 % of
    # the median second of the last 30 s) turns that into a slow drift (~ -3 %/s here)
    assert rate.rate is not None and rate.rate >= 0.1 * first_cut
    assert rate.rate >= 0.6 * at_10s


def test_one_cluster_of_429s_is_not_a_global_limit() -> None:
    """A server answering in bunches: 12 429s in a row inside a second of ~500 successes."""
    clock = Clock()
    rate = AdaptiveRate(clock=clock, ceiling_per_s=1000)
    for _ in range(500):
        clock.t += 0.001
        sent = rate.try_take()
        if sent is not None:
            rate.on_success()
    for _ in range(12):
        clock.t += 0.001
        sent = rate.try_take()
        if sent is not None:
            rate.on_throttled(sent, 1.0)
    assert rate.hold_until == 0.0
