"""Reading the dead-letter topic and re-driving records into the first retry tier.

Reading never joins a consumer group: a consumer is *assigned* every DLQ partition from the
beginning up to the end offsets seen at start, so a scan always terminates and never moves
anyone's offsets.

Re-driving must be safe to re-run (an operator retries after a crash, or with a wider filter).
Which DLQ records were re-driven is recorded as committed offsets of a dedicated group,
``<group_id>.dlq-redrive``: per partition the committed offset is a watermark (every record
below it was re-driven) and the commit metadata lists re-driven offsets above it as compact
ranges (``"12-40,45"``), because a filtered re-drive leaves holes a plain watermark cannot
express. Offsets enter the ledger only after the retry-tier write is acknowledged, so a crash
can at worst re-drive a record twice (at-least-once, as everywhere else), never lose one.

Records an operator has dealt with otherwise are marked *handled* in a second ledger of the same
form (group ``<group_id>.dlq-handled``), so ``dlq list --pending`` shows only what still needs
attention. By default ``redrive`` takes only records that can succeed on a second try
(:data:`REDRIVE_BY_DEFAULT`); :data:`FAILS_AGAIN` says why the others would not.

One failure, one entry: a processor that crashes after dead-lettering an (event, subscription)
but before committing the event's offset processes the event again after the restart and
dead-letters it again. Those records have the same origin (``vp.origin.topic``, ``partition``,
``offset``) and the same ``vp.subscriptions``; :func:`by_origin` groups them into one
:class:`DlqEntry`, which ``dlq list`` shows once, ``redrive`` re-publishes once (recording every
copy in the ledger) and ``resolve`` marks as a whole. A copy dead-lettered *after* its entry was
re-driven (the re-driven record failed again) is a new failure: it is in no ledger, so the entry
needs attention again and can be re-driven again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from processor.engine import headers as h
from processor.engine.ports import AUTH, CONFIG, DECODE, ERROR_CLASSES, INTERNAL, PERMANENT, RETRYABLE, VALIDATION
from processor.errors import KafkaUnavailable, LedgerFull
from processor.kafka.admin import _describe, retry_coordinator
from processor.kafka.clients import new_consumer, new_producer
from processor.kafka.producer import durable_producer_settings

__all__ = [
    "DlqSettings",
    "DlqRecord",
    "DlqFilter",
    "DlqEntry",
    "by_origin",
    "RedriveLedger",
    "redrive_group_id",
    "scan_dlq",
    "load_ledgers",
    "redrive",
    "RedriveResult",
    "LedgerFull",
    "ERROR_CLASSES",
    "REDRIVE_BY_DEFAULT",
    "FAILS_AGAIN",
    "handled_group_id",
    "mark_handled",
]

#: What ``redrive`` takes without being told: failures that a second try can get through (the
#: endpoint recovered, the credentials were fixed, the 4xx came from a state that changed).
REDRIVE_BY_DEFAULT = frozenset({RETRYABLE, PERMANENT, AUTH})
#: The other classes, and why re-driving the same bytes with the same configuration fails again.
FAILS_AGAIN = {
    DECODE: "undecodable input decodes no better the second time",
    VALIDATION: "the mapping produces the same invalid payload until the configuration changes",
    CONFIG: "the subscription was removed or disabled; restore it in the configuration first",
    INTERNAL: "our Segment semantics failed on this event; it fails again until the processor is fixed",
}

#: Kafka's default ``offset.metadata.max.bytes`` is 4096; stay well under it.
MAX_METADATA_CHARS = 3500


@dataclass(frozen=True, slots=True)
class DlqSettings:
    """Plain values the dead-letter tools need (built by ``processor.app.dlq_settings``).

    ``consumer`` / ``producer``: librdkafka settings (bootstrap + passthrough) for each role;
    ``group_id``: the processor's group (the ledger and reader groups are named after it);
    ``redrive_topic``: where re-driven records go (retry tier 0).
    """

    consumer: Mapping[str, Any]
    producer: Mapping[str, Any]
    group_id: str
    dead_letter_topic: str
    redrive_topic: str


def redrive_group_id(settings: DlqSettings) -> str:
    return f"{settings.group_id}.dlq-redrive"


def handled_group_id(settings: DlqSettings) -> str:
    return f"{settings.group_id}.dlq-handled"


@dataclass(frozen=True, slots=True)
class DlqRecord:
    partition: int
    offset: int
    timestamp_ms: int  # vp.dead_lettered_at if present, else the record's timestamp
    key: bytes | None
    value: bytes | None
    headers: dict[str, str]
    raw_headers: list[tuple[str, bytes]]

    @property
    def error_class(self) -> str:
        return self.headers.get(h.ERROR_CLASS, "")

    @property
    def subscriptions(self) -> list[str]:
        return list(h.decode_subscriptions(self.headers.get(h.SUBSCRIPTIONS)) or ())

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, timezone.utc)

    @property
    def origin(self) -> tuple[str, ...]:
        """What failed: origin topic, partition, offset and the sorted subscriptions.

        A record without complete origin headers (written by another tool) is its own origin:
        its DLQ position, so it is never merged with anything.
        """
        topic = self.headers.get(h.ORIGIN_TOPIC)
        partition = self.headers.get(h.ORIGIN_PARTITION)
        offset = self.headers.get(h.ORIGIN_OFFSET)
        if not topic or not partition or not offset:
            return ("", "dlq", str(self.partition), str(self.offset))
        return (topic, partition, offset, *sorted(self.subscriptions))


def _newest(records: Iterable[DlqRecord]) -> DlqRecord:
    return max(records, key=lambda r: (r.timestamp_ms, r.partition, r.offset))


@dataclass(frozen=True, slots=True)
class DlqEntry:
    """One dead-lettered (origin, subscriptions), however many times it was dead-lettered."""

    copies: tuple[DlqRecord, ...]  # in DLQ order (partition, offset), at least one

    @property
    def record(self) -> DlqRecord:
        """The newest copy: its error is the latest one."""
        return _newest(self.copies)

    def pending(self, *ledgers: dict[int, RedriveLedger]) -> list[DlqRecord]:
        """Copies in none of ``ledgers`` (empty: the entry is done)."""
        return [r for r in self.copies if not any(r.offset in lg.get(r.partition, _EMPTY_LEDGER) for lg in ledgers)]


def by_origin(records: Iterable[DlqRecord]) -> list[DlqEntry]:
    """Records grouped by :attr:`DlqRecord.origin`, in the order of each group's first record."""
    groups: dict[tuple[str, ...], list[DlqRecord]] = {}
    for r in records:
        groups.setdefault(r.origin, []).append(r)
    return [DlqEntry(tuple(copies)) for copies in groups.values()]


