"""How many events per second can the Segment semantics do on one core?

Measures ``Destination.plan`` with Segment's five presets (trigger, mapping, empty-value
removal, schema validation, body encoding) over realistic ~1 KB Segment events of all five
types (track, page, screen, identify, group) plus a share of events no preset takes (alias).
Events are parsed once up front, as the engine receives them (orjson dicts). Prints events/s
and µs/event; ``--profile`` writes a pyinstrument report of one run.

    python bench/semantics.py                   # default: 200,000 events, best of 3
    python bench/semantics.py -n 50000 --profile
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processor.voucherify.destination import Destination  # noqa: E402
from processor.voucherify.settings import DestinationSettings  # noqa: E402

TARGET = 50_000


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
        "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "traits": {"email": email},
        "campaign": {"source": "newsletter", "medium": "email", "name": "spring"},
    }


def _common(rng: random.Random, kind: str, n: int) -> dict[str, Any]:
    user = f"user-{rng.randint(1, 10**6)}"
    return {
        "type": kind,
        "messageId": f"ajs-next-{n:012d}-{rng.getrandbits(64):016x}",
        "anonymousId": f"{rng.getrandbits(128):032x}",
        "userId": user,
        "timestamp": "2024-05-01T12:34:56.789Z",
        "sentAt": "2024-05-01T12:34:56.800Z",
        "receivedAt": "2024-05-01T12:34:57.012Z",
        "originalTimestamp": "2024-05-01T12:34:56.700Z",
        "channel": "client",
        "integrations": {},
        "context": _context(rng, f"{user}@shop.example"),
    }


def make_event(rng: random.Random, n: int) -> dict[str, Any]:
    """One realistic Segment event (~1 KB as JSON)."""
    kind = rng.choices(["track", "page", "screen", "identify", "group", "alias"], [40, 20, 5, 20, 10, 5])[0]
    event = _common(rng, kind, n)
    if kind == "track":
        event["event"] = rng.choice(["Order Completed", "Product Added", "Checkout Started"])
        event["properties"] = {
            "order_id": f"ord_{n}",
            "total": round(rng.uniform(5, 500), 2),
            "currency": "USD",
            "coupon": rng.choice([None, "SPRING10"]),
            "email": event["context"]["traits"]["email"] if rng.random() < 0.5 else None,
            "referral": {"code": "REF-123", "referrer_id": "cust_9"} if rng.random() < 0.3 else None,
            "loyalty": {"code": "LOY-1"} if rng.random() < 0.3 else None,
            "metadata": {"channel": "web", "items": rng.randint(1, 9), "gift": rng.random() < 0.1},
            "products": [{"product_id": "p1", "sku": "SKU-1", "price": 19.99, "quantity": 2}],
        }
    elif kind in ("page", "screen"):
        event["name"] = rng.choice(["Home", "Pricing", "Checkout"])
        event["properties"] = {"path": "/pricing", "url": "https://shop.example/pricing", "title": "Pricing", "referrer": ""}
    elif kind == "identify":
        event["traits"] = {
            "name": "Chloé O'Brien",
            "first_name": "Chloé",
            "last_name": "O'Brien",
            "email": f"{event['userId']}@shop.example",
            "phone": rng.choice(["+1-202-555-0147", 48600100200]),
            "birthdate": "1990-04-12",
            "description": "Prefers express shipping",
            "address": {"city": "Kraków", "state": "małopolskie", "postal_code": "30-001", "street": "Floriańska 1", "country": "PL"},
            "metadata": {"tier": "gold", "points": rng.randint(0, 5000), "opt_in": True},
            "plan": "pro",
        }
    elif kind == "group":
        event["groupId"] = f"grp_{rng.randint(1, 500)}"
        event["email"] = f"{event['userId']}@shop.example"
        event["traits"] = {"name": "Acme Inc.", "industry": "Retail", "employees": 120, "plan": "enterprise"}
    else:
        event["previousId"] = f"anon-{n}"
    return event


def build() -> Destination:
    settings = DestinationSettings.from_segment(
        {"apiKey": "bench-app", "secretKey": "bench-secret", "customURL": "https://us1.segmentio.voucherify.io"}
    )
    return Destination.build(settings, None)


def measure(destination: Destination, events: list[dict[str, Any]]) -> float:
    plan = destination.plan
    gc.collect()
    start = time.perf_counter()
    for event in events:
        plan(event)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200_000, help="events per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--distinct", type=int, default=20_000, help="distinct events (cycled)")
    parser.add_argument("--profile", metavar="HTML", nargs="?", const="bench-semantics-profile.html", help="pyinstrument report")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    # Parse from bytes, as the engine does, so the dicts look like orjson's.
    distinct = [orjson.loads(orjson.dumps(make_event(rng, i))) for i in range(args.distinct)]
    size = sum(len(orjson.dumps(e)) for e in distinct) / len(distinct)
    events = [distinct[i % len(distinct)] for i in range(args.n)]
    destination = build()
    outcomes: dict[str, int] = {}
    for e in distinct:
        for p in destination.plan(e):
            kind = type(p).__name__
            outcomes[kind] = outcomes.get(kind, 0) + 1

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        measure(destination, events)
        profiler.stop()
        Path(args.profile).write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False, show_all=False))

    best = min(measure(destination, events) for _ in range(args.runs))
    rate = args.n / best
    print(f"events: {args.n} ({len(distinct)} distinct, mean {size:.0f} B), outcomes per distinct set: {outcomes}")
    print(f"{rate:,.0f} events/s on one core ({best / args.n * 1e6:.2f} µs/event), target {TARGET:,}: "
          f"{'ok' if rate >= TARGET else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
