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


# -- Liquid with random filters, argument counts and types (issue 13 item 5) ---------------------
from processor.segment.errors import ConfigError  # noqa: E402
from processor.segment.mapping.liquid.filters import FILTERS  # noqa: E402
from processor.voucherify.destination import Subscription  # noqa: E402
from processor.voucherify.settings import DestinationSettings  # noqa: E402

SETTINGS = DestinationSettings("fuzz-app", "fuzz-key", "https://us1.segmentio.voucherify.io")
liquid_args = st.one_of(
    st.integers(min_value=-10**6, max_value=10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: repr(float(f))),
    st.text(alphabet=st.characters(codec="ascii", exclude_characters="\"'{}%\r\n"), max_size=6).map(lambda t: f'"{t}"'),
    st.sampled_from(["nil", "true", "false", "properties.k", "properties.s", "properties.missing", "userId"]),
)
filter_calls = st.tuples(st.sampled_from(sorted(FILTERS)), st.lists(liquid_args, max_size=3)).map(
    lambda fa: fa[0] + (": " + ", ".join(fa[1]) if fa[1] else ""))
templates = st.lists(filter_calls, min_size=1, max_size=3).map(lambda fs: "{{ properties.v | " + " | ".join(fs) + " }}")


@settings(max_examples=max(EXAMPLES // 3, 50), deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(templates, st.fixed_dictionaries({"v": json_values, "k": json_values, "s": json_values}), st.data())
def test_liquid_with_random_filter_arguments_never_escapes(template: str, props: dict, data) -> None:
    """Whatever a Liquid filter does with odd arguments, the pair fails alone: nothing raises."""
    subs = [Subscription("liquid", 'type = "track"', "addCustomEvent",
                         {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@liquid": template}}),
            Subscription("plain", 'type = "track"', "addCustomEvent",
                         {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@path": "$.event"}})]
    try:
        destination = Destination.build(SETTINGS, subs)
    except ConfigError:
        return  # refused at start-up (e.g. a template that does not parse): never reaches events
    event = {"type": "track", "event": "E", "userId": data.draw(st.sampled_from(["u1", "", None])), "properties": props}
    planned = destination.plan(event)
    assert [p.subscription for p in planned] == ["liquid", "plain"]
    for item in planned:
        assert isinstance(item, (Delivery, Rejection)), item
        if isinstance(item, Delivery):
            orjson.loads(item.body)


def test_an_unexpected_exception_in_one_subscription_is_an_internal_rejection(monkeypatch) -> None:
    """The issue's case: ``at_least`` with two arguments raised a Python TypeError out of plan()
    (our Liquid port has since been fixed, so the defect is simulated in the body encoding)."""
    from tests.support.reliability import poison_body_encoding

    poison_body_encoding(monkeypatch)
    subs = [Subscription("poison", 'type = "track"', "addCustomEvent", None),
            Subscription("other", 'type = "track"', "addCustomEvent",
                         {"customer": {"source_id": {"@path": "$.userId"}}, "event": "Fine",
                          "type": {"@path": "$.type"}})]
    planned = Destination.build(SETTINGS, subs).plan({"type": "track", "event": "Poison", "userId": "u1"})
    assert isinstance(planned[0], Rejection) and planned[0].error_class == "internal"
    assert "TypeError" in planned[0].message and "'poison'" in planned[0].message
    assert isinstance(planned[1], Delivery)
