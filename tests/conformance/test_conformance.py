"""Golden conformance: every group of ``cases.jsonl`` through ``Destination.plan``.

Compared as ``UPSTREAM_README.md`` ("How to compare") says: the same outcomes in the same
order; for ``send`` the method, path, both auth header strings and the body (JSON
deep-equality); for ``invalid`` the status and message. With the product's deliberate
differences ("Where this product deliberately differs"):

* groups whose settings fail Segment's settings checks are refused at build time (the
  ConfigError must carry Segment's message and name the ``destination.*`` field);
* subscriptions that are broken by configuration alone (every outcome is
  ``invalid_subscription`` or the same non-schema error) are refused by ``Destination.build``,
  which must name the subscription; the group's other subscriptions are then compared;
* outcomes the reference produced only because of its ``context: null`` defect are not judged.

Run this file directly (``python tests/conformance/test_conformance.py``) for the counts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from processor.segment.errors import ConfigError
from processor.voucherify.delivery import Delivery, Rejection
from processor.voucherify.destination import Destination, Subscription
from processor.voucherify.settings import DestinationSettings

CASES = Path(__file__).with_name("cases.jsonl")
GROUPS: list[dict[str, Any]] = [orjson.loads(line) for line in CASES.read_bytes().splitlines() if line.strip()]
BASE_URL = "https://conformance.voucherify.test"

#: The reference's message for ``context: null`` (a defect, not a contract: not judged).
CONTEXT_NULL_DEFECT = "Cannot destructure property 'personas' of '{}' as it is null."
#: Messages that come from Segment's settings checks, not from a subscription.
SETTINGS_MESSAGE = re.compile(
    r"^(Application ID|Secret Key|Custom Voucherify URL) must be |^The request is missing Application ID or Secret Key\.$"
    r"|^The Custom URL: |^URL not provided\.$|^The root value is missing the required field '(apiKey|secretKey|customURL)'\.$"
)
#: Schema-validation errors depend on the event; everything else repeated for every event is configuration.
EVENT_DEPENDENT_ERRORS = {"AggregateAjvError", "TypeError"}


@dataclass
class Tally:
    compared: int = 0
    not_judged: int = 0
    refused_groups: int = 0
    refused_subscriptions: int = 0
    refused_messages_equal: int = 0
    kinds: Counter = field(default_factory=Counter)


TALLY = Tally()


def _settings_error(group: dict[str, Any]) -> str | None:
    """The settings message the reference raised for every outcome of this group, if any."""
    for entry in group["expected"]:
        for outcome in entry["results"]:
            if outcome["outcome"] == "invalid" and SETTINGS_MESSAGE.search(outcome["error"]["message"]):
                return outcome["error"]["message"]
    return None


def _broken_subscriptions(group: dict[str, Any]) -> dict[str, str]:
    """name -> the reference's message, for subscriptions whose every outcome is the same config error."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for entry in group["expected"]:
        for outcome in entry["results"]:
            seen.setdefault(outcome["subscription"], []).append(outcome)
    broken = {}
    for name, outcomes in seen.items():
        messages = set()
        for o in outcomes:
            if o["outcome"] == "invalid_subscription":
                messages.add(o["message"])
            elif o["outcome"] == "invalid" and o["error"]["name"] not in EVENT_DEPENDENT_ERRORS:
                messages.add(o["error"]["message"])
            else:
                messages.add(None)
        if len(messages) == 1 and None not in messages:
            broken[name] = messages.pop()
    return broken


def _settings(group: dict[str, Any]) -> dict[str, Any]:
    raw = {k: v for k, v in group["settings"].items() if k in ("apiKey", "secretKey")}
    raw["customURL"] = BASE_URL
    return raw


def _subscriptions(group: dict[str, Any]) -> list[Subscription] | None:
    subs = group["subscriptions"]
    return None if subs is None else [Subscription.from_segment(s) for s in subs]


