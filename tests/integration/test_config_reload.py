"""Configuration reload on a real broker with the stub over HTTP (issue 15).

The processor runs as ``python -m processor run`` (a real process, real signals). Each event
triggers two subscriptions whose bodies carry a version marker and the event's tag, so every
request the stub recorded says which event it delivers and which configuration planned it.
"""

from __future__ import annotations

import random
import signal
import socket
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dev.processes import ProcessorProcess
from dev.sample_events import CUSTOMER_PATH, EVENT_PATH, make_event
from dev.stub import StubServer
from processor.engine import headers as h
from tests.support.processor import processor_config_doc, produce_events, read_topic, wait_until, write_config

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def subscriptions(version: str, *, with_customer: bool = True) -> list[dict[str, Any]]:
    """Two subscriptions per track event; both bodies say ``version`` and carry the event's tag."""
    subs = [{
        "name": "Orders", "subscribe": 'type = "track"', "action": "addCustomEvent",
        "mapping": {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@template": f"{version} {{{{event}}}}"},
                    "metadata": {"@path": "$.properties.metadata"}, "type": {"@path": "$.type"}},
    }]
    if with_customer:
        subs.append({
            "name": "Customers", "subscribe": 'type = "track"', "action": "upsertCustomer",
            "mapping": {"source_id": {"@path": "$.userId"}, "description": version,
                        "metadata": {"@path": "$.properties.metadata"}, "type": {"@path": "$.type"}},
        })
    return subs


def track_events(n: int, users: int, start: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(start)
    seqs: dict[str, int] = defaultdict(int)
    out = []
    for i in range(start, start + n):
        user = f"user-{rng.randrange(users)}"
        out.append(make_event(rng, "track", i, user, {"i": i, "seq": seqs[user]}))
        seqs[user] += 1
    return out


def version_of(request: Any) -> str:
    body = request.json
    return body["event"].split(" ", 1)[0] if request.path == EVENT_PATH else body["description"]


class Scrape:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def metric(self, name: str) -> dict[str, float]:
        text = httpx.get(f"{self.base}/metrics", timeout=10).text
        return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
                if line.startswith(f"voucherify_processor_{name}")}

    def ready(self) -> dict[str, Any]:
        return httpx.get(f"{self.base}/readyz", timeout=10).json()


def start(tmp_path: Path, doc: dict[str, Any], **kw: Any) -> tuple[Path, ProcessorProcess]:
    config = Path(write_config(tmp_path / "config.yaml", doc))
    proc = ProcessorProcess(config, tmp_path / "processor.log", **kw).start()
    proc.wait_for_log(r"consuming ", 60)
    return config, proc


def test_mapping_changed_mid_stream_every_event_is_old_or_new_never_mixed_none_lost(kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=3)
    port = free_port()
    first, second = track_events(1500, users=40), track_events(1500, users=40, start=1500)
    with StubServer(latency_ms=5) as stub:
        doc = processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=subscriptions("v1"), ops_port=port)
        config, proc = start(tmp_path, doc)
        scrape = Scrape(port)
        try:
            wait_until(lambda: scrape.ready().get("config", {}).get("generation") == 1, 30, message="readyz config")
            first_hash = scrape.ready()["config"]["hash"]
            produce_events(kafka_bootstrap, source, first)
            wait_until(lambda: stub.count >= 400, 60, message="stream did not start")
            write_config(config, {**doc, "subscriptions": subscriptions("v2")})
            proc.proc.send_signal(signal.SIGHUP)  # while the first batch is being delivered
            produce_events(kafka_bootstrap, source, second)
            proc.wait_for_log(r"configuration reloaded: generation 1 -> 2", 60)

            config.write_text("subscriptions: [ {name: broken", encoding="utf-8")  # an invalid file...
            proc.proc.send_signal(signal.SIGHUP)
            proc.wait_for_log(r"configuration reload refused, still running generation 2", 60)
            assert proc.alive  # ...keeps the processor running on generation 2

            try:
                wait_until(lambda: stub.count >= 2 * 3000, 120)
            except AssertionError:
                raise AssertionError(
                    f"not every event delivered: {stub.count} of 6000 requests; stub {stub.stats()}; "
                    f"{scrape.metric('consumed_total')} {scrape.metric('dead_lettered_total')} "
                    f"{scrape.metric('in_flight')} {scrape.metric('triggered_total')}\n{proc.log_tail(8)}") from None
            ready = scrape.ready()
            reloads = scrape.metric("config_reloads_total")
            generation = scrape.metric("config_generation")
        finally:
            proc.terminate()
        requests = [r for r in stub.requests if r.path in (EVENT_PATH, CUSTOMER_PATH)]

    by_event: dict[int, list[Any]] = defaultdict(list)
    for r in requests:
        by_event[r.json["metadata"]["i"]].append(r)
    assert sorted(by_event) == list(range(3000)), "an event was lost"
    versions: dict[int, str] = {}
    for i, rs in by_event.items():
        assert {r.path for r in rs} == {EVENT_PATH, CUSTOMER_PATH}, f"event {i}: a subscription's request is missing"
        seen = {version_of(r) for r in rs}
        assert len(seen) == 1, f"event {i} was planned with two configurations: {seen}"
        versions[i] = seen.pop()
    assert versions[0] == "v1" and versions[2999] == "v2"
    # per user, in production order: old bodies, then new ones, never back (the swap is a point in time)
    by_user: dict[str, list[str]] = defaultdict(list)
    for ev in first + second:  # production order
        by_user[ev["userId"]].append(versions[ev["properties"]["metadata"]["i"]])
    for user, order in by_user.items():
        assert order == sorted(order), f"{user}: a v1 body after a v2 body: {order}"
    assert ready["config"]["generation"] == 2 and ready["config"]["hash"] != first_hash
    assert reloads['voucherify_processor_config_reloads_total{result="applied"}'] == 1
    assert reloads['voucherify_processor_config_reloads_total{result="invalid"}'] == 1
    assert generation == {f'voucherify_processor_config_generation{{hash="{ready["config"]["hash"]}"}}': 2.0}
    log = proc.log_text()
    assert f"hash {ready['config']['hash']}" in log and f"hash {first_hash}" in log


