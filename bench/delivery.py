"""Delivery under throttling and outages: three scenarios against the stub in its own process.

    python -m bench.delivery                      # all three, short (see --help)
    python -m bench.delivery --scenario limit --limit-rps 500 --events 15000
    python -m bench.delivery --scenario faults --events 10000
    python -m bench.delivery --scenario outage --outage-s 60

Scenarios (issue 14; every figure is read from the stub's records, the dead-letter topic, the
processor's /readyz and its log, never from the processor's own claims):

``limit``   The stub's token bucket allows ``--limit-rps`` requests/s (burst: a tenth of that).
            Figures: delivered requests/s over the steady window (10-90 % of the expected
            successes) against the limit, the share of 429s among all requests, dead letters, and
            the time from a request's first 429 to its success (p50/p99) against its Retry-After.
``faults``  Two runs on the same backlog: 10 % 503 only, then 10 % 503 + 2 % 429 with
            ``Retry-After: 1``. Figures: delivered/s of each and their ratio, lost, dead letters.
``outage``  Events produced at ``--outage-rate``/s while the stub refuses connections for
            ``--outage-s`` seconds (retry delays [1, 2, 5] s). Figures: dead letters, lost, how long
            /readyz answered 503 during the outage, the first WARNING after the outage began,
            and the first delivery after it ended.

Runs are bounded by ``--timeout-s``: a run that does not deliver everything in time reports
what it did (a "before" processor may never finish the ``faults`` run).
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import orjson
from confluent_kafka import Consumer, KafkaException, TopicPartition

from bench import kafka_io
from bench.analysis import percentile, tag_of
from bench.procs import Broker, Processor, Stub, write_config
from dev.kafka_local import free_port
from dev.sample_events import expected_requests, generate

RESULTS = Path(__file__).resolve().parent / "results"


def _say(text: str) -> None:
    print(f"[delivery] {text}", flush=True)


def _load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def _ready(port: int) -> bool | None:
    """/readyz: True (200), False (503), None (no answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
            return r.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code == 200
    except OSError:
        return None


def _allowed_rate(port: int) -> float | None:
    """The processor's ``allowed_rate`` gauge (requests/s; inf = not paced), or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=1) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("voucherify_processor_allowed_rate "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def _stats(stub: Stub) -> dict[str, int] | None:
    """Answers by status over all paths, or None while the stub is unreachable (refuse outage)."""
    try:
        data = stub._get("/_stub/stats")
    except OSError:
        return None
    out: dict[str, int] = {}
    for statuses in data["by_path"].values():
        for status, n in statuses.items():
            out[status] = out.get(status, 0) + n
    return out


def _distinct_delivered(stub: Stub) -> int:
    seen = set()
    for _t, path, status, body in stub.records():
        tag = tag_of(path, body) if status == 200 and isinstance(body, dict) else None
        if tag is not None:
            seen.add((path, tag[1]))
    return len(seen)


def _committed(watcher: kafka_io.CommitWatcher) -> int:
    """Committed offsets in total; 0 while the broker cannot tell (a busy broker's NOT_COORDINATOR)."""
    try:
        return watcher.total()
    except KafkaException:
        return 0


def dead_letters(bootstrap: str, topic: str) -> int:
    """Messages in the dead-letter topic (high - low watermark over its partitions)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"dlq-count-{uuid.uuid4().hex[:6]}"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return 0
        total = 0
        for p in meta.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += max(0, high - low)
        return total
    finally:
        consumer.close()


def run(broker: str, stub: Stub, topic: str, partitions: int, produced: kafka_io.Produced, workdir: Path, *,
        engine: dict[str, Any], timeout_s: float, paced: tuple[int, float] | None = None,
        outage: tuple[float, float] | None = None) -> dict[str, Any]:
    """One processor run on ``topic`` with a fresh group, until every expected request succeeded.

    ``paced``: (events, rate) produced while it runs. ``outage``: (start after s, seconds) of a
    ``refuse`` outage, counted from the first delivery.
    """
    group = f"delivery-{uuid.uuid4().hex[:8]}"
    stub.reset()
    ops_port = free_port()
    cfg = write_config(workdir / f"{group}.json", broker, stub.url, topic, group, engine)
    doc = orjson.loads(cfg.read_bytes())
    doc["ops"].update(http_port=ops_port, http_host="127.0.0.1")
    cfg.write_bytes(orjson.dumps(doc))
    producer = None
    if paced is not None:
        n, rate = paced
        producer = threading.Thread(target=kafka_io.produce, daemon=True,
                                    args=(broker, topic, generate(n, seed=13, start=produced.count), produced, rate))
    expected_total = produced.count + (paced[0] if paced else 0)
    proc = Processor(cfg).start()
    started = time.time()
    if producer is not None:
        producer.start()
    watcher = kafka_io.CommitWatcher(broker, group, topic, partitions)
    samples: list[tuple[float, int]] = []  # (time, 200s so far)
    ready: list[tuple[float, bool | None]] = []
    rates: list[float] = []
    outage_at: float | None = None
    outage_end: float | None = None
    finished = None
    try:
        deadline = time.monotonic() + timeout_s
        last_note = time.monotonic()
        while time.monotonic() < deadline:
            if not proc.alive:
                raise RuntimeError(f"processor exited:\n{proc.log_tail()}")
            now = time.time()
            ready.append((now, _ready(ops_port)))
            allowed = _allowed_rate(ops_port)
            if allowed is not None:
                rates.append(allowed)
            stats = _stats(stub)
            if stats is not None:
                ok = stats.get("200", 0)
                samples.append((now, ok))
                if outage is not None and outage_at is None and ok > 0 and now - started >= outage[0]:
                    stub._post("/_stub/outage", {"mode": "refuse", "seconds": outage[1]})
                    outage_at, outage_end = time.time(), time.time() + outage[1]
                    _say(f"  outage: refusing connections for {outage[1]:g} s")
                if producer is None or not producer.is_alive():
                    # done: every offset committed, every request delivered or dead-lettered
                    if _committed(watcher) >= expected_total and (
                            ok >= expected_total or ok + dead_letters(broker, f"{topic}.dlq") >= expected_total):
                        # 200s include duplicates, and a committed offset may still have a record
                        # on a retry tier: count the distinct requests delivered
                        if _distinct_delivered(stub) + dead_letters(broker, f"{topic}.dlq") >= expected_total:
                            finished = time.time()
                            break
            if time.monotonic() - last_note > 10:
                last_note = time.monotonic()
                _say(f"  ... {samples[-1][1] if samples else 0:,}/{expected_total:,} delivered")
            time.sleep(0.25)
    finally:
        proc.stop()
        watcher.close()
        if producer is not None:
            producer.join(120)
    records = stub.records()
    out = analyse(records, produced, started, finished, samples)
    out["dead_letters"] = dead_letters(broker, f"{topic}.dlq")
    out["engine"] = engine
    paced = sorted(r for r in rates if r != float("inf"))
    out["allowed_rate"] = {"samples": len(rates), "paced_samples": len(paced),
                           "median_paced": percentile(paced, 0.5), "last": rates[-1] if rates else None}
    if outage_at is not None and outage_end is not None:
        out["outage"] = outage_figures(records, ready, proc.log_text(), outage_at, outage_end)
    return out


def analyse(records: list[tuple[float, str, int, Any]], produced: kafka_io.Produced, started: float,
            finished: float | None, samples: list[tuple[float, int]]) -> dict[str, Any]:
    """Delivered/s (steady window), statuses, lost, and 429 -> success times, per request tag."""
    expected = sum(expected_requests(produced.by_type).values())
    statuses: dict[str, int] = {}
    first_429: dict[tuple[str, int], float] = {}
    delivered: dict[tuple[str, int], float] = {}
    for arrived, path, status, body in records:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        tag = tag_of(path, body) if isinstance(body, dict) else None
        if tag is None:
            continue
        key = (path, tag[1])
        if status == 429:
            first_429.setdefault(key, arrived)
        elif status == 200:
            delivered.setdefault(key, arrived)
    waits = sorted(delivered[k] - t for k, t in first_429.items() if k in delivered)
    total = sum(statuses.values())
    lo, hi = expected * 0.1, expected * 0.9
    window = [(t, n) for t, n in samples if lo <= n <= hi]
    in_window = [status for arrived, _p, status, _b in records
                 if window and window[0][0] <= arrived <= window[-1][0]]
    steady = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) if len(window) > 1 and \
        window[-1][0] > window[0][0] else float("nan")
    return {
        "expected_requests": expected,
        "delivered": len(delivered),
        "lost": expected - len(delivered),
        "complete": finished is not None,
        "wall_s": (finished or time.time()) - started,
        "delivered_per_s_steady": steady,
        "delivered_per_s_overall": len(delivered) / ((finished or time.time()) - started),
        "statuses": statuses,
        "share_429": statuses.get("429", 0) / total if total else 0.0,
        "share_429_steady": in_window.count(429) / len(in_window) if in_window else float("nan"),
        "throttled_requests": len(first_429),
        "throttled_to_success_s": {"p50": percentile(waits, 0.5), "p99": percentile(waits, 0.99),
                                   "max": waits[-1] if waits else float("nan"), "n": len(waits)},
    }


_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d+)")


def outage_figures(records: list[tuple[float, str, int, Any]], ready: list[tuple[float, bool | None]],
                   log: str, began: float, ended: float) -> dict[str, Any]:
    """Not-ready time inside the outage, the first WARNING after it began, first delivery after it."""
    inside = [(t, r) for t, r in ready if began <= t <= ended]
    not_ready = [t for t, r in inside if r is False]
    warning_at = None
    for line in log.splitlines():
        if "WARNING" not in line and '"level": "WARNING"' not in line:
            continue
        m = _LOG_TIME.match(line)
        if m is None:
            continue
        from datetime import datetime

        t = datetime.strptime(m.group(1).replace("T", " ").replace(",", "."), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        if t >= began:
            warning_at = t
            break
    after = [t for t, _p, status, _b in records if status == 200 and t >= ended]
    return {
        "seconds": ended - began,
        "readyz_samples_inside": len(inside),
        "not_ready_share_inside": len(not_ready) / len(inside) if inside else float("nan"),
        "first_not_ready_after_s": (not_ready[0] - began) if not_ready else None,
        "first_warning_after_s": (warning_at - began) if warning_at is not None else None,
        "first_delivery_after_end_s": (min(after) - ended) if after else None,
        "ready_again_after_end_s": next((t - ended for t, r in ready if t >= ended and r), None),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.delivery", description=__doc__.splitlines()[0])
    p.add_argument("--scenario", choices=["limit", "faults", "outage", "all"], default="all")
    p.add_argument("--events", type=int, default=10_000, help="backlog for the limit and faults scenarios")
    p.add_argument("--limit-rps", type=float, default=500.0)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--outage-s", type=float, default=20.0)
    p.add_argument("--outage-rate", type=float, default=200.0, help="events/s produced during the outage run")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--timeout-s", type=float, default=180.0, help="per run")
    p.add_argument("--engine", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--bootstrap", help="use this broker instead of starting one")
    p.add_argument("--json", help="result file (default bench/results/delivery-<time>.json)")
    args = p.parse_args(argv)
    engine: dict[str, Any] = {}
    for item in args.engine:
        key, _, value = item.partition("=")
        engine[key] = orjson.loads(value)
    scenarios = ["limit", "faults", "outage"] if args.scenario == "all" else [args.scenario]
    result: dict[str, Any] = {"machine": {"nproc": os.cpu_count(), "load_before": _load()},
                              "params": vars(args)}
    broker = Broker(args.bootstrap) if args.bootstrap else Broker.start()
    stub = Stub(args.latency_ms).start()
    workdir = Path(tempfile.mkdtemp(prefix="vp-delivery-"))
    try:
        bootstrap = broker.bootstrap

        def backlog() -> tuple[str, kafka_io.Produced]:
            topic = f"delivery-{uuid.uuid4().hex[:8]}"
            kafka_io.create_topic(bootstrap, topic, args.partitions)
            produced = kafka_io.Produced()
            kafka_io.produce(bootstrap, topic, generate(args.events), produced)
            return topic, produced

        if "limit" in scenarios:
            _say(f"limit: stub allows {args.limit_rps:g} req/s, {args.events:,} events ...")
            topic, produced = backlog()
            stub.configure(rate_limit_per_minute=args.limit_rps * 60, rate_limit_burst=max(1.0, args.limit_rps / 10))
            r = run(bootstrap, stub, topic, args.partitions, produced, workdir, engine=engine,
                    timeout_s=args.timeout_s)
            r["limit_rps"] = args.limit_rps
            result["limit"] = r
            stub.configure(rate_limit_per_minute=None)
            _say(f"  {r['delivered_per_s_steady']:,.0f}/s steady ({r['delivered_per_s_steady'] / args.limit_rps:.0%} "
                 f"of the limit), 429s {r['share_429']:.1%}, dead letters {r['dead_letters']}")
        if "faults" in scenarios:
            topic, produced = backlog()
            out = {}
            for name, faults in (("503_only", {"error_rate_5xx": 0.1, "error_status": 503, "seed": 5}),
                                 ("503_and_429", {"error_rate_5xx": 0.1, "error_status": 503, "rate_429": 0.02,
                                                  "retry_after": 1, "seed": 5})):
                _say(f"faults: {name}, {args.events:,} events ...")
                stub.configure(**faults)
                out[name] = run(bootstrap, stub, topic, args.partitions, produced, workdir, engine=engine,
                                timeout_s=args.timeout_s)
                _say(f"  {out[name]['delivered_per_s_steady']:,.0f}/s steady, lost {out[name]['lost']}, "
                     f"dead letters {out[name]['dead_letters']}")
            stub.configure(error_rate_5xx=0.0, rate_429=0.0, retry_after=None)
            base = out["503_only"]["delivered_per_s_steady"]
            out["ratio"] = out["503_and_429"]["delivered_per_s_steady"] / base if base else float("nan")
            result["faults"] = out
        if "outage" in scenarios:
            topic = f"delivery-{uuid.uuid4().hex[:8]}"
            kafka_io.create_topic(bootstrap, topic, args.partitions)
            produced = kafka_io.Produced()
            n = int(args.outage_rate * (args.outage_s + 30))
            _say(f"outage: {n:,} events at {args.outage_rate:g}/s, refused for {args.outage_s:g} s ...")
            r = run(bootstrap, stub, topic, args.partitions, produced, workdir,
                    engine={"retry_delays_s": [1.0, 2.0, 5.0], **engine}, timeout_s=args.timeout_s + args.outage_s,
                    paced=(n, args.outage_rate), outage=(10.0, args.outage_s))
            result["outage"] = r
            _say(f"  dead letters {r['dead_letters']}, lost {r['lost']}, outage {r.get('outage')}")
    finally:
        stub.stop()
        broker.close()
        result["machine"]["load_after"] = _load()
        out_path = Path(args.json) if args.json else RESULTS / f"delivery-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
                                          | orjson.OPT_SERIALIZE_NUMPY))
        print(render(result))
        print(f"\nJSON: {out_path}")
    return 0


def render(r: dict[str, Any]) -> str:
    lines = [f"\nmachine: {r['machine']['nproc']} cores, load {r['machine']['load_before']} -> "
             f"{r['machine'].get('load_after', '?')}"]

    def row(name: str, value: str, target: str = "") -> None:
        lines.append(f"{name:58s} {value:>16s}  {target}")

    if "limit" in r:
        x = r["limit"]
        lim = x["limit_rps"]
        row(f"limit {lim:g}/s: delivered/s steady (share of limit)",
            f"{x['delivered_per_s_steady']:,.0f} ({x['delivered_per_s_steady'] / lim:.0%})", ">= 90%")
        row("limit: 429s / all requests (whole run; steady window)",
            f"{x['share_429']:.1%}; {x.get('share_429_steady', float('nan')):.1%}", "<= 5%")
        row("limit: dead letters / lost", f"{x['dead_letters']} / {x['lost']}", "0 / 0")
        w = x["throttled_to_success_s"]
        row("limit: first 429 -> success p50 / p99 s (Retry-After 1)", f"{w['p50']:.2f} / {w['p99']:.2f}", "p99 <= 2")
        a = x.get("allowed_rate", {})
        row("limit: allowed rate, median while paced / last (req/s)",
            f"{a.get('median_paced', float('nan')):,.0f} / {a.get('last') or float('nan'):,.0f}")
    if "faults" in r:
        f = r["faults"]
        for name in ("503_only", "503_and_429"):
            x = f[name]
            row(f"faults {name}: delivered/s steady", f"{x['delivered_per_s_steady']:,.0f}",
                "" if x["complete"] else "(incomplete)")
            row(f"faults {name}: lost / dead letters", f"{x['lost']} / {x['dead_letters']}", "0 / 0")
            a = x.get("allowed_rate", {})
            row(f"faults {name}: samples paced / all", f"{a.get('paced_samples', 0)} / {a.get('samples', 0)}")
        row("faults: 503+429 / 503 only", f"{f['ratio']:.0%}", ">= 50%")
    if "outage" in r:
        x = r["outage"]
        o = x.get("outage", {})
        row(f"outage {o.get('seconds', 0):.0f} s: dead letters / lost", f"{x['dead_letters']} / {x['lost']}", "0 / 0")
        row("outage: /readyz not ready, share of samples inside", f"{o.get('not_ready_share_inside', float('nan')):.0%}",
            "~100%")
        row("outage: first WARNING after start, s", f"{o.get('first_warning_after_s')}", "<= 10")
        row("outage: first delivery after end, s", f"{o.get('first_delivery_after_end_s')}", "<= 10")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
