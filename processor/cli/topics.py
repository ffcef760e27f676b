"""``voucherify-processor topics create``: the source, retry tiers and dead-letter topics.

Idempotent, so it can run as an init container or a deploy step on every release: topics
that exist are reported and left untouched. New retry/DLQ topics get the source topic's
partition count when it exists (retry records keep the original key, so the same spread
keeps per-key ordering cheap), unless ``--partitions`` says otherwise.
"""

from __future__ import annotations

import argparse
from typing import Any

from processor.app import admin_settings, topic_settings
from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_KAFKA, EXIT_KAFKA_AUTH, EXIT_OK, add_config_argument, err, load_config_or_none
from processor.kafka.admin import (
    QUIET,
    KafkaAuthFailed,
    KafkaSettingsError,
    KafkaUnavailable,
    admin_client,
    create_topics,
    existing_topics,
    new_topic_partitions,
    plan_topics,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("topics", help="manage the processor's Kafka topics")
    actions = parser.add_subparsers(dest="topics_action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create the source, retry and dead-letter topics if missing")
    add_config_argument(create)
    create.add_argument("--partitions", type=int, default=None, help="partitions for new topics (default: the source topic's, else 6)")
    create.add_argument("--replication-factor", type=int, default=-1, help="default: the broker's default.replication.factor")
    create.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the cluster")
    create.set_defaults(func=run_create)


def run_create(args: argparse.Namespace) -> int:
    cfg = load_config_or_none(args.config)
    if cfg is None:
        return EXIT_CONFIG
    if args.partitions is not None and args.partitions < 1:
        err("--partitions must be >= 1")
        return EXIT_CONFIG
    plans = plan_topics(topic_settings(cfg))
    try:
        admin = admin_client(admin_settings(cfg), **QUIET)
        present = existing_topics(admin, timeout=args.timeout)
        partitions = new_topic_partitions(present, cfg.kafka.source_topic, args.partitions)
        result = create_topics(
            admin, plans, partitions=partitions, replication_factor=args.replication_factor, timeout=args.timeout
        )
    except KafkaSettingsError as exc:
        err(str(exc))
        return EXIT_CONFIG
    except KafkaAuthFailed as exc:
        err(f"Kafka at {cfg.kafka.bootstrap_servers}: {exc}")
        return EXIT_KAFKA_AUTH
    except KafkaUnavailable as exc:
        err(f"Kafka unreachable at {cfg.kafka.bootstrap_servers}: {exc}")
        return EXIT_KAFKA
    width = max(len(p.name) for p in plans)
    print(f"{'TOPIC':<{width}}  {'ROLE':<6}  {'STATUS':<8}  RETENTION")
    for plan in plans:
        retention = plan.config.get("retention.ms")
        if result[plan.name] != "created":
            shown = "(unchanged)"
        else:
            shown = f"{int(retention) / 86_400_000:g}d" if retention else "(broker default)"
        print(f"{plan.name:<{width}}  {plan.role:<6}  {result[plan.name]:<8}  {shown}")
    failed = [name for name, status in result.items() if status.startswith("failed")]
    return EXIT_FAILED if failed else EXIT_OK
