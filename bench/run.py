"""End-to-end benchmark: Kafka backlog -> processor (subprocess) -> Voucherify stub (subprocess).

    python -m bench.run                                  # 100,000 events, 20 ms stub latency
    python -m bench.run --events 20000 --processes 1,2 --rate 2000 --rss
    ./dev/bench --bootstrap 127.0.0.1:9092 --json out.json

Steps (each figure is explained in docs/benchmark.md):

1. Start a local broker on free ports (or use ``--bootstrap``) and ``python -m dev.stub`` in its
   own process; produce the backlog of realistic events *before* the processor starts.
2. Baselines on the same topic and stub: consume-only ceiling, a sequential consumer (sample),
   the bare-HTTP ceiling (the client's own transport, processor.voucherify.http1).
3. For each ``--processes`` value, run ``python -m processor run`` on the backlog with a fresh
   group until every offset is committed; sample the stub's request count and the processor's
   CPU/RSS from /proc; then check loss, order and latency from the stub's records.
4. ``--rate R``: a paced run (events produced at R/s while the processor runs): true e2e latency.
5. ``--rss``: the default in-flight window filled (500 ms stub latency): peak RSS, once per event
   size (``--rss-event-bytes``, default ~1.2 KB and ~30 KB), each on its own backlog.

Prints a table and writes JSON to ``bench/results/`` (git-ignored).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import statistics
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from bench import analysis, baselines, kafka_io, peer, profile
from bench.procs import Broker, Processor, ProcessorRoot, Stub, write_config
from dev.kafka_local import free_port
from dev.kafka_local.errors import LocalKafkaError
from dev.sample_events import expected_requests, generate

RESULTS = Path(__file__).resolve().parent / "results"


def _load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def _engine_args(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = float(value) if "." in value else int(value)
    return out


def run_processor(broker: str, stub: Stub, topic: str, partitions: int, produced: kafka_io.Produced, *,
                  processes: int, engine: dict[str, Any], workdir: Path, rate_events: int = 0, rate: float = 0.0,
                  stop_after_s: float | None = None, ops_port: int = 0, timeout_s: float = 900.0,
                  profile_out: Path | None = None, profile_s: float = 15.0,
                  env: dict[str, str] | None = None, consumer: dict[str, Any] | None = None,
                  root: ProcessorRoot | None = None,
                  member: Callable[[str, Path], Any] | None = None,
                  event_bytes: int | None = None) -> dict[str, Any]:
    """One processor run on ``topic`` with a fresh group; returns its figures.

    ``rate_events``/``rate``: produce that many new events at ``rate``/s while it runs (paced mode).
    ``stop_after_s``: stop after this long instead of waiting for every offset (the RSS run).
    ``root``: run that checkout's processor (``--processor-root``); default this one's.
    ``member``: instead of the processor, start this ``(group, log path) -> process`` (the peer:
    same topic, stub, monitoring and checks; it must offer ``start``/``pid``/``proc``/``cpu``/
    ``runqueue_wait``/``hwm_kb``/``stop``/``log_tail``).
    """
    group = f"bench-{uuid.uuid4().hex[:8]}"
    stub.reset()
    cfg = write_config(workdir / f"{group}.json", broker, stub.url, topic, group, engine, consumer)
    if ops_port:
        doc = orjson.loads(cfg.read_bytes())
        doc["ops"].update(http_port=ops_port, http_host="127.0.0.1")
        cfg.write_bytes(orjson.dumps(doc))
    producer_thread = None
    first_paced = produced.count
    if rate_events:
        events = generate(rate_events, seed=11, start=produced.count, size=event_bytes)
        producer_thread = threading.Thread(target=kafka_io.produce, args=(broker, topic, events, produced, rate),
                                           daemon=True)
    total = produced.count + rate_events  # before the paced producer starts adding to it
    if member is not None:
        proc = member(group, workdir / f"{group}.log").start()
    else:
        proc = Processor(cfg, processes, env=env or {}, root=root.path if root else None).start()
    started = time.time()
    if producer_thread is not None:
        producer_thread.start()
    watcher = kafka_io.CommitWatcher(broker, group, topic, partitions)
    samples: list[analysis.Sample] = []
    in_flight: list[float] = []
    in_flight_bytes: list[float] = []
    done_at = None
    spy = None
    try:
        deadline = time.monotonic() + (stop_after_s or timeout_s)
        while time.monotonic() < deadline:
            if proc.proc is not None and proc.proc.poll() is not None:
                raise RuntimeError(f"processor exited with {proc.proc.returncode}:\n{proc.log_tail()}")
            n = stub.total()
            if profile_out is not None and spy is None and n >= 0.1 * total:
                spy = profile.start(proc.pid, profile_out, profile_s)
            samples.append(analysis.Sample(time.time(), n, proc.cpu(), stub.cpu(), proc.runqueue_wait()))
            if ops_port:
                gauges = _gauges(ops_port)
                in_flight.append(gauges.get("voucherify_processor_in_flight", 0.0))
                in_flight_bytes.append(gauges.get("voucherify_processor_in_flight_bytes", 0.0))
            if stop_after_s is None and n >= total:
                committed = watcher.total()
                if committed >= total:
                    done_at = time.time()
                    break
            if len(samples) % 40 == 0:  # every ~10 s
                _say(f"  ... {n:,}/{total:,} requests at the stub")
            time.sleep(0.25)
        hwm = proc.hwm_kb()
    finally:
        code = proc.stop()
        watcher.close()
    reported = getattr(proc, "counts", None)  # the peer's own {"ok", "failed", "skipped"} on SIGTERM
    if stop_after_s is None and done_at is None:
        raise RuntimeError(f"not every offset committed within {timeout_s:.0f} s:\n{proc.log_tail()}")
    if producer_thread is not None:
        producer_thread.join()
    if spy is not None:
        spy.wait(30)
    records = stub.iter_records() if stop_after_s is None else iter(())
    out: dict[str, Any] = {
        "processes": processes, "engine": engine, "exit_code": code,
        "peak_rss_mb": [round(k / 1024, 1) for k in hwm],
        "wall_s_until_all_committed": (done_at - started) if done_at else None,
    }
    if reported is not None:
        out["reported"] = reported()
    if stop_after_s is not None:
        out["max_in_flight_seen"] = max(in_flight, default=0.0)
        out["max_in_flight_bytes_seen"] = max(in_flight_bytes, default=0.0)
        out["requests"] = samples[-1].requests if samples else 0
        return out
    if in_flight:
        out["in_flight"] = {"max": max(in_flight), "mean": sum(in_flight) / len(in_flight)}
    expected_total = sum(expected_requests(produced.by_type).values())
    out["steady"] = analysis.steady_state(samples, expected_total)
    expected = expected_requests(produced.by_type)
    if rate_events:
        # latency of the paced events only, after a 2 s warm-up
        ts = produced.ts_ms
        out["check"] = analysis.check(records, ts, expected, latency_from_index=first_paced + int(rate * 2))
    else:
        # backlog: queueing latency from when the processor could first see the event
        floor = int(started * 1000)
        ts = [max(t, floor) for t in produced.ts_ms]
        out["check"] = analysis.check(records, ts, expected)
    out["rate_by_decile"] = out["check"].pop("rate_by_decile")  # timed by the stub's arrivals
    if spy is not None and profile_out is not None and profile_out.exists():
        out["profile"] = profile.summarise(profile_out)
        out["profile_file"] = str(profile_out)
    out["events_per_s_overall"] = produced.count / (done_at - started) if done_at else None
    return out


def _measured(runs: list[dict[str, Any]], label: str, rep: int, measure: Callable[[], dict[str, Any]], *,
              root: str | None = None, peer: bool = False) -> None:
    """Append one labelled run to ``runs``; a failed run is kept as its error so the rotation goes on."""
    try:
        run = measure()
    except Exception as exc:  # noqa: BLE001 - one failed run must not lose the others' figures
        run = {"error": f"{type(exc).__name__}: {exc}"}
        _say(f"  FAILED: {run['error'][:500]}")
    run.update(label=label, rep=rep, kind="peer" if peer else "processor")
    if root is not None:
        run["root"] = root
    runs.append(run)
    if "steady" in run:
        s, c = run["steady"], run["check"]
        _say(f"  {s['events_per_s']:,.0f} ev/s steady, {s['cpu_s_per_1k']:.3f} CPU s/1k, "
             f"stub {s['stub_cpu_utilisation']:.2f} cores; lost/dup/order {c['lost']}/{c['duplicates']}/"
             f"{c['order_violations']}; by tenth {run['rate_by_decile']}")


def pair_with_peer(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each processor run against the peer run of the same rotation: ours/peer events/s and CPU per 1,000."""
    peers = {r["rep"]: r for r in runs if r.get("kind") == "peer" and "steady" in r}
    out = []
    for r in runs:
        p = peers.get(r.get("rep"))
        if r.get("kind") != "processor" or "steady" not in r or p is None:
            continue
        ours, theirs = r["steady"], p["steady"]
        out.append({"label": r["label"], "rep": r["rep"],
                    "events_per_s_ratio": ours["events_per_s"] / theirs["events_per_s"],
                    "cpu_per_1k_ratio": ours["cpu_s_per_1k"] / theirs["cpu_s_per_1k"]})
    return out


