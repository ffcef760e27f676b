"""Generate the numeric-body differential groups (oracle.js input), seeded, as JSON lines.

    python -m dev.differential.numbers_gen > /tmp/groups.jsonl
    node /work/shared/conformance/reference/oracle.js --env /work/segment-reference < /tmp/groups.jsonl \
        | node dev/differential/body_text.js > tests/voucherify/data/numeric_bodies.jsonl

Segment's runtime is JavaScript: an event's numbers are doubles once ``JSON.parse`` has read
them, and a request body is ``JSON.stringify``'s text. Each group is the issue's subscription
(``type = "track"`` -> ``addCustomEvent``) with one ``metadata`` mapping that carries numbers
into the body (``@path``, ``@json`` decode and encode, ``@template``, ``@liquid``, arithmetic
filters), over events whose ``properties`` are written as raw JSON text with numbers at the
edges (beyond 2**53 and 2**64, ``-0``, ``100.0``, exponents, the smallest and largest doubles).
"""

from __future__ import annotations

import json
import random
import sys

LITERALS = [
    "0", "-0", "0.0", "-0.0", "1", "-1", "100.0", "1e2", "1E2", "1.5", "0.1", "1.005", "2.5e-5", "1e-7", "1e-6",
    "0.000001", "1.2345e-5", "123456789.123", "1e16", "1e20", "1e21", "1.5e300", "-1.5e-300", "5e-324",
    "1.7976931348623157e308", "9007199254740991", "9007199254740992", "9007199254740993", "-9007199254740993",
    "1234567890123456789", "12345678901234567890", "18446744073709551615", "18446744073709551616",
    "123456789012345678901234567890", "4.35", "99.99", "1710113400", "1710113400123", "0.30000000000000004",
    "2e-7", "123e-20", "1.0e+3", "-1e21", "1e-300", "7.0", "1234.5000", "0.5e1",
]
SETTINGS = {"apiKey": "app-id", "secretKey": "secret-key"}


def subscription(name: str, metadata: object) -> dict:
    return {
        "name": name,
        "subscribe": 'type = "track"',
        "partnerAction": "addCustomEvent",
        "mapping": {
            "customer": {"source_id": {"@path": "$.userId"}},
            "event": {"@path": "$.event"},
            "type": {"@path": "$.type"},
            "metadata": metadata,
        },
    }


MAPPINGS = [
    {"@path": "$.properties"},
    {"d": {"@path": "$.properties.n"}, "arr": {"@path": "$.properties.arr"}},
    {"d": {"@json": {"mode": "encode", "value": {"@path": "$.properties"}}}},
    {"d": {"@json": {"mode": "decode", "value": {"@path": "$.properties.text"}}}},
    {"d": {"@template": "{{properties.n}}|{{properties.arr}}"}},
    {"d": {"@liquid": "{{ properties.n }}|{{ properties.n | plus: 0 }}|{{ properties.n | times: 10 }}|{{ properties.arr | json }}"}},
    {"d": {"@liquid": "{{ properties.n | round: 2 }}|{{ properties.n | divided_by: 3 }}|{{ properties.n | modulo: 7 }}|{{ properties.n | minus: 0.1 }}"}},
    {"d": {"@if": {"exists": {"@path": "$.properties.n"}, "then": {"@path": "$.properties.n"}, "else": 0}}},
    {"d": {"@merge": {"objects": [{"@path": "$.properties"}, {"x": 100.0}], "direction": "right"}}},
]


def event_text(rng: random.Random) -> str:
    n = rng.choice(LITERALS)
    arr = ",".join(rng.choice(LITERALS) for _ in range(rng.randint(0, 4)))
    nested = rng.choice(LITERALS)
    text = json.dumps("[" + ",".join(rng.choice(LITERALS) for _ in range(rng.randint(1, 4))) + "]")
    return (
        '{"type":"track","userId":"u1","event":"E","properties":'
        f'{{"n":{n},"arr":[{arr}],"o":{{"v":{nested}}},"text":{text}}}}}'
    )


def generate(seed: int = 11, events_per_group: int = 40) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i, metadata in enumerate(MAPPINGS):
        events = [event_text(rng) for _ in range(events_per_group)]
        if i == 0:  # the issue's row: every literal once, as the only property
            events += ['{"type":"track","userId":"u1","event":"E","properties":{"n":' + lit + "}}" for lit in LITERALS]
        # oracle.js keeps unknown keys: "event_texts" carries each event as written
        head = json.dumps({"group": f"numbers-{i}", "settings": SETTINGS, "subscriptions": [subscription(f"m{i}", metadata)],
                           "event_texts": events})
        lines.append(head[:-1] + ',"events":[' + ",".join(events) + "]}")
    return lines


def main() -> int:
    for line in generate():
        sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
