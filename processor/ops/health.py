"""Liveness and readiness, as facts the engine reports and the HTTP probes read.

Live: the process is doing its job (the engine clears it when its loop is stuck or dead, so
Kubernetes restarts the pod). Ready: partitions are assigned and both circuits are closed — a
pod that holds no partitions, or is pausing deliveries because Voucherify rejects the
credentials or is unavailable, should not count as serving (it stays live: restarting it would
not bring Voucherify back). Reasons are kept as text for the 503 body.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["Health", "HealthStatus"]


@dataclass(frozen=True, slots=True)
class HealthStatus:
    ok: bool
    reasons: tuple[str, ...]


class Health:
    """Thread-safe holder of live/ready state; cheap to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live = True
        self._live_reason = ""
        self._ready_override: str | None = None  # a reason set via set_ready(False, reason)
        self._assigned = False
        self._circuit_open = False
        self._unavailable: str | None = None
        self._config: dict[str, int | str] | None = None

    def set_live(self, live: bool, reason: str = "") -> None:
        """Mark the process dead (with why) or alive again."""
        with self._lock:
            self._live = live
            self._live_reason = "" if live else (reason or "not live")

    def set_ready(self, ready: bool, reason: str = "") -> None:
        """Force not-ready for a reason of the caller's (e.g. "starting", "draining")."""
        with self._lock:
            self._ready_override = None if ready else (reason or "not ready")

    def set_assigned(self, assigned: bool) -> None:
        with self._lock:
            self._assigned = assigned

    def set_circuit_open(self, is_open: bool) -> None:
        with self._lock:
            self._circuit_open = is_open

    def set_destination_unavailable(self, reason: str | None) -> None:
        """The availability circuit opened (with its cause) or closed (``None``)."""
        with self._lock:
            self._unavailable = reason

    def set_config(self, generation: int, config_hash: str) -> None:
        """The running configuration, shown in the probes' bodies (which config is this pod on?)."""
        with self._lock:
            self._config = {"generation": generation, "hash": config_hash}

    def config(self) -> dict[str, int | str] | None:
        with self._lock:
            return None if self._config is None else dict(self._config)

    def liveness(self) -> HealthStatus:
        with self._lock:
            return HealthStatus(self._live, () if self._live else (self._live_reason,))

    def readiness(self) -> HealthStatus:
        with self._lock:
            reasons: list[str] = []
            if not self._live:
                reasons.append(self._live_reason)
            if self._ready_override is not None:
                reasons.append(self._ready_override)
            if not self._assigned:
                reasons.append("no partitions assigned")
            if self._circuit_open:
                reasons.append("circuit open: deliveries paused")
            if self._unavailable is not None:
                reasons.append(f"destination unavailable: {self._unavailable}")
            return HealthStatus(not reasons, tuple(reasons))
