"""Issue 12: with no broker listening, ``dlq list|redrive`` printed ~190 raw librdkafka lines and
``Kafka: KafkaError{...}``; ``replay --dry-run`` a ``concurrent.futures`` traceback with exit 1.
Each must print the one line ``run`` prints (JSON in json mode) and exit 4."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson
import pytest

from dev.kafka_local.net import free_port
from tests.cli.conftest import WriteConfig
from tests.support.reliability import REPO


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processor", *argv, "--timeout", "2"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=dict(os.environ))


def _assert_one_json_line_exit_4(result: subprocess.CompletedProcess[str], port: int) -> None:
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr and "FAIL" not in result.stderr and "%3|" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    records = [orjson.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) == 1, result.stderr
    assert records[0]["level"] == "ERROR" and f"Kafka unreachable at 127.0.0.1:{port}" in records[0]["message"]


@pytest.mark.parametrize("action", ["list", "redrive"])
def test_dlq_with_no_broker_is_one_json_line_and_exit_4(write_config: WriteConfig, action: str) -> None:
    port = free_port()
    config = write_config(f"127.0.0.1:{port}", "nowhere", ops={"log_format": "json"})
    _assert_one_json_line_exit_4(_run("dlq", action, "--config", str(config)), port)


def test_replay_dry_run_with_no_broker_is_one_json_line_and_exit_4(write_config: WriteConfig) -> None:
    port = free_port()
    config = write_config(f"127.0.0.1:{port}", "nowhere", ops={"log_format": "json"})
    result = _run("replay", "--to-earliest", "--dry-run", "--config", str(config))
    _assert_one_json_line_exit_4(result, port)
    assert result.stdout == ""
