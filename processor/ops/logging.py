"""Process logging: JSON lines (or text for humans) with secrets redacted before formatting.

Redaction sits in a handler filter, so it sees every record that reaches the output no matter
which logger emitted it (ours, aiohttp's, confluent-kafka's). It rewrites the message, the
formatted traceback and any ``extra=`` fields with :class:`processor.redaction.Redactor`, the one
owner of what counts as a secret's spelling (raw, base64 in every variant, ``Basic <b64>``, long
fragments of those, and librdkafka password-like settings).

librdkafka's own log lines come through Python logging too (every Kafka client gets a Python
logger, see ``processor.kafka.logs``), so they share the format (one JSON object per line) and
the redaction. A broker that is down makes librdkafka repeat the same line every few hundred
milliseconds; :class:`RepeatFilter`, installed on the loggers ``configure_logging`` is given as
``repeat_limited``, lets one through per interval and says how many it held back.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Literal

import orjson

from processor.redaction import REDACTED, SENSITIVE_KAFKA_KEYS, Redactor, secret_variants

__all__ = [
    "configure_logging",
    "RedactingFilter",
    "JsonFormatter",
    "secret_variants",
    "REDACTED",
    "SENSITIVE_KAFKA_KEYS",
    "RepeatFilter",
]

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class RedactingFilter(logging.Filter):
    """Rewrites records in place so no handler after it can see a secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redactor = Redactor(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secrets (e.g. once a ``*_file`` secret has been read)."""
        self.redactor.add(secrets)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def redact_value(self, value: Any) -> Any:
        return self.redactor.redact_value(value)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not lose the record
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None  # the redacted text above replaces it
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key in list(vars(record)):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, self.redact_value(getattr(record, key)))
        return True


class RepeatFilter(logging.Filter):
    """Lets the first of similar records through per ``interval_s``; counts the rest.

    "Similar": same level and the same text once counters that librdkafka varies between
    repeats are masked (``after 12ms``, ``3 identical error(s) suppressed``, ``1/3 brokers``).
    The next record of a kind let through after its interval says how many were held back.
    Thread-safe (librdkafka's lines arrive on the consumer's and the producer's threads).
    """

    _VARYING = re.compile(r"\d+ms\b|\d+/\d+ brokers")
    _SUPPRESSED = re.compile(r", \d+ identical error\(s\) suppressed")
    _MAX_KINDS = 1000

    def __init__(self, interval_s: float = 60.0, clock: Any = None) -> None:
        super().__init__()
        import threading
        import time

        self._interval = interval_s
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._seen: dict[tuple[int, str], list[float]] = {}  # kind -> [first let through, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - never lose a record over formatting
            return True
        kind = (record.levelno, self._VARYING.sub("#", self._SUPPRESSED.sub("", text)))
        now = self._clock()
        with self._lock:
            entry = self._seen.get(kind)
            if entry is not None and now - entry[0] < self._interval:
                entry[1] += 1
                return False
            held = int(entry[1]) if entry is not None else 0
            if len(self._seen) >= self._MAX_KINDS:
                self._seen.clear()
            self._seen[kind] = [now, 0]
        if held:
            record.msg, record.args = f"{text} ({held} similar line(s) held back in the last {self._interval:g}s)", None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message, then extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in doc:
                doc[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            doc["exception"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return orjson.dumps(doc, default=str).decode("utf-8")


class _TextFormatter(logging.Formatter):
    """Human format; appends extra fields as ``key=value`` so nothing is silently dropped."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
        if extras:
            text += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return text


def configure_logging(
    level: str | int = "INFO",
    fmt: Literal["json", "text"] = "json",
    secrets: Iterable[str] = (),
    *,
    stream: Any = None,
    repeat_limited: Iterable[str] = (),
) -> RedactingFilter:
    """Install one redacting handler on the root logger (replacing a previous one of ours), and
    a :class:`RepeatFilter` on each logger named in ``repeat_limited`` (e.g. librdkafka's).

    Returns the filter so callers can ``add()`` secrets learned later.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_voucherify_processor", False):
            root.removeHandler(handler)
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler._voucherify_processor = True  # type: ignore[attr-defined]
    handler.addFilter(redactor)
    handler.setFormatter(JsonFormatter() if fmt == "json" else _TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in repeat_limited:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, RepeatFilter)]:
            logger.removeFilter(old)
        logger.addFilter(RepeatFilter())
    return redactor
