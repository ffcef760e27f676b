"""Realistic Segment events of all five types (and alias), for the demo, the benchmarks and the
reliability suite: the one place that knows what a test event looks like.

Shaped like what analytics.js sends (~1 KB as JSON: messageId, timestamps, a full context with
library/page/campaign/userAgent, Ecommerce Spec properties on track, traits on identify and group),
so mappings behave as on real traffic. Deterministic for a given random generator.

Bigger events (``size``, bytes of JSON): :func:`pad_event` adds cart lines (small objects, the
shape that costs Python the most memory per byte once decoded) to the metadata the presets copy,
so a padded event makes an equally big request body. Segment accepts up to 32 KB per call.

An event can carry a *tag* (a small dict such as ``{"i": 7, "seq": 3}``) in the field Segment's
preset mappings copy into the request body, so a request the stub recorded names its event:

=========  ===============================  ==================================================
type       endpoint (preset)                tag in the event -> in the request body
=========  ===============================  ==================================================
track      /segmentio/event-processing      ``properties.metadata`` -> ``metadata``
page       /segmentio/event-processing      ``properties.metadata`` -> ``metadata``
screen     /segmentio/event-processing      ``properties.metadata`` -> ``metadata``
identify   /segmentio/customer-processing   ``traits.metadata`` -> ``metadata``
group      /segmentio/group-processing      ``traits.metadata`` -> ``traits.metadata``
alias      (no preset triggers)             -
=========  ===============================  ==================================================
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

EVENT_PATH = "/segmentio/event-processing"
CUSTOMER_PATH = "/segmentio/customer-processing"
GROUP_PATH = "/segmentio/group-processing"

#: Which endpoint Segment's five presets send each event type to (None: no preset triggers).
PRESET_PATH: dict[str, str | None] = {
    "track": EVENT_PATH,
    "page": EVENT_PATH,
    "screen": EVENT_PATH,
    "identify": CUSTOMER_PATH,
    "group": GROUP_PATH,
    "alias": None,
}

#: The five types every preset takes, and a traffic-like mix of them.
TYPES = ("track", "page", "screen", "identify", "group")
WEIGHTS = (45, 20, 5, 20, 10)

_BASE_TIME = datetime(2024, 5, 1, 12, 34, 56, 789000, tzinfo=timezone.utc)


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context(rng: random.Random, email: str) -> dict[str, Any]:
    return {
        "ip": f"203.0.113.{rng.randint(1, 254)}",
        "library": {"name": "analytics.js", "version": "next-1.55.0"},
        "locale": "en-US",
        "page": {
            "path": "/checkout/payment",
            "referrer": "https://www.google.com/",
            "search": "?utm_source=newsletter",
            "title": "Checkout - Payment",
            "url": "https://shop.example/checkout/payment?utm_source=newsletter",
        },
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "traits": {"email": email},
        "campaign": {"source": "newsletter", "medium": "email", "name": "spring"},
    }


def make_event(rng: random.Random, kind: str, i: int, user_id: str, tag: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``i``-th event, of type ``kind``, for ``user_id``; ``tag`` goes where the presets copy it."""
    email = f"{user_id}@shop.example"
    at = _BASE_TIME + timedelta(seconds=i)
    event: dict[str, Any] = {
        "type": kind,
        "messageId": f"ajs-next-{i:012d}-{rng.getrandbits(64):016x}",
        "anonymousId": f"{rng.getrandbits(128):032x}",
        "userId": user_id,
        "timestamp": _iso(at),
        "sentAt": _iso(at + timedelta(milliseconds=11)),
        "receivedAt": _iso(at + timedelta(milliseconds=223)),
        "originalTimestamp": _iso(at - timedelta(milliseconds=89)),
        "channel": "client",
        "integrations": {},
        "context": _context(rng, email),
    }
    tagged = tag or {}
    if kind == "track":
        event["event"] = rng.choice(("Order Completed", "Product Added", "Checkout Started"))
        event["properties"] = {
            "order_id": f"ord_{i}",
            "total": round(rng.uniform(5, 500), 2),
            "currency": "USD",
            "coupon": rng.choice((None, "SPRING10")),
            "email": email if rng.random() < 0.5 else None,
            "referral": {"code": "REF-123", "referrer_id": "cust_9"} if rng.random() < 0.3 else None,
            "loyalty": {"code": "LOY-1"} if rng.random() < 0.3 else None,
            "metadata": {"channel": "web", "items": rng.randint(1, 9), "gift": rng.random() < 0.1, **tagged},
            "products": [{"product_id": "p1", "sku": "SKU-1", "price": 19.99, "quantity": 2}],
        }
    elif kind in ("page", "screen"):
        event["name"] = rng.choice(("Home", "Pricing", "Checkout"))
        event["properties"] = {"path": "/pricing", "url": "https://shop.example/pricing", "title": "Pricing",
                               "referrer": "", "metadata": {"section": "pricing", **tagged}}
    elif kind == "identify":
        event["traits"] = {
            "name": "Chloé O'Brien",
            "first_name": "Chloé",
            "last_name": "O'Brien",
            "email": email,
            "phone": rng.choice(("+1-202-555-0147", 48600100200)),  # a number too: the mapping coerces it
            "birthdate": "1990-04-12",
            "description": "Prefers express shipping",
            "address": {"city": "Kraków", "state": "małopolskie", "postal_code": "30-001", "street": "Floriańska 1",
                        "country": "PL"},
            "metadata": {"tier": "gold", "points": rng.randint(0, 5000), "opt_in": True, **tagged},
            "plan": "pro",
        }
    elif kind == "group":
        event["groupId"] = f"grp-{rng.randrange(500)}"
        event["email"] = email
        event["traits"] = {"name": "Acme Inc.", "industry": "Retail", "employees": 120, "plan": "enterprise",
                           "metadata": {"segment": "mid-market", **tagged}}
    elif kind == "alias":
        event["previousId"] = f"anon-{i}"
    else:
        raise ValueError(f"unknown Segment event type {kind!r}")
    return event


