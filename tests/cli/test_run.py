"""``run``'s start-up: a SIGHUP before the reload handler is installed must not kill the process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SPY = r"""
import signal, sys
# the premise: a process started with SIGHUP's default action (under nohup, or a CI runner that
# ignores SIGHUP, the inherited SIG_IGN would make every handler look ignored)
signal.signal(signal.SIGHUP, signal.SIG_DFL)
sys.argv = ["voucherify-processor", "run", "--config", "/nonexistent/config.yaml"]
seen = {}

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pydantic", "confluent_kafka", "orjson", "yaml") and name not in seen:
            seen[name] = signal.getsignal(signal.SIGHUP)
        return None

sys.meta_path.insert(0, Spy())
import processor.cli.main
print(len(seen), sorted(name for name, handler in seen.items() if handler is not signal.SIG_IGN))
"""


def test_sighup_is_ignored_before_the_heavy_imports_of_run() -> None:
    """The default SIGHUP action ends the process (exit 129, nothing logged); imports take seconds."""
    out = subprocess.run([sys.executable, "-c", SPY], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    count, not_ignored = out.split(" ", 1)
    assert int(count) > 0 and not_ignored.strip() == "[]", out


def test_other_commands_keep_the_default_sighup() -> None:
    spy = SPY.replace('"run", "--config", "/nonexistent/config.yaml"', '"check-config"')
    out = subprocess.run([sys.executable, "-c", spy], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    count, not_ignored = out.split(" ", 1)
    assert int(count) > 0 and not_ignored.strip() != "[]", out


def test_the_exit_code_of_a_command_whose_member_stopped_on_its_own():
    """The member's code; 128 + N for a signal, as a shell reports it (Popen gave -9, and -9 as an
    exit status became 247); 1 for a member that exited cleanly (stopped from outside)."""
    from processor.cli.run import _exit_code

    assert _exit_code(3) == 3
    assert _exit_code(-9) == 137
    assert _exit_code(-15) == 143
    assert _exit_code(0) == 1


@pytest.mark.parametrize(("kafka", "words"), [
    ({"consumer": {"fetch.queue.backoff.ms": "fast"}},
     'kafka consumer settings (kafka.client, kafka.consumer): Invalid value for configuration property'),
    # valid alone, refused with the producer's forced idempotence: checked with run's own settings
    ({"producer": {"max.in.flight.requests.per.connection": 10}},
     "kafka producer settings (kafka.client, kafka.producer): Failed to create producer: `max.in.flight`"),
    ({"consumer": {"group.protocol": "consumer"}},  # refused with run's partition.assignment.strategy
     "kafka consumer settings (kafka.client, kafka.consumer): Failed to create consumer"),
])
def test_a_kafka_setting_librdkafka_refuses_stops_run_with_exit_2_and_one_line(
        tmp_path: Path, kafka: dict, words: str) -> None:
    """Newcomers' findings: `run` stopped with a traceback and exit 1, then (the check not using
    run's own settings) created its topics before it stopped. Now the settings run builds its
    clients with are checked before anything talks to Kafka (no broker needed to refuse them)."""
    import json

    import yaml

    from tests.cli.conftest import config_document

    doc = config_document("127.0.0.1:1", "refused", kafka=kafka)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "processor", "run", "--config", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "created missing topic" not in result.stderr
    [error] = [json.loads(line) for line in result.stderr.splitlines()
               if line.startswith("{") and json.loads(line)["level"] == "ERROR"]
    assert error["message"].startswith("configuration error: " + words), error
