"""Fakes for the engine's ports, and a rig that runs an Engine on a loop with fake time.

Time: every rig runs on a ``looptime`` event loop, whose clock only moves when nothing can run,
and then jumps straight to the next timer. Sleeps, timeouts and ``call_later`` are instant in
real time and exact in loop time, so tests are fast and deterministic. The engine's wall clock
(due times of retry records) is the same fake clock plus an epoch.

Nothing here imports Kafka or Voucherify: the engine is driven only through its ports.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import looptime
import orjson

from processor.engine import headers as h
from processor.engine.handoff import Handoff
from processor.engine.ordering import ordering_key_func
from processor.engine.pipeline import Engine, EngineSettings
from processor.engine.ports import TP, DecodeError, EngineObserver, Inbound

EPOCH = 1_800_000_000.0  # wall-clock seconds at loop time 0
SOURCE = "events"
TIERS = ("events.retry.0", "events.retry.1")
DLQ = "events.dlq"


def run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run ``main()`` on a fresh event loop with fake time starting at 0."""
    loop = looptime.new_event_loop(start=0)
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


async def settle() -> None:
    """Let every ready callback and task run, without moving the fake clock."""
    for _ in range(20):
        await asyncio.sleep(0)


# -- the destination ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    subscription: str
    action: str
    event_id: Any


@dataclass(frozen=True)
class Rejected:
    subscription: str
    action: str
    message: str
    status: int | None


class FakePlanner:
    """Every event triggers the subscriptions it lists in ``subs`` (default ``["A"]``);
    those named in ``reject`` are rejected (invalid payload)."""

    def plan(self, event: dict[str, Any]) -> list[Any]:
        return self.plan_only(event, None)

    def plan_only(self, event: dict[str, Any], names: Any) -> list[Any]:
        out: list[Any] = []
        for sub in event.get("subs", ["A"]):
            if names is not None and sub not in names:
                continue
            if sub in event.get("reject", ()):
                out.append(Rejected(sub, "act", f"{sub}: missing field", 400))
            else:
                out.append(Planned(sub, "act", event.get("id")))
        return out


@dataclass(frozen=True)
class Result:
    ok: bool = True
    status: int | None = 200
    error_class: str | None = None
    message: str = ""
    retry_after: float | None = None
    throttled: bool = False
    unavailable: bool = False


OK = Result()


def failed(error_class: str, status: int | None = 503, *, retry_after: float | None = None,
           throttled: bool = False, unavailable: bool = False) -> Result:
    return Result(False, status, error_class, f"answered {status}", retry_after, throttled, unavailable)


@dataclass
class Sent:
    subscription: str
    event_id: Any
    at: float  # loop time when the request started


class FakeSender:
    """Answers each request after ``latency`` seconds of loop time.

    ``script[(event_id, subscription)]`` is a list of results given in turn (then OK); requests not
    in the script succeed. ``probes`` are the answers of the auth probe, in turn (then True).
    """

    def __init__(self, latency: float = 0.01) -> None:
        self.latency = latency
        self.script: dict[tuple[Any, str], list[Result]] = {}
        self.probes: list[bool | Exception] = []
        self.sent: list[Sent] = []
        self.probed = 0
        self.active = 0
        self.peak = 0

    def answer(self, event_id: Any, subscription: str, *results: Result) -> None:
        self.script[(event_id, subscription)] = list(results)

    async def send(self, delivery: Planned) -> Result:
        self.sent.append(Sent(delivery.subscription, delivery.event_id, asyncio.get_running_loop().time()))
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.latency)
        finally:
            self.active -= 1
        script = self.script.get((delivery.event_id, delivery.subscription))
        return script.pop(0) if script else OK

    async def probe_auth(self) -> bool:
        self.probed += 1
        answer = self.probes.pop(0) if self.probes else True
        if isinstance(answer, Exception):
            raise answer
        return answer

    def ids(self, subscription: str | None = None) -> list[Any]:
        return [s.event_id for s in self.sent if subscription is None or s.subscription == subscription]


class FakeDecoder:
    """JSON objects are events; anything else is a :class:`DecodeError`."""

    def decode(self, value: bytes | None, topic: str) -> dict[str, Any]:
        try:
            event = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            raise DecodeError("invalid JSON") from None
        if not isinstance(event, dict):
            raise DecodeError("not an object")
        return event