def pad_event(event: dict[str, Any], size: int) -> dict[str, Any]:
    """``event`` grown to about ``size`` bytes of JSON (never shrunk), in place; returns it.

    Cart lines (~110 bytes each) go to ``metadata.cart`` of the holder the presets copy (see the
    table above; ``context`` for alias), so the request body grows with the event.
    """
    missing = size - len(orjson.dumps(event))
    if missing <= 0:
        return event
    holder = event.get("traits") if event.get("type") in ("identify", "group") else event.get("properties")
    meta = holder.setdefault("metadata", {}) if isinstance(holder, dict) else event["context"]
    line = {"sku": "SKU-00000", "name": "Organic cotton t-shirt, navy", "price": 19.99, "quantity": 1,
            "category": "apparel/tops"}
    per_line = len(orjson.dumps(line)) + 1
    meta["cart"] = [{**line, "sku": f"SKU-{k:05d}", "quantity": 1 + k % 3} for k in range(max(1, missing // per_line))]
    return event


def generate(
    n: int,
    users: int = 10_000,
    seed: int = 7,
    start: int = 0,
    *,
    types: Sequence[str] = TYPES,
    weights: Sequence[int] = WEIGHTS,
    size: int | None = None,
) -> Iterator[dict[str, Any]]:
    """``n`` events, indices ``start..start+n-1``, users drawn uniformly.

    Each is tagged ``{"i": index, "seq": k}``: ``k`` counts the user's events up from 1 (so
    per-key order can be checked on the stub's arrival order, and a request traced to its index).
    ``size``: pad each to about that many bytes of JSON (:func:`pad_event`); unpadded ~1.2 KB.
    """
    rng = random.Random(seed)
    seqs: dict[int, int] = defaultdict(int)
    kinds = rng.choices(types, weights, k=n)
    for k in range(n):
        user = rng.randrange(users)
        seqs[user] += 1
        i = start + k
        event = make_event(rng, kinds[k], i, f"user-{user:05d}", {"i": i, "seq": seqs[user]})
        yield pad_event(event, size) if size else event


def sample_events(n: int, *, users: int = 50, seed: int = 42) -> list[dict[str, Any]]:
    """The demo's events: ``n`` of all five types over a few users."""
    return list(generate(n, users, seed))


def expected_path(event: dict[str, Any]) -> str | None:
    """The endpoint Segment's five presets send this event to (None: no preset triggers)."""
    return PRESET_PATH.get(event.get("type"))  # type: ignore[arg-type]


def expected_requests(events_by_type: dict[str, int]) -> dict[str, int]:
    """Requests the five presets trigger, per stub path, for these event counts (all events valid)."""
    out: dict[str, int] = {}
    for kind, n in events_by_type.items():
        path = PRESET_PATH.get(kind)
        if path is not None:
            out[path] = out.get(path, 0) + n
    return out


def event_tag(event: dict[str, Any]) -> dict[str, Any] | None:
    """The tag dict a source event carries (see the table above), or None."""
    holder = event.get("traits") if event.get("type") in ("identify", "group") else event.get("properties")
    meta = holder.get("metadata") if isinstance(holder, dict) else None
    return meta if isinstance(meta, dict) else None


def body_tag(path: str, body: Any) -> dict[str, Any] | None:
    """The tag dict a request body the presets built carries (see the table above), or None."""
    if not isinstance(body, dict):
        return None
    holder = body.get("traits") if path == GROUP_PATH else body
    meta = holder.get("metadata") if isinstance(holder, dict) else None
    return meta if isinstance(meta, dict) else None
