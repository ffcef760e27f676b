"""``check-config`` against a real broker and the Voucherify stub: each exit code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dev.stub import StubServer
from processor.cli.main import main
from tests.cli.conftest import WriteConfig

pytestmark = pytest.mark.integration

APP_ID, SECRET = "demo-app-id", "demo-secret-key"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubServer]:
    with StubServer(application_id=APP_ID, secret_key=SECRET) as server:
        yield server


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check-config", "--config", str(path), "--timeout", "3"])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert SECRET not in out and APP_ID not in out
    return code, out


@pytest.fixture
def with_topics(kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, cleanup_topics: None) -> None:
    path = write_config(kafka_bootstrap, topic_base)
    assert main(["topics", "create", "--config", str(path), "--partitions", "1", "--replication-factor", "1"]) == 0


def test_ok(
    stub: StubServer, kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, with_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": stub.url})
    code, out = _check(path, capsys)
    assert code == 0, out
    assert "credentials accepted" in out


def test_invalid_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("destination: {custom_url: x, application_id: a, secret_key: b}\nengine: {max_in_flight: 0}\n")
    code, out = _check(path, capsys)
    assert code == 2 and "engine.max_in_flight" in out


def test_bad_trigger_exits_2(tmp_path: Path, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("processor.voucherify.destination")
    path = write_config("127.0.0.1:1", "t")
    path.write_text(path.read_text() + "subscriptions:\n  - {name: s, subscribe: 'type = \"track', action: addCustomEvent}\n")
    code, out = _check(path, capsys)
    assert code == 2, out


def test_wrong_secret_exits_3(
    stub: StubServer, kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, with_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": stub.url, "secret_key": "wrong-secret-key"})
    code, out = _check(path, capsys)
    assert code == 3 and "rejected" in out
    assert "wrong-secret-key" not in out


def test_unreachable_voucherify_exits_3(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, with_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": "http://127.0.0.1:9"})
    code, out = _check(path, capsys)
    assert code == 3 and "cannot verify" in out


def test_kafka_unreachable_exits_4(stub: StubServer, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("127.0.0.1:1", "nowhere", destination={"custom_url": stub.url})
    code, out = _check(path, capsys)
    assert code == 4 and "unreachable" in out


def test_topics_missing_exits_5(
    stub: StubServer, kafka_bootstrap: str, topic_base: str, write_config: WriteConfig,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": stub.url})
    code, out = _check(path, capsys)
    assert code == 5 and f"{topic_base}.dlq" in out


def test_unknown_liquid_filter_is_a_warning_and_a_disabled_one_exits_2(
    stub: StubServer, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11: an unknown filter passes its input through (as in Segment) and is named; a
    filter Segment disables is refused with Segment's message."""
    sub = ("subscriptions:\n  - {name: s, subscribe: 'type = \"track\"', action: addCustomEvent, mapping: "
           "{customer: {source_id: {'@path': '$.userId'}}, event: {'@liquid': '{{ event | FILTER }}'}}}\n")
    path = write_config("127.0.0.1:1", "nowhere", destination={"custom_url": stub.url})
    base = path.read_text()
    path.write_text(base + sub.replace("FILTER", "upcse"))
    code, out = _check(path, capsys)
    assert code == 4, out  # the config is fine; Kafka is not there
    assert "WARN" in out and '/event/@liquid: filter "upcse" is not a Liquid filter' in out
    path.write_text(base + sub.replace("FILTER", "map: \"x\""))
    code, out = _check(path, capsys)
    assert code == 2 and 'filter "map" is disabled, line:1, col:1' in out, out
