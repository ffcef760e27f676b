"""Request recording that costs one tuple append on the hot path.

The server keeps ``(time, method, path, headers, body, status)`` tuples; a
:class:`RecordedRequest` wraps one only when someone looks, and parses JSON lazily, so a
100k-request benchmark does not pay for dict building or JSON parsing it never reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

__all__ = ["RecordedRequest", "RawRecord"]

# (arrival time.time(), method, path, headers (case-insensitive mapping), raw body, status; 0 = reset)
RawRecord = tuple[float, str, str, Mapping[str, str], bytes, int]

_UNPARSED = object()


class RecordedRequest:
    """One request the stub received. ``status`` is what it answered (0 = connection reset)."""

    __slots__ = ("index", "time", "method", "path", "_headers", "body", "status", "_json")

    def __init__(
        self,
        index: int,
        time: float,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        status: int,
    ) -> None:
        self.index = index
        self.time = time
        self.method = method
        self.path = path
        self._headers = headers
        self.body = body
        self.status = status
        self._json: Any = _UNPARSED

    @classmethod
    def from_raw(cls, index: int, raw: RawRecord) -> RecordedRequest:
        return cls(index, *raw)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecordedRequest:
        """Rebuild from the control API's JSON (see :meth:`to_dict`)."""
        return cls(
            data["index"],
            data["time"],
            data["method"],
            data["path"],
            data["headers"],
            data["body"].encode("utf-8"),
            data["status"],
        )

    @property
    def headers(self) -> dict[str, str]:
        """Headers with lower-cased names (last value wins for repeated names)."""
        return {k.lower(): v for k, v in self._headers.items()}

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when empty or not JSON."""
        if self._json is _UNPARSED:
            try:
                self._json = orjson.loads(self.body) if self.body else None
            except orjson.JSONDecodeError:
                self._json = None
        return self._json

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "json": self.json,
            "status": self.status,
        }

    def __repr__(self) -> str:
        return f"<RecordedRequest #{self.index} {self.method} {self.path} -> {self.status}>"
