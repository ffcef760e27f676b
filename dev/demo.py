"""The demo: local Kafka + Voucherify stub + the processor + sample events, then a summary.

Everything is real: an Apache Kafka broker (no Docker), the stub over HTTP on localhost, and
``voucherify-processor run`` as its own process with a config like a user's. The stub fails a
few requests on purpose (5xx and one 400) so the summary shows the retry tiers and the
dead-letter topic at work. The other direction runs too: ``voucherify-processor webhooks`` receives
a few signed Voucherify webhooks (plus a forged one and a retried one), produces them to the same
topic as Segment track events, and the processor delivers them back to the stub. Everything
started here is stopped at the end, also on Ctrl-C.

    ./dev/demo [--events 600]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

import httpx
import orjson
import yaml
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from dev.kafka_local.broker import LocalKafka
from dev.kafka_local.net import free_port
from dev.sample_events import EVENT_PATH, expected_path, sample_events
from dev.sample_webhooks import signed, webhook
from dev.stub.control import StubControl
from processor.engine import headers as h

ROOT = Path(__file__).resolve().parent.parent
APP_ID, SECRET = "demo-app-id", "demo-secret-key"
WEBHOOK_SECRET = "demo-webhook-secret"
#: Voucherify event types the demo posts to the receiver, for one customer each.
WEBHOOK_TYPES = ("customer.rewarded", "customer.redemption.succeeded", "voucher.published",
                 "customer.publication.succeeded")
POISON = [b"this is not JSON", b'{"type": "track", "userId": "u-1"', b'{"event": "no type field"}']


def say(text: str, *, stream: TextIO | None = None) -> None:
    """A step heading: bold on a terminal; plain text when piped or redirected (no ANSI escapes
    in log files and CI output), or when NO_COLOR is set (https://no-color.org)."""
    out = stream if stream is not None else sys.stdout
    bold = out.isatty() and not os.environ.get("NO_COLOR")
    print(f"\033[1m==> {text}\033[0m" if bold else f"==> {text}", file=out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dev/demo", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=600, help="sample events to produce (default 600)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="stub latency (default 20 ms)")
    args = parser.parse_args(argv)
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="vp-demo-") as tmp:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        say("starting a local Apache Kafka broker (KRaft, no Docker)")
        t0 = time.monotonic()
        kafka = LocalKafka(port=free_port(), data_dir=Path(tmp) / "kafka", tie_to_parent=True)
        kafka.start()
        stack.callback(kafka.stop)
        print(f"    broker ready at {kafka.bootstrap} in {time.monotonic() - t0:.1f}s")

        say("starting the Voucherify stub (20 ms latency, 3% 5xx, one scripted 400)")
        stub_port = free_port()
        stub = subprocess.Popen(
            [sys.executable, "-m", "dev.stub", "--port", str(stub_port), "--latency-ms", str(args.latency_ms),
             "--application-id", APP_ID, "--secret-key", SECRET, "--error-rate-5xx", "0.03", "--seed", "7"],
            cwd=ROOT, stderr=subprocess.DEVNULL)
        stack.callback(_terminate, stub)
        control = StubControl(f"http://127.0.0.1:{stub_port}")
        _wait_http(f"http://127.0.0.1:{stub_port}/_stub/stats")
        control.configure(script=[{"status": 400, "count": 1, "path": "/segmentio/customer-processing"}])

        config_path = Path(tmp) / "demo.yaml"
        ops_port, webhooks_port, webhooks_ops_port = free_port(), free_port(), free_port()
        config_path.write_text(yaml.safe_dump(_config(kafka.bootstrap, stub_port, ops_port, webhooks_port)))
        cli = [sys.executable, "-m", "processor"]

        say("creating topics: voucherify-processor topics create")
        subprocess.run([*cli, "topics", "create", "--config", str(config_path), "--partitions", "3"], check=True,
                       cwd=ROOT)

        say("running: voucherify-processor webhooks --config demo.yaml (Voucherify webhooks in)")
        receiver = subprocess.Popen([*cli, "webhooks", "--config", str(config_path)], cwd=ROOT,
                                    env={**os.environ, "VP__OPS__HTTP_PORT": str(webhooks_ops_port)},
                                    stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "webhooks.log", "wb"))
        stack.callback(_terminate, receiver)
        produced_webhooks = _post_webhooks(f"http://127.0.0.1:{webhooks_port}/webhooks/voucherify",
                                           f"http://127.0.0.1:{webhooks_ops_port}/readyz")
        receiver.send_signal(signal.SIGTERM)  # drains: every answered delivery is already on the topic
        receiver.wait(60)

        events = sample_events(args.events)
        invalid = {"type": "identify", "traits": {"email": "nobody@example.com"}}  # no userId: invalid
        say(f"producing {len(events)} sample Segment events, 1 invalid identify and {len(POISON)} malformed values")
        _produce(kafka.bootstrap, events, [orjson.dumps(invalid), *POISON])

        say("running: voucherify-processor run --config demo.yaml")
        proc = subprocess.Popen([*cli, "run", "--config", str(config_path)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=open(Path(tmp) / "processor.log", "wb"))
        stack.callback(_terminate, proc)
        total = len(events) + 1 + len(POISON) + len(produced_webhooks)
        expected = Counter(expected_path(e) for e in events)
        expected[EVENT_PATH] += len(produced_webhooks)  # the preset "Track Event" delivers them back
        _wait_done(kafka.bootstrap, control, proc, total, sum(expected.values()))
        metrics = _scrape(ops_port)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)

        _summary(kafka.bootstrap, control, expected, metrics, total)
        _webhooks_summary(control, produced_webhooks)
        say("stopping the processor, the stub and the broker")
    return 0


