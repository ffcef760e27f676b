"""AuthCircuit: open on the first auth failure, probe with capped exponential backoff, close (fake sleep)."""

from __future__ import annotations

import asyncio
import random

from processor.engine.circuit import AuthCircuit
from tests.engine.fakes import run, settle


class Probe:
    def __init__(self, *answers: bool | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    async def __call__(self) -> bool:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_probes_back_off_exponentially_up_to_the_cap_then_close():
    slept: list[float] = []
    changes: list[bool] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    probe = Probe(False, ConnectionError("unreachable"), False, False, False, True)
    circuit = AuthCircuit(probe, initial_interval_s=0.5, max_interval_s=3.0, on_change=changes.append,
                          sleep=sleep, rng=random.Random(1))

    async def main():
        assert not circuit.is_open
        circuit.trip("answered 401")
        circuit.trip("answered 401")  # idempotent: one prober
        assert circuit.is_open and changes == [True]
        await asyncio.wait_for(circuit.wait_closed(), 5)
        assert not circuit.is_open and changes == [True, False]
        await circuit.close()

    run(main)
    assert probe.calls == 6
    bases = [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]  # a failed probe (exception) counts as "not yet"
    assert len(slept) == 6
    assert all(0.8 * b <= s <= 1.2 * b for s, b in zip(slept, bases))


def test_close_stops_a_prober_that_is_still_waiting():
    async def main():
        circuit = AuthCircuit(Probe(), initial_interval_s=3600)
        circuit.trip("answered 403")
        await settle()
        await circuit.close()
        assert circuit.is_open  # stopped, not closed: the engine is shutting down
        await AuthCircuit(Probe()).close()  # never tripped: nothing to stop

    run(main)
