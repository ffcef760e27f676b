"""Trigger matching against the golden cases produced by Segment's own runtime.

For each (group, event) the subscriptions whose trigger matches must be exactly those that have
an outcome in ``results`` (an omitted subscription means "not subscribed"). Subscriptions the
reference rejects (``invalid_subscription``) must be refused by ``compile_trigger``. Groups whose
*settings* are invalid are skipped: there the reference reports every subscription for every
event, matching or not, so they say nothing about triggers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from processor.segment.errors import FqlSyntaxError
from processor.segment.fql import compile_trigger

CASES = Path(__file__).resolve().parents[1] / "conformance" / "cases.jsonl"
PRESETS = [
    ("Add Custom Event (Track Event)", 'type = "track"'),
    ("Add Custom Event (Page Event)", 'type = "page"'),
    ("Add Custom Event (Screen Event)", 'type = "screen"'),
    ("Create Or Update Customer", 'type = "identify"'),
    ("Assign Customer To Group", 'type = "group"'),
]
_SETTINGS_MESSAGE = re.compile(r"^(Application ID|Secret Key) must be |^The request is missing Application ID or Secret Key\.")


def _groups() -> list[dict]:
    return [json.loads(line) for line in CASES.read_text(encoding="utf-8").splitlines() if line.strip()]


def _settings_invalid(group: dict) -> bool:
    outcomes = [result for entry in group["expected"] for result in entry["results"]]
    return bool(outcomes) and all(
        result["outcome"] == "invalid" and _SETTINGS_MESSAGE.search(result["error"]["message"]) for result in outcomes
    )


def _subscriptions(group: dict) -> list[tuple[str, str]]:
    if group["subscriptions"] is None:
        return PRESETS
    return [(sub["name"], sub["subscribe"]) for sub in group["subscriptions"]]


GROUPS = _groups()


def test_the_cases_file_has_trigger_groups() -> None:
    checked = [g for g in GROUPS if not _settings_invalid(g)]
    assert len(GROUPS) == 32
    assert len(checked) >= 31  # only pub-32 (array secret) is settings-invalid for every outcome


@pytest.mark.parametrize("group", GROUPS, ids=[g["group"] for g in GROUPS])
def test_triggers_select_the_same_subscriptions_as_segment(group: dict) -> None:
    if _settings_invalid(group):
        pytest.skip("settings invalid: every subscription is reported for every event")
    rejected = {
        result["subscription"]
        for entry in group["expected"]
        for result in entry["results"]
        if result["outcome"] == "invalid_subscription"
    }
    triggers = {}
    for name, text in _subscriptions(group):
        if name in rejected:
            with pytest.raises(FqlSyntaxError):
                compile_trigger(text)
        else:
            triggers[name] = compile_trigger(text)
    for entry in group["expected"]:
        event = group["events"][entry["index"]]
        expected = {r["subscription"] for r in entry["results"] if r["outcome"] != "invalid_subscription"}
        matched = {name for name, trigger in triggers.items() if trigger(event)}
        assert matched == expected, f"event {entry['index']}: {json.dumps(event)[:300]}"
