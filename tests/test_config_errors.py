"""Configuration errors say where the bad value came from (issue 12 item 8)."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.config import ConfigFileError, load_config

GOOD = "destination: {custom_url: 'https://x.voucherify.io', application_id: a1234, secret_key: s1234}\n"


def _error(path: Path, env: dict[str, str]) -> str:
    with pytest.raises(ConfigFileError) as info:
        load_config(path, environ=env)
    return str(info.value)


def test_an_error_in_an_environment_override_names_the_variable_not_the_file(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(GOOD + "engine: {max_in_flight: 100}\n")
    message = _error(path, {"VP__ENGINE__MAX_IN_FLIGHT": "0"})
    assert message == ("invalid configuration (environment overrides):\n"
                       "  engine.max_in_flight (from $VP__ENGINE__MAX_IN_FLIGHT): Input should be greater than or equal to 1")
    assert str(path) not in message


@pytest.mark.parametrize("value", ["[1,", "{"])
def test_an_override_that_is_not_yaml_names_the_variable(tmp_path: Path, value: str) -> None:
    """A newcomer's finding: ``VP__ENGINE__RETRY_DELAYS_S='[1,'`` ended in a yaml traceback."""
    path = tmp_path / "local.yaml"
    path.write_text(GOOD)
    message = _error(path, {"VP__ENGINE__RETRY_DELAYS_S": value})
    assert message.startswith(f"VP__ENGINE__RETRY_DELAYS_S: invalid value {value!r}: ")


def test_file_and_environment_errors_are_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(GOOD + "engine: {max_in_flight: 0}\n")
    message = _error(path, {"VP__OPS__HTTP_PORT": "-1"})
    assert message.splitlines()[0] == f"{path}: invalid configuration:"
    assert "  engine.max_in_flight: Input should be greater than or equal to 1" in message
    assert "  ops.http_port (from $VP__OPS__HTTP_PORT): Input should be greater than or equal to 0" in message


@pytest.mark.parametrize(("text", "env", "expected"), [
    (GOOD + "engien: {}\n", {}, "  engien: unknown option; did you mean `engine`?"),
    (GOOD + "kafka: {bootstrap_server: b:9092}\n", {}, "  kafka.bootstrap_server: unknown option; did you mean `bootstrap_servers`?"),
    (GOOD + "subscriptions: [{name: a, subscribe: 'type = \"track\"', action: addCustomEvent, mapings: {}}]\n", {},
     "  subscriptions[0].mapings: unknown option; did you mean `mapping`?"),
    (GOOD, {"VP__ENGIN__MAX_IN_FLIGHT": "5"}, "  engin (from $VP__ENGIN__MAX_IN_FLIGHT): unknown option; did you mean `engine`?"),
])
def test_an_unknown_option_suggests_the_nearest_valid_one(tmp_path: Path, text: str, env: dict, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    assert expected in _error(path, env).splitlines()


def test_kafka_secret_files_are_read_at_load_and_named_when_unreadable(tmp_path: Path) -> None:
    """Issue 12 item 4: the password from a file, or from a shell variable without dots."""
    path = tmp_path / "c.yaml"
    path.write_text(GOOD + "kafka: {client: {sasl.username: u}}\n")
    password = tmp_path / "password"
    password.write_text("s3cret-pass\n")
    cfg = load_config(path, environ={"VP__KAFKA__SASL_PASSWORD_FILE": str(password)})
    assert cfg.kafka.librdkafka("admin")["sasl.password"] == "s3cret-pass"
    cfg = load_config(path, environ={"VP__KAFKA__SASL_PASSWORD": "from-env"})
    assert cfg.kafka.librdkafka("consumer")["sasl.password"] == "from-env"
    properties = tmp_path / "client.properties"
    properties.write_text("# secrets\nssl.key.password = kp\nsasl.password=pp\n")
    cfg = load_config(path, environ={"VP__KAFKA__CLIENT_SECRETS_FILE": str(properties)})
    conf = cfg.kafka.librdkafka("producer")
    assert (conf["ssl.key.password"], conf["sasl.password"], conf["sasl.username"]) == ("kp", "pp", "u")
    message = _error(path, {"VP__KAFKA__SASL_PASSWORD_FILE": str(tmp_path / "missing")})
    assert message.startswith("kafka.sasl_password_file: cannot read ")
    both = _error(path, {"VP__KAFKA__SASL_PASSWORD": "a", "VP__KAFKA__SASL_PASSWORD_FILE": str(password)})
    assert "set sasl_password or sasl_password_file, not both" in both


def test_kafka_secrets_are_redacted() -> None:
    from processor.config import parse_config

    cfg = parse_config({"destination": {"custom_url": "https://x.voucherify.io", "application_id": "a1234",
                                        "secret_key": "s1234"}, "kafka": {"sasl_password": "kafka-pass-1"}})
    assert "kafka-pass-1" in cfg.secrets()
    assert "kafka-pass-1" not in repr(cfg) and "kafka-pass-1" not in str(cfg.kafka)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", "not true/false"),  # was read as 1 byte, silently
        ("-1", "must be at least 1 byte"),
        ("-5MiB", "must be a positive size"),  # was "could not parse value and unit from byte string"
        ("1.5", "must be a whole number of bytes"),
        ("0", "must be at least 1 byte"),
    ],
)
def test_a_bad_byte_bound_says_what_is_wrong_with_it(tmp_path: Path, value: str, expected: str) -> None:
    """A newcomer's findings (issue 16): ``max_in_flight_bytes: true`` was taken as 1 byte, and
    negative or fractional sizes were reported as unparseable."""
    path = tmp_path / "local.yaml"
    path.write_text(GOOD + f"engine: {{max_in_flight_bytes: {value}}}\n")
    message = _error(path, {})
    assert "engine.max_in_flight_bytes" in message and expected in message
    env_message = _error(tmp_path / "local.yaml", {"VP__ENGINE__MAX_IN_FLIGHT_BYTES": value})
    assert "$VP__ENGINE__MAX_IN_FLIGHT_BYTES" in env_message and expected in env_message
