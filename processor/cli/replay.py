"""``voucherify-processor replay``: move the consumer group back (or forward) on the source topic.

Re-processing is done by the ordinary ``run`` process: this command only rewrites the group's
committed offsets, so replayed events go through the same triggers, retries and dead-lettering.
Kafka refuses to alter the offsets of a group with live members (they would overwrite them on
their next commit), and so do we, before even asking: stop the processors, replay, restart.

The logic is two functions usable from tests and scripts: :func:`plan_replay` (read-only: what
would change) and :func:`apply_replay` (commit the plan).
"""

from __future__ import annotations

import argparse
import re
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from processor.app import admin_settings
from processor.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_KAFKA,
    EXIT_OK,
    EXIT_TOPICS,
    add_config_argument,
    err,
    kafka_unreachable,
    load_config_or_none,
)
from processor.config import AppConfig
from processor.errors import GroupActive, ReplayError
from processor.kafka.clients import new_consumer
from processor.kafka.admin import (
    QUIET,
    KafkaUnavailable,
    admin_client,
    alter_committed_offsets,
    committed_offsets,
    existing_topics,
    group_members,
)

__all__ = [
    "ReplayTarget",
    "PartitionPlan",
    "ReplayPlan",
    "GroupActive",
    "ReplayError",
    "plan_replay",
    "apply_replay",
    "parse_duration",
    "parse_datetime",
    "parse_offsets",
    "register",
]


@dataclass(frozen=True, slots=True)
class ReplayTarget:
    """Where to move to: exactly one of the fields is set."""

    earliest: bool = False
    timestamp_ms: int | None = None
    offsets: dict[int, int] | None = None

    @classmethod
    def at_datetime(cls, when: datetime) -> ReplayTarget:
        return cls(timestamp_ms=int(when.timestamp() * 1000))


@dataclass(frozen=True, slots=True)
class PartitionPlan:
    partition: int
    committed: int | None  # None: the group has nothing committed here
    new_offset: int
    low: int
    high: int

    @property
    def to_reprocess(self) -> int | None:
        """Events between the new and the committed offset (negative: skipped forward)."""
        return None if self.committed is None else self.committed - self.new_offset


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    group_id: str
    topic: str
    partitions: list[PartitionPlan]

    @property
    def total_to_reprocess(self) -> int:
        return sum(max(0, p.to_reprocess or 0) for p in self.partitions)

    def table(self) -> str:
        rows = [("PARTITION", "COMMITTED", "NEW OFFSET", "TO RE-PROCESS")]
        for p in self.partitions:
            rows.append(
                (
                    str(p.partition),
                    "-" if p.committed is None else str(p.committed),
                    str(p.new_offset),
                    "-" if p.to_reprocess is None else str(p.to_reprocess),
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
        lines.append(f"total events to re-process: {self.total_to_reprocess}")
        return "\n".join(lines)


def _planner_consumer(cfg: AppConfig) -> Consumer:
    """A consumer that never joins or commits for the real group: only metadata lookups."""
    conf = cfg.kafka.librdkafka("consumer")
    conf.update({"group.id": f"{cfg.kafka.group_id}.replay-planner-{uuid.uuid4().hex[:8]}", "enable.auto.commit": False,
                 **QUIET})
    return new_consumer(conf)


def plan_replay(cfg: AppConfig, target: ReplayTarget, *, timeout: float = 10.0) -> ReplayPlan:
    """What the group's committed offsets on the source topic would become. Changes nothing."""
    topic, group = cfg.kafka.source_topic, cfg.kafka.group_id
    admin = admin_client(admin_settings(cfg), **QUIET)
    present = existing_topics(admin, timeout=timeout)
    if topic not in present:
        raise ReplayError(f"source topic {topic!r} does not exist")
    partitions = list(range(present[topic]))
    if target.offsets is not None:
        unknown = sorted(set(target.offsets) - set(partitions))
        if unknown:
            raise ReplayError(f"topic {topic!r} has no partition {', '.join(map(str, unknown))}")
        partitions = sorted(target.offsets)
    committed = committed_offsets(admin, group, topic, partitions, timeout=timeout)

    consumer = _planner_consumer(cfg)
    try:
        marks = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout) for p in partitions}
        if target.timestamp_ms is not None:
            found = consumer.offsets_for_times(
                [TopicPartition(topic, p, target.timestamp_ms) for p in partitions], timeout=timeout
            )
            by_time = {tp.partition: tp.offset for tp in found}
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None
    finally:
        consumer.close()

    plans: list[PartitionPlan] = []
    for p in partitions:
        low, high = marks[p]
        if target.earliest:
            new = low
        elif target.timestamp_ms is not None:
            new = by_time[p] if by_time[p] >= 0 else high  # nothing at/after the time: the end
        else:
            assert target.offsets is not None
            new = target.offsets[p]
            if not low <= new <= high:
                raise ReplayError(f"partition {p}: offset {new} is outside the available range [{low}, {high}]")
        plans.append(PartitionPlan(p, committed.get(p), new, low, high))
    return ReplayPlan(group, topic, plans)


