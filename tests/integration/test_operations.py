"""Operating the processor end to end: replay a time window, re-drive dead letters, scrape metrics.

The CLI commands run as real subprocesses (as an operator would type them) against the real
broker; the processor runs as in production and delivers to the stub over HTTP.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from dev.kafka_local.net import free_port
from dev.stub import StubServer
from processor.app import admin_settings
from processor.config import parse_config
from processor.kafka.admin import admin_client, group_members
from tests.integration.test_engine import EVENT_PATH, track
from tests.support.processor import (
    ProcessorRun,
    committed_offsets,
    end_offsets,
    processor_config_doc,
    produce_events,
    read_topic,
    wait_until,
    write_config,
)

pytestmark = pytest.mark.integration

SUBS = [{"name": "E", "subscribe": 'type = "track"', "action": "addCustomEvent"}]


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processor", *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def delivered_seqs(stub: StubServer) -> list[int]:
    return [r.json["metadata"]["seq"] for r in stub.requests if r.status == 200 and r.path == EVENT_PATH]


def test_replay_to_datetime_redelivers_exactly_that_window(kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=2)
    with StubServer() as stub:
        doc = processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=SUBS)
        cfg = parse_config(doc)
        config_file = write_config(tmp_path / "config.yaml", doc)
        # Two batches a minute apart by their record timestamps (what replay reads), not by waiting.
        now = datetime.now(timezone.utc)
        window_start = now - timedelta(minutes=1)
        produce_events(kafka_bootstrap, source, [track(f"u{i % 5}", i) for i in range(40)],
                       timestamp_ms=int((window_start - timedelta(minutes=1)).timestamp() * 1000))
        produce_events(kafka_bootstrap, source, [track(f"u{i % 5}", i) for i in range(40, 70)],
                       timestamp_ms=int(now.timestamp() * 1000))
        with ProcessorRun(cfg):
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 2)
                       == end_offsets(kafka_bootstrap, source, 2), 60)
        assert sorted(delivered_seqs(stub)) == list(range(70))

        # While a member is active, replay refuses.
        with ProcessorRun(cfg):
            admin = admin_client(admin_settings(cfg))
            wait_until(lambda: group_members(admin, cfg.kafka.group_id) != [], 60, message="never joined the group")
            refused = cli("replay", "--config", config_file, "--to-datetime", window_start.isoformat(), "--yes")
            assert refused.returncode != 0
            assert "active" in (refused.stdout + refused.stderr).lower()

        stub.reset()
        replay = cli("replay", "--config", config_file, "--to-datetime", window_start.isoformat(), "--yes")
        assert replay.returncode == 0, replay.stderr
        assert "30" in replay.stdout  # the plan shows the events to re-process
        with ProcessorRun(cfg):
            wait_until(lambda: len(delivered_seqs(stub)) >= 30, 60)
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 2)
                       == end_offsets(kafka_bootstrap, source, 2), 30)
        assert sorted(delivered_seqs(stub)) == list(range(40, 70))


def test_dlq_redrive_delivers_dead_letters_once_and_is_safe_to_rerun(kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=1)
    with StubServer() as stub:
        stub.configure(script=[{"status": 422, "count": 3, "path": EVENT_PATH}])
        doc = processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=SUBS,
                                   engine={"retry_delays_s": [0.5, 1.0]})
        cfg = parse_config(doc)
        config_file = write_config(tmp_path / "config.yaml", doc)
        produce_events(kafka_bootstrap, source, [track("u1", i) for i in range(10)])
        with ProcessorRun(cfg):
            dlq = read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, expect=3, timeout=30)
            assert len(dlq) == 3
            assert sorted(delivered_seqs(stub)) == list(range(3, 10))

            listed = cli("dlq", "list", "--config", config_file, "--error-class", "permanent")
            assert listed.returncode == 0, listed.stderr
            rows = listed.stdout.splitlines()[1:]
            assert len(rows) == 3 and all(" permanent " in r and " 422 " in r for r in rows)

            first = cli("dlq", "redrive", "--config", config_file)
            assert first.returncode == 0, first.stderr
            wait_until(lambda: len(delivered_seqs(stub)) >= 10, 30, message="re-driven records not delivered")
            second = cli("dlq", "redrive", "--config", config_file)
            assert second.returncode == 0, second.stderr
            # Whatever the second run wrote is consumed and finished before the count below.
            tier = f"{source}.retry.0"
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, tier, 1)
                       == end_offsets(kafka_bootstrap, tier, 1), 30, message="retry tier not consumed to the end")
        assert sorted(delivered_seqs(stub)) == list(range(10))  # each re-driven record exactly once
        assert "3" in first.stdout + first.stderr
        assert len(read_topic(kafka_bootstrap, f"{source}.retry.0", expect=3, timeout=5)) == 3


def test_metrics_endpoint_shows_the_counters_moving(kafka_bootstrap, make_topic):
    source = make_topic(partitions=1)
    port = free_port()
    with StubServer() as stub:
        cfg = parse_config(processor_config_doc(kafka_bootstrap, stub.url, source, subscriptions=SUBS, ops_port=port))

        def scrape() -> dict[str, float]:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
            out: dict[str, float] = {}
            for line in text.splitlines():
                if line and not line.startswith("#"):
                    name, _, value = line.rpartition(" ")
                    out[name] = float(value)
            return out

        def ready() -> int:
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5).status
            except urllib.error.HTTPError as exc:
                return exc.code

        with ProcessorRun(cfg):
            wait_until(lambda: _answers(port), 30)
            wait_until(lambda: ready() == 200, 30, message="never ready")
            before = scrape()
            produce_events(kafka_bootstrap, source, [track("u", i) for i in range(25)])
            wait_until(lambda: stub.count >= 25, 30)
            wait_until(lambda: scrape().get('voucherify_processor_sent_total{action="addCustomEvent"}', 0) >= 25, 10)
            committed = f'voucherify_processor_committed_offset{{partition="0",topic="{source}"}}'
            wait_until(lambda: scrape().get(committed, 0) == 25, 15, message="offsets never committed")
            after = scrape()  # idle now: every gauge must say so at this very scrape (issue 12 item 1)
        assert before.get('voucherify_processor_sent_total{action="addCustomEvent"}', 0) == 0
        assert after[f'voucherify_processor_consumed_total{{topic="{source}"}}'] == 25
        assert after['voucherify_processor_triggered_total{action="addCustomEvent"}'] == 25
        assert after['voucherify_processor_http_latency_seconds_count{action="addCustomEvent"}'] == 25
        assert after["voucherify_processor_assigned_partitions"] >= 1
        assert after["voucherify_processor_circuit_open"] == 0
        assert after["voucherify_processor_in_flight"] == 0


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
        return True
    except OSError:
        return False
