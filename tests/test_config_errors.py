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
