"""Realistic Segment events for the end-to-end benchmark, built so the results can be checked.

Every event carries, where the destination's default mapping copies it into the request body,
``i`` (its global index: links a stub request back to the Kafka timestamp it was produced with)
and ``seq`` (its position among its user's events: per-key order is checked on the stub's
arrival order). Every event belongs to one of 10,000 users and triggers exactly one of the five
presets, so the expected request count is simply the event count (see :func:`expected_requests`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

#: Segment type -> stub path its preset posts to (identify->customer, group->group, the rest->event).
PATH_BY_TYPE = {
    "track": "/segmentio/event-processing",
    "page": "/segmentio/event-processing",
    "screen": "/segmentio/event-processing",
    "identify": "/segmentio/customer-processing",
    "group": "/segmentio/group-processing",
}
TYPES = ("track", "page", "screen", "identify", "group")
WEIGHTS = (45, 20, 5, 20, 10)


def _context(rng: random.Random, email: str) -> dict[str, Any]:
    return {
        "ip": f"203.0.113.{rng.randint(1, 254)}",
        "library": {"name": "analytics.js", "version": "next-1.55.0"},
        "locale": "en-US",
        "page": {
            "path": "/checkout/payment",
            "referrer": "https://www.google.com/",
            "title": "Checkout - Payment",
            "url": "https://shop.example/checkout/payment?utm_source=newsletter",
        },
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "traits": {"email": email},
        "campaign": {"source": "newsletter", "medium": "email", "name": "spring"},
    }


def make_event(rng: random.Random, i: int, user: int, seq: int, kind: str) -> dict[str, Any]:
    """One ~1 KB Segment event of ``kind`` for ``user-<user>``, tagged with ``i`` and ``seq``."""
    user_id = f"user-{user:05d}"
    email = f"{user_id}@shop.example"
    tag = {"i": i, "seq": seq}
    event: dict[str, Any] = {
        "type": kind,
        "messageId": f"ajs-next-{i:012d}-{rng.getrandbits(64):016x}",
        "anonymousId": f"{rng.getrandbits(128):032x}",
        "userId": user_id,
        "timestamp": "2024-05-01T12:34:56.789Z",
        "sentAt": "2024-05-01T12:34:56.800Z",
        "receivedAt": "2024-05-01T12:34:57.012Z",
        "channel": "client",
        "integrations": {},
        "context": _context(rng, email),
    }
    if kind == "track":
        event["event"] = rng.choice(("Order Completed", "Product Added", "Checkout Started"))
        event["properties"] = {
            "order_id": f"ord_{i}",
            "total": round(rng.uniform(5, 500), 2),
            "currency": "USD",
            "email": email if rng.random() < 0.5 else None,
            "referral": {"code": "REF-123", "referrer_id": "cust_9"} if rng.random() < 0.3 else None,
            "loyalty": {"code": "LOY-1"} if rng.random() < 0.3 else None,
            "metadata": {"channel": "web", "items": rng.randint(1, 9), **tag},
            "products": [{"product_id": "p1", "sku": "SKU-1", "price": 19.99, "quantity": 2}],
        }
    elif kind in ("page", "screen"):
        event["name"] = rng.choice(("Home", "Pricing", "Checkout"))
        event["properties"] = {
            "path": "/pricing",
            "url": "https://shop.example/pricing",
            "title": "Pricing",
            "metadata": tag,
        }
    elif kind == "identify":
        event["traits"] = {
            "name": "Chloé O'Brien",
            "first_name": "Chloé",
            "last_name": "O'Brien",
            "email": email,
            "phone": "+1-202-555-0147",
            "birthdate": "1990-04-12",
            "address": {"city": "Kraków", "postal_code": "30-001", "street": "Floriańska 1", "country": "PL"},
            "metadata": {"tier": "gold", "points": rng.randint(0, 5000), **tag},
        }
    else:  # group
        event["groupId"] = f"grp-{user % 97}"
        event["email"] = email
        event["traits"] = {"name": "Acme", "plan": "enterprise", "employees": 420, **tag}
    return event


def generate(n: int, users: int = 10_000, seed: int = 7, start: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` events, indices ``start..start+n-1``, users drawn uniformly, per-user ``seq`` counting up."""
    rng = random.Random(seed)
    seqs = [0] * users
    kinds = rng.choices(TYPES, WEIGHTS, k=n)
    for k in range(n):
        user = rng.randrange(users)
        seqs[user] += 1
        yield make_event(rng, start + k, user, seqs[user], kinds[k])


def expected_requests(events_by_type: dict[str, int]) -> dict[str, int]:
    """Requests the five presets trigger, per stub path (every benchmark event is valid)."""
    out: dict[str, int] = {}
    for kind, n in events_by_type.items():
        path = PATH_BY_TYPE.get(kind)
        if path is not None:
            out[path] = out.get(path, 0) + n
    return out


def tag_of(body: dict[str, Any]) -> tuple[str, int, int] | None:
    """(userId, i, seq) from a request body the stub recorded, or None if it carries no tag."""
    customer = body.get("customer") or {}
    user = customer.get("source_id") if customer else body.get("source_id")  # upsertCustomer: top level
    tagged = body.get("metadata") or body.get("traits") or {}
    if not isinstance(tagged, dict) or "i" not in tagged or user is None:
        return None
    return user, int(tagged["i"]), int(tagged["seq"])


def event_tag(event: dict[str, Any]) -> tuple[str, int] | None:
    """(userId, seq) straight from a source event (to check the order the topic itself holds)."""
    kind = event.get("type")
    if kind == "identify":
        tagged = event["traits"]["metadata"]
    elif kind == "group":
        tagged = event["traits"]
    else:
        tagged = event["properties"]["metadata"]
    return event["userId"], tagged["seq"]
