"""Benchmark of the webhook receiver: signed Voucherify webhooks/s over HTTP, each acked by Kafka.

A local broker (or ``--bootstrap``), ``voucherify-processor webhooks`` as its own process, and a
client in this process posting N distinct signed deliveries (the 13 documented event types in
turn, 500 customers) with C concurrent connections. Every 200 means the record was acknowledged
by the broker (idempotent producer, acks=all). A second pass re-posts the same N deliveries (all
duplicates: answered from the dedupe window). Reported: webhooks/s of both passes, latency
percentiles, the receiver's CPU seconds per 1,000 webhooks, and whether the topic holds exactly N
records (nothing lost, nothing doubled).

    python -m bench.webhooks [--webhooks 20000] [--concurrency 128]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from confluent_kafka import Consumer, TopicPartition

from bench.procs import ROOT, Broker, cpu_seconds, wait_for
from dev.kafka_local import free_port
from dev.sample_webhooks import signed, webhook
from processor.webhooks.translation import TABLE

RESULTS = ROOT / "bench" / "results"
SECRET = "bench-webhook-secret"


def deliveries(n: int) -> list[tuple[bytes, dict[str, str]]]:
    kinds = [rule.voucherify_type for rule in TABLE]
    return [signed(webhook(kinds[i % len(kinds)], user_id=f"bench-user-{i % 500}"), SECRET) for i in range(n)]


async def post_all(url: str, items: list[tuple[bytes, dict[str, str]]], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    next_index = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < len(items):
            body, headers = items[next_index]
            next_index += 1
            t0 = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.json()
            latencies.append(time.perf_counter() - t0)
            key = f"{response.status} {answer.get('status') or answer.get('error')}"
            statuses[key] = statuses.get(key, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        seconds = time.perf_counter() - t0
    latencies.sort()

    def pct(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {"webhooks": len(items), "seconds": round(seconds, 3), "webhooks_per_s": round(len(items) / seconds, 1),
            "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
            "statuses": statuses}


def topic_records(bootstrap: str, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{uuid.uuid4().hex[:6]}"})
    try:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in md.partitions)
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__.splitlines()[0])
    p.add_argument("--webhooks", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--bootstrap", help="use this broker instead of starting one")
    p.add_argument("--json", help="result file (default bench/results/webhooks-<time>.json)")
    args = p.parse_args(argv)
    broker = Broker(args.bootstrap) if args.bootstrap else Broker.start()
    workdir = Path(tempfile.mkdtemp(prefix="vp-bench-webhooks-"))
    topic = f"bench-webhooks-{uuid.uuid4().hex[:8]}"
    port, ops_port = free_port(), free_port()
    config = workdir / "webhooks.yaml"
    config.write_text(yaml.safe_dump({
        "kafka": {"bootstrap_servers": broker.bootstrap},
        "ops": {"http_port": ops_port, "log_level": "WARNING"},
        "webhooks": {"secret": SECRET, "topic": topic, "port": port, "host": "127.0.0.1",
                     "topic_partitions": args.partitions},
    }))
    result: dict[str, Any] = {"machine": {"nproc": os.cpu_count(), "python": platform.python_version(),
                                          "load_before": os.getloadavg()},
                              "params": {"webhooks": args.webhooks, "concurrency": args.concurrency,
                                         "partitions": args.partitions}}
    receiver = subprocess.Popen([sys.executable, "-m", "processor", "webhooks", "--config", str(config)], cwd=ROOT,
                                stderr=open(workdir / "receiver.log", "wb"))
    try:
        import urllib.request

        def ready() -> bool:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/readyz", timeout=1).status == 200
            except OSError:
                return False

        if not wait_for(ready, 60):
            raise SystemExit(f"receiver not ready; see {workdir / 'receiver.log'}")
        items = deliveries(args.webhooks)
        url = f"http://127.0.0.1:{port}/webhooks/voucherify"
        cpu0 = cpu_seconds(receiver.pid)
        result["produce_pass"] = asyncio.run(post_all(url, items, args.concurrency))
        cpu1 = cpu_seconds(receiver.pid)
        result["duplicate_pass"] = asyncio.run(post_all(url, items, args.concurrency))
        cpu2 = cpu_seconds(receiver.pid)
        result["produce_pass"]["receiver_cpu_s_per_1000"] = round((cpu1 - cpu0) / args.webhooks * 1000, 3)
        result["duplicate_pass"]["receiver_cpu_s_per_1000"] = round((cpu2 - cpu1) / args.webhooks * 1000, 3)
        result["records_on_topic"] = topic_records(broker.bootstrap, topic)
        result["exactly_once_on_topic"] = result["records_on_topic"] == args.webhooks
        result["machine"]["load_after"] = os.getloadavg()
    finally:
        receiver.terminate()
        receiver.wait(60)
        broker.close()
    for name in ("produce_pass", "duplicate_pass"):
        r = result[name]
        print(f"{name}: {r['webhooks_per_s']:,.0f} webhooks/s, latency p50 {r['latency_ms']['p50']} ms "
              f"p99 {r['latency_ms']['p99']} ms, receiver CPU {r['receiver_cpu_s_per_1000']} s/1000, {r['statuses']}")
    print(f"records on topic: {result['records_on_topic']} of {args.webhooks} "
          f"({'exactly once' if result['exactly_once_on_topic'] else 'MISMATCH'})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.json) if args.json else RESULTS / f"webhooks-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"result: {out}")
    return 0 if result["exactly_once_on_topic"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
