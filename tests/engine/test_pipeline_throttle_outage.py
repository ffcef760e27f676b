"""Issue 14 through the engine's ports, on fake time: throttled answers and outages are not
the event's failures (see processor/engine/deliver.py steps 3-4)."""

from __future__ import annotations

import asyncio
import logging

from processor.engine.pipeline import EngineSettings
from tests.engine.fakes import DLQ, SOURCE, TIERS, FakeSender, Rig, failed, run, wait_for

TP0 = (SOURCE, 0)
TP1 = (SOURCE, 1)

DOWN = failed("retryable", None, unavailable=True)  # e.g. connection refused


def settings(**overrides) -> EngineSettings:
    base = dict(quick_retries=2, quick_retry_backoff_s=0.2, quick_retry_max_wait_s=5.0, commit_interval_s=1.0,
                drain_timeout_s=20.0, availability_threshold=5)
    return EngineSettings(**{**base, **overrides})


def test_a_throttled_answer_waits_its_retry_after_however_long_and_never_uses_a_tier(caplog):
    async def main():
        async with Rig(settings=settings()) as rig:
            await rig.assign(TP0)
            # 30 s is past quick_retry_max_wait_s, and three 429s are past quick_retries: neither applies
            rig.sender.answer(0, "A", *[failed("retryable", 429, retry_after=30.0, throttled=True)] * 3)
            await rig.feed(rig.record())
            await wait_for(lambda: rig.engine.in_flight == 0)
            sent = rig.sender.sent
            assert len(sent) == 4
            assert [round(b.at - a.at - rig.sender.latency) for a, b in zip(sent, sent[1:])] == [30, 30, 30]
            assert rig.producer.records == []  # no tier, no dead letter
            assert rig.observer.retried_n == 0

    with caplog.at_level(logging.WARNING, logger="processor.engine.deliver"):
        run(main)
    # 30 s holds the partition's commit: each such wait is a WARNING an operator can see
    warnings = [r.getMessage() for r in caplog.records if "throttled" in r.getMessage()]
    assert len(warnings) == 3 and "waits 30 s" in warnings[0] and "Retry-After" in warnings[0]


class DownSender(FakeSender):
    """A destination that is down (every request and probe fails to connect) while ``down``."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def send(self, delivery):
        result = await super().send(delivery)
        return DOWN if self.down else result

    async def probe_auth(self) -> bool:
        self.probed += 1
        if self.down:
            raise OSError("connection refused")
        return True


def test_an_outage_opens_the_circuit_pauses_and_resumes_without_tiers_or_dead_letters():
    async def main():
        sender = DownSender()
        async with Rig(settings=settings(), sender=sender) as rig:
            await rig.assign(TP0, TP1)
            sender.down = True
            await rig.feed(*[rig.record(user=f"u{i}") for i in range(8)])
            await wait_for(lambda: rig.engine.circuit_open)
            assert rig.consumer.paused == {TP0, TP1}  # the source and the retry tiers stop
            assert rig.observer.availability_changes == [(True, "no answer")]
            await asyncio.sleep(60)  # a minute down: far past every quick retry and tier delay
            assert rig.engine.circuit_open and rig.engine.in_flight == 8
            probes_during = sender.probed
            assert 12 <= probes_during <= 20  # backoff 0.5 s doubling, capped at 5 s
            sender.down = False
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert not rig.engine.circuit_open and rig.consumer.paused == set()
            assert rig.observer.availability_changes == [(True, "no answer"), (False, "")]
            assert rig.producer.records == []  # nothing walked the tiers into the dead-letter topic
            assert sorted(rig.sender.ids()[-8:]) == list(range(8))

    run(main)


def test_one_event_failing_while_its_neighbours_succeed_still_goes_to_the_tier():
    async def main():
        async with Rig(settings=settings()) as rig:
            await rig.assign(TP0)
            rig.sender.answer(0, "A", DOWN, DOWN, DOWN)
            await rig.feed(*[rig.record(user=f"u{i}") for i in range(10)])
            await wait_for(lambda: rig.engine.in_flight == 0)
            assert not rig.engine.circuit_open
            assert [r.topic for r in rig.producer.records] == [TIERS[0]]
            assert DLQ not in {r.topic for r in rig.producer.records}

    run(main)


def test_a_retry_tier_record_goes_ahead_of_fresh_work_at_the_paced_rate():
    async def main():
        async with Rig(settings=settings(requests_per_minute=60)) as rig:  # one request per second
            rig.sender.latency = 0.0
            await rig.assign(TP0, (TIERS[0], 0))
            await rig.feed(*[rig.record(user=f"u{i}") for i in range(5)])
            await asyncio.sleep(0.5)
            await rig.feed(rig.record(TIERS[0], 0, user="r", id="retry"))  # due now (no vp.not_before)
            await wait_for(lambda: len(rig.sender.sent) == 6)
            order = [s.event_id for s in rig.sender.sent]
            # 0 took the free slot; the retry takes the next one, ahead of the four fresh records waiting
            assert order == [0, "retry", 1, 2, 3, 4], order

    run(main)