def medians(runs: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per label with two runs or more (``--repeat``): the median and range of events/s and CPU
    s per 1,000 events, and the median of the ratios to the peer. Why: on a shared machine one
    tree's runs differ by 10-20 % within minutes (docs/benchmark.md), so one pair proves little;
    the median of several rotations is the figure to compare."""
    by_label: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        if "steady" in r:
            by_label.setdefault(r["label"], []).append(r["steady"])
    ratios: dict[str, list[dict[str, Any]]] = {}
    for p in pairs:
        ratios.setdefault(p["label"], []).append(p)
    out = []
    for label, steadies in by_label.items():
        if len(steadies) < 2:
            continue
        rate = [s["events_per_s"] for s in steadies]
        cpu = [s["cpu_s_per_1k"] for s in steadies]
        row: dict[str, Any] = {"label": label, "runs": len(steadies),
                               "events_per_s": statistics.median(rate), "events_per_s_range": [min(rate), max(rate)],
                               "cpu_s_per_1k": statistics.median(cpu), "cpu_s_per_1k_range": [min(cpu), max(cpu)]}
        if ratios.get(label):
            row["events_per_s_ratio"] = statistics.median(p["events_per_s_ratio"] for p in ratios[label])
            row["cpu_per_1k_ratio"] = statistics.median(p["cpu_per_1k_ratio"] for p in ratios[label])
        out.append(row)
    return out


def _gauges(port: int) -> dict[str, float]:
    """The unlabelled samples of the processor's /metrics ({} if it does not answer)."""
    out: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                name, _, value = line.partition(" ")
                if value and not line.startswith("#") and "{" not in name:
                    out[name] = float(value)
    except (OSError, ValueError):
        pass
    return out


def _sized(events: Iterator[dict[str, Any]], sizes: list[int]) -> Iterator[dict[str, Any]]:
    """``events``, noting each one's JSON size in ``sizes``."""
    for event in events:
        sizes.append(len(orjson.dumps(event)))
        yield event


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--latency-ms", type=float, default=20.0)
    p.add_argument("--processes", default="1", help="comma list, e.g. 1,2: one processor run per value (0: none)")
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--engine", action="append", default=[], metavar="KEY=VALUE",
                   help="engine setting for the processor runs, e.g. max_in_flight=4000 (repeatable)")
    p.add_argument("--consumer", action="append", default=[], metavar="KEY=VALUE",
                   help="librdkafka consumer setting for the processor (kafka.consumer passthrough)")
    p.add_argument("--rate", type=float, default=0.0, help="also a paced run at this many events/s")
    p.add_argument("--rate-seconds", type=float, default=30.0)
    p.add_argument("--event-bytes", type=int, default=0,
                   help="pad the backlog's events to about this many bytes of JSON (default 0: unpadded, ~1.2 KB)")
    p.add_argument("--rss", action="store_true", help="also the peak-RSS runs (default window, 500 ms stub)")
    p.add_argument("--rss-event-bytes", default="0,30000",
                   help="comma list: one --rss run per event size in bytes (0: unpadded, ~1.2 KB)")
    p.add_argument("--rss-events", type=int, default=20_000, help="backlog of each --rss run")
    p.add_argument("--baseline-events", type=int, default=500)
    p.add_argument("--skip-baselines", action="store_true")
    p.add_argument("--profile", type=float, default=0.0, metavar="SECONDS",
                   help="py-spy the first 1-process run for this long (from 10%% of the requests)")
    p.add_argument("--processor-env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment for the processor runs (experiments, e.g. PYTHONPATH=dir-with-sitecustomize)")
    p.add_argument("--metrics", action="store_true", help="scrape the processor's in-flight gauge (diagnosis)")
    p.add_argument("--processor-root", action="append", default=[], metavar="PATH",
                   help="run the processor of this checkout (its own .venv; repeatable or a comma list; "
                        "default: this checkout): before/after in one session, each row labelled")
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help="run the whole rotation (every --processor-root, then the peer) N times")
    p.add_argument("--peer", action="store_true",
                   help="also run Parallel Consumer (bench/peer/, needs java + mvn) after each rotation's "
                        "processor runs, on the same topic and stub; prints ours/peer per pair")
    p.add_argument("--peer-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="argument of the peer program, e.g. pool=256 or concurrency=1000 (bench/peer/README.md)")
    p.add_argument("--peer-java-opt", action="append", default=[], metavar="OPT",
                   help="JVM option for the peer, e.g. --peer-java-opt=-Xmx1g (default: none, the JVM's own)")
    p.add_argument("--stub", choices=("lean", "full"), default="lean",
                   help="lean: the stub's benchmark mode (default); full: the aiohttp stub (for comparison)")
    p.add_argument("--bootstrap", help="use this broker instead of starting one")
    p.add_argument("--json", help="result file (default bench/results/<time>.json)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    try:
        roots = [ProcessorRoot.of(x.strip()) for item in (args.processor_root or ["."])
                 for x in item.split(",") if x.strip()]
    except ValueError as exc:
        p.error(str(exc))
    peer_target: Path | None = None
    peer_skipped: str | None = None
    if args.peer:
        try:
            _say("building the peer (bench/peer/, cached in .cache/peer/) ...")
            peer_target = peer.build()
        except peer.PeerUnavailable as exc:
            peer_skipped = str(exc)
            _say(f"--peer: {peer_skipped}")
    # The product defaults, written out so every tree compared with --processor-root runs the same
    # window (older trees had 2,000 / 1,000, which measured ~30 % slower on a backlog: docs/benchmark.md,
    # "settings tried"); the byte bound (engine.max_in_flight_bytes) stays at its default.
    engine = {"max_in_flight": 5000, "max_in_flight_per_partition": 5000, **_engine_args(args.engine)}
    consumer = _engine_args(args.consumer)

    result: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "load_before": _load()},
        "params": {"events": args.events, "latency_ms": args.latency_ms, "partitions": args.partitions,
                   "engine": engine, "consumer": consumer, "event_bytes": args.event_bytes or None,
                   "repeat": args.repeat, "stub": args.stub,
                   "processor_roots": [{"path": str(r.path), "label": r.label} for r in roots],
                   "peer": {"requested": args.peer, "skipped": peer_skipped, "args": args.peer_arg,
                            "java_opts": args.peer_java_opt}},
    }
    if args.bootstrap:
        broker = Broker(args.bootstrap)
    else:
        try:
            broker = Broker.start()
        except LocalKafkaError as exc:  # e.g. no Java: the throw-away broker is Apache Kafka (Java)
            print(f"[bench] cannot start the benchmark's own Kafka broker: {exc}\n"
                  "[bench] give it a running broker instead: ./dev/bench --bootstrap HOST:PORT ...",
                  file=sys.stderr, flush=True)
            return 2
    stub = Stub(args.latency_ms, lean=args.stub == "lean").start()
    workdir = Path(tempfile.mkdtemp(prefix="vp-bench-"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        kafka_io.create_topic(broker.bootstrap, topic, args.partitions)
        produced = kafka_io.Produced()
        t0 = time.perf_counter()
        kafka_io.produce(broker.bootstrap, topic, generate(args.events, size=args.event_bytes or None), produced)
        result["produce"] = {"events": produced.count, "seconds": time.perf_counter() - t0,
                             "by_type": dict(produced.by_type)}
        _say(f"produced {produced.count:,} events in {result['produce']['seconds']:.1f} s")
        if not args.skip_baselines:
            result["consume_ceiling"] = kafka_io.consume_ceiling(broker.bootstrap, topic, produced.count)
            _say(f"consume ceiling {result['consume_ceiling']['events_per_s']:,.0f} ev/s")
            stub.reset()
            result["sequential"] = baselines.sequential(broker.bootstrap, topic, stub.url, args.baseline_events)
            _say(f"sequential {result['sequential']['events_per_s']:,.1f} ev/s")
            stub.reset()
            result["bare_http"] = baselines.bare_http(stub.url)
            _say(f"bare http {result['bare_http']['requests_per_s']:,.0f} req/s")
        result["runs"] = []
        env = dict(kv.split("=", 1) for kv in args.processor_env)
        processes = [int(x) for x in args.processes.split(",") if x.strip() and int(x) > 0]
        peer_args = dict(kv.split("=", 1) for kv in args.peer_arg)
        for rep in range(1, args.repeat + 1):
            # one rotation: every processor tree (and --processes value), then the peer, alternating
            for root in roots:
                for n in processes:
                    label = root.label if n == 1 else f"{root.label} x{n}"
                    _say(f"[{rep}/{args.repeat}] {label}: processor run, --processes {n} ...")
                    _measured(result["runs"], label, rep, lambda: run_processor(
                        broker.bootstrap, stub, topic, args.partitions, produced, processes=n, engine=engine,
                        workdir=workdir, env=env, consumer=consumer, root=root,
                        ops_port=free_port() if args.metrics else 0), root=str(root.path))
            if peer_target is not None:
                target = peer_target
                _say(f"[{rep}/{args.repeat}] {peer.LABEL} ...")

                def member(group: str, log: Path) -> peer.Peer:
                    return peer.Peer(target, bootstrap=broker.bootstrap, topic=topic, group=group, url=stub.url,
                                     log_path=log, application_id="stub-application-id",
                                     secret_key="stub-secret-key", args=peer_args, java_opts=args.peer_java_opt)

                _measured(result["runs"], peer.LABEL, rep, lambda: run_processor(
                    broker.bootstrap, stub, topic, args.partitions, produced, processes=1, engine={},
                    workdir=workdir, member=member), peer=True)
        result["pairs"] = pair_with_peer(result["runs"])
        result["medians"] = medians(result["runs"], result["pairs"])
        if args.profile:
            # a run of its own: the sampler costs some CPU, so it must not colour the headline figures
            _say(f"profiled 1-process run (py-spy, {args.profile:g} s) ...")
            RESULTS.mkdir(parents=True, exist_ok=True)
            result["profiled"] = run_processor(broker.bootstrap, stub, topic, args.partitions, produced,
                                               processes=1, engine=engine, workdir=workdir, env=env,
                                               consumer=consumer, profile_s=args.profile,
                                               profile_out=RESULTS / f"{stamp}-profile.txt")
        if args.rate:
            _say(f"paced run at {args.rate:,.0f} ev/s ...")
            paced_topic = f"bench-paced-{uuid.uuid4().hex[:8]}"
            kafka_io.create_topic(broker.bootstrap, paced_topic, args.partitions)
            paced = kafka_io.Produced()
            result["paced"] = run_processor(broker.bootstrap, stub, paced_topic, args.partitions, paced,
                                            processes=1, engine=engine, workdir=workdir,
                                            rate_events=int(args.rate * args.rate_seconds), rate=args.rate,
                                            event_bytes=args.event_bytes or None)
            result["paced"]["rate"] = args.rate
        if args.rss:
            stub.configure(latency_ms=500.0)
            result["rss"] = []
            for size in (int(x) for x in args.rss_event_bytes.split(",") if x.strip()):
                rss_topic = f"bench-rss-{uuid.uuid4().hex[:8]}"
                kafka_io.create_topic(broker.bootstrap, rss_topic, args.partitions)
                rss_produced, sizes = kafka_io.Produced(), []
                kafka_io.produce(broker.bootstrap, rss_topic,
                                 _sized(generate(args.rss_events, seed=17, size=size or None), sizes), rss_produced)
                mean = sum(sizes) / max(1, len(sizes))
                _say(f"peak RSS run: {rss_produced.count:,} events of ~{mean / 1000:.1f} KB, "
                     "default window, 500 ms stub latency ...")
                run = run_processor(broker.bootstrap, stub, rss_topic, args.partitions, rss_produced, processes=1,
                                    engine=engine, workdir=workdir, stop_after_s=20.0,
                                    ops_port=free_port(), env=env, consumer=consumer)
                run.update(event_bytes=round(mean), events=rss_produced.count)
                result["rss"].append(run)
            stub.configure(latency_ms=args.latency_ms)
    except BaseException as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"  # keep what was measured before the failure
        raise
    finally:
        stub.stop()
        broker.close()
        _finish(result, args.json, stamp)
    return 0


def _finish(result: dict[str, Any], json_path: str | None, stamp: str) -> None:
    result["machine"]["load_after"] = _load()
    print(render(result))
    prof = result.get("profiled", {})
    if "profile" in prof:
        print(f"\nprofile of a 1-process run ({prof['profile_file']}):")
        print(profile.render(prof["profile"]))
    out = Path(json_path) if json_path else RESULTS / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    print(f"\nJSON: {out}")


def _say(text: str) -> None:
    print(f"[bench] {text}", flush=True)


def render_runs(runs: list[dict[str, Any]], pairs: list[dict[str, Any]]) -> list[str]:
    """One row per run (label, rotation, the headline figures) and ours/peer per pair."""
    ratio = {(p["label"], p["rep"]): p for p in pairs}
    head = (f"{'run':34s} {'rep':>3s} {'events/s':>9s} {'CPU s/1k':>8s} {'RSS MB':>7s} {'stub cores':>10s} "
            f"{'stub s/1k':>9s} {'wait s/s':>8s} {'lost/dup/order':>14s}  vs peer: ev/s, CPU/1k")
    out = ["runs (steady window 10-90 % of the requests; CPU from /proc; stub = its CPU in the same window)",
           head, "-" * len(head)]
    for run in runs:
        if "steady" not in run:
            out.append(f"{run['label'][:34]:34s} {run['rep']:>3d} FAILED: {run.get('error', '?')[:80]}")
            continue
        s, c = run["steady"], run["check"]
        p = ratio.get((run["label"], run["rep"]))
        vs = f"x{p['events_per_s_ratio']:.2f}, x{p['cpu_per_1k_ratio']:.2f}" if p else ""
        rss = "+".join(f"{x:.0f}" for x in run["peak_rss_mb"])
        out.append(f"{run['label'][:34]:34s} {run['rep']:>3d} {s['events_per_s']:>9,.0f} {s['cpu_s_per_1k']:>8.3f} "
                   f"{rss:>7s} {s['stub_cpu_utilisation']:>10.2f} {s.get('stub_cpu_s_per_1k', float('nan')):>9.3f} "
                   f"{s['runqueue_wait_per_s']:>8.2f} "
                   f"{c['lost']:>6}/{c['duplicates']}/{c['order_violations']:<4}  {vs}")
        if run.get("reported"):
            out[-1] += f"  (peer says {run['reported']})"
    rows = medians(runs, pairs)
    if rows:
        out += ["", "medians over the rotations (min-max)"]
        for m in rows:
            vs = (f"  vs peer: x{m['events_per_s_ratio']:.2f}, x{m['cpu_per_1k_ratio']:.2f}"
                  if "cpu_per_1k_ratio" in m else "")
            (lo_r, hi_r), (lo_c, hi_c) = m["events_per_s_range"], m["cpu_s_per_1k_range"]
            out.append(f"{m['label'][:34]:34s} {m['runs']:>3d} {m['events_per_s']:>9,.0f} ({lo_r:,.0f}-{hi_r:,.0f}) "
                       f"CPU s/1k {m['cpu_s_per_1k']:.3f} ({lo_c:.3f}-{hi_c:.3f}){vs}")
    return out


def render(r: dict[str, Any]) -> str:
    """The human table: one line per figure, with the target next to it where there is one."""
    m, prm = r["machine"], r["params"]
    lines = [f"\nmachine: {m['nproc']} cores, load {m['load_before']} -> {m.get('load_after', '?')}; "
             f"{prm['events']:,} events, stub latency {prm['latency_ms']:g} ms, {prm['partitions']} partitions",
             f"{'figure':52s} {'value':>14s}  target"]

    def row(name: str, value: str, target: str = "") -> None:
        lines.append(f"{name:52s} {value:>14s}  {target}")

    bare = r.get("bare_http", {}).get("requests_per_s")
    seq = r.get("sequential", {}).get("events_per_s")
    runs = r.get("runs", [])
    compared = prm.get("repeat", 1) > 1 or len(prm.get("processor_roots", [])) > 1 or prm.get("peer", {}).get(
        "requested", False)
    if runs:
        lines[1:1] = [*render_runs(runs, r.get("pairs", [])), ""]
    skipped = prm.get("peer", {}).get("skipped")
    if skipped:
        lines.insert(1, f"peer skipped: {skipped}")
    header = len(lines) - 1
    for run in runs if not compared else []:
        if "steady" not in run:
            continue
        s, c = run["steady"], run["check"]
        tag = f"[{run['processes']} proc]"
        row(f"{tag} steady-state events/s", f"{s['events_per_s']:,.0f}", ">= 3,000 (1 proc)")
        if seq:
            row(f"{tag} vs sequential baseline", f"{s['events_per_s'] / seq:,.0f}x", ">= 50x")
        if bare:
            row(f"{tag} share of bare-HTTP ceiling", f"{s['events_per_s'] / bare:.0%}", ">= 50%")
        row(f"{tag} CPU s / 1,000 events", f"{s['cpu_s_per_1k']:.3f}")
        row(f"{tag} CPU utilisation, processor / stub (cores)",
            f"{s['cpu_utilisation']:.2f} / {s['stub_cpu_utilisation']:.2f}")
        row(f"{tag} processor waiting for a CPU (s per s)", f"{s['runqueue_wait_per_s']:.2f}", "0 = not starved")
        row(f"{tag} queueing latency p50 / p99 ms",
            f"{c['latency_ms']['p50']:,.0f} / {c['latency_ms']['p99']:,.0f}")
        row(f"{tag} peak RSS MB (per member)", ", ".join(f"{x:.0f}" for x in run["peak_rss_mb"]))
        row(f"{tag} requests / expected", f"{c['requests']:,} / {c['expected_requests']:,}", "equal")
        row(f"{tag} lost / duplicates / order violations", f"{c['lost']} / {c['duplicates']} / "
            f"{c['order_violations']}", "0 / 0 / 0")
        row(f"{tag} wall s until all committed", f"{run['wall_s_until_all_committed']:.1f}")
    if "profiled" in r:
        row("profiled run (py-spy attached) events/s", f"{r['profiled']['steady']['events_per_s']:,.0f}")
    if "error" in r:
        row("RUN FAILED", r["error"][:60])
    if "paced" in r:
        pr = r["paced"]
        c = pr["check"]
        row(f"paced {pr['rate']:,.0f} ev/s: e2e latency p50 / p99 ms",
            f"{c['latency_ms']['p50']:,.0f} / {c['latency_ms']['p99']:,.0f}")
        row("paced: lost / duplicates / order violations", f"{c['lost']} / {c['duplicates']} / "
            f"{c['order_violations']}", "0 / 0 / 0")
        row("paced: CPU s / 1,000 events", f"{pr['steady']['cpu_s_per_1k']:.3f}")
    for rss in r.get("rss", []):
        kb = rss["event_bytes"] / 1000
        row(f"peak RSS MB, default window, {kb:.1f} KB events (500 ms stub)", f"{rss['peak_rss_mb'][0]:.0f}", "<= 250")
        row("  max in flight observed: events / MB (/metrics)",
            f"{rss['max_in_flight_seen']:,.0f} / {rss['max_in_flight_bytes_seen'] / 1e6:,.1f}")
    if seq:
        row("sequential baseline events/s", f"{seq:,.1f}")
    if bare:
        row("bare-HTTP ceiling requests/s (client transport, c=256)", f"{bare:,.0f}")
    if "consume_ceiling" in r:
        row("consume-only ceiling events/s (consume+decode)", f"{r['consume_ceiling']['events_per_s']:,.0f}")
        row("order violations already in the topic", f"{r['consume_ceiling']['topic_order_violations']}", "0")
    if len(lines) == header + 1:  # no figure rows (e.g. --skip-baselines with a comparison)
        lines.pop()
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