@dataclass(frozen=True, slots=True)
class DlqFilter:
    error_class: str | None = None
    subscription: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    partition: int | None = None
    offset: int | None = None

    def matches(self, record: DlqRecord) -> bool:
        if self.partition is not None and record.partition != self.partition:
            return False
        if self.offset is not None and record.offset != self.offset:
            return False
        if self.error_class is not None and record.error_class != self.error_class:
            return False
        if self.subscription is not None and self.subscription not in record.subscriptions:
            return False
        if self.since_ms is not None and record.timestamp_ms < self.since_ms:
            return False
        if self.until_ms is not None and record.timestamp_ms >= self.until_ms:
            return False
        return True


@dataclass
class RedriveLedger:
    """Which offsets of one DLQ partition were re-driven: ``offset < watermark`` or in ``extra``."""

    watermark: int = 0
    extra: set[int] = field(default_factory=set)

    def __contains__(self, offset: int) -> bool:
        return offset < self.watermark or offset in self.extra

    def add(self, offset: int) -> None:
        if offset >= self.watermark:
            self.extra.add(offset)

    def compact(self, existing_offsets: list[int]) -> None:
        """Advance the watermark over re-driven records and gaps (offsets with no record)."""
        for offset in existing_offsets:  # ascending
            if offset < self.watermark:
                continue
            if offset not in self.extra:
                self.watermark = offset
                break
        else:
            if existing_offsets:
                self.watermark = max(self.watermark, existing_offsets[-1] + 1)
        self.extra = {o for o in self.extra if o >= self.watermark}

    def metadata(self) -> str:
        ranges: list[str] = []
        for start, end in _ranges(sorted(self.extra)):
            ranges.append(str(start) if start == end else f"{start}-{end}")
        text = ",".join(ranges)
        if len(text) > MAX_METADATA_CHARS:
            raise LedgerFull(
                "too many scattered re-driven offsets to record; re-drive without filters to consolidate"
            )
        return text

    @classmethod
    def parse(cls, offset: int, metadata: str | None) -> RedriveLedger:
        extra: set[int] = set()
        for part in filter(None, (metadata or "").split(",")):
            start, _, end = part.partition("-")
            try:
                extra.update(range(int(start), int(end or start) + 1))
            except ValueError:
                continue  # not ours: ignore rather than fail a listing
        return cls(max(offset, 0), extra)