def apply_replay(cfg: AppConfig, plan: ReplayPlan, *, timeout: float = 10.0) -> None:
    """Commit the plan's offsets for the group; ``GroupActive`` if any member is running."""
    admin = admin_client(admin_settings(cfg), **QUIET)
    members = group_members(admin, plan.group_id, timeout=timeout)
    if members:
        raise GroupActive(plan.group_id, members)
    alter_committed_offsets(
        admin, plan.group_id, plan.topic, {p.partition: p.new_offset for p in plan.partitions}, timeout=timeout
    )


# -- argument parsing -------------------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``, ``1d``, ``1h30m`` -> timedelta."""
    compact = text.strip().lower().replace(" ", "")
    parts = _DURATION_PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 1d, 1h30m)")
    return timedelta(seconds=sum(float(n) * _UNIT_S[u] for n, u in parts))


def parse_datetime(text: str) -> datetime:
    """ISO 8601; without a zone it is taken as UTC (said explicitly in the plan output)."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 date-time: {text!r} (e.g. 2024-05-01T10:00:00Z)") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def parse_offsets(text: str) -> dict[int, int]:
    """``0:120,1:98`` -> {0: 120, 1: 98}."""
    offsets: dict[int, int] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        partition, sep, offset = item.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValueError(f"not PARTITION:OFFSET: {item!r}")
        offsets[int(partition)] = int(offset)
    if not offsets:
        raise ValueError("no PARTITION:OFFSET given")
    return offsets


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="reset the consumer group's offsets on the source topic (processors must be stopped)",
    )
    add_config_argument(parser)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--to-earliest", action="store_true", help="the oldest retained event")
    where.add_argument("--to-datetime", metavar="ISO", help="the first event at or after this time (UTC if no zone)")
    where.add_argument("--by-duration", metavar="DURATION", help="the first event at or after now minus this (e.g. 2h)")
    where.add_argument("--to-offset", metavar="P:O[,P:O...]", help="explicit offsets; other partitions unchanged")
    parser.add_argument("--yes", "-y", action="store_true", help="apply without asking")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for each Kafka request")
    parser.set_defaults(func=run)


def _target(args: argparse.Namespace) -> tuple[ReplayTarget, str]:
    if args.to_earliest:
        return ReplayTarget(earliest=True), "the earliest retained offset"
    if args.to_datetime:
        when = parse_datetime(args.to_datetime)
        return ReplayTarget.at_datetime(when), f"the first event at or after {when.isoformat()}"
    if args.by_duration:
        when = datetime.now(timezone.utc) - parse_duration(args.by_duration)
        return ReplayTarget.at_datetime(when), f"the first event at or after {when.isoformat(timespec='seconds')}"
    return ReplayTarget(offsets=parse_offsets(args.to_offset)), "the given offsets"


def run(args: argparse.Namespace) -> int:
    cfg = load_config_or_none(args.config)
    if cfg is None:
        return EXIT_CONFIG
    try:
        target, described = _target(args)
    except ValueError as exc:
        err(str(exc))
        return EXIT_CONFIG
    try:
        admin = admin_client(admin_settings(cfg), **QUIET)
        existing_topics(admin, timeout=args.timeout)  # no broker: one clear line, not a future's TimeoutError
        members = group_members(admin, cfg.kafka.group_id, timeout=args.timeout)
        if members and not args.dry_run:
            err(str(GroupActive(cfg.kafka.group_id, members)))
            return EXIT_FAILED
        plan = plan_replay(cfg, target, timeout=args.timeout)
    except KafkaUnavailable as exc:
        kafka_unreachable(cfg, exc)
        return EXIT_KAFKA
    except ReplayError as exc:
        err(str(exc))
        return EXIT_TOPICS if "does not exist" in str(exc) else EXIT_CONFIG

    print(f"group {plan.group_id!r}, topic {plan.topic!r}: move to {described}")
    print(plan.table())
    if args.dry_run:
        print("dry run: nothing changed")
        return EXIT_OK
    if not args.yes:
        if not sys.stdin or not sys.stdin.isatty():
            err("refusing to reset offsets without confirmation: stdin is not a terminal; re-run with --yes")
            return EXIT_FAILED
        answer = input(f"Reset the committed offsets of group {plan.group_id!r}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            err("aborted; nothing changed")
            return EXIT_FAILED
    try:
        apply_replay(cfg, plan, timeout=args.timeout)
    except GroupActive as exc:
        err(str(exc))
        return EXIT_FAILED
    except (KafkaUnavailable, KafkaException) as exc:
        err(f"could not reset offsets: {exc}")
        return EXIT_KAFKA
    print(f"done: group {plan.group_id!r} will re-process {plan.total_to_reprocess} event(s) when restarted")
    return EXIT_OK
