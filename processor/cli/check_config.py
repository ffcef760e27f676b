"""``voucherify-processor check-config``: will this configuration work, here, now?

Runs the checks an operator would otherwise learn about from a crash loop, in order of how
fundamental they are, prints every warning ``run`` would log at start-up, and exits with the
code of the most fundamental failure:

- 2  the file (or a trigger / mapping in it, or a Kafka client setting) is invalid — nothing
     else is checked;
- 3  Voucherify rejects the credentials (401/403) or cannot be reached;
- 7  Kafka answers but rejects the credentials (SASL authentication failed);
- 4  Kafka does not answer;
- 5  a topic the processor needs does not exist;
- 6  only with ``--strict``: everything works but there are start-up warnings.

Secrets are never printed: every output line goes through the log redactor as well.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from processor.cli.common import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_KAFKA,
    EXIT_OK,
    EXIT_KAFKA_AUTH,
    EXIT_TOPICS,
    EXIT_WARNINGS,
    add_config_argument,
    load_config_or_none,
)
from processor.app import admin_settings, build_client, check_kafka_settings, startup_warnings, topic_settings
from processor.config import AppConfig
from processor.errors import ConfigError, KafkaAuthFailed, KafkaSettingsError, KafkaUnavailable, ProbeError
from processor.kafka.admin import QUIET, admin_client, existing_topics
from processor.kafka.topics import all_topic_names
from processor.ops.logging import RedactingFilter
from processor.voucherify.destination import Destination

__all__ = ["register", "run", "check_destination", "check_auth", "check_kafka"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("check-config", help="validate the config and check Voucherify and Kafka")
    add_config_argument(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for each network check")
    parser.add_argument("--strict", action="store_true", help=f"exit {EXIT_WARNINGS} when there are start-up warnings (for CI)")
    parser.set_defaults(func=run)


class _Report:
    """Aligned ``check  status  detail`` lines, redacted."""

    def __init__(self, redactor: RedactingFilter) -> None:
        self._redactor = redactor

    def line(self, check: str, ok: bool | None, detail: str) -> None:
        """``ok`` None: a warning."""
        status = "WARN" if ok is None else "ok" if ok else "FAIL"
        detail = self._redactor.redact(detail).replace("\n", "\n" + " " * 19)  # one problem a line, aligned
        print(f"{check:<12} {status:<5} {detail}", flush=True)


#: Most fundamental first: the exit code of a run with several failures.
_PRECEDENCE = (EXIT_CONFIG, EXIT_AUTH, EXIT_KAFKA_AUTH, EXIT_KAFKA, EXIT_TOPICS, EXIT_WARNINGS)


def check_destination(cfg: AppConfig) -> tuple[str | None, list[str]]:
    """Compile subscriptions exactly as ``run`` would: (the error text or ``None``, start-up warnings)."""
    try:
        destination = Destination.from_config(cfg)
    except (ConfigError, ValueError) as exc:
        return str(exc), []
    return None, startup_warnings(cfg, destination)


def check_auth(cfg: AppConfig, timeout: float) -> tuple[bool, str]:
    """Call ``/segmentio/test-authentication`` with the configured credentials."""
    dest = cfg.destination

    async def probe() -> bool:
        async with build_client(cfg, max_connections=1, timeout_cap_s=timeout) as client:
            return await asyncio.wait_for(client.probe_auth(), timeout=timeout * 2)

    try:
        with _quiet("processor.voucherify.client"):  # its TLS warning is listed with the others
            accepted = asyncio.run(probe())
    except ProbeError as exc:
        return False, f"{dest.custom_url}: cannot verify credentials: {exc}"
    except asyncio.TimeoutError:
        return False, f"{dest.custom_url}: no answer within {timeout:g}s"
    except Exception as exc:  # whatever else the transport raises: reported, never a traceback
        return False, f"{dest.custom_url}: {type(exc).__name__}: {exc}"
    if not accepted:
        return False, f"{dest.custom_url}: credentials rejected (401/403)"
    return True, f"{dest.custom_url}: credentials accepted"


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def check_kafka(cfg: AppConfig, timeout: float) -> tuple[int, str, list[str]]:
    """(exit code, detail, missing topics) for the client settings, connectivity, credentials and topics."""
    try:
        check_kafka_settings(cfg)
        present = existing_topics(admin_client(admin_settings(cfg), **QUIET), timeout=timeout)
    except KafkaSettingsError as exc:
        return EXIT_CONFIG, str(exc), []
    except KafkaAuthFailed as exc:
        return EXIT_KAFKA_AUTH, f"{cfg.kafka.bootstrap_servers}: reachable, but {exc}", []
    except KafkaUnavailable as exc:
        return EXIT_KAFKA, f"{cfg.kafka.bootstrap_servers}: unreachable: {exc}", []
    names = all_topic_names(topic_settings(cfg))
    wanted = [names["source"], *names["retries"], names["dlq"]]
    missing = [t for t in wanted if t not in present]
    return (EXIT_TOPICS if missing else EXIT_OK), f"{cfg.kafka.bootstrap_servers}: connected", missing


def run(args: argparse.Namespace) -> int:
    cfg = load_config_or_none(args.config)
    if cfg is None:
        return EXIT_CONFIG
    try:
        redactor = RedactingFilter(cfg.secrets())
        cfg.destination.secret("application_id")
        cfg.destination.secret("secret_key")
    except ConfigError as exc:
        print(f"{'config':<12} {'FAIL':<5} {exc}")
        return EXIT_CONFIG
    report = _Report(redactor)

    problem, warnings = check_destination(cfg)
    if problem is not None:
        report.line("config", False, problem)
        return EXIT_CONFIG
    subs = "Segment presets" if cfg.subscriptions is None else f"{len(cfg.subscriptions)} subscription(s)"
    report.line("config", True, f"{args.config} ({subs}, input {cfg.input.format})")
    for warning in warnings:
        report.line("warning", None, warning)

    codes: list[int] = []
    if warnings and args.strict:
        codes.append(EXIT_WARNINGS)
    auth_ok, detail = check_auth(cfg, args.timeout)
    report.line("voucherify", auth_ok, detail)
    if not auth_ok:
        codes.append(EXIT_AUTH)

    code, detail, missing = check_kafka(cfg, args.timeout)
    report.line("kafka", code in (EXIT_OK, EXIT_TOPICS), detail)
    if code not in (EXIT_OK, EXIT_TOPICS):
        codes.append(code)
    elif missing:
        report.line("topics", False, f"missing: {', '.join(missing)} (create them: voucherify-processor topics create --config {args.config})")
        codes.append(EXIT_TOPICS)
    else:
        report.line("topics", True, "source, retry tiers and dead-letter topic exist")
    if warnings and not args.strict:
        print(f"{len(warnings)} warning(s); --strict makes them fail (exit {EXIT_WARNINGS})", flush=True)
    return min(codes, key=_PRECEDENCE.index) if codes else EXIT_OK
