"""What the operator subcommands share: exit codes, the ``--config`` option, loading it.

Exit codes are part of the CLI's contract (scripts and init containers branch on them):

====  ==============================================
0     ok
1     the operation itself failed (see the message)
2     configuration invalid (or bad usage)
3     Voucherify authentication failed / unreachable
4     Kafka unreachable
5     topics missing
6     start-up warnings (``check-config --strict``)
7     Kafka authentication failed (SASL/SSL credentials rejected)
8     ``dry-run``: some lines would be dead-lettered (undecodable) or rejected
====  ==============================================
"""

from __future__ import annotations

import argparse
import sys

from processor.config import AppConfig, load_config
from processor.errors import ConfigError

__all__ = [
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_CONFIG",
    "EXIT_AUTH",
    "EXIT_KAFKA",
    "EXIT_TOPICS",
    "EXIT_WARNINGS",
    "EXIT_KAFKA_AUTH",
    "EXIT_REJECTED",
    "add_config_argument",
    "load_config_or_none",
    "err",
    "kafka_unreachable",
]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_AUTH = 3
EXIT_KAFKA = 4
EXIT_TOPICS = 5
EXIT_WARNINGS = 6
EXIT_KAFKA_AUTH = 7
EXIT_REJECTED = 8


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", "-c", required=True, metavar="FILE", help="configuration file (YAML or JSON)")


def err(message: str) -> None:
    """A line for the operator on stderr (stdout stays for data: tables, records)."""
    print(message, file=sys.stderr, flush=True)


def kafka_unreachable(cfg: AppConfig, detail: object) -> None:
    """The one line a one-shot command prints when no broker answered (``run``'s wording), as a
    JSON log record when ``ops.log_format`` is json so the stream stays one object per line."""
    import logging

    from processor.ops.logging import JsonFormatter

    message = (f"Kafka unreachable at {cfg.kafka.bootstrap_servers} ({detail}); "
               "is kafka.bootstrap_servers right and the broker up?")
    if cfg.ops.log_format == "json":
        record = logging.makeLogRecord({"name": "processor.cli", "levelno": logging.ERROR, "levelname": "ERROR",
                                        "msg": message})
        message = JsonFormatter().format(record)
    err(message)


def load_config_or_none(path: str) -> AppConfig | None:
    """The configuration, or ``None`` after printing why not (the message names the field)."""
    try:
        return load_config(path)
    except ConfigError as exc:
        err(str(exc))
        return None
