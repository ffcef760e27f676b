"""What the engine consumes and produces, as types and protocols (its ports).

The engine owns these contracts; the adapters implement them. ``processor.kafka`` implements
:class:`Consumer` (a consumer-group member that calls a :class:`ConsumerListener`),
:class:`Produce`, :class:`Decoder` and raises :class:`ProduceError`; the Voucherify destination
implements :class:`Planner` and :class:`Sender`. The engine imports neither package: it routes
deliveries, never builds them, and knows no payload field, no HTTP status and no Kafka client.
Anything with these shapes can be plugged in (fakes in unit tests).

Data flows one way: adapter -> port -> engine -> port -> adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# The engine's input and output failures, defined with the whole exception tree.
from processor.errors import MSG_SIZE_TOO_LARGE, DecodeError, ProduceError

__all__ = [
    "TP",
    "Inbound",
    "Commit",
    "ConsumerListener",
    "Consumer",
    "DecodeError",
    "Decoder",
    "ProduceError",
    "Produce",
    "PlannedDelivery",
    "PlannedRejection",
    "SendResult",
    "Planner",
    "Sender",
    "EngineObserver",
    "RETRYABLE",
    "PERMANENT",
    "AUTH",
    "DECODE",
    "VALIDATION",
    "CONFIG",
    "INTERNAL",
    "ERROR_CLASSES",
    "PAUSE_REASONS",
]

#: A topic partition: ``(topic, partition)``.
TP = tuple[str, int]


# -- input: records from a consumer group ------------------------------------------------------


@dataclass(slots=True)
class Inbound:
    """One consumed record, detached from the client library's message object.

    ``size``: bytes of the record as consumed (key + value + header names and values), counted
    by the adapter that read it; the flow control's byte bound adds these up (0: not counted).
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] | None
    timestamp_ms: int | None
    size: int = 0


#: An offset to commit ("next to read") and its commit metadata: the finished offsets above it
#: (``processor.engine.finished_offsets``; "" for none).
Commit = tuple[int, str]


class ConsumerListener(Protocol):
    """What a consumer calls, on its own thread (the engine implements it).

    1. ``on_assigned(partitions, committed)`` after an incremental assign, with each partition's
       committed offset and metadata as the group coordinator has them (a partition missing:
       none, or they could not be read; then nothing is skipped).
    2. ``on_messages(batch)`` for every non-empty batch; may block briefly (back-pressure).
    3. ``on_revoked(partitions) -> {tp: (offset, metadata)}`` inside the revoke callback (and on
       close): the listener stops those partitions, waits (bounded) for their in-flight work, and
       returns the offsets ("next to read") that are safe to commit with their metadata; the
       consumer commits them synchronously before the partitions are released.
    4. ``on_position_jump(tp, old, new, skipped)`` (blocking) when the consumer's position of a
       partition moved by itself (an offset reset: topic re-created, records deleted before they
       were read) before handing over the record at ``new``: the listener starts the partition
       afresh from ``new``; ``skipped`` offsets were never read.
    """

    def on_assigned(self, partitions: list[TP], committed: dict[TP, Commit]) -> None: ...
    def on_messages(self, batch: list[Inbound]) -> None: ...
    def on_revoked(self, partitions: list[TP]) -> dict[TP, Commit]: ...
    def on_position_jump(self, tp: TP, old: int, new: int, skipped: int) -> None: ...


class Consumer(Protocol):
    """What the engine asks of a consumer; every method is safe to call from the engine's thread."""

    def start(self) -> None: ...
    def stop(self) -> None:
        """Leave: revoke every partition through the listener (step 3), commit, close."""

    def join(self, timeout: float | None = None) -> None: ...
    def store_offsets(self, offsets: dict[TP, Commit]) -> None:
        """Offsets (next to read) whose prefix is finished, with metadata; committed at the next interval."""

    def set_paused(self, partitions: set[TP]) -> None:
        """The partitions to keep paused from now on; all others are resumed."""

    @property
    def fatal_error(self) -> BaseException | None: ...


class Decoder(Protocol):
    def decode(self, value: bytes | None, topic: str) -> dict[str, Any]:
        """The event, or :class:`DecodeError` (any other exception is treated the same way)."""
        ...


# -- output: records to the retry tiers and the dead-letter topic -------------------------------