_EMPTY_LEDGER = RedriveLedger()


def _ranges(offsets: list[int]) -> Iterator[tuple[int, int]]:
    if not offsets:
        return
    start = prev = offsets[0]
    for o in offsets[1:]:
        if o != prev + 1:
            yield start, prev
            start = o
        prev = o
    yield start, prev


def _reader(settings: DlqSettings, group_id: str) -> Consumer:
    conf = dict(settings.consumer)
    conf.update({"group.id": group_id, "enable.auto.commit": False, "enable.auto.offset.store": False})
    return new_consumer(conf)


def _partitions(consumer: Consumer, topic: str, timeout: float) -> list[int]:
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    except KafkaException as exc:
        raise KafkaUnavailable(_describe(exc)) from None
    if meta is None or meta.error is not None:
        raise KafkaUnavailable(f"dead-letter topic {topic!r} does not exist")
    return sorted(meta.partitions)


def load_ledgers(settings: DlqSettings, timeout: float = 10.0, *, group: str | None = None) -> dict[int, RedriveLedger]:
    """The ledger of every DLQ partition (empty where nothing is recorded).

    ``group``: the ledger's group, by default the re-drive ledger's (see :func:`handled_group_id`).
    """
    topic = settings.dead_letter_topic
    consumer = _reader(settings, group or redrive_group_id(settings))
    try:
        partitions = _partitions(consumer, topic, timeout)
        wanted = [TopicPartition(topic, p) for p in partitions]

        def attempt() -> list[TopicPartition]:
            answer = consumer.committed(wanted, timeout=timeout)
            for tp in answer:  # librdkafka may report a coordinator error per partition
                if tp.error is not None:
                    raise KafkaException(tp.error)
            return answer

        # NOT_COORDINATOR and friends while a broker starts or the ledger group's coordinator loads
        committed = retry_coordinator(attempt, timeout)
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None
    finally:
        consumer.close()
    return {tp.partition: RedriveLedger.parse(tp.offset, tp.metadata) for tp in committed}


def scan_dlq(settings: DlqSettings, timeout: float = 10.0) -> Iterator[DlqRecord]:
    """Every DLQ record from the beginning to the end offsets as of the call, partition order."""
    topic = settings.dead_letter_topic
    consumer = _reader(settings, f"{settings.group_id}.dlq-reader-{uuid.uuid4().hex[:8]}")
    try:
        ends: dict[int, int] = {}
        starts: list[TopicPartition] = []
        for p in _partitions(consumer, topic, timeout):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
                starts.append(TopicPartition(topic, p, low))
        if not starts:
            return
        consumer.assign(starts)
        buffered: dict[int, list[DlqRecord]] = {p: [] for p in ends}
        remaining = set(ends)
        idle_deadline = time.monotonic() + max(timeout, 5.0)
        while remaining:
            msg = consumer.poll(0.5)
            if msg is None:
                if time.monotonic() > idle_deadline:
                    raise KafkaUnavailable(f"reading {topic} stalled before its end offsets")
                continue
            if msg.error():
                if msg.error().retriable() or msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaUnavailable(str(msg.error()))
            idle_deadline = time.monotonic() + max(timeout, 5.0)
            p, offset = msg.partition(), msg.offset()
            if p not in remaining:
                continue
            raw = list(msg.headers() or [])
            decoded = h.decode_headers(raw)
            ts = _int_or_none(decoded.get(h.DEAD_LETTERED_AT)) or msg.timestamp()[1]
            buffered[p].append(DlqRecord(p, offset, ts, msg.key(), msg.value(), decoded, raw))
            if offset + 1 >= ends[p]:
                remaining.discard(p)
        for p in sorted(buffered):
            yield from buffered[p]
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None
    finally:
        consumer.close()


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def retry_headers(record: DlqRecord, now_ms: int) -> list[tuple[str, bytes]]:
    """Headers for the re-driven record: a fresh first attempt, same origin and subscriptions.

    The max-age clock (``vp.first_failed``) restarts too: otherwise a record dead-lettered
    for being too old would be dead-lettered again at once. Error headers are dropped (the
    record has not failed in this life yet); headers that are not ``vp.*`` pass through.
    """
    dropped = {h.ATTEMPT, h.NOT_BEFORE, h.FIRST_FAILED, h.ERROR_CLASS, h.ERROR_STATUS, h.ERROR_MESSAGE, h.DEAD_LETTERED_AT}
    kept = [(name, value) for name, value in record.raw_headers if name not in dropped]
    return kept + h.encode_headers({h.ATTEMPT: 0, h.NOT_BEFORE: now_ms, h.FIRST_FAILED: now_ms})


