"""Thin AdminClient helpers for the operator commands (topics, check-config, replay, dlq).

Synchronous on purpose: these run in short CLI invocations, never in the event path. Every
call takes a timeout, and an unreachable cluster surfaces as ``KafkaUnavailable`` so the CLI
can map it to its exit code instead of hanging in librdkafka's reconnect loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from processor.errors import KafkaAuthFailed, KafkaSettingsError, KafkaUnavailable
from processor.kafka.topics import TopicSettings, all_topic_names

__all__ = [
    "KafkaUnavailable",
    "KafkaAuthFailed",
    "KafkaSettingsError",
    "new_topic_partitions",
    "QUIET",
    "TopicPlan",
    "admin_client",
    "existing_topics",
    "plan_topics",
    "create_topics",
    "group_members",
    "committed_offsets",
    "alter_committed_offsets",
    "retry_coordinator",
    "COORDINATOR_RETRIABLE",
    "DAY_MS",
    "DLQ_RETENTION_MS",
    "DEFAULT_PARTITIONS",
]

T = TypeVar("T")

#: Group-coordinator errors that mean "ask again shortly" (a new group's coordinator is loading,
#: or the broker is still starting).
COORDINATOR_RETRIABLE = frozenset(
    {KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS, KafkaError.COORDINATOR_NOT_AVAILABLE}
)
#: First wait of :func:`retry_coordinator`, doubled per attempt up to the maximum (seconds).
RETRY_BACKOFF_S = 0.1
RETRY_BACKOFF_MAX_S = 1.0

DAY_MS = 24 * 3600 * 1000
#: Dead-lettered records wait for a human; a month covers holidays and slow triage.
DLQ_RETENTION_MS = 30 * DAY_MS
#: Partitions for a new source topic when neither the flag nor an existing source says.
DEFAULT_PARTITIONS = 6


#: For one-shot CLI checks: librdkafka's own connect-failure lines (level 3) would bury the
#: one-line diagnosis the command prints itself; real errors still surface as exceptions.
QUIET: dict[str, Any] = {"log_level": 2}


#: librdkafka error codes meaning "the broker answered and refused who we are".
_AUTH_CODES = frozenset({KafkaError._AUTHENTICATION, KafkaError._SSL, KafkaError.SASL_AUTHENTICATION_FAILED,
                         KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED})


class _Admin(AdminClient):
    """An AdminClient that remembers the errors librdkafka reported while connecting.

    They say more than the metadata call's own error ("Failed to get metadata"): "Connection
    refused", or that SASL authentication failed.
    """

    errors: list[KafkaError]


def admin_client(conf: Mapping[str, Any], **overrides: Any) -> AdminClient:
    """An AdminClient from librdkafka settings (``bootstrap.servers`` and the passthrough).

    Raises :class:`KafkaSettingsError` if librdkafka refuses them (``sasl.password`` missing...).
    """
    errors: list[KafkaError] = []
    try:
        admin = _Admin({**conf, "error_cb": errors.append, **overrides})
    except KafkaException as exc:
        raise KafkaSettingsError(f"kafka client settings: {_describe(exc, name=False)}") from None
    admin.errors = errors
    return admin


def existing_topics(admin: AdminClient, timeout: float = 10.0) -> dict[str, int]:
    """Topic name -> partition count, for every topic the cluster lists.

    Raises :class:`KafkaAuthFailed` when the broker rejected our credentials, else
    :class:`KafkaUnavailable` when no broker answered within ``timeout`` seconds.
    """
    try:
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        admin.poll(0)  # serve the error callbacks: they say why (refused, authentication failed)
        errors: list[KafkaError] = getattr(admin, "errors", [])
        auth = [e for e in errors if e.code() in _AUTH_CODES]
        if auth:
            raise KafkaAuthFailed(f"authentication failed: {auth[-1].str()}") from None
        detail = [e for e in errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
        raise KafkaUnavailable(detail[-1].str() if detail else _describe(exc)) from None
    return {name: len(t.partitions) for name, t in metadata.topics.items() if t.error is None}


def new_topic_partitions(present: dict[str, int], source_topic: str, requested: int | None = None) -> int:
    """Partitions for topics this processor creates (``topics create`` and ``run`` alike).

    The one rule: ``requested`` (``--partitions``) if given, else the source topic's count
    (retry records keep the original key, so the same spread keeps per-key work cheap), else
    :data:`DEFAULT_PARTITIONS`.
    """
    return requested or present.get(source_topic) or DEFAULT_PARTITIONS


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """One topic the processor needs, and the settings to create it with."""

    name: str
    role: str  # source | retry | dlq
    config: dict[str, str]


def retry_retention_ms(max_age_s: float, delay_s: float) -> int:
    """Retry records must outlive their delay and the max-age clock, with margin for outages."""
    return int(max(7 * DAY_MS, 2 * max_age_s * 1000, 2 * delay_s * 1000))


def plan_topics(topics: TopicSettings) -> list[TopicPlan]:
    """Source (broker defaults: its retention is the user's decision), retry tiers, DLQ."""
    names = all_topic_names(topics)
    plans = [TopicPlan(names["source"], "source", {})]
    for name, delay in zip(names["retries"], topics.retry_delays_s):
        retention = retry_retention_ms(topics.max_age_s, delay)
        plans.append(TopicPlan(name, "retry", {"cleanup.policy": "delete", "retention.ms": str(retention)}))
    plans.append(TopicPlan(names["dlq"], "dlq", {"cleanup.policy": "delete", "retention.ms": str(DLQ_RETENTION_MS)}))
    return plans


def create_topics(
    admin: AdminClient,
    plans: list[TopicPlan],
    *,
    partitions: int,
    replication_factor: int = -1,
    timeout: float = 30.0,
) -> dict[str, str]:
    """Create the missing topics. Result per topic: ``created``, ``exists`` or ``failed: <why>``.

    Idempotent: a topic that already exists is reported, not an error (its settings are left
    alone — changing retention of a live topic is a deliberate act, not a side effect).
    ``replication_factor=-1`` means the broker's ``default.replication.factor``.
    """
    present = existing_topics(admin, timeout=timeout)
    result: dict[str, str] = {p.name: "exists" for p in plans if p.name in present}
    missing = [p for p in plans if p.name not in present]
    if not missing:
        return result
    futures = admin.create_topics(
        [NewTopic(p.name, partitions, replication_factor, config=p.config) for p in missing],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    for name, future in futures.items():
        try:
            future.result(timeout=timeout)
            result[name] = "created"
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                result[name] = "exists"  # created concurrently by someone else
            else:
                result[name] = f"failed: {_describe(exc)}"
    return result


def group_members(admin: AdminClient, group_id: str, timeout: float = 10.0) -> list[str]:
    """Client ids/hosts of the group's active members (empty when the group is idle or unknown)."""

    def attempt() -> list[str]:
        description = admin.describe_consumer_groups([group_id], request_timeout=timeout)[group_id].result(timeout=timeout)
        return [f"{m.client_id}@{m.host}" for m in description.members]

    try:
        return retry_coordinator(attempt, timeout)
    except KafkaException as exc:
        err = exc.args[0] if exc.args else None
        if isinstance(err, KafkaError) and err.code() == KafkaError.GROUP_ID_NOT_FOUND:
            return []
        raise KafkaUnavailable(_describe(exc)) from None
    except TimeoutError:  # concurrent.futures' (an alias since 3.11): the broker never answered
        raise KafkaUnavailable(f"no answer to describing group {group_id!r} within {timeout:g}s") from None


def committed_offsets(
    admin: AdminClient, group_id: str, topic: str, partitions: list[int], timeout: float = 10.0
) -> dict[int, int | None]:
    """The group's committed offset per partition; ``None`` where nothing is committed."""
    request = ConsumerGroupTopicPartitions(group_id, [TopicPartition(topic, p) for p in partitions])

    def attempt() -> dict[int, int | None]:
        answer = admin.list_consumer_group_offsets([request], request_timeout=timeout)[group_id].result(timeout=timeout)
        _raise_partition_errors(answer.topic_partitions)
        return {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in answer.topic_partitions}

    try:
        return retry_coordinator(attempt, timeout)
    except KafkaException as exc:
        raise KafkaUnavailable(_describe(exc)) from None


def alter_committed_offsets(
    admin: AdminClient, group_id: str, topic: str, offsets: dict[int, int], timeout: float = 10.0
) -> None:
    """Set the group's committed offsets; fails (broker-side) while the group has members."""
    request = ConsumerGroupTopicPartitions(group_id, [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())])

    def attempt() -> None:
        answer = admin.alter_consumer_group_offsets([request], request_timeout=timeout)[group_id].result(timeout=timeout)
        _raise_partition_errors(answer.topic_partitions)

    retry_coordinator(attempt, timeout)


def _raise_partition_errors(partitions: list[TopicPartition]) -> None:
    for tp in partitions:
        if tp.error is not None:
            raise KafkaException(tp.error)


def retry_coordinator(
    call: Callable[[], T],
    timeout: float,
    *,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
) -> T:
    """Run ``call``, retrying while the group coordinator is moving or loading.

    Retried: :data:`COORDINATOR_RETRIABLE` codes (``NOT_COORDINATOR`` and friends, typical while
    a broker starts or a new group's coordinator loads) and any error librdkafka marks retriable.
    Backoff: :data:`RETRY_BACKOFF_S` doubling up to :data:`RETRY_BACKOFF_MAX_S`, never past
    ``timeout`` seconds from the first call. Raises the last ``KafkaException`` once the time is up
    or for any other error (callers map it to :class:`KafkaUnavailable`). ``sleep`` / ``clock``:
    ``time.sleep`` / ``time.monotonic`` unless given (tests).
    """
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + timeout
    backoff = RETRY_BACKOFF_S
    while True:
        try:
            return call()
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            retriable = isinstance(err, KafkaError) and (err.code() in COORDINATOR_RETRIABLE or err.retriable())
            remaining = deadline - clock()
            if not retriable or remaining <= 0:
                raise
            sleep(min(backoff, remaining))
            backoff = min(backoff * 2, RETRY_BACKOFF_MAX_S)


def _describe(exc: KafkaException, *, name: bool = True) -> str:
    err = exc.args[0] if exc.args else None
    if isinstance(err, KafkaError):
        return f"{err.name()}: {err.str()}" if name else err.str()
    return str(exc)