# -- Kafka's side ------------------------------------------------------------------------------


@dataclass
class Record:
    topic: str
    value: bytes | None
    key: bytes | None
    headers: dict[str, str]


class FakeProducer:
    """Acknowledges after ``latency``; ``fail_with`` makes every write fail with that error."""

    def __init__(self, latency: float = 0.005) -> None:
        self.latency = latency
        self.records: list[Record] = []
        self.fail_with: Exception | None = None

    async def __call__(self, topic: str, value: bytes | None, *, key: bytes | None = None,
                       headers: list[tuple[str, bytes]] | None = None) -> tuple[int, int]:
        await asyncio.sleep(self.latency)
        if self.fail_with is not None:
            raise self.fail_with
        self.records.append(Record(topic, value, key, h.decode_headers(headers)))
        return 0, len(self.records) - 1

    def on(self, topic: str) -> list[Record]:
        return [r for r in self.records if r.topic == topic]


class FakeConsumer:
    """The engine's Consumer port; the test plays the consumer thread through the rig.

    Like the real consumer, ``stop`` + ``join`` revoke everything still assigned through the
    listener and commit what it returns.
    """

    def __init__(self) -> None:
        self.listener: Any = None
        self.started = False
        self.stopped = False
        self.assigned: set[TP] = set()
        self.paused: set[TP] = set()
        self.pause_calls = 0
        self.stored: dict[TP, int] = {}  # offsets; their commit metadata in stored_metadata
        self.stored_metadata: dict[TP, str] = {}
        self.committed: dict[TP, int] = {}
        self.committed_metadata: dict[TP, str] = {}
        self.fatal_error: BaseException | None = None

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True

    def join(self, timeout: float | None = None) -> None:
        self.commit(self.listener.on_revoked(sorted(self.assigned)))
        self.assigned.clear()

    def commit(self, final: dict[TP, tuple[int, str]]) -> dict[TP, int]:
        """Record a synchronous commit; returns its offsets."""
        self.committed.update({tp: offset for tp, (offset, _) in final.items()})
        self.committed_metadata.update({tp: metadata for tp, (_, metadata) in final.items()})
        return {tp: offset for tp, (offset, _) in final.items()}

    def store_offsets(self, offsets: dict[TP, tuple[int, str]]) -> None:
        self.stored.update({tp: offset for tp, (offset, _) in offsets.items()})
        self.stored_metadata.update({tp: metadata for tp, (_, metadata) in offsets.items()})

    def set_paused(self, partitions: set[TP]) -> None:
        self.pause_calls += 1
        self.paused = set(partitions)


class RecordingObserver(EngineObserver):
    def __init__(self) -> None:
        self.dead: list[str] = []
        self.retried_n = 0
        self.circuit_changes: list[bool] = []
        self.availability_changes: list[tuple[bool, str]] = []
        self.failures: list[str] = []
        self.jumps: list[tuple[TP, int]] = []
        self.skipped: dict[str, int] = {}
        self.pauses: list[dict[str, int]] = []  # paused partitions by reason, at every change
        self.released_tps: list[TP] = []
        self.read_in_flight_bytes: Callable[[], int] = lambda: 0

    def released(self, tp: TP) -> None:
        self.released_tps.append(tp)

    def paused(self, reasons: Any) -> None:
        self.pauses.append(dict(reasons))

    def watch_in_flight_bytes(self, read: Callable[[], int]) -> None:
        self.read_in_flight_bytes = read

    def dead_lettered(self, error_class: str) -> None:
        self.dead.append(error_class)

    def position_jumped(self, tp: TP, skipped: int) -> None:
        self.jumps.append((tp, skipped))

    def already_finished(self, topic: str, n: int) -> None:
        self.skipped[topic] = self.skipped.get(topic, 0) + n

    def retried(self, action: str) -> None:
        self.retried_n += 1

    def circuit(self, is_open: bool) -> None:
        self.circuit_changes.append(is_open)

    def availability(self, is_open: bool, reason: str) -> None:
        self.availability_changes.append((is_open, reason))

    def failed(self, action: str, error_class: str, seconds: float | None) -> None:
        self.failures.append(error_class)


