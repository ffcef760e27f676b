"""``dry-run``: one output line per input line, Segment's outcomes, no secrets, config errors exit 2."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import orjson
import pytest

from processor.cli import dry_run

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "app-id-0123-secret-ish"
SECRET = "sk_dry_run_very_secret"

TRACK = {"type": "track", "event": "Order Completed", "userId": "u1", "properties": {"email": "a@b.c", "metadata": {"x": 1}}}
IDENTIFY_NO_USER = {"type": "identify", "traits": {"email": "x@y.z"}}
ALIAS = {"type": "alias", "userId": "u1", "previousId": "u0"}


def write_config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        "destination:\n"
        f"  application_id: {APP_ID}\n"
        f"  secret_key: {SECRET}\n"
        "  custom_url: https://us1.segmentio.voucherify.io\n"
        "kafka:\n"
        "  bootstrap_servers: nowhere.invalid:9092\n" + extra,
        encoding="utf-8",
    )
    return path


def events_bytes(*lines: object) -> bytes:
    out = []
    for line in lines:
        out.append(line if isinstance(line, str) else orjson.dumps(line).decode())
    return ("\n".join(out) + "\n").encode()


def run_in_process(config: Path, data: bytes) -> tuple[int, list[dict]]:
    stdout = io.BytesIO()
    code = dry_run.run(Namespace(config=str(config), events="-"), stdin=io.BytesIO(data), stdout=stdout)
    return code, [orjson.loads(line) for line in stdout.getvalue().splitlines()]


def run_cli(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("VP__", "VOUCHERIFY_"))}
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "processor", "dry-run", *args], input=stdin, capture_output=True, env=full_env, timeout=60
    )


def test_outcomes_in_input_order(tmp_path: Path) -> None:
    code, out = run_in_process(write_config(tmp_path), events_bytes(TRACK, "", "[1, 2]", "not json", IDENTIFY_NO_USER, ALIAS))
    assert code == 8  # an undecodable line and a rejection: run would dead-letter them
    assert [o["line"] for o in out] == [1, 3, 4, 5, 6]  # the blank line 2 gives no output
    send = out[0]["results"]
    assert send == [
        {
            "subscription": "Add Custom Event (Track Event)",
            "action": "addCustomEvent",
            "outcome": "send",
            "request": {
                "method": "POST",
                "url": "https://us1.segmentio.voucherify.io/segmentio/event-processing",
                "json": {
                    "customer": {"source_id": "u1", "email": "a@b.c"},
                    "referral": {},
                    "loyalty": {},
                    "metadata": {"x": 1},
                    "event": "Order Completed",
                    "type": "track",
                },
            },
        }
    ]
    assert out[1] == {"line": 3, "outcome": "dead-letter", "error_class": "decode", "error": "expected a JSON object, got an array"}
    assert out[2]["line"] == 4 and out[2]["error"].startswith("invalid JSON")
    assert out[3]["results"] == [
        {
            "subscription": "Create Or Update Customer",
            "action": "upsertCustomer",
            "outcome": "invalid",
            "error": "The root value is missing the required field 'source_id'.",
        }
    ]
    assert out[4] == {"line": 6, "results": []}  # alias triggers no preset


def test_configured_subscriptions_and_disabled_ones(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        "subscriptions:\n"
        "  - name: Big orders\n"
        "    subscribe: type = \"track\" and properties.total > 100\n"
        "    action: addCustomEvent\n"
        "    mapping:\n"
        "      customer: {source_id: {'@path': '$.userId'}}\n"
        "      event: big order\n"
        "      type: {'@path': '$.type'}\n"
        "  - name: Disabled one\n"
        "    subscribe: type = \"track\"\n"
        "    action: addCustomEvent\n"
        "    enabled: false\n",
    )
    code, out = run_in_process(config, events_bytes({**TRACK, "properties": {"total": 150}}, {**TRACK, "properties": {"total": 5}}))
    assert code == 0
    assert out[0]["results"][0]["request"]["json"] == {"customer": {"source_id": "u1"}, "event": "big order", "type": "track"}
    assert out[1]["results"] == []


def test_no_secrets_in_output(tmp_path: Path) -> None:
    proc = run_cli("--config", str(write_config(tmp_path)), stdin=events_bytes(TRACK, IDENTIFY_NO_USER))
    assert proc.returncode == 8, proc.stderr  # the identify without a user is rejected
    everything = proc.stdout + proc.stderr
    for secret in (APP_ID, SECRET):
        assert secret.encode() not in everything
        assert base64.b64encode(secret.encode()) not in everything


def test_credentials_in_custom_url_are_masked(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "destination: {application_id: a, secret_key: b, custom_url: 'https://user:pw@eu.segmentio.voucherify.io'}\n"
    )
    code, out = run_in_process(config, events_bytes(TRACK))
    assert code == 0
    assert out[0]["results"][0]["request"]["url"] == "https://***@eu.segmentio.voucherify.io/segmentio/event-processing"


def test_end_to_end_file_argument(tmp_path: Path) -> None:
    events = tmp_path / "events.ndjson"
    events.write_bytes(events_bytes(TRACK, ALIAS))
    proc = run_cli("--config", str(write_config(tmp_path)), str(events))
    assert proc.returncode == 0, proc.stderr
    lines = [orjson.loads(x) for x in proc.stdout.splitlines()]
    assert [x["line"] for x in lines] == [1, 2]
    assert lines[0]["results"][0]["outcome"] == "send"


def test_environment_overrides_apply(tmp_path: Path) -> None:
    proc = run_cli(
        "--config", str(write_config(tmp_path)),
        stdin=events_bytes(TRACK),
        env={"VP__DESTINATION__CUSTOM_URL": "https://eu1.segmentio.voucherify.io"},
    )
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout)["results"][0]["request"]["url"].startswith("https://eu1.segmentio.voucherify.io/")


@pytest.mark.parametrize(
    ("destination", "subscriptions", "expected"),
    [
        ("{application_id: a, secret_key: [k1, k2], custom_url: 'https://x.voucherify.io'}", "", "destination.secret_key"),
        ("{application_id: a, secret_key: '', custom_url: 'https://x.voucherify.io'}", "", "The request is missing Application ID or Secret Key."),
        ("{application_id: a, secret_key: b, custom_url: 'x.voucherify.io'}", "", "destination.custom_url"),
        ("{application_id: a, secret_key: b}", "", "destination.custom_url"),
        (
            "{application_id: a, secret_key: b, custom_url: 'https://x.voucherify.io'}",
            "subscriptions:\n  - {name: ok, subscribe: 'type = \"track\"', action: addCustomEvent}\n"
            "  - {name: Big orders, subscribe: 'type = \"track\"', action: addCustomEvent, mapping: {event: {'@path': 3}}}\n",
            "subscriptions[1] 'Big orders' mapping /event/@path",
        ),
        (
            "{application_id: a, secret_key: b, custom_url: 'https://x.voucherify.io'}",
            "subscriptions:\n  - {name: Bad trigger, subscribe: 'type', action: addCustomEvent}\n",
            "subscriptions[0] 'Bad trigger' subscribe",
        ),
    ],
)
def test_config_errors_exit_2_naming_the_field(tmp_path: Path, destination: str, subscriptions: str, expected: str) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(f"destination: {destination}\n{subscriptions}")
    proc = run_cli("--config", str(config), stdin=events_bytes(TRACK))
    assert proc.returncode == 2
    assert proc.stdout == b""
    assert expected in proc.stderr.decode(), proc.stderr.decode()


def test_other_sections_are_not_validated(tmp_path: Path) -> None:
    config = write_config(tmp_path, "engine: {max_in_flight: -5}\n")
    code, out = run_in_process(config, events_bytes(TRACK))
    assert code == 0 and out[0]["results"]


def test_unreadable_events_file(tmp_path: Path) -> None:
    proc = run_cli("--config", str(write_config(tmp_path)), str(tmp_path / "missing.ndjson"))
    assert proc.returncode == 1
    assert b"cannot read" in proc.stderr


# -- issue 12 item 7: one decision path with run, exit codes, summary, no secrets needed ----------

def test_a_line_run_dead_letters_is_undecodable_here_too(tmp_path: Path) -> None:
    """``{"userId":"u"}`` gave ``{"results":[]}`` here while run dead-lettered it as missing 'type'."""
    from processor.kafka.decoders import DecodeError, JsonDecoder

    lines = ['{"userId":"u"}', '{"type":"purchase"}', '{"type":7}', "null", '"text"', "{", '{"type":"track"} x']
    code, out = run_in_process(write_config(tmp_path), events_bytes(*lines))
    assert code == 8
    for line, result in zip(lines, out):
        with pytest.raises(DecodeError) as info:
            JsonDecoder().decode(line.encode(), "segment-events")  # what run's consumer does with it
        assert result["outcome"] == "dead-letter" and result["error_class"] == "decode"
        assert result["error"] == info.value.reason
    assert out[0]["error"] == "missing 'type'"


def test_oversized_line_is_undecodable_as_in_run(tmp_path: Path) -> None:
    config = write_config(tmp_path, "input: {max_value_bytes: 50}\n")
    code, out = run_in_process(config, events_bytes({**TRACK, "properties": {"pad": "x" * 100}}))
    assert code == 8 and out[0]["error"].startswith("value of ") and "exceeds max_value_bytes (50)" in out[0]["error"]


def test_exit_codes_and_closing_summary(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    clean = run_cli("--config", config, stdin=events_bytes(TRACK, ALIAS))
    assert clean.returncode == 0, clean.stderr
    assert clean.stderr.decode().splitlines()[-1] == (
        "dry-run: 2 line(s): 1 request(s), 0 rejection(s), 0 undecodable, 1 triggered nothing")
    rejected = run_cli("--config", config, stdin=events_bytes(TRACK, IDENTIFY_NO_USER))
    assert rejected.returncode == 8
    assert rejected.stderr.decode().splitlines()[-1] == (
        "dry-run: 2 line(s): 1 request(s), 1 rejection(s), 0 undecodable, 0 triggered nothing")
    undecodable = run_cli("--config", config, stdin=events_bytes(TRACK, "not json", ""))
    assert undecodable.returncode == 8
    assert undecodable.stderr.decode().splitlines()[-1] == (
        "dry-run: 2 line(s): 1 request(s), 0 rejection(s), 1 undecodable, 0 triggered nothing")


def test_no_secrets_needed(tmp_path: Path) -> None:
    for destination in ("{custom_url: 'https://us1.segmentio.voucherify.io'}",
                        "{custom_url: 'https://us1.segmentio.voucherify.io', application_id_file: /nonexistent/app-id,"
                        " secret_key_file: /nonexistent/secret}"):
        config = tmp_path / "c.yaml"
        config.write_text(f"destination: {destination}\n")
        proc = run_cli("--config", str(config), stdin=events_bytes(TRACK))
        assert proc.returncode == 0, proc.stderr
        assert orjson.loads(proc.stdout)["results"][0]["outcome"] == "send"


@pytest.mark.integration
def test_dry_run_and_run_decide_the_same_for_every_line(kafka_bootstrap, make_topic, tmp_path: Path) -> None:
    """The same lines through run (real broker, stub over HTTP) and dry-run: same requests, same
    dead letters (decode and validation), line for line."""
    from dev.stub import StubServer
    from tests.support.processor import (
        ProcessorRun, committed_offsets, end_offsets, processor_config, produce_events, read_topic, wait_until,
    )

    lines = [orjson.dumps(TRACK), b'{"userId":"u"}', b"[1]", b"not json", orjson.dumps(IDENTIFY_NO_USER),
             orjson.dumps(ALIAS), orjson.dumps({**TRACK, "userId": "u2"}), b'{"type":"purchase","userId":"u"}']
    code, out = run_in_process(write_config(tmp_path), b"\n".join(lines) + b"\n")
    assert code == 8
    source = make_topic(partitions=1)
    with StubServer(application_id=APP_ID, secret_key=SECRET) as stub:
        cfg = processor_config(kafka_bootstrap, stub.url, source, application_id=APP_ID, secret_key=SECRET)
        produce_events(kafka_bootstrap, source, lines)
        with ProcessorRun(cfg):
            wait_until(lambda: committed_offsets(kafka_bootstrap, cfg.kafka.group_id, source, 1)
                       == end_offsets(kafka_bootstrap, source, 1), 60, message="not all committed")
        dead = read_topic(kafka_bootstrap, cfg.kafka.dead_letter_topic, expect=5, timeout=20)
        sent = [orjson.loads(r.body) for r in stub.requests if r.path != "/segmentio/test-authentication"]
    by_value = {r["value"]: r["headers"]["vp.error.class"] for r in dead}
    expected_dead: dict[bytes, str] = {}
    expected_sent = []
    for line, result in zip(lines, out):
        if result.get("outcome") == "dead-letter":
            expected_dead[line] = "decode"
        for planned in result.get("results", []):
            if planned["outcome"] == "invalid":
                expected_dead[line] = "validation"
            else:
                expected_sent.append(planned["request"]["json"])
    assert by_value == expected_dead
    assert sorted(map(orjson.dumps, sent)) == sorted(map(orjson.dumps, expected_sent))
