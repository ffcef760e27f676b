"""The stub's token bucket, with the clock passed in (no sockets, no sleeps)."""

from __future__ import annotations

import pytest

from dev.stub.limits import RateLimits
from dev.stub.outage import Outage


def test_burst_then_one_token_per_interval() -> None:
    limits = RateLimits(per_minute=600, burst=3)  # 10 tokens/s
    assert [limits.check("app", 0.0).allowed for _ in range(4)] == [True, True, True, False]
    assert not limits.check("app", 0.05).allowed
    assert limits.check("app", 0.1).allowed  # one token refilled after 100 ms


def test_buckets_are_per_application_id() -> None:
    limits = RateLimits(per_minute=60, burst=1)
    assert limits.check("a", 0.0).allowed
    assert not limits.check("a", 0.0).allowed
    assert limits.check("b", 0.0).allowed


def test_refusal_says_when_the_next_token_comes() -> None:
    limits = RateLimits(per_minute=60, burst=1)  # one per second
    limits.check("a", 10.0)
    refused = limits.check("a", 10.25)
    assert (refused.allowed, refused.limit, refused.remaining) == (False, 60, 0)
    assert refused.retry_in == pytest.approx(0.75)
    headers = refused.headers(now_epoch=1_000.0, retry_after=True)
    assert headers == {
        "X-Rate-Limit-Limit": "60",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Retry": "1001",  # epoch seconds, rounded up
        "Retry-After": "1",  # whole seconds, at least 1
    }
    assert "Retry-After" not in refused.headers(now_epoch=1_000.0, retry_after=False)


def test_allowed_answers_count_down_remaining() -> None:
    limits = RateLimits(per_minute=6000, burst=5)
    assert [limits.check("a", 0.0).remaining for _ in range(5)] == [4, 3, 2, 1, 0]
    assert "X-Rate-Limit-Retry" not in limits.check("b", 0.0).headers(0.0, True)


def test_default_burst_is_one_seconds_worth() -> None:
    assert RateLimits(per_minute=30_000).burst == 500
    assert RateLimits(per_minute=10).burst == 1


def test_long_run_rate_matches_the_limit() -> None:
    limits = RateLimits(per_minute=30_000, burst=50)  # 500/s
    allowed = sum(limits.check("a", i / 2000).allowed for i in range(20_000))  # 2,000/s for 10 s
    assert 5_000 <= allowed <= 5_050  # 10 s at 500/s plus the burst


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_limits_are_refused(bad: float) -> None:
    with pytest.raises(ValueError):
        RateLimits(per_minute=bad)
    with pytest.raises(ValueError):
        RateLimits(per_minute=60, burst=0.5)


@pytest.mark.parametrize(
    "data", [{"mode": "down", "seconds": 1}, {"mode": "503", "seconds": 0}, {"mode": "503", "seconds": 1, "x": 1}]
)
def test_outage_requests_are_checked(data: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Outage.parse(data, 0.0)


def test_outage_parse() -> None:
    assert Outage.parse({"mode": "refuse", "seconds": 2.5}, 100.0) == Outage("refuse", 100.0, 102.5)
