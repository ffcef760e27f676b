"""Names and codec of the ``vp.*`` headers on retry and dead-letter records.

The hand-off (:mod:`processor.engine.handoff`) writes them and the retry tiers read them back,
so the format lives next to it. The header contract is documented in docs/ARCHITECTURE.md;
these constants are the only place the names are spelled, so the engine, the ``dlq`` command
and the tests cannot drift apart.
All header values are UTF-8 strings on the wire (numbers as decimal text).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import orjson

__all__ = [
    "ATTEMPT",
    "NOT_BEFORE",
    "FIRST_FAILED",
    "ORIGIN_TOPIC",
    "ORIGIN_PARTITION",
    "ORIGIN_OFFSET",
    "ORIGIN_TIMESTAMP",
    "SUBSCRIPTIONS",
    "ERROR_CLASS",
    "ERROR_STATUS",
    "ERROR_MESSAGE",
    "DEAD_LETTERED_AT",
    "ALL_HEADERS",
    "encode_headers",
    "decode_headers",
    "encode_subscriptions",
    "decode_subscriptions",
]

ATTEMPT = "vp.attempt"
NOT_BEFORE = "vp.not_before"
FIRST_FAILED = "vp.first_failed"
ORIGIN_TOPIC = "vp.origin.topic"
ORIGIN_PARTITION = "vp.origin.partition"
ORIGIN_OFFSET = "vp.origin.offset"
ORIGIN_TIMESTAMP = "vp.origin.timestamp"
SUBSCRIPTIONS = "vp.subscriptions"
ERROR_CLASS = "vp.error.class"
ERROR_STATUS = "vp.error.status"
ERROR_MESSAGE = "vp.error.message"
DEAD_LETTERED_AT = "vp.dead_lettered_at"

ALL_HEADERS = (
    ATTEMPT,
    NOT_BEFORE,
    FIRST_FAILED,
    ORIGIN_TOPIC,
    ORIGIN_PARTITION,
    ORIGIN_OFFSET,
    ORIGIN_TIMESTAMP,
    SUBSCRIPTIONS,
    ERROR_CLASS,
    ERROR_STATUS,
    ERROR_MESSAGE,
    DEAD_LETTERED_AT,
)


def encode_headers(values: Mapping[str, str | int | None]) -> list[tuple[str, bytes]]:
    """Headers for ``Producer.produce``: every value as UTF-8 text, ``None`` as empty.

    Empty rather than omitted so that a reader always finds e.g. ``vp.error.status`` and can
    tell "no HTTP status" from "header forgotten".
    """
    return [(name, b"" if value is None else str(value).encode("utf-8")) for name, value in values.items()]


def decode_headers(headers: Iterable[tuple[str, bytes | str | None]] | None) -> dict[str, str]:
    """Headers from ``Message.headers()`` as a dict; the last value of a repeated name wins.

    Tolerant on purpose: records on these topics may have been written by other tools, so a
    ``None`` value becomes ``""`` and bytes that are not UTF-8 are decoded with replacement
    characters instead of failing the whole record.
    """
    out: dict[str, str] = {}
    if not headers:
        return out
    for name, value in headers:
        if value is None:
            out[name] = ""
        elif isinstance(value, str):
            out[name] = value
        else:
            out[name] = bytes(value).decode("utf-8", errors="replace")
    return out


def encode_subscriptions(names: Sequence[str]) -> str:
    """``vp.subscriptions``: the subscription names still to deliver, as a JSON list."""
    return orjson.dumps(list(names)).decode()


def decode_subscriptions(text: str | None) -> tuple[str, ...] | None:
    """The names in a ``vp.subscriptions`` value; ``None`` when absent, empty or not a JSON list.

    Tolerant like :func:`decode_headers` (other tools may write these topics): the engine reads
    ``None`` as "every triggered subscription", ``dlq`` as "no subscription to filter on".
    """
    if not text:
        return None
    try:
        names = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return tuple(str(n) for n in names) if isinstance(names, list) else None
