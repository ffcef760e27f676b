"""Helpers for the reliability suite (tests/reliability): processes we can SIGKILL, a stub that
outlives them, identifiable events, and the loss / duplicate / order accounting.

Every event produced here is one of ``dev.sample_events``' realistic Segment events, tagged with
``eid`` (global id), ``user`` and ``seq`` (the user's sequence number, 0, 1, 2, ... in production
order) in the field the preset mappings copy into the request body (the table in
``dev/sample_events.py``), so each request the stub recorded names the event it delivers.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Producer

from dev.processes import ProcessorProcess  # noqa: F401 - for the tests
from dev.sample_events import EVENT_PATH, PRESET_PATH, body_tag, make_event  # noqa: F401 - EVENT_PATH for the tests
from dev.stub import RecordedRequest, StubControl
from tests.support.processor import processor_config_doc, write_config  # noqa: F401 - write_config for the tests

REPO = Path(__file__).resolve().parents[2]

_TYPE_WEIGHTS = (("track", 40), ("identify", 15), ("page", 12), ("screen", 8), ("group", 15), ("alias", 10))


def env_int(name: str, default: int, soak: int | None = None) -> int:
    """An integer size from the environment; ``VP_SOAK=1`` switches to the soak default."""
    if name in os.environ:
        return int(os.environ[name])
    if soak is not None and os.environ.get("VP_SOAK") == "1":
        return soak
    return default


# ------------------------------------------------------------------------------- events
@dataclass(frozen=True, slots=True)
class Ev:
    eid: int
    user: str
    seq: int
    type: str
    event: dict[str, Any]

    @property
    def path(self) -> str | None:
        return PRESET_PATH[self.type]

    def value(self) -> bytes:
        return orjson.dumps(self.event)


def make_events(n: int, *, users: int = 200, seed: int = 1, first_eid: int = 0) -> list[Ev]:
    """``n`` mixed events over ``users`` users; seq counts per user in production order."""
    rnd = random.Random(seed)
    kinds = [k for k, _ in _TYPE_WEIGHTS]
    weights = [w for _, w in _TYPE_WEIGHTS]
    # Users and types come from ``rnd`` alone, in the same draws as ever, so a seed picks the same
    # scenario (which events, whose, in what order); the event bodies draw from their own generator.
    body_rnd = random.Random(f"bodies-{seed}")
    seqs: dict[str, int] = defaultdict(int)
    out: list[Ev] = []
    for i in range(n):
        eid = first_eid + i
        user = f"user-{rnd.randrange(users)}"
        kind = rnd.choices(kinds, weights)[0]
        seq = seqs[user]
        seqs[user] += 1
        event = make_event(body_rnd, kind, eid, user, {"eid": eid, "seq": seq, "user": user})
        # The Avro case (test_poison) encodes events with schemas/segment-event.avsc, where
        # ``integrations`` is JSON text, and stringifies only properties, traits and context.
        del event["integrations"]
        out.append(Ev(eid, user, seq, kind, event))
    return out


def request_meta(r: RecordedRequest) -> dict[str, Any] | None:
    """The ``{eid, seq, user}`` a recorded request carries, or None (auth probe, foreign body)."""
    meta = body_tag(r.path, r.json)
    return meta if meta is not None and "eid" in meta else None


# ------------------------------------------------------------------------------- accounting
@dataclass
class Outcome:
    """What the stub saw, measured against what was produced."""

    expected: int = 0  # (event, triggered subscription) pairs; one per event with the presets
    delivered: int = 0  # pairs with at least one 2xx
    lost: list[int] = field(default_factory=list)  # eids never answered 2xx
    duplicates: int = 0  # 2xx answers beyond the first, summed over pairs
    misrouted: list[str] = field(default_factory=list)  # a request on the wrong endpoint / for no event
    clean: int = 0  # events whose first request was answered 2xx
    order_violations: list[str] = field(default_factory=list)  # clean events out of per-user order
    first_attempt_order_violations: int = 0  # informational: all events' first attempts
    statuses: dict[int, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (f"expected={self.expected} delivered={self.delivered} lost={len(self.lost)} "
                f"duplicates={self.duplicates} clean={self.clean} order_violations={len(self.order_violations)} "
                f"first_attempt_order_violations={self.first_attempt_order_violations} statuses={self.statuses}")


def account(events: Sequence[Ev], requests: Iterable[RecordedRequest]) -> Outcome:
    """Lost, duplicates and per-key order.

    Order is checked on *clean* events: those whose first request (in stub arrival order) was
    answered 2xx, i.e. that never went through a quick retry or a retry tier. For each user,
    the first arrivals of its clean events must come in increasing ``seq``. (Retried events
    are delivered out of order by design: the retry tiers are not ordered.)
    """
    by_eid = {e.eid: e for e in events}
    out = Outcome(expected=sum(1 for e in events if e.path is not None))
    ok_count: dict[int, int] = defaultdict(int)
    first: dict[int, tuple[int, int]] = {}  # eid -> (arrival index, status)
    statuses: dict[int, int] = defaultdict(int)
    for r in sorted(requests, key=lambda r: r.index):
        if r.path == "/segmentio/test-authentication":
            continue
        statuses[r.status] += 1
        meta = request_meta(r)
        ev = by_eid.get(meta["eid"]) if meta else None
        if ev is None or ev.path != r.path:
            out.misrouted.append(f"#{r.index} {r.path} {r.body[:120]!r}")
            continue
        first.setdefault(ev.eid, (r.index, r.status))
        if 200 <= r.status < 300:
            ok_count[ev.eid] += 1
    out.statuses = dict(sorted(statuses.items()))
    out.delivered = len(ok_count)
    out.lost = sorted(e.eid for e in events if e.path is not None and e.eid not in ok_count)
    out.duplicates = sum(n - 1 for n in ok_count.values())
    per_user_clean: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    per_user_all: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for eid, (index, status) in first.items():
        ev = by_eid[eid]
        per_user_all[ev.user].append((index, ev.seq))
        if 200 <= status < 300:
            out.clean += 1
            per_user_clean[ev.user].append((index, ev.seq, eid))
    for user, items in per_user_clean.items():
        items.sort()
        for (_, s1, e1), (_, s2, e2) in zip(items, items[1:]):
            if s2 <= s1:
                out.order_violations.append(f"{user}: seq {s2} (eid {e2}) arrived after seq {s1} (eid {e1})")
    for items in per_user_all.values():
        items.sort()
        out.first_attempt_order_violations += sum(1 for a, b in zip(items, items[1:]) if b[1] <= a[1])
    return out


def all_requests(ctl: StubControl, page: int = 10_000) -> list[RecordedRequest]:
    """Every request a stub in another process recorded (paged)."""
    out: list[RecordedRequest] = []
    while True:
        batch = ctl.requests(since=len(out), limit=page)
        if not batch:
            return out
        out.extend(batch)


def ok_eids(requests: Iterable[RecordedRequest]) -> set[int]:
    eids = set()
    for r in requests:
        if 200 <= r.status < 300 and (meta := request_meta(r)) is not None:
            eids.add(meta["eid"])
    return eids


# ------------------------------------------------------------------------------- producing
def produce(bootstrap: str, topic: str, events: Iterable[Ev], *, extra: dict[str, Any] | None = None) -> int:
    """Keyed by userId with an idempotent producer, so per-user order in a partition is production order."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "enable.idempotence": True,
                         **(extra or {})})
    n = 0
    for ev in events:
        while True:
            try:
                producer.produce(topic, value=ev.value(), key=ev.user.encode())
                break
            except BufferError:
                producer.poll(0.1)
        n += 1
        if n % 1000 == 0:
            producer.poll(0)
    assert producer.flush(60) == 0, "producer did not deliver everything"
    return n


