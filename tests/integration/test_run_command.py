"""``voucherify-processor run`` as an operator starts it: a real child process, the real broker,
the stub over HTTP. What it does on signals, on start-up failures, and what it prints."""

from __future__ import annotations

import signal

import pytest

from dev.stub import StubServer
from tests.integration.test_engine import EVENT_PATH, track
from tests.support.processor import committed_offsets, end_offsets, produce_events, wait_until
from tests.support.reliability import ProcessorProcess, subprocess_config, write_config

pytestmark = pytest.mark.integration

SUBS = [{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}]


def test_sighup_loses_no_work_and_says_so(kafka_bootstrap, make_topic, tmp_path):
    """Issue 12 item 10: SIGHUP used to kill the processor with no drain and no log line. Now it
    reloads the configuration (issue 15): said in the log, and no work is lost."""
    source = make_topic(partitions=1)
    with StubServer() as stub:
        doc = subprocess_config(kafka_bootstrap, stub.url, source, subscriptions=SUBS)
        config = write_config(tmp_path / "config.yaml", doc)
        proc = ProcessorProcess(config, tmp_path / "processor.log").start()
        try:
            proc.wait_for_log(r"partitions assigned", 60)
            produce_events(kafka_bootstrap, source, [track("u", i) for i in range(20)])
            proc.proc.send_signal(signal.SIGHUP)
            proc.wait_for_log(r"SIGHUP: reloading the configuration", 30)
            wait_until(lambda: sum(1 for r in stub.requests if r.path == EVENT_PATH and r.status == 200) >= 20, 60,
                       message="events after SIGHUP were not delivered")
            assert proc.alive
            wait_until(lambda: committed_offsets(kafka_bootstrap, doc["kafka"]["group_id"], source, 1)
                       == end_offsets(kafka_bootstrap, source, 1), 30, message="offsets not committed")
            assert proc.terminate() == 0
        finally:
            proc.ensure_stopped()


def _run(config, *, timeout: float = 90, env: dict[str, str] | None = None):
    import os
    import subprocess
    import sys

    from tests.support.reliability import REPO

    return subprocess.run([sys.executable, "-m", "processor", "run", "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env={**os.environ, **(env or {})})


def test_broker_unreachable_at_start_is_one_json_line_and_exit_4(tmp_path):
    """Issue 12 item 2: ~200 raw librdkafka lines and a traceback, exit 1, broke log_format json."""
    import orjson

    from dev.kafka_local.net import free_port

    doc = subprocess_config(f"127.0.0.1:{free_port()}", "http://127.0.0.1:9", "nowhere", subscriptions=SUBS,
                            ops={"log_format": "json"})
    result = _run(write_config(tmp_path / "config.yaml", doc))
    lines = result.stderr.splitlines()
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    records = [orjson.loads(line) for line in lines]  # every line is one JSON object
    errors = [r for r in records if r["level"] == "ERROR"]
    assert len(errors) == 1 and "Kafka unreachable at 127.0.0.1:" in errors[0]["message"], records
    assert len(lines) <= 10, result.stderr


def test_a_configuration_error_is_reported_once(tmp_path):
    """Issue 12 item 11: a bad trigger was both logged and printed."""
    bad = [{"name": "S", "subscribe": 'type = "track', "action": "addCustomEvent"}]
    doc = subprocess_config("127.0.0.1:1", "http://127.0.0.1:9", "nowhere", subscriptions=bad)
    result = _run(write_config(tmp_path / "config.yaml", doc))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("subscriptions[0] 'S' subscribe") == 1, result.stderr


def test_missing_retry_and_dead_letter_topics_get_the_topics_create_partitions(kafka_bootstrap, tmp_path):
    """Issue 12 item 11: run created them with 1 partition while topics create used 6."""
    from confluent_kafka.admin import AdminClient

    from processor.app import admin_settings, ensure_internal_topics, topic_settings
    from processor.config import parse_config
    from processor.kafka.admin import DEFAULT_PARTITIONS
    from tests.support.kafka_broker import delete_topics, unique_topic_name

    source = unique_topic_name("absent-source")  # not created: the partition count has no source to follow
    cfg = parse_config(subprocess_config(kafka_bootstrap, "http://127.0.0.1:9", source))
    internal = [f"{source}.retry.{i}" for i in range(3)] + [f"{source}.dlq"]
    try:
        ensure_internal_topics(admin_settings(cfg), topic_settings(cfg))
        admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
        wait_until(lambda: set(internal) <= set(admin.list_topics(timeout=5).topics), 30)
        topics = admin.list_topics(timeout=5).topics
        assert {name: len(topics[name].partitions) for name in internal} == dict.fromkeys(internal, DEFAULT_PARTITIONS)
        assert source not in topics
    finally:
        delete_topics(kafka_bootstrap, internal)


@pytest.mark.reliability
def test_broker_down_mid_run_is_logged_once_per_kind_as_json(own_broker, tmp_path):
    """Issue 12 item 2: with the broker gone, every librdkafka error came out raw (not JSON) and
    again as a WARNING, ~40 lines a second. Now: JSON lines, repeats held back."""
    import time

    import orjson

    from tests.support.kafka_broker import create_topic

    bootstrap = own_broker.bootstrap
    source = "down-mid-run"
    create_topic(bootstrap, source, 1)
    with StubServer() as stub:
        doc = subprocess_config(bootstrap, stub.url, source, subscriptions=SUBS, ops={"log_format": "json"})
        proc = ProcessorProcess(write_config(tmp_path / "config.yaml", doc), tmp_path / "processor.log").start()
        try:
            proc.wait_for_log(r"partitions assigned", 60)
            before = len(proc.log_text().splitlines())
            assert own_broker.stop()
            time.sleep(15)  # librdkafka retries every ~0.1-1 s per connection meanwhile
            during = proc.log_text().splitlines()[before:]
            own_broker.start()
            produce_events(bootstrap, source, [track("u", i) for i in range(5)])
            wait_until(lambda: sum(1 for r in stub.requests if r.path == EVENT_PATH) >= 5, 120,
                       message="nothing delivered after the broker came back")
            assert proc.terminate() == 0
        finally:
            proc.ensure_stopped()
    records = [orjson.loads(line) for line in proc.log_text().splitlines()]  # every line is one JSON object
    kafka_lines = [line for line in during if '"logger":"librdkafka"' in line]
    assert kafka_lines, "the outage was not logged at all"
    assert len(during) <= 40, "\n".join(during)
    messages = [orjson.loads(line)["message"] for line in during]
    assert len(messages) == len(set(messages)), "a line was logged twice"
    assert all(r["level"] != "CRITICAL" for r in records)
