"""The outage switch: make the stub unavailable for a while, the three ways a real service goes away.

- ``refuse``: the listening socket is closed, so new connections get "connection refused"; a
  request arriving on a connection opened before the outage is reset. The control API shares the
  port, so it is unreachable too: the outage ends by itself after ``seconds`` (in-process,
  :meth:`StubServer.end_outage` ends it early).
- ``reset``: connections are accepted, every ``/segmentio`` request is aborted without an answer.
- ``503``: every ``/segmentio`` request is answered ``503 Service Unavailable`` (Voucherify's
  error shape).

An outage wins over everything (script, auth, rate limit, random faults); requests that reach
the stub during one are recorded (status 0 for a reset, 503 for 503).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["Outage", "OUTAGE_MODES"]

OutageMode = Literal["refuse", "reset", "503"]
OUTAGE_MODES: tuple[str, ...] = ("refuse", "reset", "503")


@dataclass(frozen=True, slots=True)
class Outage:
    """An outage in force: its mode, and when it started / ends (epoch seconds, for the view)."""

    mode: OutageMode
    started: float
    ends: float

    @classmethod
    def parse(cls, data: dict[str, Any], now: float) -> Outage:
        """``{"mode": "refuse"|"reset"|"503", "seconds": float > 0}``; ValueError otherwise."""
        unknown = set(data) - {"mode", "seconds"}
        if unknown:
            raise ValueError(f"unknown outage key(s): {sorted(unknown)}")
        mode = str(data.get("mode"))
        if mode not in OUTAGE_MODES:
            raise ValueError(f"outage mode must be one of {list(OUTAGE_MODES)}, got {data.get('mode')!r}")
        seconds = float(data.get("seconds", 0))
        if not seconds > 0:
            raise ValueError("outage seconds must be positive")
        return cls(mode, now, now + seconds)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "started": self.started, "ends": self.ends}
