"""The availability rule (pure, fake clock) and the circuit's probe/close cycle."""

from __future__ import annotations

import asyncio
import logging

import pytest

from processor.engine.availability import AvailabilityCircuit, AvailabilityRule

from tests.engine.fakes import run


class Clock:
    def __init__(self) -> None:
        self.t = 50.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_threshold_outage_signals_in_a_row() -> None:
    rule = AvailabilityRule(clock=Clock(), threshold=5)
    assert [rule.failed("connection refused") for _ in range(5)] == [False] * 4 + [True]
    assert rule.is_open and rule.reason == "connection refused"
    assert not rule.failed("503")  # already open: no second opening
    assert rule.reason == "503"


def test_one_answer_of_life_resets_the_run() -> None:
    """An event failing while its neighbours succeed is that event's problem (retry tiers)."""
    rule = AvailabilityRule(clock=Clock(), threshold=5)
    for _ in range(10):
        for _ in range(4):
            rule.failed("503")
        rule.alive()
    assert not rule.is_open


def test_random_ten_percent_failures_never_open_it() -> None:
    import random

    rng = random.Random(1)
    rule = AvailabilityRule(clock=Clock(), threshold=20)
    for _ in range(200_000):
        if rng.random() < 0.1:
            rule.failed("503")
        else:
            rule.alive()
    assert not rule.is_open


def test_alive_closes_and_says_how_long_it_lasted() -> None:
    clock = Clock()
    rule = AvailabilityRule(clock=clock, threshold=1)
    rule.failed("timeout")
    clock.t += 12.5
    assert rule.open_for() == 12.5
    assert rule.alive() is True
    assert not rule.is_open and rule.lasted_s == 12.5
    assert rule.alive() is False


def test_periodic_warning_while_open() -> None:
    clock = Clock()
    rule = AvailabilityRule(clock=clock, threshold=1, warn_every_s=30)
    assert not rule.warning_due()  # closed
    rule.failed("refused")
    assert not rule.warning_due()  # the opening WARNING was just logged
    clock.t += 30
    assert rule.warning_due()
    assert not rule.warning_due()
    clock.t += 30
    assert rule.warning_due()


def test_circuit_warns_probes_with_backoff_and_closes_by_itself(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[list[tuple[bool, str]], int]:
        loop = asyncio.get_running_loop()
        changes: list[tuple[bool, str]] = []
        probes = 0

        async def probe() -> None:
            nonlocal probes
            probes += 1
            if probes < 3:
                raise ConnectionRefusedError("refused")

        circuit = AvailabilityCircuit(probe, clock=loop.time, threshold=3, initial_interval_s=0.01,
                                      max_interval_s=0.02, on_change=lambda o, r: changes.append((o, r)))
        for _ in range(3):
            circuit.failed("connection error (refused)")
        assert circuit.is_open
        await asyncio.wait_for(circuit.wait_closed(), 5)
        await circuit.close()
        return changes, probes

    with caplog.at_level(logging.WARNING, logger="processor.engine.availability"):
        changes, probes = run(main)
    assert changes == [(True, "connection error (refused)"), (False, "")]
    assert probes == 3
    messages = [r.getMessage() for r in caplog.records]
    assert any("unavailable" in m and "refused" in m for m in messages)
    assert any("available again" in m for m in messages)


def test_a_success_closes_the_circuit_without_waiting_for_a_probe() -> None:
    async def main() -> bool:
        loop = asyncio.get_running_loop()

        async def probe() -> None:
            raise OSError("down")

        circuit = AvailabilityCircuit(probe, clock=loop.time, threshold=1, initial_interval_s=60)
        circuit.failed("503")
        circuit.alive()
        await asyncio.wait_for(circuit.wait_closed(), 1)
        await circuit.close()
        return circuit.is_open

    assert run(main) is False


def test_an_answer_to_a_request_sent_before_it_opened_does_not_close_it() -> None:
    """A newcomer's finding: during a refused-connection outage, slow requests sent before it
    answered 200 one by one and closed the circuit each time; the requests sent in between failed
    and went to the retry tiers by the dozen. Only an answer to a request sent since the circuit
    opened (or the probe) closes it."""
    async def main() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()

        async def probe() -> None:
            raise OSError("down")

        circuit = AvailabilityCircuit(probe, clock=loop.time, threshold=1, initial_interval_s=60)
        before = circuit.openings
        circuit.failed("no answer")
        assert circuit.is_open
        circuit.alive(before)  # a slow request sent before the outage answers 200
        still_open = circuit.is_open
        circuit.alive(circuit.openings)  # one sent since it opened (e.g. a retry that raced it)
        closed = not circuit.is_open
        await circuit.close()
        return still_open, closed

    assert run(main) == (True, True)
