"""The command-line entry point."""

from __future__ import annotations


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
