"""Every exception the processor raises, in one tree (the way httpx documents its own).

Why one tree: a caller decides what to do by *family*, not by module. Start-up code catches
:class:`ConfigError` (exit code 2, the message names the field); the engine turns a
:class:`DeliveryError` into that (event, subscription)'s dead letter; a :class:`KafkaError`
means the cluster did not do what the protocol needs (stop, or report, and let the records be
redelivered). Catching :class:`ProcessorError` catches everything the processor raises on
purpose; anything else is a bug.

This module imports nothing of the processor, so every layer can raise from it; the layers
re-export the classes they raise under their old names (``processor.segment.errors.ConfigError``
is this module's ``ConfigError``).

::

    ProcessorError
    ├── ConfigError                  the configuration cannot be used; .field names where
    │   ├── ConfigFileError          the file is unreadable or fails the schema (pydantic)
    │   │   └── EmptyConfigFileError the file holds no document (refused on reload)
    │   ├── FqlSyntaxError           a trigger does not parse; .position
    │   ├── MappingConfigError       a mapping is malformed (directive, Liquid template); .problems
    │   └── KafkaSettingsError       librdkafka refuses the client settings (sasl.password missing)
    ├── DeliveryError                one event (or one event x subscription) cannot be delivered
    │   ├── DecodeError              the Kafka value is not a usable Segment event; .reason
    │   ├── PayloadValidationError   the payload fails the action's schema (Segment's 400); .status
    │   ├── MappingRuntimeError      a directive failed while resolving one event; .status
    │   ├── ProbeError               test-authentication could not tell (network, 5xx)
    │   └── MalformedDelivery        a webhook body is JSON but not a Voucherify envelope (webhooks)
    ├── KafkaError                   the cluster did not do what the protocol needs
    │   ├── KafkaUnavailable         no answer within the timeout, or refused
    │   │   └── KafkaAuthFailed      the broker answered and rejected the credentials (SASL, SSL)
    │   ├── ProduceError             a record was not acknowledged; .code, .too_large
    │   ├── HandoffFailed            a failure could not be handed to retry / dead letter: stop
    │   ├── LedgerFull               the re-drive ledger does not fit in the commit metadata
    │   └── ReplayError              a replay cannot be planned as asked
    │       └── GroupActive          the group has live members; offsets cannot be reset
    ├── ImporterError                ``import-segment`` cannot get or read Segment's export
    │   ├── ExportError              a document is not a Segment export shape (also a ValueError)
    │   └── FetchError               the Public API did not give the export (never shows the token)
    └── InvariantError               a protocol invariant broke (a bug, or a broker surprise)
        ├── OffsetOrderError         an offset arrived not above the previous one
        └── UnknownOffsetError       an offset finished that was never tracked, or twice

Internal signals (never leave their package; listed so nothing is unrooted): ``LexerError`` and
``ParseFailure`` (FQL, become :class:`FqlSyntaxError`), ``LiquidError`` / ``LiquidFailure``
(become mapping errors), ``ValidationError`` / ``AggregateValidationError`` of the mapping
validator (become :class:`PayloadValidationError`), ``MetadataError`` of the finished-offsets commit
metadata (becomes "nothing finished" and a WARNING), ``HttpError`` and its kinds of the Voucherify
transport (``processor.voucherify.http1``; become a failed ``DeliveryResult`` or a :class:`ProbeError`). They subclass :class:`InternalSignal`.

Note on the name :class:`KafkaError`: confluent-kafka has a ``KafkaError`` too (an error *code*
object, not an exception); modules that need both import this one as ``errors.KafkaError``.
"""

from __future__ import annotations

__all__ = [
    "ProcessorError",
    "ConfigError",
    "ConfigFileError",
    "EmptyConfigFileError",
    "FqlSyntaxError",
    "MappingConfigError",
    "DeliveryError",
    "DecodeError",
    "PayloadValidationError",
    "MappingRuntimeError",
    "ProbeError",
    "MalformedDelivery",
    "KafkaError",
    "KafkaUnavailable",
    "KafkaAuthFailed",
    "KafkaSettingsError",
    "ProduceError",
    "HandoffFailed",
    "LedgerFull",
    "ReplayError",
    "GroupActive",
    "ImporterError",
    "ExportError",
    "FetchError",
    "InvariantError",
    "OffsetOrderError",
    "UnknownOffsetError",
    "InternalSignal",
]

#: librdkafka's ``RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE`` (``confluent_kafka.KafkaError.MSG_SIZE_TOO_LARGE``;
#: a test keeps the two equal). Spelled here so this module needs no Kafka client.
MSG_SIZE_TOO_LARGE = 10


class ProcessorError(Exception):
    """Root of every exception the processor raises on purpose."""


# --- configuration: start-up stops, exit code 2 ------------------------------------------------


