"""The generated mapping function (mapping/codegen.py) equals the node closures it unrolls.

Every mapping of the conformance cases (and the presets') on every event of the cases, plus
payload shapes the walks branch on (missing keys, null, strings, numbers, lists, prototype
members on the way), resolved both ways: the same value, or the same error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from processor.segment.errors import MappingConfigError, MappingRuntimeError
from processor.segment.mapping import compile_mapping
from processor.segment.mapping.compiler import compile_node
from processor.segment.mapping.directives import root_mapping
from processor.voucherify.actions import ACTIONS, default_mapping

CASES = Path(__file__).parents[1] / "conformance" / "cases.jsonl"

ODD_VALUES: list[Any] = [None, 0, 1, 2.5, "", "text", [], ["a"], {}, True, False]
PATH_KEYS = ("properties", "context", "traits", "userId", "event", "type", "email", "referral", "loyalty",
             "address", "city", "metadata", "groupId", "name")


def _mappings() -> list[tuple[str, dict[str, Any]]]:
    found = [(f"default:{a}", default_mapping(d)) for a, d in ACTIONS.items()]
    for line in CASES.read_text().splitlines():
        group = json.loads(line)
        for sub in group["subscriptions"] or []:
            found.append((f"{group['group']}:{sub['name']}", sub["mapping"]))
    return found


def _events() -> list[dict[str, Any]]:
    events = [e for line in CASES.read_text().splitlines() for e in json.loads(line)["events"]
              if type(e) is dict]
    base = {"type": "track", "userId": "u", "properties": {"email": "a@b.c", "referral": {"code": "R"}},
            "context": {"traits": {"email": "c@d.e", "address": {"city": "X"}}}}
    for key in PATH_KEYS:
        for value in ODD_VALUES:
            events.append({**base, key: value})
            events.append({**base, "properties": {**base["properties"], key: value}})
            events.append({**base, "context": {"traits": {key: value}}})
    return events


EVENTS = _events()


def _outcome(fn: Any, event: dict[str, Any]) -> Any:
    try:
        return ("value", fn(event))
    except MappingRuntimeError as exc:
        return ("error", exc.message)


@pytest.mark.parametrize("name,mapping", _mappings(), ids=lambda v: v if isinstance(v, str) else "")
def test_the_generated_function_resolves_as_the_closures_do(name: str, mapping: dict[str, Any]) -> None:
    try:
        compiled = compile_mapping(mapping)
    except MappingConfigError:
        return  # refused at compile time: nothing is generated
    closures = compile_node(root_mapping(mapping, []), []).final
    generated = compiled._final
    for event in EVENTS:
        assert _outcome(generated, event) == _outcome(closures, event), (name, event)


def test_the_presets_mappings_are_generated() -> None:
    for action in ACTIONS.values():
        assert hasattr(compile_mapping(default_mapping(action))._final, "source")
