"""The demo's own output (issue 12 item 11: ANSI escapes when the output is not a terminal)."""

from __future__ import annotations

import io

import pytest

from dev.demo import say


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_headings_are_plain_when_not_a_terminal() -> None:
    out = io.StringIO()
    say("starting Kafka", stream=out)
    assert out.getvalue() == "==> starting Kafka\n"


def test_headings_are_bold_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    out = _Tty()
    say("starting Kafka", stream=out)
    assert out.getvalue() == "\033[1m==> starting Kafka\033[0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Tty()
    say("starting Kafka", stream=out)
    assert out.getvalue() == "==> starting Kafka\n"