@dataclass
class RedriveResult:
    redriven: int = 0
    skipped: int = 0  # matched, but already re-driven by an earlier run
    copies: int = 0  # further copies of a re-driven entry (same origin), recorded, not re-published
    failed: int = 0


def redrive(
    settings: DlqSettings,
    entries: list[DlqEntry],
    ledgers: dict[int, RedriveLedger],
    existing_offsets: dict[int, list[int]],
    *,
    progress: Callable[[int, int], None] | None = None,
    batch: int = 500,
    timeout: float = 30.0,
) -> RedriveResult:
    """Re-publish each entry's newest copy not re-driven yet into retry tier 0, once per entry.

    When it lands, every pending copy of the entry is recorded in the ledgers, so neither this
    run nor a later one publishes the same failure again.
    """
    target = settings.redrive_topic
    result = RedriveResult()
    todo: list[tuple[DlqRecord, list[DlqRecord]]] = []
    for entry in entries:
        for r in entry.copies:
            ledgers.setdefault(r.partition, RedriveLedger())
        pending = entry.pending(ledgers)
        if pending:
            todo.append((_newest(pending), pending))
        else:
            result.skipped += 1
    producer = new_producer(durable_producer_settings(dict(settings.producer)))
    committer = _reader(settings, redrive_group_id(settings))
    delivered: list[list[DlqRecord]] = []
    errors: list[str] = []

    def on_delivery(copies: list[DlqRecord]) -> Callable[[Any, Any], None]:
        def callback(err: Any, _msg: Any) -> None:
            if err is None:
                delivered.append(copies)
            else:
                errors.append(str(err))

        return callback

    def checkpoint() -> None:
        if producer.flush(timeout) > 0:
            raise KafkaUnavailable(f"records not acknowledged by {target} within {timeout:g}s")
        result.redriven += len(delivered)
        result.copies += sum(len(copies) - 1 for copies in delivered)
        _record(settings, committer, ledgers, [r for copies in delivered for r in copies], existing_offsets)
        delivered.clear()

    try:
        now_ms = int(time.time() * 1000)
        for i, (record, copies) in enumerate(todo, 1):
            producer.produce(
                target,
                value=record.value,
                key=record.key,
                headers=retry_headers(record, now_ms),
                on_delivery=on_delivery(copies),
            )
            producer.poll(0)
            if i % batch == 0:
                checkpoint()
            if progress:
                progress(i, len(todo))
        checkpoint()
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None
    finally:
        committer.close()
    result.failed = len(errors)
    return result


def _record(
    settings: DlqSettings,
    committer: Consumer,
    ledgers: dict[int, RedriveLedger],
    records: list[DlqRecord],
    existing_offsets: dict[int, list[int]],
) -> None:
    """Add ``records`` to ``ledgers`` and commit the touched partitions' ledgers (synchronously)."""
    for record in records:
        ledgers.setdefault(record.partition, RedriveLedger()).add(record.offset)
    offsets = []
    for p in sorted({r.partition for r in records}):
        ledger = ledgers[p]
        ledger.compact(existing_offsets.get(p, []))
        offsets.append(TopicPartition(settings.dead_letter_topic, p, ledger.watermark, metadata=ledger.metadata()))
    if offsets:
        committer.commit(offsets=offsets, asynchronous=False)


def mark_handled(
    settings: DlqSettings, records: list[DlqRecord], ledgers: dict[int, RedriveLedger], existing_offsets: dict[int, list[int]]
) -> int:
    """Record ``records`` as handled (``ledgers``: the handled ledger); returns how many were new.

    Raises :class:`LedgerFull` when too many scattered offsets are marked in one partition, and
    :class:`KafkaUnavailable` when the commit fails.
    """
    new = [r for r in records if r.offset not in ledgers.get(r.partition, RedriveLedger())]
    if not new:
        return 0
    committer = _reader(settings, handled_group_id(settings))
    try:
        _record(settings, committer, ledgers, new, existing_offsets)
    except KafkaException as exc:
        raise KafkaUnavailable(str(exc)) from None
    finally:
        committer.close()
    return len(new)
