"""The byte bound of the in-flight window on a real broker (issue 16: memory for any event size).

Big events and a slow stub: with only the event bound (5,000 by default) every record of the
backlog would be in flight at once; the byte bound pauses the partitions, so what is in flight
stays within ``max_in_flight_bytes`` plus the consumer's batch overshoot (three batches of about
512 KiB, see processor/kafka/consumer.py rule 2), and nothing is lost. Sampled from the
processor's own gauges, waiting on conditions only.
"""

from __future__ import annotations

import threading
import pytest

from dev.sample_events import generate
from dev.stub import StubServer
from tests.support.processor import (
    ProcessorRun,
    committed_offsets,
    end_offsets,
    processor_config,
    produce_events,
    wait_until,
)

pytestmark = pytest.mark.integration

MiB = 1024 * 1024


class GaugeSampler(threading.Thread):
    """Reads the processor's flow gauges as often as it can and keeps their maxima."""

    def __init__(self, proc: ProcessorRun) -> None:
        super().__init__(daemon=True)
        self.proc = proc
        self.max_bytes = 0.0
        self.max_events = 0.0
        self.paused_on_bytes = 0.0
        self.samples = 0
        self._done = threading.Event()

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.proc.metrics.registry.get_sample_value(name, labels or {}) or 0.0

    def run(self) -> None:
        while not self._done.wait(0.002):
            self.max_bytes = max(self.max_bytes, self.value("voucherify_processor_in_flight_bytes"))
            self.max_events = max(self.max_events, self.value("voucherify_processor_in_flight"))
            self.paused_on_bytes = max(self.paused_on_bytes, self.value(
                "voucherify_processor_paused_partitions", {"reason": "in_flight_bytes"}))
            self.samples += 1

    def stop(self) -> None:
        self._done.set()
        self.join(5)


def test_big_events_pause_the_partitions_on_bytes_and_all_arrive(kafka_bootstrap, make_topic):
    source = make_topic(partitions=2)
    events = list(generate(800, users=300, size=20_000))  # ~20 KB each, 16 MB in all
    budget = 3 * MiB
    with StubServer(latency_ms=200) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, engine={"max_in_flight_bytes": budget})
        assert cfg.engine.max_in_flight == 5000  # the event bound alone would admit the whole backlog
        produce_events(kafka_bootstrap, source, events)
        with ProcessorRun(cfg) as proc:
            sampler = GaugeSampler(proc)
            sampler.start()
            try:
                wait_until(lambda: stub.count >= 800, 120, message="stub never got 800 requests")
                wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 2)
                           == end_offsets(kafka_bootstrap, source, 2), 30, message="offsets not committed")
                wait_until(lambda: sampler.value("voucherify_processor_in_flight_bytes") == 0, 10,
                           message="bytes in flight not given back")
            finally:
                sampler.stop()
        assert sampler.samples > 0
        assert sampler.paused_on_bytes >= 2  # both source partitions (and the retry tiers) paused on bytes
        assert sampler.max_bytes <= budget + 3 * (MiB // 2 + 20_500), sampler.max_bytes
        assert sampler.max_events < 400, sampler.max_events  # never the whole backlog of 800
        assert len(stub.requests) == 800  # nothing lost, nothing twice
