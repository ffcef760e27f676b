"""What the engine needs from the destination, as protocols.

The engine routes deliveries, never builds them: it does not import the Voucherify package and
knows no payload field. Anything with these shapes can be plugged in (the Voucherify destination
in production, fakes in unit tests).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol


class PlannedDelivery(Protocol):
    """A request to make for one (event, subscription)."""

    subscription: str
    action: str


class PlannedRejection(Protocol):
    """An (event, subscription) that cannot produce a valid request: permanent."""

    subscription: str
    action: str
    message: str
    status: int | None


class SendResult(Protocol):
    ok: bool
    status: int | None
    error_class: str | None  # "retryable" | "permanent" | "auth" when not ok
    message: str
    retry_after: float | None


class Planner(Protocol):
    def plan(self, event: Mapping[str, Any]) -> list[Any]:
        """Triggered subscriptions, in order: deliveries and rejections."""

    def plan_only(self, event: Mapping[str, Any], names: Collection[str]) -> list[Any]:
        """Like ``plan`` but only for the named subscriptions (retries)."""


class Sender(Protocol):
    async def send(self, delivery: Any) -> SendResult: ...

    async def probe_auth(self) -> bool: ...


#: Error classes recorded in retry / dead-letter headers.
RETRYABLE = "retryable"
PERMANENT = "permanent"
AUTH = "auth"
DECODE = "decode"
VALIDATION = "validation"
