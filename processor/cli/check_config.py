"""``voucherify-processor check-config``: will this configuration work, here, now?

Runs the checks an operator would otherwise learn about from a crash loop, in order of how
fundamental they are, and exits with the code of the most fundamental failure:

- 2  the file (or a trigger / mapping in it) is invalid — nothing else is checked;
- 3  Voucherify rejects the credentials (401/403) or cannot be reached;
- 4  Kafka does not answer;
- 5  a topic the processor needs does not exist.

Secrets are never printed: every output line goes through the log redactor as well.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from processor.cli.common import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_KAFKA,
    EXIT_OK,
    EXIT_TOPICS,
    add_config_argument,
    load_config_or_none,
)
from processor.app import admin_settings, build_client, topic_settings
from processor.config import AppConfig
from processor.errors import ConfigError, KafkaUnavailable, ProbeError
from processor.kafka.admin import QUIET, admin_client, existing_topics
from processor.kafka.topics import all_topic_names
from processor.ops.logging import RedactingFilter
from processor.voucherify.destination import Destination

__all__ = ["register", "run", "check_destination", "check_auth", "check_kafka"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("check-config", help="validate the config and check Voucherify and Kafka")
    add_config_argument(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for each network check")
    parser.set_defaults(func=run)


class _Report:
    """Aligned ``check  status  detail`` lines, redacted."""

    def __init__(self, redactor: RedactingFilter) -> None:
        self._redactor = redactor

    def line(self, check: str, ok: bool, detail: str) -> None:
        print(f"{check:<12} {'ok' if ok else 'FAIL':<5} {self._redactor.redact(detail)}", flush=True)

    def warn(self, check: str, detail: str) -> None:
        print(f"{check:<12} {'WARN':<5} {self._redactor.redact(detail)}", flush=True)


def check_destination(cfg: AppConfig, warnings: list[str] | None = None) -> str | None:
    """Compile subscriptions exactly as ``run`` would; the error text, or ``None`` if fine.

    The start-up warnings ``run`` would log are appended to ``warnings`` when given."""
    try:
        destination = Destination.from_config(cfg)
    except (ConfigError, ValueError) as exc:
        return str(exc)
    if warnings is not None:
        warnings.extend(getattr(destination, "warnings", []))
    return None


def check_auth(cfg: AppConfig, timeout: float) -> tuple[bool, str]:
    """Call ``/segmentio/test-authentication`` with the configured credentials."""
    dest = cfg.destination

    async def probe() -> bool:
        async with build_client(cfg, max_connections=1, timeout_cap_s=timeout) as client:
            return await asyncio.wait_for(client.probe_auth(), timeout=timeout * 2)

    try:
        accepted = asyncio.run(probe())
    except ProbeError as exc:
        return False, f"{dest.custom_url}: cannot verify credentials: {exc}"
    except asyncio.TimeoutError:
        return False, f"{dest.custom_url}: no answer within {timeout:g}s"
    except Exception as exc:  # invalid URL and the like: aiohttp raises many types
        return False, f"{dest.custom_url}: {type(exc).__name__}: {exc}"
    if not accepted:
        return False, f"{dest.custom_url}: credentials rejected (401/403)"
    return True, f"{dest.custom_url}: credentials accepted"


def check_kafka(cfg: AppConfig, timeout: float) -> tuple[int, str, list[str]]:
    """(exit code, detail, missing topics) for connectivity and topic existence."""
    try:
        present = existing_topics(admin_client(admin_settings(cfg), **QUIET), timeout=timeout)
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

    warnings: list[str] = []
    problem = check_destination(cfg, warnings)
    if problem is not None:
        report.line("config", False, problem)
        return EXIT_CONFIG
    subs = "Segment presets" if cfg.subscriptions is None else f"{len(cfg.subscriptions)} subscription(s)"
    report.line("config", True, f"{args.config} ({subs}, input {cfg.input.format})")
    for warning in warnings:
        report.warn("config", warning)

    codes: list[int] = []
    auth_ok, detail = check_auth(cfg, args.timeout)
    report.line("voucherify", auth_ok, detail)
    if not auth_ok:
        codes.append(EXIT_AUTH)

    code, detail, missing = check_kafka(cfg, args.timeout)
    report.line("kafka", code != EXIT_KAFKA, detail)
    if code == EXIT_KAFKA:
        codes.append(code)
    elif missing:
        report.line("topics", False, f"missing: {', '.join(missing)} (create them: voucherify-processor topics create --config {args.config})")
        codes.append(EXIT_TOPICS)
    else:
        report.line("topics", True, "source, retry tiers and dead-letter topic exist")
    return min(codes) if codes else EXIT_OK
