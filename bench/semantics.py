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
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev.sample_events import TYPES, WEIGHTS, generate  # noqa: E402
from processor.voucherify.destination import Destination  # noqa: E402
from processor.voucherify.settings import DestinationSettings  # noqa: E402

TARGET = 50_000
#: The benchmark's mix plus a share of events no preset takes.
KINDS = (*TYPES, "alias")
KIND_WEIGHTS = (*WEIGHTS, 5)


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

    # Parse from bytes, as the engine does, so the dicts look like orjson's.
    distinct = [orjson.loads(orjson.dumps(e)) for e in generate(args.distinct, users=1_000_000, seed=args.seed,
                                                                  types=KINDS, weights=KIND_WEIGHTS)]
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