# -- the rig -----------------------------------------------------------------------------------


@dataclass
class Rig:
    """An Engine wired to fakes. ``async with Rig(...) as rig`` runs it; leaving stops it."""

    settings: EngineSettings = field(default_factory=lambda: EngineSettings(
        quick_retries=2, quick_retry_backoff_s=0.2, quick_retry_max_wait_s=5.0, commit_interval_s=1.0,
        drain_timeout_s=20.0))
    ordering: tuple[str, ...] = ("userId", "anonymousId", "messageKey")
    retry_delays_s: tuple[float, ...] = (10.0, 60.0)
    max_age_s: float = 3600.0
    sender: FakeSender = field(default_factory=FakeSender)
    producer: FakeProducer = field(default_factory=FakeProducer)
    consumer: FakeConsumer = field(default_factory=FakeConsumer)
    observer: RecordingObserver = field(default_factory=RecordingObserver)
    engine: Engine = field(init=False)
    _offsets: dict[TP, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        loop_time = lambda: asyncio.get_running_loop().time()  # noqa: E731
        clock = lambda: EPOCH + loop_time()  # noqa: E731
        handoff = Handoff(self.producer, retry_topics=TIERS[: len(self.retry_delays_s)],
                          retry_delays_s=self.retry_delays_s, dead_letter_topic=DLQ, max_age_s=self.max_age_s,
                          clock=clock)
        self.engine = Engine(planner=FakePlanner(), sender=self.sender, decoder=FakeDecoder(), handoff=handoff,
                             key_func=ordering_key_func(list(self.ordering)), retry_topics=TIERS,
                             settings=self.settings, observer=self.observer, auth_probe_max_interval_s=8.0,
                             clock=clock, rng=random.Random(7))
        self.consumer.listener = self.engine
        self.engine.bind(self.consumer)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "Rig":
        self._task = asyncio.get_running_loop().create_task(self.engine.run(self._stop))
        await settle()
        assert self.consumer.started
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None and not self._task.done():
            await self.stop()

    async def stop(self) -> None:
        """Stop as SIGTERM does: the consumer revokes everything (drain) and commits."""
        self._stop.set()
        assert self._task is not None
        await self._task

    @property
    def task(self) -> asyncio.Task[None]:
        assert self._task is not None
        return self._task

    # -- playing the consumer thread (the loop side of each listener step) --

    async def assign(self, *tps: TP) -> None:
        self.consumer.assigned.update(tps)
        self.engine.assign(list(tps))
        await settle()

    async def feed(self, *records: Inbound) -> None:
        self.engine.dispatch(list(records))
        await settle()

    async def revoke(self, *tps: TP) -> dict[TP, int]:
        """The offsets committed for ``tps`` (their metadata lands in ``consumer.committed_metadata``)."""
        final = self.consumer.commit(await self.engine.revoke(list(tps)))
        self.consumer.assigned.difference_update(tps)
        return final

    def record(self, topic: str = SOURCE, partition: int = 0, *, user: str | None = "u1", value: Any = None,
               key: bytes | None = None, headers: list[tuple[str, bytes]] | None = None, **event: Any) -> Inbound:
        """The next record of ``topic[partition]`` (offsets count up from 0)."""
        tp = (topic, partition)
        offset = self._offsets.get(tp, 0)
        self._offsets[tp] = offset + 1
        if value is None:
            body: dict[str, Any] = {"type": "track", "id": event.pop("id", offset), **event}
            if user is not None:
                body["userId"] = user
            value = orjson.dumps(body)
        size = len(value or b"") + len(key or b"") + sum(len(k) + len(v or b"") for k, v in headers or ())
        return Inbound(topic, partition, offset, key, value, headers, 1_000, size)


async def wait_for(condition: Callable[[], bool], *, step: float = 0.05, limit: float = 3600.0) -> None:
    """Advance fake time in ``step`` increments until ``condition()``; fails after ``limit`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(step)


__all__ = [
    "EPOCH", "SOURCE", "TIERS", "DLQ", "run", "settle", "wait_for", "Rig", "FakeSender", "FakeProducer",
    "FakeConsumer", "FakeDecoder", "FakePlanner", "Result", "OK", "failed",
]
