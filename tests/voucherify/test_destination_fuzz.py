"""Random events through the presets: ``plan`` never crashes, never hangs, only plans.

Whatever arrives on the topic (wrong types everywhere, deep nesting, odd keys, ``null``
context), ``plan`` must return Delivery/Rejection values whose bodies are valid JSON objects,
so one bad event can only ever dead-letter itself. Also checks that the compiled validation
fast path agrees with the literal two-step reference on random payloads.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.segment.errors import PayloadValidationError
from processor.segment.validation import _reference_clean_and_validate, compile_schema
from processor.voucherify.actions import ACTIONS
from processor.voucherify.delivery import Delivery, Rejection
from processor.voucherify.destination import Destination
from processor.voucherify.settings import DestinationSettings

SETTINGS = DestinationSettings.from_segment({"apiKey": "app", "secretKey": "sk", "customURL": "https://x.voucherify.io"})
DESTINATION = Destination.build(SETTINGS, None)

KEYS = st.sampled_from(
    ["type", "userId", "event", "name", "properties", "traits", "context", "email", "groupId", "metadata",
     "address", "city", "country", "referral", "code", "loyalty", "source_id", "0", "", "__proto__", "constructor"]
) | st.text(max_size=6)
SCALARS = (
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
    | st.sampled_from(["", "track", "page", "screen", "identify", "group", "true", "0", " "])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)
EVENT_TYPES = st.sampled_from(["track", "page", "screen", "identify", "group", "alias"]) | SCALARS


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    event = draw(st.dictionaries(KEYS, JSON, max_size=8))
    event["type"] = draw(EVENT_TYPES)
    for key in ("userId", "event", "name", "groupId", "email"):
        if draw(st.booleans()):
            event[key] = draw(JSON)
    for key in ("properties", "traits", "context"):
        if draw(st.booleans()):
            event[key] = draw(st.none() | st.dictionaries(KEYS, JSON, max_size=6) | JSON)
    return event


def _check(planned: list[Any]) -> None:
    for p in planned:
        assert isinstance(p, (Delivery, Rejection))
        if isinstance(p, Delivery):
            assert isinstance(orjson.loads(p.body), dict)
            assert p.url.startswith("https://x.voucherify.io/segmentio/")
        else:
            assert isinstance(p.message, str) and p.message


@pytest.mark.timeout(120)
@settings(max_examples=600, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(events())
def test_plan_never_crashes(event: dict[str, Any]) -> None:
    snapshot = orjson.dumps(event) if _encodable(event) else None
    _check(DESTINATION.plan(event))
    _check(DESTINATION.plan_only(event, set(DESTINATION.subscription_names)))
    if snapshot is not None:
        assert orjson.dumps(event) == snapshot, "plan must not modify the event"


@pytest.mark.timeout(120)
@settings(max_examples=300, deadline=1000)
@given(st.dictionaries(KEYS, JSON, max_size=8))
def test_plan_any_object(event: dict[str, Any]) -> None:
    _check(DESTINATION.plan(event))


SCHEMAS = {k: compile_schema(a.fields) for k, a in ACTIONS.items()}


def _payloads(action: str) -> st.SearchStrategy[Any]:
    fields = ACTIONS[action].fields

    def for_fields(fs: Any) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {},
            optional={
                k: (for_fields(f["properties"]) | JSON) if f.get("properties") else JSON for k, f in fs.items()
            },
        )

    return for_fields(fields) | JSON


def _outcome(fn: Any, payload: Any) -> Any:
    try:
        return ("ok", fn(payload))
    except PayloadValidationError as exc:
        return ("invalid", exc.message, exc.status)


@pytest.mark.parametrize("action", list(ACTIONS))
def test_fast_validation_matches_reference(action: str) -> None:
    schema = SCHEMAS[action]

    @settings(max_examples=400, deadline=1000)
    @given(_payloads(action))
    def check(payload: Any) -> None:
        before = orjson.dumps(payload) if _encodable(payload) else None
        fast = _outcome(schema.clean_and_validate, payload)
        reference = _outcome(lambda p: _reference_clean_and_validate(schema, p), payload)
        assert fast == reference
        assert _ordered(fast) == _ordered(reference), "key order differs (the body's bytes would)"
        if before is not None:
            assert orjson.dumps(payload) == before, "validation must not modify its input"

    check()


def _ordered(value: Any) -> Any:
    """``value`` with every object as its list of items, so that key order counts in ``==``."""
    if type(value) is dict:
        return [(k, _ordered(v)) for k, v in value.items()]
    if type(value) in (list, tuple):
        return [_ordered(v) for v in value]
    return value


def _encodable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True
