"""Every error class the engine writes can be named to ``dlq`` (a newcomer's finding: a reload
dead-lettered records as ``config``, which ``dlq redrive --error-class config`` refused)."""

from __future__ import annotations

import pytest

from processor.cli.main import build_parser
from processor.engine import ports
from processor.kafka.dlq import FAILS_AGAIN, REDRIVE_BY_DEFAULT

WRITTEN = {getattr(ports, name) for name in ("RETRYABLE", "PERMANENT", "AUTH", "DECODE", "VALIDATION", "CONFIG", "INTERNAL")}


def test_every_written_class_is_a_known_class() -> None:
    assert set(ports.ERROR_CLASSES) == WRITTEN


@pytest.mark.parametrize("command", ["list", "redrive", "resolve"])
@pytest.mark.parametrize("error_class", sorted(WRITTEN))
def test_dlq_commands_accept_every_class(command: str, error_class: str) -> None:
    args = build_parser().parse_args(["dlq", command, "--config", "x.yaml", "--error-class", error_class])
    assert args.error_class == error_class


def test_classes_not_redriven_by_default_say_why() -> None:
    assert set(ports.ERROR_CLASSES) - REDRIVE_BY_DEFAULT == set(FAILS_AGAIN)