def _config(bootstrap: str, stub_port: int, ops_port: int, webhooks_port: int) -> dict:
    return {
        "destination": {"application_id": APP_ID, "secret_key": SECRET,
                        "custom_url": f"http://127.0.0.1:{stub_port}"},
        "kafka": {"bootstrap_servers": bootstrap, "source_topic": "segment-events", "group_id": "voucherify-demo",
                  "retry_topic": "segment-events.voucherify.retry",
                  "dead_letter_topic": "segment-events.voucherify.dlq"},
        "engine": {"retry_delays_s": [2, 5], "quick_retries": 1, "commit_interval_s": 0.5},
        "ops": {"http_port": ops_port, "log_level": "INFO", "log_format": "json"},
        # The receiver writes into the processor's source topic, so the loop closes in one run.
        "webhooks": {"secret": WEBHOOK_SECRET, "topic": "segment-events", "port": webhooks_port,
                     "host": "127.0.0.1"},
    }


def _post_webhooks(url: str, readyz: str) -> dict[str, str]:
    """Post one signed webhook per demo type, a retry of the first and a forged one; event id -> name."""
    _wait_http(readyz, timeout=60)
    deliveries = [webhook(kind, user_id=f"demo-customer-{i + 1}") for i, kind in enumerate(WEBHOOK_TYPES)]
    produced: dict[str, str] = {}
    with httpx.Client(timeout=30) as client:
        for envelope in deliveries:
            answer = client.post(url, content=signed(envelope, WEBHOOK_SECRET)[0],
                                 headers=signed(envelope, WEBHOOK_SECRET)[1]).json()
            print(f"    {envelope['event']['type']:40} -> {answer['status']} as {answer.get('event')!r} "
                  f"for {envelope['data']['customer']['source_id']}")
            produced[answer["messageId"]] = answer["event"]
        body, headers = signed(deliveries[0], WEBHOOK_SECRET)
        retry = client.post(url, content=body, headers=headers).json()
        print(f"    the same {deliveries[0]['type']} again (a Voucherify retry) -> {retry['status']}")
        forged = client.post(url, content=body.replace(b"demo-customer-1", b"demo-attacker"),
                             headers=headers)
        print(f"    a forged delivery (body changed after signing) -> {forged.status_code} {forged.json()['error']}")
    return produced


