"""Process logging: JSON lines (or text for humans) with secrets redacted before formatting.

Redaction sits in a handler filter, so it sees every record that reaches the output no matter
which logger emitted it (ours, aiohttp's, confluent-kafka's). It rewrites the message, the
formatted traceback and any ``extra=`` fields, replacing:

- every known secret value (application id, secret key, SASL/SSL passwords) and the forms it
  travels in on the wire: base64 (standard, URL-safe, unpadded) and ``Basic <base64>``;
- the value of any librdkafka password-like setting (``sasl.password``, ``ssl.key.password``,
  ...) whether it appears as a dict key in an extra field or as ``key=value``/``'key': 'value'``
  in text, so a logged client config never leaks a credential even if nobody listed it.
"""

from __future__ import annotations

import base64
import logging
import re
import sys
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any, Literal

import orjson

__all__ = [
    "configure_logging",
    "RedactingFilter",
    "JsonFormatter",
    "secret_variants",
    "secrets_from_config",
    "REDACTED",
    "SENSITIVE_KAFKA_KEYS",
]

REDACTED = "***"

#: librdkafka settings whose values are credentials.
SENSITIVE_KAFKA_KEYS = frozenset(
    {
        "sasl.password",
        "sasl.username",  # not secret by itself, but often an API key id paired with the password
        "ssl.key.password",
        "ssl.keystore.password",
        "ssl.truststore.password",
        "ssl.key.pem",
        "sasl.oauthbearer.client.secret",
        "sasl.oauthbearer.config",
        "basic.auth.user.info",  # schema registry
    }
)

_SENSITIVE_KEY_RE = re.compile(
    r"(?P<key>(?:" + "|".join(re.escape(k) for k in sorted(SENSITIVE_KAFKA_KEYS, key=len, reverse=True)) + r"))"
    r"(?P<sep>['\"]?\s*[:=]\s*)(?P<quote>['\"]?)(?P<value>[^'\",\s}\]]+)",
)

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

_MIN_SECRET_LEN = 4  # shorter "secrets" would redact ordinary words and digits


def secret_variants(secret: str) -> list[str]:
    """The secret and the encodings it is sent in (Voucherify auth headers are base64)."""
    raw = secret.encode("utf-8")
    std = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    variants = {secret, std, url, std.rstrip("="), url.rstrip("="), f"Basic {std}"}
    return sorted((v for v in variants if len(v) >= _MIN_SECRET_LEN), key=len, reverse=True)


def secrets_from_config(cfg: Any) -> list[str]:
    """Every secret an ``AppConfig`` holds: destination credentials and Kafka passwords.

    Typed loosely so this module does not import the config model (ops sits below it).
    """
    found: list[str] = []
    dest = cfg.destination
    for name in ("application_id", "secret_key"):
        try:
            found.append(dest.secret(name))
        except Exception:  # an unreadable *_file is reported elsewhere; nothing to redact
            pass
    for section in (cfg.kafka.client, cfg.kafka.consumer, cfg.kafka.producer, cfg.input.schema_registry):
        for key, value in section.items():
            if key in SENSITIVE_KAFKA_KEYS and value:
                found.append(str(value))
    return [s for s in found if s]


class RedactingFilter(logging.Filter):
    """Rewrites records in place so no handler after it can see a secret."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._needles: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secrets (e.g. once a ``*_file`` secret has been read)."""
        needles = set(self._needles)
        for secret in secrets:
            if secret:
                needles.update(secret_variants(secret))
        self._needles = sorted(needles, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, REDACTED)
        if "." in text:
            text = _SENSITIVE_KEY_RE.sub(lambda m: f"{m['key']}{m['sep']}{m['quote']}{REDACTED}", text)
        return text

    def redact_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            return self.redact(value.decode("utf-8", errors="replace"))
        if isinstance(value, dict):
            return {
                k: REDACTED if isinstance(k, str) and k in SENSITIVE_KAFKA_KEYS else self.redact_value(v)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.redact_value(v) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.redact(str(value))

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
) -> RedactingFilter:
    """Install one redacting handler on the root logger (replacing a previous one of ours).

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
    return redactor