class PacedProducer(threading.Thread):
    """Produce events spread over ``seconds`` (so crashes and rebalances hit a live stream)."""

    def __init__(self, bootstrap: str, topic: str, events: Sequence[Ev], seconds: float) -> None:
        super().__init__(name="paced-producer", daemon=True)
        self.bootstrap, self.topic, self.events, self.seconds = bootstrap, topic, events, seconds
        self.produced = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            producer = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, "enable.idempotence": True})
            chunk = max(1, len(self.events) // max(1, int(self.seconds * 10)))
            start = time.monotonic()
            for i in range(0, len(self.events), chunk):
                for ev in self.events[i:i + chunk]:
                    producer.produce(self.topic, value=ev.value(), key=ev.user.encode())
                    self.produced += 1
                producer.poll(0)
                due = start + self.seconds * (i + chunk) / len(self.events)
                time.sleep(max(0.0, due - time.monotonic()))
            assert producer.flush(60) == 0
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self.error = exc

    def finish(self, timeout: float = 120.0) -> int:
        self.join(timeout)
        assert not self.is_alive(), "producer did not finish"
        if self.error is not None:
            raise self.error
        return self.produced


# ------------------------------------------------------------------------------- processes
def subprocess_config(
    bootstrap: str,
    stub_url: str,
    source: str,
    *,
    engine: dict[str, Any] | None = None,
    kafka: dict[str, Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A config document for ``python -m processor run`` (``processor_config_doc``'s, own group,
    own retry/DLQ topics) tuned for crashes: a SIGKILLed member is evicted quickly, three retry tiers."""
    return processor_config_doc(
        bootstrap, stub_url, source,
        # the broker's minimum session timeout: a SIGKILLed member is evicted quickly
        kafka={"consumer": {"session.timeout.ms": 6000, "heartbeat.interval.ms": 500}, **(kafka or {})},
        engine={"retry_delays_s": [1.0, 2.0, 4.0], "commit_interval_s": 0.5, "quick_retries": 1, **(engine or {})},
        **options,
    )


class StubProcess:
    """``python -m dev.stub`` in its own process: survives processor crashes; driven by StubControl."""

    def __init__(self, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.control: StubControl | None = None

    def __enter__(self) -> StubControl:
        log = open(self.log_path, "wb")  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "dev.stub", "--host", "127.0.0.1", "--port", "0", *self.args],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"listening on (http://\S+)", self.log_path.read_text(errors="replace"))
            if m:
                self.url = m.group(1)
                self.control = StubControl(self.url, timeout=60)
                return self.control
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.__exit__()
        raise AssertionError(f"stub did not start:\n{self.log_path.read_text(errors='replace')}")

    def __exit__(self, *exc: object) -> None:
        if self.control is not None:
            self.control.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


# ------------------------------------------------------------------------------- duplicates
@dataclass
class DuplicateCheck:
    """Which repeated deliveries a crash explains, and how many each crash caused."""

    per_kill: list[int]  # duplicates whose cause is kill k
    window_oks: list[int]  # 2xx answers the stub gave in the W seconds before kill k
    unexplained: list[int]  # eids delivered twice with no kill shortly after one of their requests
    ages: list[float] = field(default_factory=list)  # per repeat: seconds from its first 2xx to the kill before it

    def within_bound(self, max_in_flight: int) -> list[int]:
        """Kills that repeated more than ``max_in_flight`` + the 2xx answers of their window."""
        return [k for k, (n, w) in enumerate(zip(self.per_kill, self.window_oks)) if n > max_in_flight + w]

    def bound(self, max_in_flight: int) -> int:
        return sum(max_in_flight + n for n in self.window_oks)


def check_duplicates(requests: Sequence[RecordedRequest], kill_times: Sequence[float], window_s: float) -> DuplicateCheck:
    """A crash may repeat only work it had not committed yet.

    The processor commits, every ``commit_interval``, each partition's lowest unfinished offset
    and the finished offsets above it (commit metadata), and the next owner skips those, so what
    a SIGKILL repeats is: events in flight, plus events finished in the last ``window_s``
    (= 2 x commit_interval + slack for a commit round trip). An event delivered more than once is *explained* when some
    request for it reached the stub within ``window_s`` before a kill that precedes its repeat.
    """
    times: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for r in requests:
        meta = request_meta(r)
        if meta is not None:
            times[meta["eid"]].append((r.time, r.status))
    kills = sorted(kill_times)
    per_kill = [0] * len(kills)
    unexplained: list[int] = []
    ages: list[float] = []
    for eid, reqs in times.items():
        reqs.sort()
        oks = [t for t, s in reqs if 200 <= s < 300]
        for repeat in oks[1:]:
            before = [kt for kt in kills if kt < repeat]
            earlier = [t for t in oks if before and t <= before[-1]]
            if earlier:  # the latest success before the kill that made it repeat
                ages.append(before[-1] - earlier[-1])
            cause = None
            for k, kt in enumerate(kills):
                if kt < repeat and any(kt - window_s <= t <= kt for t, _ in reqs):
                    cause = k
            if cause is None:
                unexplained.append(eid)
            else:
                per_kill[cause] += 1
    all_oks = sorted(t for reqs in times.values() for t, s in reqs if 200 <= s < 300)
    import bisect

    window_oks = [bisect.bisect_right(all_oks, kt) - bisect.bisect_left(all_oks, kt - window_s) for kt in kills]
    return DuplicateCheck(per_kill, window_oks, sorted(set(unexplained)), ages)


# ------------------------------------------------------------------------------- poison
def poison_body_encoding(monkeypatch: Any, event_name: str = "Poison") -> None:
    """Make the destination's body encoding raise a TypeError for payloads whose ``event`` is
    ``event_name``, in this process: the defect issue 13 item 5 reported (a Liquid filter of our
    port raising for one event; the port has since been fixed) reproduced without depending on a bug."""
    import processor.voucherify.destination as destination_module

    real = destination_module._encode

    def encode(payload: Any) -> bytes:
        if isinstance(payload, dict) and payload.get("event") == event_name:
            raise TypeError("_at_least() takes from 1 to 2 positional arguments but 3 were given")
        return real(payload)

    monkeypatch.setattr(destination_module, "_encode", encode)