def _produce(bootstrap: str, events: list[dict], raw: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for event in events:
        producer.produce("segment-events", orjson.dumps(event), key=event["userId"].encode())
    for value in raw:
        producer.produce("segment-events", value)
    producer.flush(30)


def _wait_done(bootstrap: str, control: StubControl, proc: subprocess.Popen, total: int, requests: int) -> None:
    """Until every source record and every retry-tier record is committed by the processor's group."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "voucherify-demo", "enable.auto.commit": False})
    topics = ["segment-events", "segment-events.voucherify.retry.0", "segment-events.voucherify.retry.1"]
    tps = [TopicPartition(t, p) for t in topics for p in range(3)]
    deadline = time.monotonic() + 180
    last = ""
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the processor exited with code {proc.returncode}; see its log")
            try:
                positions = consumer.committed(tps, timeout=10)
            except KafkaException:  # e.g. the group coordinator is still being elected
                time.sleep(0.5)
                continue
            committed = {(tp.topic, tp.partition): max(tp.offset, 0) for tp in positions}
            ends = {(tp.topic, tp.partition): consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
            source_done = sum(v for (t, _), v in committed.items() if t == "segment-events")
            retry_left = sum(ends[k] - committed[k] for k in ends if k[0] != "segment-events")
            by_path = control.stats().get("by_path", {})
            ok = sum(int(c.get("200", 0)) for path, c in by_path.items() if path.endswith("-processing"))
            line = (f"    committed {source_done}/{total} events, {ok}/{requests} requests accepted, "
                    f"{retry_left} waiting in retry tiers")
            if line != last:
                print(line, flush=True)
                last = line
            if source_done >= total and retry_left == 0:
                return
            time.sleep(0.5)
    finally:
        consumer.close()
    raise SystemExit("the demo did not finish within 3 minutes")


def _summary(bootstrap: str, control: StubControl, expected: Counter, metrics: dict[str, float], total: int) -> None:
    requests = control.requests(limit=100_000)
    by_path: dict[str, Counter] = {}
    for r in requests:
        by_path.setdefault(r.path, Counter())[r.status] += 1
    say("summary")
    print(f"    events consumed: {total} (sample events, 1 invalid, {len(POISON)} malformed)")
    print("    requests received by the Voucherify stub:")
    print(f"      {'endpoint':40} {'expected':>8} {'200':>6} {'other':>16}")
    for path in sorted(set(by_path) | {p for p in expected if p}):
        counts = by_path.get(path, Counter())
        other = ", ".join(f"{s}x{n}" for s, n in sorted(counts.items()) if s != 200) or "-"
        print(f"      {path:40} {expected.get(path, '-'):>8} {counts.get(200, 0):>6} {other:>16}")
    retried = _read(bootstrap, "segment-events.voucherify.retry.0") + _read(bootstrap, "segment-events.voucherify.retry.1")
    print(f"    handed to the retry tiers: {len(retried)} record(s), all delivered later")
    dlq = _read(bootstrap, "segment-events.voucherify.dlq")
    print(f"    dead-letter topic: {len(dlq)} record(s)")
    for headers in sorted(dlq, key=lambda hd: int(hd.get(h.ORIGIN_OFFSET) or 0)):
        subs = headers.get(h.SUBSCRIPTIONS, "[]")
        print(f"      offset {headers.get(h.ORIGIN_OFFSET):>4}  {headers.get(h.ERROR_CLASS):10} "
              f"{headers.get(h.ERROR_STATUS) or '-':>4}  {subs:36} {headers.get(h.ERROR_MESSAGE, '')[:70]}")
    delivered = sum(c.get(200, 0) for c in by_path.values())
    refused = sum(1 for hd in dlq if hd.get(h.ERROR_CLASS) in ("permanent", "retryable"))
    lost = sum(expected.values()) - delivered - refused
    print(f"    accounted for: {delivered} delivered + {refused} refused by Voucherify and dead-lettered "
          f"= {delivered + refused} of {sum(expected.values())} expected requests; lost: {lost}")
    if metrics:
        keys = ("voucherify_processor_sent_total", "voucherify_processor_retried_total",
                "voucherify_processor_dead_lettered_total")
        print("    metrics: " + ", ".join(f"{k.removeprefix('voucherify_processor_')}={metrics.get(k, 0):.0f}"
                                          for k in keys))
    print("    try it yourself: .venv/bin/voucherify-processor dry-run --config config/local.yaml examples/events.ndjson")


def _webhooks_summary(control: StubControl, produced: dict[str, str]) -> None:
    back = [r.json for r in control.requests(limit=100_000, path=EVENT_PATH)
            if r.status == 200 and isinstance(r.json, dict) and r.json.get("event") in produced.values()]
    print(f"    webhooks: {len(produced)} Segment track events produced by the receiver "
          f"({', '.join(sorted(produced.values()))}); delivered back to the stub by the processor: "
          f"{len({(b.get('event'), (b.get('customer') or {}).get('source_id')) for b in back})} of {len(produced)}")
    if back:
        first = back[0]
        print(f"      e.g. POST {EVENT_PATH} event={first.get('event')!r} "
              f"customer.source_id={(first.get('customer') or {}).get('source_id')!r}")


def _read(bootstrap: str, topic: str) -> list[dict[str, str]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"demo-reader-{os.getpid()}-{topic}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    out: list[dict[str, str]] = []
    try:
        md = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if md is None or md.error is not None:
            return out
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in md.partitions}
        want = sum(ends.values())
        if want == 0:
            return out
        consumer.assign([TopicPartition(topic, p, 0) for p in md.partitions])
        deadline = time.monotonic() + 10
        while len(out) < want and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                out.append(h.decode_headers(msg.headers()))
    finally:
        consumer.close()
    return out


def _scrape(port: int) -> dict[str, float]:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            base = name.split("{", 1)[0]
            out[base] = out.get(base, 0.0) + float(value)
    return out


def _wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    raise SystemExit(main())
