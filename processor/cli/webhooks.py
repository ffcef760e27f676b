"""``voucherify-processor webhooks``: receive Voucherify's webhooks, produce Segment track events.

Logs are JSON lines (``ops.log_format``) with the webhook secret and Kafka passwords redacted.
SIGTERM/SIGINT drain in-flight deliveries (see ``processor.webhooks.service``); a second signal
exits at once (an unanswered delivery is retried by Voucherify).
"""

from __future__ import annotations

import argparse
import logging

from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, add_config_argument, err

log = logging.getLogger("processor.cli.webhooks")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "webhooks", help="receive Voucherify webhooks and produce them to Kafka as Segment track events"
    )
    add_config_argument(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processor.config import ConfigFileError
    from processor.kafka.logs import KAFKA_LOGGER
    from processor.ops.logging import SENSITIVE_KAFKA_KEYS, configure_logging
    from processor.webhooks.config import load_receiver_config

    try:
        cfg = load_receiver_config(args.config)
        secret = cfg.webhooks.secret_bytes().decode("utf-8")
    except (ConfigFileError, ValueError) as exc:
        err(f"error: {exc}")
        return EXIT_CONFIG
    kafka_secrets = [str(v) for section in (cfg.kafka.client, cfg.kafka.producer, cfg.kafka.consumer,
                                            cfg.kafka.secret_settings())
                     for k, v in section.items() if k in SENSITIVE_KAFKA_KEYS and v]
    configure_logging(cfg.ops.log_level, cfg.ops.log_format, [secret, *kafka_secrets], repeat_limited=(KAFKA_LOGGER,))
    from processor.app import run_until_signal
    from processor.webhooks.service import run_receiver

    try:
        run_until_signal(lambda stop: run_receiver(cfg, stop))
    except Exception as exc:  # noqa: BLE001 - logged; the exit code says "restart me"
        log.error("webhook receiver stopped: %s", exc, exc_info=True)
        return EXIT_FAILED
    return EXIT_OK
