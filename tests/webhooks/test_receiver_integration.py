"""The receiver over real HTTP against a real broker: signatures, the table, dedupe, broker outages, restarts."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from dev.kafka_local import free_port
from processor.webhooks import signature
from processor.webhooks.kafka_io import EVENT_ID_HEADER, TYPE_HEADER, WEBHOOK_ID_HEADER
from tests.support.kafka_broker import create_topic, unique_topic_name
from tests.support.processor import write_config
from tests.support.webhooks import (
    SECRET,
    ReceiverRun,
    fixture,
    fresh,
    read_topic,
    receiver_config,
    receiver_doc,
    signed,
)
from tests.webhooks.test_translation import EXPECTED

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _headers(msg) -> dict[str, str]:
    return {k: v.decode() for k, v in msg.headers() or ()}


def _metrics(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def test_signature_valid_invalid_missing_and_replayed(kafka_bootstrap, make_topic):
    topic = make_topic()
    with ReceiverRun(receiver_config(kafka_bootstrap, topic), ops_port=free_port()) as run:
        run.wait_ready()
        envelope = fresh(fixture("customer.rewarded"))
        body, headers = signed(envelope)

        forged = run.post(body, {**headers, signature.HEADER: signature.sign(body, b"not-the-secret")})
        assert forged.status_code == 401 and forged.json()["error"] == "invalid_signature"
        tampered = run.post(body + b" ", headers)
        assert tampered.status_code == 401
        missing = run.post(body, {"content-type": "application/json"})
        assert missing.status_code == 401 and missing.json()["error"] == "missing_signature"

        ok = run.post(body, headers)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"status": "produced", "messageId": envelope["event"]["id"], "event": "Customer Rewarded"}
        replayed = run.post(body, headers)
        assert replayed.status_code == 200 and replayed.json()["status"] == "duplicate"

        records = read_topic(kafka_bootstrap, topic, expect=1)
        assert len(records) == 1
        record = records[0]
        assert record.key() == envelope["data"]["customer"]["source_id"].encode()
        # nc17: vp.webhook.id held the event id; the webhook (sendout) id was only in properties.
        assert _headers(record) == {EVENT_ID_HEADER: envelope["event"]["id"], WEBHOOK_ID_HEADER: envelope["id"],
                                    TYPE_HEADER: "customer.rewarded"}
        event = orjson.loads(record.value())
        assert (event["type"], event["event"], event["messageId"]) == ("track", "Customer Rewarded",
                                                                       envelope["event"]["id"])
        text = _metrics(run.service.ops_port)
        assert 'voucherify_webhooks_rejected_total{reason="invalid_signature"} 2.0' in text
        assert 'voucherify_webhooks_rejected_total{reason="missing_signature"} 1.0' in text
        assert 'voucherify_webhooks_produced_total{event="Customer Rewarded"} 1.0' in text
        assert "voucherify_webhooks_duplicates_total 1.0" in text
        assert "voucherify_webhooks_produce_latency_seconds_count 1.0" in text
        for response in (forged, tampered, missing, ok, replayed):
            assert SECRET not in response.text and signature.sign(body, SECRET.encode()) not in response.text
        assert SECRET not in text


def test_every_supported_event_type_reaches_the_topic_as_its_segment_event(kafka_bootstrap, make_topic):
    topic = make_topic()
    sent = {}
    with ReceiverRun(receiver_config(kafka_bootstrap, topic)) as run:
        run.wait_ready()
        for kind in sorted(EXPECTED):
            envelope = fresh(fixture(kind))
            response = run.post(*signed(envelope))
            assert response.status_code == 200 and response.json()["status"] == "produced", (kind, response.text)
            sent[envelope["event"]["id"]] = (kind, envelope)
    records = read_topic(kafka_bootstrap, topic, expect=len(EXPECTED))
    assert len(records) == len(EXPECTED)
    for record in records:
        event = orjson.loads(record.value())
        kind, envelope = sent[event["messageId"]]
        assert event["event"] == EXPECTED[kind]
        assert event["userId"] == envelope["data"]["customer"]["source_id"] == record.key().decode()
        assert event["timestamp"] == envelope["event"]["created_at"]
        assert event["properties"]["voucherify"]["event_type"] == kind


def test_skips_and_bad_bodies(kafka_bootstrap, make_topic):
    topic = make_topic()
    with ReceiverRun(receiver_config(kafka_bootstrap, topic, max_body_bytes=4096, exclude=["voucher.published"]),
                     ops_port=free_port()) as run:
        run.wait_ready()
        no_customer = fresh(fixture("customer.rewarded"))
        del no_customer["data"]["customer"]
        excluded = fresh(fixture("voucher.published"))
        too_old = fresh(fixture("customer.rewarded"), age_s=5 * 24 * 3600)
        answers = {name: run.post(*signed(env)) for name, env in
                   (("no_customer", no_customer), ("excluded", excluded), ("outside_window", too_old))}
        for reason, response in answers.items():
            assert response.status_code == 200 and response.json()["status"] == "skipped", response.text
            assert response.json()["reason"] == reason
        big = orjson.dumps({"pad": "x" * 5000})
        too_large = run.post(big, {signature.HEADER: signature.sign(big, SECRET.encode())})
        assert too_large.status_code == 413 and too_large.json()["error"] == "too_large"
        not_json = b"{not json"
        bad = run.post(not_json, {signature.HEADER: signature.sign(not_json, SECRET.encode())})
        assert bad.status_code == 400 and bad.json() == {"error": "malformed", "message": "body is not JSON"}
        no_data = orjson.dumps({"id": "whs_1", "type": "customer.rewarded", "created_at": "2024-01-01T00:00:00Z",
                                "event": {"id": "ev_1"}})
        bad2 = run.post(no_data, {signature.HEADER: signature.sign(no_data, SECRET.encode())})
        assert bad2.status_code == 400 and "data is missing" in bad2.json()["message"]
        no_event_id = fresh(fixture("customer.rewarded"))
        del no_event_id["event"]["id"]  # nc17: fell back to the sendout id (200 produced, messageId whs_...)
        bad3 = run.post(*signed(no_event_id))
        assert bad3.status_code == 400 and "event.id is missing" in bad3.json()["message"]
        text = _metrics(run.service.ops_port)
        for reason in ("no_customer", "excluded", "outside_window"):
            assert f'voucherify_webhooks_skipped_total{{reason="{reason}"}} 1.0' in text
        assert 'voucherify_webhooks_rejected_total{reason="too_large"} 1.0' in text
        assert 'voucherify_webhooks_rejected_total{reason="malformed"} 3.0' in text
        assert "voucherify_webhooks_received_total 7.0" in text
    assert read_topic(kafka_bootstrap, topic) == []


def test_concurrent_deliveries_of_one_event_produce_it_once(kafka_bootstrap, make_topic):
    topic = make_topic()
    with ReceiverRun(receiver_config(kafka_bootstrap, topic)) as run:
        run.wait_ready()
        body, headers = signed(fresh(fixture("redemption.succeeded")))
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: run.post(body, headers), range(8)))
    assert all(a.status_code == 200 for a in answers)
    assert sorted(a.json()["status"] for a in answers) == ["duplicate"] * 7 + ["produced"]
    assert len(read_topic(kafka_bootstrap, topic, expect=1)) == 1


def test_broker_down_gets_503_and_the_retry_is_produced_once(own_broker):
    bootstrap = own_broker.bootstrap
    topic = create_topic(bootstrap, unique_topic_name("webhooks-outage"), 1)
    ops_port = free_port()
    with ReceiverRun(receiver_config(bootstrap, topic, produce_timeout_s=3), ops_port=ops_port) as run:
        run.wait_ready()
        first = fresh(fixture("customer.redemption.succeeded"))
        assert run.post(*signed(first)).status_code == 200
        assert own_broker.stop()
        envelope = fresh(fixture("customer.publication.succeeded"))
        body, headers = signed(envelope)
        down = run.post(body, headers)
        assert down.status_code == 503 and down.json()["error"] in ("produce_failed", "not_ready"), down.text
        ready = httpx.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=5)
        deadline = time.monotonic() + 10
        while ready.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            ready = httpx.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=5)
        assert ready.status_code == 503 and "Kafka broker does not answer" in ready.json()["reasons"]
        own_broker.start()
        deadline = time.monotonic() + 90
        answer = run.post(body, headers)
        while answer.status_code != 200 and time.monotonic() < deadline:  # Voucherify's retry, compressed
            time.sleep(1)
            answer = run.post(body, headers)
        assert answer.status_code == 200, answer.text
        again = run.post(body, headers)
        assert again.json()["status"] == "duplicate"
    records = read_topic(bootstrap, topic, expect=2)
    ids = [_headers(r)[EVENT_ID_HEADER] for r in records]
    assert sorted(ids) == sorted([first["event"]["id"], envelope["event"]["id"]])


def _start_cli(config: str, log_path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "processor", "webhooks", "--config", config], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=open(log_path, "wb"))


def _wait_ready(ops_port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the receiver exited"
        try:
            if httpx.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("receiver not ready")


def test_a_retry_after_a_receiver_restart_is_produced_once_and_no_secret_is_printed(kafka_bootstrap, make_topic,
                                                                                       tmp_path):
    topic = make_topic()
    port, ops_port = free_port(), free_port()
    doc = receiver_doc(kafka_bootstrap, topic, port=port)
    doc["ops"]["http_port"] = ops_port
    config = write_config(tmp_path / "webhooks.yaml", doc)
    url = f"http://127.0.0.1:{port}/webhooks/voucherify"
    envelope = fresh(fixture("customer.rewarded.loyalty_points"))
    body, headers = signed(envelope)
    outputs = []
    answers = []
    for run in range(2):
        log_path = tmp_path / f"receiver-{run}.log"
        proc = _start_cli(config, log_path)
        try:
            _wait_ready(ops_port, proc)
            answers.append(httpx.post(url, content=body, headers=headers, timeout=30).json())
            forged = httpx.post(url, content=body, headers={signature.HEADER: "f" * 64}, timeout=30)
            assert forged.status_code == 401
            outputs.append(_metrics(ops_port))
        finally:
            proc.send_signal(signal.SIGTERM)
            stdout, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        outputs += [stdout.decode(), log_path.read_text()]
    assert [a["status"] for a in answers] == ["produced", "duplicate"]
    assert len(read_topic(kafka_bootstrap, topic, expect=1)) == 1
    logs = outputs[2] + outputs[5]
    assert "webhook refused: x-voucherify-signature does not match the body" in logs
    assert "dedupe window loaded: 1 record(s)" in outputs[5]
    for text in outputs:
        assert SECRET not in text
    for text in (outputs[2], outputs[5]):  # nc17: raw librdkafka lines (%6|...BGQUEUE, %4|...GETPID) in the JSON log
        raw = [line for line in text.splitlines() if line.startswith("%")]
        assert raw == [], raw[:3]


def test_shutdown_drains_in_flight_deliveries_and_refuses_new_ones(kafka_bootstrap, make_topic):
    topic = make_topic()
    run = ReceiverRun(receiver_config(kafka_bootstrap, topic)).__enter__()
    stopped = False
    try:
        run.wait_ready()
        service = run.service
        real_send = service.sink.send

        async def slow_send(item):  # the broker takes a second to ack
            await asyncio.sleep(1.0)
            return await real_send(item)

        service.sink.send = slow_send  # the receiver holds this very sink
        in_flight = fresh(fixture("customer.rewarded"))
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(run.post, *signed(in_flight))
            deadline = time.monotonic() + 10
            while service.receiver.handling == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            stopping = pool.submit(run.__exit__, None, None, None)
            stopped = True
            while not service.receiver.draining:
                time.sleep(0.01)
            late = run.post(*signed(fresh(fixture("voucher.published"))))
            assert late.status_code == 503 and late.json()["error"] == "not_ready"
            answer = first.result(30)
            stopping.result(30)
        assert answer.status_code == 200 and answer.json()["status"] == "produced"
    finally:
        if not stopped:
            run.__exit__(None, None, None)
    records = read_topic(kafka_bootstrap, topic, expect=1)
    assert [_headers(r)[EVENT_ID_HEADER] for r in records] == [in_flight["event"]["id"]]


def test_partitions_added_to_the_topic_are_followed(kafka_bootstrap, make_topic):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewPartitions

    topic = make_topic()
    with ReceiverRun(receiver_config(kafka_bootstrap, topic)) as run:
        run.wait_ready()
        run.service.reader.metadata_interval_s = 0.2
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})  # kept: a collected client aborts its futures
        admin.create_partitions([NewPartitions(topic, 2)])[topic].result(30)
        envelope = fresh(fixture("voucher.published"))
        # another replica produced this event into the new partition
        producer = Producer({"bootstrap.servers": kafka_bootstrap})
        producer.produce(topic, b"{}", partition=1, headers=[(EVENT_ID_HEADER, envelope["event"]["id"].encode())])
        assert producer.flush(10) == 0
        deadline = time.monotonic() + 30
        while envelope["event"]["id"] not in run.service.seen and time.monotonic() < deadline:
            time.sleep(0.1)
        answer = run.post(*signed(envelope))
    assert answer.json()["status"] == "duplicate"
