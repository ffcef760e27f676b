"""The processor's own CPU per event, without Kafka's client or HTTP: the engine's path in one process.

    python -m bench.engine_path                    # 100,000 events, best of 3
    python -m bench.engine_path -n 50000 --profile # also a cProfile of one run (top 30 by own time)

The real :class:`~processor.engine.pipeline.Engine` (dispatch, per-key ordering, flow control,
offset tracking and storing, rate gate, concurrency limit, circuits), the real planner (Segment's
five presets: trigger, mapping, validation, body), the real JSON decoder and the real metrics
observer run on uvloop. Only the two ends are fakes: records arrive as :class:`Inbound` batches of
500 from ``--partitions`` partitions (respecting pause/resume, as the consumer thread does), and the
sender answers every request "200" after ``--latency-ms`` from a timer, with one future per request
(as an HTTP client's answer is). So the figure is what the processor spends per event on top of
librdkafka and the HTTP client: the part issue 16's "per-event bookkeeping" is about.

Prints CPU µs per event (process time: every thread) and events/s; ``bench/run.py`` gives the
end-to-end figures with a broker and the stub.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev.sample_events import generate  # noqa: E402
from processor.app import build_destination, engine_settings  # noqa: E402
from processor.config import parse_config  # noqa: E402
from processor.engine.handoff import Handoff  # noqa: E402
from processor.engine.ordering import ordering_key_func  # noqa: E402
from processor.engine.pipeline import Engine  # noqa: E402
from processor.engine.ports import TP, Commit, Inbound  # noqa: E402
from processor.kafka.decoders import JsonDecoder  # noqa: E402
from processor.ops.gc_tuning import tune_gc  # noqa: E402
from processor.ops.health import Health  # noqa: E402
from processor.ops.metrics import Metrics  # noqa: E402
from processor.ops.observer import MetricsObserver  # noqa: E402
from processor.voucherify.delivery import DeliveryResult  # noqa: E402
from processor.voucherify.live import Generation, LiveDestination  # noqa: E402

TOPIC = "events"
BATCH = 500
_OK = DeliveryResult(True, 200, None, "", None)


class FakeConsumer:
    """The Consumer port without Kafka: remembers pauses and stored offsets."""

    def __init__(self) -> None:
        self.paused: set[TP] = set()
        self.stored: dict[TP, Commit] = {}

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...

    def store_offsets(self, offsets: dict[TP, Commit]) -> None:
        self.stored.update(offsets)

    def set_paused(self, partitions: set[TP]) -> None:
        self.paused = set(partitions)

    @property
    def fatal_error(self) -> BaseException | None:
        return None


class TimerSender:
    """Answers 200 after ``latency_s``: one future per request by ``send``, a callback by ``start``
    (the two shapes of the HTTP client's answer)."""

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.sent = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    async def send(self, delivery: Any) -> DeliveryResult:
        loop = self._loop or asyncio.get_running_loop()  # looked up once: it costs a getpid() each
        self._loop = loop
        fut = loop.create_future()
        loop.call_later(self.latency_s, fut.set_result, _OK)
        self.sent += 1
        return await fut

    def start(self, delivery: Any, on_result: Any) -> None:
        """``Sender.start``: the same answer by a callback, no future (as the HTTP client's)."""
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        loop.call_later(self.latency_s, on_result, _OK)
        self.sent += 1

    async def probe_auth(self) -> bool:
        return True


async def _no_produce(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("nothing fails in this benchmark, so nothing is handed off")


ENGINE: dict[str, Any] = {"max_in_flight": 5000, "max_in_flight_per_partition": 5000}  # as bench/run.py


def _config() -> Any:
    return parse_config({
        "destination": {"application_id": "a", "secret_key": "s", "custom_url": "http://127.0.0.1:1"},
        "kafka": {"bootstrap_servers": "127.0.0.1:1", "source_topic": TOPIC, "group_id": "g"},
        "engine": ENGINE,
    })


def _records(n: int, partitions: int) -> list[Inbound]:
    out = []
    next_offset = [0] * partitions
    for event in generate(n):
        key = (event.get("userId") or event.get("anonymousId") or "").encode()
        p = hash(key) % partitions
        out.append(Inbound(TOPIC, p, next_offset[p], key, orjson.dumps(event), None, 0))
        next_offset[p] += 1
    return out


async def run_once(records: list[Inbound], partitions: int, latency_s: float) -> tuple[float, float, int]:
    """(cpu seconds, wall seconds, requests) for every record to be finished and stored."""
    cfg = _config()
    generation = Generation(build_destination(cfg), 1, "bench", frozenset())
    sender = TimerSender(latency_s)
    engine = Engine(
        planner=LiveDestination(generation),
        sender=sender,
        decoder=JsonDecoder(),
        handoff=Handoff(_no_produce, retry_topics=[], retry_delays_s=[], dead_letter_topic="dlq", max_age_s=86400.0),
        key_func=ordering_key_func(list(cfg.engine.ordering_key)),
        retry_topics=[],
        settings=engine_settings(cfg),
        observer=MetricsObserver(Metrics(), Health()),
    )
    consumer = FakeConsumer()
    engine.bind(consumer)
    stop = asyncio.Event()
    runner = asyncio.get_running_loop().create_task(engine.run(stop))
    await asyncio.sleep(0)
    tps = [(TOPIC, p) for p in range(partitions)]
    engine.assign(tps, {})
    queues: dict[TP, list[Inbound]] = {tp: [] for tp in tps}
    for r in records:
        queues[(r.topic, r.partition)].append(r)
    last = {tp: (q[-1].offset + 1 if q else 0) for tp, q in queues.items()}
    cursors = dict.fromkeys(tps, 0)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    remaining = len(records)
    while remaining:
        batch: list[Inbound] = []
        for tp in tps:
            if tp in consumer.paused:
                continue
            q, i = queues[tp], cursors[tp]
            take = q[i:i + BATCH // partitions]
            cursors[tp] = i + len(take)
            batch.extend(take)
        if batch:
            remaining -= len(batch)
            engine.dispatch(batch)
        await asyncio.sleep(0 if batch else 0.001)
    while any(consumer.stored.get(tp, (0, ""))[0] < last[tp] for tp in tps):
        await asyncio.sleep(0.005)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    stop.set()
    await runner
    return cpu, wall, sender.sent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.engine_path", description=__doc__.splitlines()[0])
    p.add_argument("-n", "--events", type=int, default=100_000)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--engine", action="append", default=[], metavar="KEY=VALUE",
                   help="engine setting, e.g. max_concurrent_requests=1000")
    args = p.parse_args(argv)
    for item in args.engine:
        key, _, value = item.partition("=")
        ENGINE[key] = float(value) if "." in value else int(value)
    try:
        import uvloop
        new_loop = uvloop.new_event_loop
    except ImportError:
        new_loop = asyncio.new_event_loop
    tune_gc()
    records = _records(args.events, args.partitions)
    best = None
    for i in range(args.repeat):
        gc.collect()
        loop = new_loop()
        try:
            cpu, wall, sent = loop.run_until_complete(run_once(records, args.partitions, args.latency_ms / 1000))
        finally:
            loop.close()
        print(f"run {i + 1}: {cpu / len(records) * 1e6:6.1f} µs CPU/event, {len(records) / wall:9,.0f} events/s, "
              f"{sent:,} requests", flush=True)
        best = cpu if best is None else min(best, cpu)
    assert best is not None
    print(f"best: {best / len(records) * 1e6:.1f} µs CPU per event ({best / len(records) * 1e6:.1f} ms per 1,000)")
    if args.profile:
        prof = cProfile.Profile()
        loop = new_loop()
        prof.enable()
        loop.run_until_complete(run_once(records, args.partitions, args.latency_ms / 1000))
        prof.disable()
        loop.close()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
