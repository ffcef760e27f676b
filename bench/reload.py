"""The pause in delivery while the configuration is reloaded (issue 15).

    python -m bench.reload                       # 30,000 track events at 1,000/s, 6 reloads
    python -m bench.reload --rate 2000 --reloads 10 --latency-ms 20

A steady paced stream (realistic track events, one subscription whose body carries a version
marker and the event's index) runs through the processor (subprocess) to the stub (subprocess);
every ``--every`` seconds the mapping's version is changed in the file and SIGHUP is sent.
From the stub's records (arrival time, body) it reports, per reload:

- ``swap``: the arrival of the first request with the new version;
- ``max gap``: the longest silence between two consecutive requests within ±0.5 s of the swap,
  against the same figure's 99th percentile over the steady parts of the run (no reload near);
- ``rate before/after``: requests/s in the second before and the second after the swap;
- ``reload``: SIGHUP to the "configuration reloaded" log line (read, validate, compile, swap).

It also checks that no event was lost and that none switched back to an older version.
"""

from __future__ import annotations

import argparse
import re
import signal
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench import kafka_io
from bench.procs import Broker, Processor, Stub, wait_for
from dev.sample_events import EVENT_PATH, generate


def config_doc(bootstrap: str, stub_url: str, topic: str, version: int) -> dict[str, Any]:
    return {
        "destination": {"application_id": "stub-application-id", "secret_key": "stub-secret-key", "custom_url": stub_url},
        "kafka": {"bootstrap_servers": bootstrap, "source_topic": topic, "group_id": f"{topic}-g",
                  "retry_topic": f"{topic}.retry", "dead_letter_topic": f"{topic}.dlq"},
        "engine": {"retry_delays_s": [2.0], "commit_interval_s": 0.5},
        "ops": {"http_port": 0, "log_format": "text", "log_level": "INFO"},
        "subscriptions": [{
            "name": "Track", "subscribe": 'type = "track"', "action": "addCustomEvent",
            "mapping": {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@template": f"v{version} {{{{event}}}}"},
                        "metadata": {"@path": "$.properties.metadata"}, "type": {"@path": "$.type"}},
        }],
    }


def _reload_ms(log: str) -> list[tuple[float, float]]:
    """(prepared off the loop, switched on the loop) in ms, from the processor's reload log lines."""
    rx = re.compile(r"prepared in (\d+) ms off the loop, switched in ([\d.]+) ms on it")
    return [(float(m[1]), float(m[2])) for m in rx.finditer(log)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--rate", type=float, default=1000.0, help="events produced per second")
    ap.add_argument("--reloads", type=int, default=6)
    ap.add_argument("--every", type=float, default=3.0, help="seconds between reloads")
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--partitions", type=int, default=3)
    args = ap.parse_args(argv)

    broker, stub = Broker.start(), Stub(args.latency_ms).start()
    topic = f"bench-reload-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix="vp-bench-reload-"))
    config = workdir / "config.json"
    try:
        kafka_io.create_topic(broker.bootstrap, topic, args.partitions)
        config.write_bytes(orjson.dumps(config_doc(broker.bootstrap, stub.url, topic, 1)))
        proc = Processor(config).start()
        proc.wait_for_log(r"consuming ", 60)
        events = list(generate(args.events, users=2000, types=("track",), weights=(1,)))
        produced = kafka_io.Produced()
        producer = threading.Thread(target=kafka_io.produce, args=(broker.bootstrap, topic, events, produced, args.rate))
        producer.start()
        time.sleep(args.every)
        for version in range(2, args.reloads + 2):
            config.write_bytes(orjson.dumps(config_doc(broker.bootstrap, stub.url, topic, version)))
            proc.proc.send_signal(signal.SIGHUP)
            time.sleep(args.every)
        producer.join()
        if not wait_for(lambda: stub.total() >= args.events, 300):
            print(f"not everything delivered: {stub.total()} of {args.events}")
        records = [r for r in stub.records() if r[1] == EVENT_PATH and r[2] == 200]
        log = proc.log_text()
        proc.stop()
    finally:
        stub.stop()
        broker.close()
    report(records, args, _reload_ms(log))
    return 0


def report(records: list[tuple[float, str, int, Any]], args: argparse.Namespace, reload_ms: list[tuple[float, float]]) -> None:
    times = [r[0] for r in records]
    version = [int(r[3]["event"].split(" ", 1)[0][1:]) for r in records]
    index = [r[3]["metadata"]["i"] for r in records]
    lost = args.events - len(set(index))
    by_user: dict[str, list[tuple[int, int]]] = {}
    for r, i, v in zip(records, index, version):
        by_user.setdefault(r[3]["customer"]["source_id"], []).append((i, v))
    went_back = sum(1 for pairs in by_user.values() for (_, a), (_, b) in zip(sorted(pairs), sorted(pairs)[1:]) if b < a)
    swaps = [next(t for t, v in zip(times, version) if v == n) for n in range(2, args.reloads + 2) if n in version]
    gaps = [b - a for a, b in zip(times, times[1:])]
    near = lambda t: any(abs(t - s) < 1.0 for s in swaps)  # noqa: E731
    steady = sorted(g for t, g in zip(times[1:], gaps) if not near(t))
    pct = lambda q: steady[min(len(steady) - 1, int(len(steady) * q))] * 1000 if steady else 0.0  # noqa: E731
    print(f"reload pause: {args.events} track events at {args.rate:g}/s, stub latency {args.latency_ms:g} ms, "
          f"{len(swaps)} reloads; lost {lost}; per-user version regressions {went_back}")
    print(f"steady inter-arrival gap (no reload within 1 s): median {pct(0.5):.2f} ms, p99 {pct(0.99):.1f} ms, "
          f"p99.9 {pct(0.999):.1f} ms, max {max(steady) * 1000:.1f} ms")
    for n, s in enumerate(swaps, start=2):
        window = [g for t, g in zip(times[1:], gaps) if abs(t - s) <= 0.5]
        before = sum(1 for t in times if s - 1.0 <= t < s)
        after = sum(1 for t in times if s <= t < s + 1.0)
        print(f"  v{n}: max gap within ±0.5 s of the switch {max(window) * 1000:.1f} ms; "
              f"requests in the second before {before}, after {after}")
    if reload_ms:
        prep = [p for p, _ in reload_ms]
        switch = [w for _, w in reload_ms]
        print(f"reload: prepared off the loop median {statistics.median(prep):.0f} ms (max {max(prep):.0f}); "
              f"switch on the loop median {statistics.median(switch):.3f} ms (max {max(switch):.3f})")


if __name__ == "__main__":
    raise SystemExit(main())