class ConfigError(ProcessorError):
    """The configuration is unusable; ``field`` names where (e.g. ``subscriptions[2].mapping.event``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ConfigFileError(ConfigError):
    """The configuration file cannot be read, parsed or validated; the message names the field."""


class EmptyConfigFileError(ConfigFileError):
    """The file holds no document at all (empty, whitespace or comments only): refused on reload."""


class FqlSyntaxError(ConfigError):
    """A trigger does not parse; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, *, position: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.position = position


class MappingConfigError(ConfigError):
    """A mapping is malformed (unknown directive, bad directive argument, bad Liquid template).

    ``message`` is Segment's wording (several problems joined with a space, as its AggregateError
    reads). ``problems`` keeps them apart as (location in the mapping, text without the location),
    so the operator sees one line per problem, each naming its location once:
    ``<prefix>/event/@path: should be a string ...``. ``prefix`` names the subscription.
    """

    def __init__(self, message: str, *, field: str | None = None, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message, field=field)
        self.problems = problems or []
        self.prefix = ""

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        return "\n".join(f"{self.prefix}{location}: {text}" for location, text in self.problems)


class KafkaSettingsError(ConfigError):
    """librdkafka refused the client settings (e.g. ``sasl.password`` missing): exit code 2."""


# --- delivery: one event (x subscription) fails; it goes to the dead-letter topic ---------------


class DeliveryError(ProcessorError):
    """One event, or one (event, subscription), cannot be delivered; the others carry on."""


class DecodeError(DeliveryError):
    """The value is not a usable Segment event; ``reason`` says why (no event data in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PayloadValidationError(DeliveryError):
    """The resolved payload fails the action's field schema (Segment answers 400)."""

    status = 400

    def __init__(self, message: str, *, status: int | None = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class MappingRuntimeError(DeliveryError):
    """A directive failed while resolving one event (Segment's runtime would throw)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ProbeError(DeliveryError):
    """test-authentication could not tell (network error, 5xx, ...): not the same as "rejected"."""


class MalformedDelivery(DeliveryError, ValueError):
    """The body is JSON but not a v2024-01-01 webhook envelope; the message says which field is wrong."""


# --- Kafka: the cluster did not do what the protocol needs -----------------------------------


class KafkaError(ProcessorError):
    """Family of Kafka failures (not confluent-kafka's ``KafkaError`` code object)."""


class KafkaUnavailable(KafkaError):
    """The cluster did not answer within the timeout (or refused us)."""


class KafkaAuthFailed(KafkaUnavailable):
    """The broker answered but rejected our credentials (SASL authentication, SSL handshake).

    A :class:`KafkaUnavailable`, so callers that only care "no cluster" still work; the commands
    tell the two apart (``check-config`` and ``run`` exit 7 instead of 4).
    """


class ProduceError(KafkaError):
    """The broker did not acknowledge a record (after librdkafka's own retries).

    ``code`` is librdkafka's error code when known. ``too_large``: the record exceeds
    ``message.max.bytes`` (client or broker); retrying the same record can never succeed.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code

    @property
    def too_large(self) -> bool:
        return self.code == MSG_SIZE_TOO_LARGE


class HandoffFailed(KafkaError, RuntimeError):
    """A failed event could not be handed to the retry or dead-letter topic: stop, redeliver later."""


class LedgerFull(KafkaError):
    """Too many scattered re-driven offsets to record in one partition's commit metadata."""


class ReplayError(KafkaError):
    """The replay cannot be planned as asked (unknown partition, offset out of range, ...)."""


class GroupActive(ReplayError):
    """The consumer group has live members; offsets can only be reset while it is stopped."""

    def __init__(self, group_id: str, members: list[str]) -> None:
        super().__init__(
            f"consumer group {group_id!r} has {len(members)} active member(s) ({', '.join(members)}); "
            "stop the processors first, then replay"
        )
        self.members = members


# --- import-segment: Segment's export cannot be had or read -------------------------------------


class ImporterError(ProcessorError):
    """``import-segment`` cannot get or read Segment's export; the message says why."""


class ExportError(ImporterError, ValueError):
    """A document is not one of the Segment export shapes; the message names the source and what is wrong."""


class FetchError(ImporterError):
    """The Public API could not give the export; the message says why (never the token)."""


# --- invariants: a bug or an unexpected broker behaviour; stop so the work is redelivered ----


class InvariantError(ProcessorError, RuntimeError):
    """A protocol invariant broke (see the numbered steps of the raising module's docstring)."""


class OffsetOrderError(InvariantError):
    """An offset arrived that is not greater than the previous one of the same partition."""


class UnknownOffsetError(InvariantError):
    """An offset was finished that was never tracked, or was finished twice."""


# --- internal signals ------------------------------------------------------------------------


class InternalSignal(ProcessorError):
    """Base of exceptions that never leave their package (converted into a named error first)."""
