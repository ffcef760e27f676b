"""Decode + trigger + mapping over random input: only DecodeError, Delivery or Rejection come out.

Bytes and JSON-ish values go through ``JsonDecoder`` and then the preset ``Destination.plan``,
exactly the engine's steps 2 and 4. No crash, and no hang (hypothesis' deadline per example).
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.config import parse_config
from processor.kafka.decoders import DecodeError, JsonDecoder
from processor.segment.events import EVENT_TYPES
from processor.voucherify.delivery import Delivery, Rejection
from processor.voucherify.destination import Destination
from tests.support.reliability import env_int

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

EXAMPLES = env_int("VP_FUZZ_EXAMPLES", 400, soak=20_000)
FUZZ = settings(max_examples=EXAMPLES, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

DESTINATION = Destination.from_config(parse_config(
    {"destination": {"application_id": "fuzz-app", "secret_key": "fuzz-key", "custom_url": "https://us1.segmentio.voucherify.io"}}))
DECODER = JsonDecoder(max_value_bytes=20_000)

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=20)
FIELDS = ["userId", "anonymousId", "event", "name", "groupId", "properties", "traits", "context", "messageId",
          "previousId", "timestamp", "integrations"]
NESTED = ["email", "metadata", "referral", "loyalty", "address", "name", "code", "traits"]
nested_objects = st.dictionaries(st.sampled_from(NESTED) | st.text(max_size=6), json_values, max_size=5)
events = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(EVENT_TYPES)) | st.text(max_size=6) | json_values},
    optional={f: (nested_objects if f in ("properties", "traits", "context") else json_values) for f in FIELDS},
)


def _through(value: bytes) -> None:
    try:
        event = DECODER.decode(value, "fuzz")
    except DecodeError as exc:
        assert exc.reason
        return
    planned = DESTINATION.plan(event)
    assert isinstance(planned, list)
    for item in planned:
        assert isinstance(item, (Delivery, Rejection)), item
        if isinstance(item, Delivery):
            orjson.loads(item.body)  # what would be POSTed is JSON


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(value: bytes) -> None:
    _through(value)


@FUZZ
@given(events)
def test_random_event_shaped_json(event: dict) -> None:
    try:
        value = orjson.dumps(event)
    except (TypeError, orjson.JSONEncodeError):  # e.g. integers beyond 64 bits
        return
    _through(value)


@FUZZ
@given(json_values)
def test_random_json_values(value) -> None:
    try:
        raw = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return
    _through(raw)
