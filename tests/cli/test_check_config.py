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
    # created is not yet listed everywhere: wait until the metadata shows them, as check-config reads it
    from confluent_kafka.admin import AdminClient

    from tests.support.processor import wait_until

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    wanted = {topic_base, f"{topic_base}.retry.0", f"{topic_base}.retry.1", f"{topic_base}.dlq"}
    wait_until(lambda: wanted <= set(admin.list_topics(timeout=5).topics), 30, message="topics not listed")


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


# -- issue 12 item 6: every start-up warning, --strict -----------------------------------------

@pytest.mark.parametrize("subscriptions", [
    [{"name": "Tracks", "subscribe": 'type == "track"', "action": "addCustomEvent"}],  # matches nothing
    [],
])
def test_start_up_warnings_are_listed_and_strict_fails_on_them(
    subscriptions: list, stub: StubServer, kafka_bootstrap: str, topic_base: str, write_config: WriteConfig,
    with_topics: None, capsys: pytest.CaptureFixture[str],
) -> None:
    import yaml

    capsys.readouterr()
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": stub.url})
    doc = yaml.safe_load(path.read_text())
    doc["subscriptions"] = subscriptions
    path.write_text(yaml.safe_dump(doc))
    code, out = _check(path, capsys)
    assert code == 0, out
    warn_lines = [line for line in out.splitlines() if line.startswith("warning      WARN")]
    assert warn_lines, out
    if subscriptions:
        assert "subscriptions[0] 'Tracks' subscribe: the value of `type =` is `=`" in out
    else:
        assert "no enabled subscription" in out
    assert "--strict" in out
    code = main(["check-config", "--config", str(path), "--timeout", "3", "--strict"])
    assert code == 6, capsys.readouterr().out


def test_no_warnings_no_warn_lines(
    stub: StubServer, kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, with_topics: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capsys.readouterr()
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": stub.url})
    assert main(["check-config", "--config", str(path), "--timeout", "3", "--strict"]) == 0
    assert "WARN" not in capsys.readouterr().out


@pytest.mark.parametrize(("kafka", "words"), [
    ({"consumer": {"fetch.queue.backoff.ms": -5}},
     'kafka consumer settings (kafka.client, kafka.consumer): Configuration property "fetch.queue.backoff.ms" '
     "value -5 is outside allowed range"),
    # valid alone, refused with the idempotence `run`'s producer forces: checked with run's settings
    ({"producer": {"max.in.flight.requests.per.connection": 10}},
     "kafka producer settings (kafka.client, kafka.producer): Failed to create producer: `max.in.flight`"),
])
def test_a_kafka_setting_librdkafka_refuses_exits_2_naming_it(
    stub: StubServer, kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, with_topics: None,
    capsys: pytest.CaptureFixture[str], kafka: dict, words: str,
) -> None:
    """Newcomers' findings: check-config said "config ok" and exited 0, and `run` then stopped
    with a traceback (exit 1), or after creating its topics."""
    capsys.readouterr()
    path = write_config(kafka_bootstrap, topic_base, destination={"custom_url": stub.url}, kafka=kafka)
    code, out = _check(path, capsys)
    assert code == 2, out
    assert words in out, out


# -- issue 12 items 4 and 5: SASL secrets from a shell or a file; auth failure vs unreachable -----

def _sasl_doc(kafka_sasl, stub: StubServer, topic_base: str, **client: str) -> dict:
    from tests.cli.conftest import config_document

    doc = config_document(kafka_sasl.bootstrap, topic_base, destination={"custom_url": stub.url})
    doc["kafka"]["client"] = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": kafka_sasl.mechanism,
                              "sasl.username": kafka_sasl.username, **client}
    return doc


def _check_process(doc: dict, tmp_path: Path, env: dict[str, str]):
    """check-config as typed in a shell, with the variables exported."""
    import os
    import subprocess
    import sys

    import yaml

    path = tmp_path / "sasl.yaml"
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run([sys.executable, "-m", "processor", "check-config", "--config", str(path), "--timeout", "5"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, **env})


def test_sasl_password_from_a_plain_variable_or_a_file(
    kafka_sasl, stub: StubServer, kafka_bootstrap: str, topic_base: str, with_topics: None, tmp_path: Path,
) -> None:
    doc = _sasl_doc(kafka_sasl, stub, topic_base)
    by_env = _check_process(doc, tmp_path, {"VP__KAFKA__SASL_PASSWORD": kafka_sasl.password})
    assert by_env.returncode == 0, by_env.stdout + by_env.stderr
    secret = tmp_path / "kafka-password"
    secret.write_text(kafka_sasl.password + "\n")
    by_file = _check_process(doc, tmp_path, {"VP__KAFKA__SASL_PASSWORD_FILE": str(secret)})
    assert by_file.returncode == 0, by_file.stdout + by_file.stderr
    properties = tmp_path / "client.properties"
    properties.write_text(f"# librdkafka secrets\nsasl.password={kafka_sasl.password}\n")
    by_properties = _check_process(doc, tmp_path, {"VP__KAFKA__CLIENT_SECRETS_FILE": str(properties)})
    assert by_properties.returncode == 0, by_properties.stdout + by_properties.stderr
    for result in (by_env, by_file, by_properties):
        assert kafka_sasl.password not in result.stdout + result.stderr


def test_missing_sasl_password_is_a_config_error(
    kafka_sasl, stub: StubServer, kafka_bootstrap: str, topic_base: str, with_topics: None, tmp_path: Path,
) -> None:
    result = _check_process(_sasl_doc(kafka_sasl, stub, topic_base), tmp_path, {})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "sasl.password must be set" in result.stdout


def test_wrong_sasl_password_is_reported_as_authentication_failed(
    kafka_sasl, stub: StubServer, kafka_bootstrap: str, topic_base: str, with_topics: None, tmp_path: Path,
) -> None:
    result = _check_process(_sasl_doc(kafka_sasl, stub, topic_base), tmp_path,
                            {"VP__KAFKA__SASL_PASSWORD": "not-the-password"})
    out = result.stdout + result.stderr
    assert result.returncode == 7, out
    assert "authentication failed" in out.lower() and "unreachable" not in out
    assert "not-the-password" not in out


def test_output_piped_into_head_ends_without_a_traceback(tmp_path: Path) -> None:
    """Issue 12 item 11: ``check-config | head -1`` ended in a BrokenPipeError traceback."""
    import subprocess
    import sys

    path = tmp_path / "c.yaml"
    path.write_text("destination: {custom_url: 'http://127.0.0.1:9', application_id: a1234, secret_key: s1234}\n"
                    "kafka: {bootstrap_servers: '127.0.0.1:1'}\nsubscriptions: []\n")
    proc = subprocess.Popen([sys.executable, "-m", "processor", "check-config", "--config", str(path), "--timeout", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # what `head -1` reads; then it goes away
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(60) == 141, stderr
    assert first.startswith(b"config       ok")
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