def test_retries_of_a_removed_subscription_are_dead_lettered_with_the_reason(kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=1)
    port = free_port()
    events = track_events(20, users=5)
    with StubServer() as stub:
        # Customers fails (503) long enough for every event's Customers delivery to reach the retry tier
        stub.configure(script=[{"status": 503, "count": 10_000, "path": CUSTOMER_PATH}])
        doc = processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=subscriptions("v1"), ops_port=port,
                                   engine={"retry_delays_s": [4.0, 4.0], "quick_retries": 0})
        config, proc = start(tmp_path, doc)
        try:
            produce_events(kafka_bootstrap, source, events)
            read_topic(kafka_bootstrap, f"{source}.retry.0", expect=20, timeout=60)
            write_config(config, {**doc, "subscriptions": subscriptions("v1", with_customer=False)})
            proc.proc.send_signal(signal.SIGHUP)
            proc.wait_for_log(r"configuration reloaded: generation 1 -> 2", 30)
            stub.reset()  # Customers would succeed now: nothing must reach it
            dead = read_topic(kafka_bootstrap, f"{source}.dlq", expect=20, timeout=60)
            gone = Scrape(port).metric("retry_subscription_gone_total")
        finally:
            proc.terminate()
        customer_after_reload = [r for r in stub.requests if r.path == CUSTOMER_PATH]

    assert len(dead) == 20
    for record in dead:
        hd = record["headers"]
        assert hd[h.ERROR_CLASS] == "config"
        assert hd[h.SUBSCRIPTIONS] == '["Customers"]'
        assert hd[h.ERROR_MESSAGE].startswith("subscription 'Customers' was removed by a configuration reload (generation 2")
    assert sorted(orjson.loads(r["value"])["properties"]["metadata"]["i"] for r in dead) == list(range(20))
    assert customer_after_reload == []
    assert gone == {'voucherify_processor_retry_subscription_gone_total{reason="removed"}': 20.0}
    assert "subscription 'Customers' was removed by a configuration reload" in proc.log_text()


def test_processes_forwards_sighup_to_every_member(kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=2)
    with StubServer() as stub:
        port = free_port()  # members get port and port + 1
        doc = processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=subscriptions("v1"), ops_port=port)
        config, proc = start(tmp_path, doc, processes=2)
        try:
            wait_until(lambda: proc.log_text().count("consuming ") >= 2, 60, message="both members started")
            members = [Scrape(port), Scrape(port + 1)]
            wait_until(lambda: all(m.ready().get("config", {}).get("generation") == 1 for m in members), 30,
                       message="readyz config of both members")
            hashes = {m.ready()["config"]["hash"] for m in members}
            assert len(hashes) == 1, hashes  # same file, same hash, whatever each member's ops port
            write_config(config, {**doc, "subscriptions": subscriptions("v2")})
            proc.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: proc.log_text().count("configuration reloaded: generation 1 -> 2") >= 2, 60,
                       message="not every member reloaded")
            reloaded = [line for line in proc.log_text().splitlines() if "configuration reloaded: generation 1 -> 2" in line]
            assert any("member 1/2" in line for line in reloaded) and any("member 2/2" in line for line in reloaded)
            assert proc.alive  # SIGHUP does not stop the parent either
        finally:
            assert proc.terminate() == 0


def test_an_empty_file_on_reload_keeps_the_running_generation(kafka_bootstrap, make_topic, tmp_path):
    """A truncated save (empty file) must not switch the processor to Segment's presets."""
    source = make_topic(partitions=1)
    port = free_port()
    with StubServer() as stub:
        doc = processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=subscriptions("v1"), ops_port=port)
        config, proc = start(tmp_path, doc)
        scrape = Scrape(port)
        try:
            wait_until(lambda: scrape.ready().get("config", {}).get("generation") == 1, 30, message="readyz config")
            assert scrape.metric("config_reloads_total") == {  # every series from start
                f'voucherify_processor_config_reloads_total{{result="{r}"}}': 0.0
                for r in ("applied", "partial", "refused", "unchanged", "invalid")}
            config.write_text("   \n# truncated\n", encoding="utf-8")
            proc.proc.send_signal(signal.SIGHUP)
            proc.wait_for_log(r"empty configuration file; keeping generation 1", 30)
            assert proc.alive
            assert scrape.ready()["config"]["generation"] == 1
            reloads = scrape.metric("config_reloads_total")
        finally:
            proc.terminate()
    assert reloads['voucherify_processor_config_reloads_total{result="invalid"}'] == 1.0
    assert reloads['voucherify_processor_config_reloads_total{result="partial"}'] == 0.0
    assert "changed: subscriptions" not in proc.log_text()
