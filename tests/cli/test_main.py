"""The command-line entry point."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_entry_ends_the_process_with_mains_code_without_interpreter_finalization(monkeypatch) -> None:
    """A native thread (librdkafka's; pyreqwest's runtime when the client used it) releasing an object while the interpreter
    finalizes made CPython abort ("Fatal Python error: PyGILState_Release", exit 134) in about a
    third of ``check-config | head -1`` runs under load; ``entry`` flushes and ends with
    ``os._exit(code)`` instead (tests/cli/test_check_config.py runs the real pipe)."""
    import processor.cli.main as cli

    ended: list[int] = []
    monkeypatch.setattr(cli, "main", lambda: 141)
    monkeypatch.setattr(cli.os, "_exit", ended.append)
    monkeypatch.setattr("logging.shutdown", lambda: None)  # the test process keeps its logging
    cli.entry()
    assert ended == [141]


@pytest.mark.parametrize("command", [["dlq", "list"], ["dlq", "show", "--at", "0:0"], ["dlq", "redrive", "--at", "0:0"]])
def test_a_setting_refused_deep_in_a_command_is_exit_2_and_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    """A newcomer's finding: `dlq` stopped with a traceback (exit 1) for a librdkafka property
    under kafka.consumer that `run` refuses with exit 2. Any command's ConfigError is exit 2."""
    import yaml

    from processor.cli.main import main
    from tests.cli.conftest import config_document

    path = tmp_path / "config.yaml"
    doc = config_document("127.0.0.1:1", "refused", kafka={"consumer": {"fetch.queue.backoff.ms": "fast"}})
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert main([*command, "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        'error: kafka consumer settings (kafka.client, kafka.consumer): Invalid value for configuration property '
        '"fetch.queue.backoff.ms"']
