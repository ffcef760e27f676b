"""QuickRetries: the in-place retry policy."""

from __future__ import annotations

import random

from processor.engine.quick_retry import QuickRetries


def test_backoff_doubles_with_jitter_and_gives_up_after_the_retries():
    policy = QuickRetries(retries=3, backoff_s=0.2, max_wait_s=5.0, rng=random.Random(3))
    waits = [policy.wait_before(n, None) for n in range(3)]
    assert all(w is not None and 0.5 * b <= w < 1.5 * b for w, b in zip(waits, [0.2, 0.4, 0.8]))
    assert policy.wait_before(3, None) is None


def test_the_servers_delay_wins_unless_it_is_too_long_to_wait_in_place():
    policy = QuickRetries(retries=2, backoff_s=0.2, max_wait_s=5.0)
    assert policy.wait_before(0, 3.0) == 3.0
    assert policy.wait_before(0, 30.0) is None  # a retry tier waits instead
    assert QuickRetries(retries=0).wait_before(0, 0.1) is None
