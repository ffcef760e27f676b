"""Every subscription mapping in the shared conformance cases compiles, or is refused exactly
when (and with the message with which) the reference fails every event of that subscription.

See tests/conformance/README.md, "Where this product deliberately differs", item 1.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from processor.segment.errors import MappingConfigError
from processor.segment.mapping import compile_mapping

CASES = Path(__file__).parents[1] / "conformance" / "cases.jsonl"
# Errors that can only come from the mapping itself (never from an event or the settings).
MAPPING_ERROR_NAMES = {"AggregateError", "ParseError", "TokenizationError"}


def _subscriptions():
    for line in CASES.read_text().splitlines():
        group = json.loads(line)
        for sub in group["subscriptions"] or []:
            outcomes = [
                r for e in group["expected"] for r in e["results"] if r["subscription"] == sub["name"]
            ]
            yield pytest.param(sub, outcomes, id=f"{group['group']}:{sub['name']}")


@pytest.mark.parametrize("sub,outcomes", list(_subscriptions()))
def test_subscription_mapping(sub, outcomes):
    messages = {(o["outcome"], (o.get("error") or {}).get("message")) for o in outcomes}
    try:
        compile_mapping(sub["mapping"], field_prefix=f"{sub['name']}.mapping")
    except MappingConfigError as e:
        assert outcomes, "refused a mapping the reference never ran"
        assert messages == {("invalid", e.message)}
        assert e.field.startswith(f"{sub['name']}.mapping/")
        return
    names = {(o.get("error") or {}).get("name") for o in outcomes}
    same_mapping_error = len(messages) == 1 and outcomes and outcomes[0]["outcome"] == "invalid" and names <= MAPPING_ERROR_NAMES
    assert not same_mapping_error, f"reference always fails with {messages}"
