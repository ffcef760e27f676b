"""Numbers in request bodies, byte for byte as Segment's runtime writes them.

``data/numeric_bodies.jsonl``: groups made by ``dev/differential/numbers_gen.py`` (the issue's
``addCustomEvent`` subscription with number-carrying ``metadata`` mappings: ``@path``, ``@json``
decode/encode, ``@template``, ``@liquid`` arithmetic, ``@if``, ``@merge``) over events written as
raw JSON text with numbers at the edges, run through Segment's own runtime (the reference
harness's ``oracle.js``) and ``dev/differential/body_text.js`` (see ``data/README.md``). Each event
is parsed here as our decoder parses it (orjson) and each body compared with every number's
text exactly as Segment wrote it (object key order aside: see :func:`number_texts`).
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest

from processor.voucherify.delivery import Delivery
from processor.voucherify.destination import Destination, Subscription
from processor.voucherify.settings import DestinationSettings

DATA = Path(__file__).parent / "data" / "numeric_bodies.jsonl"
GROUPS = [json.loads(line) for line in DATA.read_text(encoding="utf-8").split("\n") if line.strip()]


def number_texts(body: str) -> object:
    """The body with every number kept as its exact text (``("num", "1e-7")``): equal iff the
    same values with the same number notation, whatever the order of object keys."""
    return json.loads(body, parse_int=lambda s: ("num", s), parse_float=lambda s: ("num", s),
                      parse_constant=lambda s: ("num", s))


def _destination(group: dict) -> Destination:
    settings = DestinationSettings.from_segment({**group["settings"], "customURL": "https://numbers.voucherify.test"})
    return Destination.build(settings, [Subscription.from_segment(s) for s in group["subscriptions"]])


@pytest.mark.parametrize("group", GROUPS, ids=[g["group"] for g in GROUPS])
def test_every_body_is_segments_text(group: dict) -> None:
    destination = _destination(group)
    differences = []
    for entry in group["expected"]:
        event = orjson.loads(group["event_texts"][entry["index"]])
        planned = destination.plan(event)
        want = [number_texts(r["request"]["body_text"]) for r in entry["results"] if r["outcome"] == "send"]
        got = [number_texts(p.body.decode("utf-8")) for p in planned if isinstance(p, Delivery)]
        if got != want:
            differences.append((group["event_texts"][entry["index"]], want, got))
    assert not differences, "\n".join(f"{e}\n  segment: {w}\n  ours:    {g}" for e, w, g in differences[:10])


def test_enough_bodies() -> None:
    assert sum(len(e["results"]) for g in GROUPS for e in g["expected"]) >= 400