class Produce(Protocol):
    """Write one record; returns once the broker acknowledged it, else raises :class:`ProduceError`."""

    async def __call__(
        self, topic: str, value: bytes | None, *, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> Any: ...


# -- the destination ---------------------------------------------------------------------------


class PlannedDelivery(Protocol):
    """A request to make for one (event, subscription)."""

    subscription: str
    action: str


class PlannedRejection(Protocol):
    """An (event, subscription) that cannot produce a valid request: permanent.

    ``error_class`` (optional, default ``validation``) is what the dead letter records, e.g.
    ``config`` for a retry whose subscription a configuration reload removed.
    """

    subscription: str
    action: str
    message: str
    status: int | None
    error_class: str  # "validation", or "internal" when our own semantics failed


class SendResult(Protocol):
    """The outcome of one request, already classified by the destination.

    ``throttled``: the destination asked us to slow down (for Voucherify, an HTTP 429); the
    engine adapts its request rate and retries the request after ``retry_after``, first.
    ``unavailable``: the failure says the destination may be down, not that this event is bad
    (for Voucherify: connection failures, timeouts, 500/502/503/504); many in a row open the
    availability circuit. ``status`` is recorded in dead letters and named in the circuit's
    reason, never interpreted.
    """

    ok: bool
    status: int | None
    error_class: str | None  # "retryable" | "permanent" | "auth" when not ok
    message: str
    retry_after: float | None
    throttled: bool
    unavailable: bool


class Planner(Protocol):
    def plan(self, event: Mapping[str, Any]) -> list[Any]:
        """Triggered subscriptions, in order: deliveries and rejections."""

    def plan_only(self, event: Mapping[str, Any], names: Collection[str]) -> list[Any]:
        """Like ``plan`` but only for the named subscriptions (retries)."""


class Sender(Protocol):
    """Makes one request per call and reports its :class:`SendResult`; never raises for the
    destination's answers or for network errors (those are failed results).

    A sender may also offer ``start(delivery, on_result) -> None``: the same request without a
    task, ``on_result(result)`` called once, later (never before ``start`` returns), with the
    exception instead if sending raised. The engine then runs most records without a task of
    their own (:meth:`~processor.engine.deliver.Deliverer.try_start`); without it, the engine
    runs ``send`` in a task to the same effect.
    """

    async def send(self, delivery: Any) -> SendResult: ...

    async def probe_auth(self) -> bool:
        """True/False when the destination answered (credentials accepted or not); raises when it
        could not tell (unreachable, 5xx). Also the availability circuit's probe."""


# -- observation -------------------------------------------------------------------------------


class EngineObserver:
    """Hooks for metrics and health; the default does nothing (tests, benchmarks)."""

    def consumed(self, topic: str, n: int) -> None: ...
    def triggered(self, action: str) -> None: ...
    def sent(self, action: str, seconds: float) -> None: ...
    def failed(self, action: str, error_class: str, seconds: float | None) -> None: ...
    def retried(self, action: str) -> None: ...
    def dead_lettered(self, error_class: str) -> None: ...
    def watch_in_flight(self, read: Callable[[], int]) -> None:
        """``read()`` is the number of events in flight now; a gauge calls it at every scrape.

        Pulled, not pushed: a pushed value was only updated when a batch arrived, so an idle
        processor kept showing the last batch's count (issue 12, item 1).
        """

    def watch_in_flight_bytes(self, read: Callable[[], int]) -> None:
        """``read()`` is the bytes of the records in flight now (``Inbound.size`` summed); pulled like
        :meth:`watch_in_flight`."""

    def paused(self, reasons: Mapping[str, int]) -> None:
        """Paused partitions by reason (:data:`PAUSE_REASONS`; a reason absent: none), whenever
        that changed; for DEBUG logs and metrics (why lag grows while partitions sit paused)."""

    def assigned(self, partitions: int) -> None: ...
    def released(self, tp: TP) -> None:
        """``tp`` is no longer this member's (revoked or lost): its per-partition figures
        (committed offset, lag) stop being reported here; the new owner reports them."""
    def committed(self, tp: TP, offset: int) -> None: ...
    def circuit(self, is_open: bool) -> None: ...
    def throttled(self, action: str) -> None: ...
    def allowed_rate(self, per_s: float | None) -> None: ...
    def availability(self, is_open: bool, reason: str) -> None: ...
    def position_jumped(self, tp: TP, skipped: int) -> None: ...
    def already_finished(self, topic: str, n: int) -> None: ...


#: Error classes recorded in retry / dead-letter headers (``vp.error.class``): the one place they
#: are spelled. The destination's client classifies its answers with these (it implements ``Sender``).
RETRYABLE = "retryable"
PERMANENT = "permanent"
AUTH = "auth"
DECODE = "decode"
VALIDATION = "validation"
CONFIG = "config"  # a retry names a subscription a configuration reload removed or disabled
INTERNAL = "internal"  # our own Segment semantics failed for this (event, subscription)
#: Every ``vp.error.class`` a retry or dead-letter record can carry (what ``dlq`` filters by).
ERROR_CLASSES = (RETRYABLE, PERMANENT, AUTH, DECODE, VALIDATION, CONFIG, INTERNAL)

#: Why flow control pauses a partition (``processor.engine.flow``), the first that applies: an open
#: auth/availability circuit, the byte bound, the record bound, the partition's own record bound,
#: records on a retry tier waiting for their due time.
PAUSE_REASONS = ("circuit", "in_flight_bytes", "in_flight", "partition_in_flight", "retry_delay")
