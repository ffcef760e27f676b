"""Secret redaction: the one place that knows how a secret can be spelled in text.

Used by everything that writes text a human or another system can read: log records
(:mod:`processor.ops.logging`), the messages the Voucherify client puts in delivery results
(and so in ``vp.error.message`` of retry / dead-letter records), and command output
(``check-config``, ``dlq list`` / ``show``).

What is redacted, for each secret (application id, secret key, SASL/SSL passwords):

1. the secret itself, and every encoding it travels in: base64 (standard and URL-safe, each
   padded and unpadded) of its UTF-8 bytes (as Node's ``Buffer.from``), and ``Basic <base64>``;
2. any substring of those of at least :data:`MIN_FRAGMENT_CHARS` characters (the raw secret:
   :data:`MIN_RAW_FRAGMENT_CHARS`), because a server that echoes request headers and then cuts
   its own body leaks *part* of an encoded secret (31 of 32 base64 characters decode to the
   whole key); a fragment right after ``Basic `` takes the ``Basic `` with it;
3. the value of any librdkafka password-like setting (``sasl.password``, ``ssl.key.password``,
   ...) written as ``key=value`` / ``'key': 'value'``, so a logged client configuration never
   leaks a credential nobody listed.

Callers redact *before* they cut text to a length: cutting first can leave a fragment shorter
than the thresholds at the cut (issue 13 item 3).

Thresholds: encoded forms look random, so 8 characters (48 bits of base64) never match ordinary
text; a raw secret may be made of words (``stub-secret-key``), so its fragments need 12.
Secrets shorter than :data:`MIN_SECRET_CHARS` are not redacted (they would hit ordinary words).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from typing import Any

from processor.segment.js import utf8_bytes

__all__ = [
    "REDACTED",
    "SENSITIVE_KAFKA_KEYS",
    "MIN_SECRET_CHARS",
    "MIN_FRAGMENT_CHARS",
    "MIN_RAW_FRAGMENT_CHARS",
    "Redactor",
    "secret_variants",
]

REDACTED = "***"
MIN_SECRET_CHARS = 4
MIN_FRAGMENT_CHARS = 8
MIN_RAW_FRAGMENT_CHARS = 12
_BASIC = "Basic "

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


def _encodings(secret: str) -> list[str]:
    """The base64 spellings of ``secret``'s bytes: standard / URL-safe, padded / unpadded."""
    raw = utf8_bytes(secret)
    std = base64.b64encode(raw).decode("ascii")
    url = base64.urlsafe_b64encode(raw).decode("ascii")
    return list(dict.fromkeys((std, std.rstrip("="), url, url.rstrip("="))))


def secret_variants(secret: str) -> list[str]:
    """The secret and the whole encodings it is sent in, longest first (fragments not included)."""
    std = base64.b64encode(utf8_bytes(secret)).decode("ascii")
    variants = {secret, *_encodings(secret), _BASIC + std}
    return sorted((v for v in variants if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


class Redactor:
    """Replaces every spelling of the registered secrets (see the module docstring) in text.

    ``placeholder`` is what a redacted span becomes (``***`` in logs; the HTTP client keeps its
    historical ``[redacted]`` in delivery messages). Not per event: it runs on failures, log
    records and command output, in time linear in the text's length.
    """

    def __init__(self, secrets: Iterable[str] = (), *, placeholder: str = REDACTED) -> None:
        self.placeholder = placeholder
        self._needles: list[str] = []
        self._windows: dict[int, set[str]] = {}
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secrets (e.g. once a ``*_file`` secret has been read)."""
        needles = set(self._needles)
        for secret in secrets:
            if not secret or len(secret) < MIN_SECRET_CHARS:
                continue
            needles.update(secret_variants(secret))
            self._add_windows(secret, MIN_RAW_FRAGMENT_CHARS)
            for encoded in _encodings(secret):
                self._add_windows(encoded.rstrip("="), MIN_FRAGMENT_CHARS)
        self._needles = sorted(needles, key=len, reverse=True)

    def _add_windows(self, form: str, size: int) -> None:
        if len(form) > size:
            bucket = self._windows.setdefault(size, set())
            bucket.update(form[i : i + size] for i in range(len(form) - size + 1))

    @property
    def longest(self) -> int:
        """Length of the longest whole spelling (0 when nothing is registered)."""
        return len(self._needles[0]) if self._needles else 0

    @property
    def active(self) -> bool:
        """Whether any secret is registered."""
        return bool(self._needles)

    def _spans(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for needle in self._needles:
            start = text.find(needle)
            while start != -1:
                spans.append((start, start + len(needle)))
                start = text.find(needle, start + 1)
        for size, windows in self._windows.items():
            spans.extend([(i, i + size) for i in range(len(text) - size + 1) if text[i : i + size] in windows])
        if not spans:
            return spans
        spans.sort()
        merged = [spans[0]]
        for start, end in spans[1:]:
            last_start, last_end = merged[-1]
            if start <= last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return [
            (start - len(_BASIC), end) if text.startswith(_BASIC, start - len(_BASIC)) and start >= len(_BASIC) else (start, end)
            for start, end in merged
        ]

    def redact(self, text: str) -> str:
        """``text`` with every secret spelling and Kafka credential value replaced."""
        if self._needles:
            spans = self._spans(text)
            if spans:
                parts: list[str] = []
                pos = 0
                for start, end in spans:
                    if start < pos:  # a "Basic " extension reaching into the previous span
                        start = pos
                    parts.append(text[pos:start])
                    parts.append(self.placeholder)
                    pos = end
                parts.append(text[pos:])
                text = "".join(parts)
        if "." in text:
            text = _SENSITIVE_KEY_RE.sub(lambda m: f"{m['key']}{m['sep']}{m['quote']}{self.placeholder}", text)
        return text

    def redact_value(self, value: Any) -> Any:
        """Like :meth:`redact`, through dicts (credential-named keys lose their value) and lists."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, bytes):
            return self.redact(value.decode("utf-8", errors="replace"))
        if isinstance(value, dict):
            return {
                k: self.placeholder if isinstance(k, str) and k in SENSITIVE_KAFKA_KEYS else self.redact_value(v)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.redact_value(v) for v in value]
        if isinstance(value, (int, float, bool)) or value is None:
            return value
        return self.redact(str(value))