def json_equal(a: Any, b: Any) -> bool:
    """JSON deep-equality: key order irrelevant, numbers as numbers, booleans never numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def key_order(value: Any) -> Any:
    """The object keys of ``value`` in order, recursively (what JSON equality ignores)."""
    if isinstance(value, dict):
        return [(k, key_order(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [key_order(v) for v in value]
    return None


def _describe(planned: Delivery | Rejection) -> dict[str, Any]:
    if isinstance(planned, Delivery):
        return {"subscription": planned.subscription, "outcome": "send", "url": planned.url, "body": orjson.loads(planned.body)}
    return {"subscription": planned.subscription, "outcome": "invalid", "status": planned.status, "message": planned.message}


def _compare(destination: Destination, expected: dict[str, Any], ours: list[Delivery | Rejection], where: str) -> None:
    headers = destination.settings.auth_headers
    want_names = [(o["subscription"], o["outcome"]) for o in expected]
    got_names = [(p.subscription, "send" if isinstance(p, Delivery) else "invalid") for p in ours]
    # Outcomes caused by the reference's context-null defect: the subscription must be there,
    # its kind is not judged.
    judged = [o.get("error", {}).get("message") != CONTEXT_NULL_DEFECT for o in expected]
    assert [n for n, _ in got_names] == [n for n, _ in want_names], (
        f"{where}: subscriptions differ\n  want {want_names}\n  got  {got_names}"
    )
    for want, got, judge in zip(expected, ours, judged):
        if not judge:
            TALLY.not_judged += 1
            continue
        detail = f"{where} {want['subscription']!r}\n  want {want}\n  got  {_describe(got)}"
        assert want["action"] == got.action, detail
        if want["outcome"] == "send":
            assert isinstance(got, Delivery), detail
            request = want["request"]
            assert request["method"] == "POST", detail
            assert got.url == BASE_URL + request["path"], detail
            assert headers["authorization"] == request["authorization"], detail
            assert headers["secret-key"] == request["secret_key"], detail
            assert json_equal(orjson.loads(got.body), request["body"]), detail
            # cases.jsonl keeps the key order of Segment's body (Node's JSON.parse then
            # JSON.stringify of the request), so the bytes' order is checked too.
            assert key_order(orjson.loads(got.body)) == key_order(request["body"]), f"key order: {detail}"
        elif want["outcome"] == "invalid":
            assert isinstance(got, Rejection), detail
            assert (got.status, got.message) == (want["error"]["status"], want["error"]["message"]), detail
        else:  # invalid_subscription outcomes belong to refused subscriptions only
            pytest.fail(f"{where}: unexpected {want['outcome']} outcome for a subscription that compiled")
        TALLY.compared += 1
        TALLY.kinds[want["outcome"]] += 1


def check_group(group: dict[str, Any]) -> None:
    """Everything the README asks of one group; raises AssertionError on the first difference."""
    gid = group["group"]
    settings_message = _settings_error(group)
    if settings_message is not None:
        with pytest.raises(ConfigError) as refused:
            DestinationSettings.from_segment(_settings(group))
        assert refused.value.message == settings_message, f"{gid}: settings refused with another message"
        assert (refused.value.field or "").startswith("destination."), refused.value.field
        TALLY.refused_groups += 1
        return

    settings = DestinationSettings.from_segment(_settings(group))
    subscriptions = _subscriptions(group)
    broken = _broken_subscriptions(group) if subscriptions is not None else {}
    if subscriptions is not None:
        for index, sub in enumerate(subscriptions):
            if sub.name not in broken:
                continue
            with pytest.raises(ConfigError) as refused:
                Destination.build(settings, [sub])
            where = str(refused.value.field)
            assert sub.name in where and where.startswith("subscriptions[0]"), f"{gid}: {where!r} does not name {sub.name!r}"
            TALLY.refused_subscriptions += 1
            message = refused.value.message
            if broken[sub.name].startswith("Invalid subscription : "):
                # FQL: the product's message explains the problem (and quotes Segment's).
                TALLY.refused_messages_equal += message == broken[sub.name].removeprefix("Invalid subscription : ")
            else:
                assert message == broken[sub.name], f"{gid}: {sub.name!r} refused with another message: {message!r}"
                TALLY.refused_messages_equal += 1
        subscriptions = [s for s in subscriptions if s.name not in broken]

    destination = Destination.build(settings, subscriptions)
    for entry in group["expected"]:
        event = group["events"][entry["index"]]
        expected = [o for o in entry["results"] if o["subscription"] not in broken]
        ours = destination.plan(event)
        _compare(destination, expected, ours, f"{gid} event[{entry['index']}]")


@pytest.mark.parametrize("group", GROUPS, ids=[g["group"] for g in GROUPS])
def test_group(group: dict[str, Any]) -> None:
    check_group(group)


def test_presets_group_shape() -> None:
    """The corpus covers the presets, custom subscriptions and both refusal kinds."""
    assert any(g["subscriptions"] is None for g in GROUPS)
    assert any(_settings_error(g) for g in GROUPS)
    assert any(_broken_subscriptions(g) for g in GROUPS if g["subscriptions"] is not None)


if __name__ == "__main__":  # pragma: no cover - a readable summary for humans
    failures = []
    for g in GROUPS:
        try:
            check_group(g)
        except Exception as exc:  # noqa: BLE001 - report every group, whatever broke
            failures.append((g["group"], [type(exc).__name__, *str(exc).splitlines()[0:3]]))
    total = TALLY.compared
    print(f"groups: {len(GROUPS)}, failing: {len(failures)}")
    print(f"compared outcomes: {total} ({dict(TALLY.kinds)}), not judged (context null): {TALLY.not_judged}")
    print(
        f"refused: {TALLY.refused_groups} settings groups, {TALLY.refused_subscriptions} subscriptions "
        f"({TALLY.refused_messages_equal} with Segment's exact message)"
    )
    for gid, lines in failures:
        print("FAIL", gid, *lines, sep="\n  ")
