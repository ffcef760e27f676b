"""Realistic Segment events of all five types, for the demo and manual testing.

Shaped like what Segment's libraries send (messageId, timestamps, context with library/page/ip,
traits on identify and group, Ecommerce Spec properties on track), so mappings behave as on
real traffic. Deterministic for a given seed.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

TRACK_EVENTS = ("Order Completed", "Product Viewed", "Cart Viewed", "Checkout Started", "Coupon Applied")
PAGES = ("Home", "Pricing", "Checkout", "Product", "Blog")
SCREENS = ("Home", "Cart", "Profile", "Offers")
CITIES = (("Warsaw", "PL"), ("Berlin", "DE"), ("Austin", "US"), ("Lyon", "FR"))


def sample_event(rnd: random.Random, i: int, users: int = 50, base: datetime | None = None) -> dict[str, Any]:
    """The i-th event: types rotate track, identify, page, screen, group with a track bias."""
    base = base or datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    user_n = rnd.randrange(users)
    user = f"user-{user_n:05d}"
    email = f"{user}@example.com"
    ts = (base + timedelta(seconds=i)).isoformat().replace("+00:00", "Z")
    common: dict[str, Any] = {
        "messageId": str(uuid.UUID(int=rnd.getrandbits(128))),
        "userId": user,
        "anonymousId": str(uuid.UUID(int=rnd.getrandbits(128))),
        "timestamp": ts,
        "sentAt": ts,
        "context": {
            "library": {"name": "analytics.js", "version": "5.2.1"},
            "ip": f"203.0.113.{user_n % 250}",
            "locale": "en-US",
            "traits": {"email": email},
            "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
        },
    }
    kind = ("track", "track", "identify", "page", "screen", "group")[i % 6]
    if kind == "track":
        name = rnd.choice(TRACK_EVENTS)
        return {**common, "type": "track", "event": name, "properties": {
            "order_id": f"o-{i}", "total": round(rnd.uniform(5, 500), 2), "currency": "USD",
            "coupon": rnd.choice([None, "BLACKFRIDAY", "WELCOME10"]),
            "products": [{"product_id": f"p-{rnd.randrange(100)}", "price": 19.99, "quantity": 1}],
            "loyalty": {"code": f"LOY-{user_n}"} if rnd.random() < 0.3 else None,
            "metadata": {"channel": rnd.choice(["web", "ios", "android"]), "seq": i},
        }}
    if kind == "identify":
        city, country = rnd.choice(CITIES)
        return {**common, "type": "identify", "traits": {
            "email": email, "name": f"User {user_n}", "first_name": "User", "last_name": str(user_n),
            "phone": f"+48 600 {user_n:06d}", "address": {"city": city, "country": country, "street": "Main St 1"},
            "metadata": {"plan": rnd.choice(["free", "pro"]), "seq": i},
        }}
    if kind == "page":
        page = rnd.choice(PAGES)
        return {**common, "type": "page", "name": page, "properties": {
            "path": f"/{page.lower()}", "url": f"https://shop.example.com/{page.lower()}", "title": page,
            "metadata": {"seq": i}}}
    if kind == "screen":
        return {**common, "type": "screen", "name": rnd.choice(SCREENS), "properties": {"metadata": {"seq": i}}}
    return {**common, "type": "group", "groupId": f"acct-{user_n % 7}", "traits": {
        "name": f"Account {user_n % 7}", "industry": "Retail", "employees": 50 + user_n % 7}}


def sample_events(n: int, *, users: int = 50, seed: int = 42) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    return [sample_event(rnd, i, users) for i in range(n)]


def expected_path(event: dict[str, Any]) -> str | None:
    """The endpoint Segment's five presets send this event to (None: no preset triggers)."""
    return {
        "track": "/segmentio/event-processing",
        "page": "/segmentio/event-processing",
        "screen": "/segmentio/event-processing",
        "identify": "/segmentio/customer-processing",
        "group": "/segmentio/group-processing",
    }.get(event.get("type"))
