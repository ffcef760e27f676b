"""Voucherify webhook deliveries (payload format v2024-01-01) for the demo, the benchmark and the tests.

The payloads are the fixtures in ``tests/webhooks/fixtures/`` (Voucherify's documented examples
with invented values, one per event type of the receiver's table); this module gives them fresh
times and ids and signs them the way the receiver verifies (``x-voucherify-signature``).
"""

from __future__ import annotations

import copy
import time
import uuid
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from processor.webhooks import signature

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "webhooks" / "fixtures"


@cache
def _fixture_bytes(voucherify_type: str) -> bytes:
    return (FIXTURES / f"{voucherify_type}.json").read_bytes()


def fixture(voucherify_type: str) -> dict[str, Any]:
    """The fixture of one event type, as stored (a new copy each call)."""
    return orjson.loads(_fixture_bytes(voucherify_type))


def now_iso(offset_s: float = 0.0) -> str:
    at = datetime.fromtimestamp(time.time() + offset_s, timezone.utc)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fresh(envelope: dict[str, Any], *, event_id: str | None = None, age_s: float = 0.0,
          user_id: str | None = None) -> dict[str, Any]:
    """A copy with "now" (minus ``age_s``) as its times, a new unique event id unless given, and
    optionally another customer ``source_id``."""
    out = copy.deepcopy(envelope)
    out["created_at"] = now_iso(-age_s)
    out["event"]["created_at"] = now_iso(-age_s)
    out["event"]["id"] = event_id or f"ev_{uuid.uuid4().hex[:18]}"
    if user_id is not None:
        out["data"]["customer"]["source_id"] = user_id
    return out


def webhook(voucherify_type: str, **kwargs: Any) -> dict[str, Any]:
    """A fresh delivery of one event type (see :func:`fresh` for the options)."""
    return fresh(fixture(voucherify_type), **kwargs)


def signed(envelope: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body and the headers Voucherify would send with it."""
    body = orjson.dumps(envelope)
    return body, {signature.HEADER: signature.sign(body, secret.encode()), "content-type": "application/json"}
