"""Destination.build refuses bad configuration up front; plan/plan_only behave as documented."""

from __future__ import annotations

import orjson
import pytest

from processor.config import parse_config
from processor.segment.errors import ConfigError, FqlSyntaxError, MappingConfigError
from processor.segment.fql import compile_trigger
from processor.voucherify.delivery import Delivery, Rejection
from processor.voucherify.destination import Destination, Subscription
from processor.voucherify.settings import DestinationSettings

SETTINGS = DestinationSettings.from_segment({"apiKey": "app", "secretKey": "sk", "customURL": "https://x.voucherify.io"})
TRACK = {"type": "track", "event": "Order Completed", "userId": "u1", "properties": {"total": 150}}


def test_presets_when_no_subscriptions() -> None:
    destination = Destination.build(SETTINGS, None)
    assert destination.subscription_names == (
        "Add Custom Event (Track Event)",
        "Add Custom Event (Page Event)",
        "Add Custom Event (Screen Event)",
        "Create Or Update Customer",
        "Assign Customer To Group",
    )
    [planned] = destination.plan({"type": "page", "name": "Pricing", "userId": "u1"})
    assert isinstance(planned, Delivery)
    assert planned.url == "https://x.voucherify.io/segmentio/event-processing"
    assert orjson.loads(planned.body)["event"] == "Viewed Pricing Page"


def test_mapping_error_names_subscription_and_field() -> None:
    subs = [
        Subscription("ok", 'type = "track"', "addCustomEvent"),
        Subscription("also ok", 'type = "track"', "addCustomEvent", enabled=False),
        Subscription("Big orders", 'type = "track"', "addCustomEvent", {"event": {"@path": 3}}),
    ]
    with pytest.raises(MappingConfigError) as refused:
        Destination.build(SETTINGS, subs)
    assert str(refused.value).startswith("subscriptions[2] 'Big orders' mapping /event/@path: ")


def test_trigger_error_names_subscription() -> None:
    with pytest.raises(FqlSyntaxError) as refused:
        Destination.build(SETTINGS, [Subscription("Bad", "type", "addCustomEvent")])
    assert refused.value.field == "subscriptions[0] 'Bad' subscribe"


def test_unknown_action_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"subscriptions\[0\] 'x' action"):
        Destination.build(SETTINGS, [Subscription("x", 'type = "track"', "sendEmail")])


def test_plan_order_rejections_and_plan_only() -> None:
    subs = [
        Subscription("big", 'type = "track" and properties.total > 100', "addCustomEvent"),
        Subscription("needs group", 'type = "track"', "assignCustomerToGroup"),
        Subscription("never", 'type = "identify"', "upsertCustomer"),
    ]
    destination = Destination.build(SETTINGS, subs)
    planned = destination.plan(TRACK)
    assert [p.subscription for p in planned] == ["big", "needs group"]
    assert isinstance(planned[0], Delivery)
    assert planned[1] == Rejection("needs group", "assignCustomerToGroup", "The root value is missing the required field 'group_id'.", 400)
    assert [p.subscription for p in destination.plan_only(TRACK, {"needs group", "gone"})] == ["needs group"]
    assert destination.plan_only(TRACK, {"never"}) == []


class _Str(str):
    """A ``str`` subclass (no decoder makes one; a caller might): equal to its text, as in JavaScript."""


def test_subscriptions_picked_by_event_type_keep_their_order_and_triggers() -> None:
    """``plan`` picks the subscriptions whose trigger is exactly ``type = "x"`` by the event's
    type (their triggers are not called) and calls every other trigger, in subscription order:
    the outcome is the one calling every trigger gives, for any ``type`` value."""
    subs = [
        Subscription("any track", 'type = "track"', "addCustomEvent"),
        Subscription("big", 'properties.total > 100', "addCustomEvent"),
        Subscription("pages", 'type = "page"', "addCustomEvent"),
        Subscription("second track", '(type = "track")', "addCustomEvent", {"event": {"@path": "$.event"}}),
        Subscription("not track", 'type != "track"', "addCustomEvent"),
        Subscription("numeric", "type = 1", "addCustomEvent"),
    ]
    destination = Destination.build(SETTINGS, subs)
    triggers = [(sub.name, compile_trigger(sub.subscribe)) for sub in subs]
    events = [
        TRACK, {**TRACK, "properties": {"total": 5}}, {"type": "page", "name": "P", "userId": "u"},
        {"type": "identify", "userId": "u", "properties": {"total": 500}}, {"type": "1", "userId": "u"},
        {"type": 1, "userId": "u"}, {"type": None, "userId": "u"}, {"type": ["track"], "userId": "u"},
        {"userId": "u", "properties": {"total": 500}}, {"type": _Str("track"), "userId": "u"},
    ]
    for event in events:
        expected = [name for name, trigger in triggers if trigger(event)]
        assert [p.subscription for p in destination.plan(event)] == expected, event


def test_null_context_is_a_missing_context() -> None:
    destination = Destination.build(SETTINGS, None)
    event = {"type": "track", "event": "E", "userId": "u1", "context": None}
    [planned] = destination.plan(event)
    assert isinstance(planned, Delivery)
    assert event["context"] is None  # the caller's event is not modified


def test_body_encodes_integers_beyond_64_bits() -> None:
    destination = Destination.build(SETTINGS, None)
    [planned] = destination.plan({"type": "track", "event": "E", "userId": "u1", "properties": {"metadata": {"n": 2**70}}})
    assert orjson.loads(planned.body)["metadata"]["n"] == float(2**70)


def test_from_config_accepts_numeric_application_id() -> None:
    config = parse_config({"destination": {"application_id": 123456789, "secret_key": "s", "custom_url": "https://x.voucherify.io"}})
    destination = Destination.from_config(config)
    assert destination.settings.auth_headers["authorization"] == "Basic MTIzNDU2Nzg5"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"apiKey": "a", "secretKey": ["k1", "k2"]}, "destination.secret_key", "Secret Key must be a string but it was an array."),
        ({"apiKey": "", "secretKey": "s"}, "destination.application_id", "The request is missing Application ID or Secret Key."),
        ({"apiKey": "a", "secretKey": "s", "customURL": "us1.segmentio.voucherify.io"}, "destination.custom_url", None),
    ],
)
def test_settings_errors_name_the_field(raw: dict, field: str, message: str | None) -> None:
    with pytest.raises(ConfigError) as refused:
        DestinationSettings.from_segment({"customURL": "https://x.voucherify.io", **raw})
    assert refused.value.field == field
    if message:
        assert refused.value.message == message
    assert "k1" not in str(refused.value)


def test_unknown_liquid_filter_is_a_start_up_warning_naming_the_field() -> None:
    mapping = {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@liquid": "{{ event | upcse }}"}, "type": {"@path": "$.type"}}
    subs = [Subscription("Coupons", 'type = "track"', "addCustomEvent", mapping)]
    destination = Destination.build(SETTINGS, subs)
    assert destination.warnings == [
        "subscriptions[0] 'Coupons' mapping /event/@liquid: filter \"upcse\" is not a Liquid filter; "
        "Segment passes the value through it unchanged"
    ]
    [planned] = destination.plan(TRACK)
    assert orjson.loads(planned.body)["event"] == "Order Completed"  # as Segment: the value unchanged


# Bodies as Segment's runtime writes them (recorded with the reference harness, actions-core +
# the Voucherify destination, on 2026-11-29): ajv edits the mapped object in place, so the body
# keeps the *mapping's* key order, not the action's field order, and JavaScript enumerates
# integer-like keys ("2", "10", not "01") first, in numeric order, wherever the object came from.
KEY_ORDER_CASES = [
    (
        Subscription(
            name="s1", subscribe='type = "track"', action="addCustomEvent",
            mapping={"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@path": "$.event"},
                     "type": {"@path": "$.type"}, "metadata": {"@path": "$.properties"}},
        ),
        {"type": "track", "userId": "u1", "event": "E", "properties": {"b": 1, "2": 2, "a": {"10": 1, "9": 2, "x": 3, "01": 4}}},
        b'{"customer":{"source_id":"u1"},"event":"E","type":"track","metadata":{"2":2,"b":1,"a":{"9":2,"10":1,"x":3,"01":4}}}',
    ),
    (
        Subscription(
            name="s2", subscribe='type = "identify"', action="upsertCustomer",
            mapping={"type": {"@path": "$.type"},
                     "address": {"country": {"@path": "$.traits.c"}, "10": "x", "city": {"@path": "$.traits.city"}, "2": "y"},
                     "source_id": {"@path": "$.userId"}, "metadata": {"z": 1, "5": 2}},
        ),
        {"type": "identify", "userId": "u1", "traits": {"c": "PL", "city": "W"}},
        b'{"type":"identify","address":{"country":"PL","city":"W"},"source_id":"u1","metadata":{"5":2,"z":1}}',
    ),
]


@pytest.mark.parametrize("subscription,event,body", KEY_ORDER_CASES, ids=["event-keys", "mapping-order"])
def test_body_bytes_keep_segments_key_order(subscription: Subscription, event: dict, body: bytes) -> None:
    [planned] = Destination.build(SETTINGS, [subscription]).plan(event)
    assert isinstance(planned, Delivery)
    assert planned.body == body


def test_an_event_nested_too_deeply_is_rejected_not_raised() -> None:
    """A newcomer's finding: 990 levels under ``properties`` ended dry-run (and would stop
    ``run``) with a RecursionError from the body encoder. It is this subscription's rejection."""
    from processor.voucherify.destination import TOO_DEEP

    deep: dict = {"a": 1}
    for _ in range(990):
        deep = {"a": deep}
    subscription = Subscription(
        name="deep", subscribe='type = "track"', action="addCustomEvent",
        mapping={"customer": {"source_id": {"@path": "$.userId"}}, "metadata": {"@path": "$.properties"},
                 "event": {"@path": "$.event"}, "type": {"@path": "$.type"}},
    )
    [planned] = Destination.build(SETTINGS, [subscription]).plan({"type": "track", "userId": "u", "event": "e", "properties": deep})
    assert isinstance(planned, Rejection)
    assert planned.message == TOO_DEEP


def test_infinity_and_lone_surrogates_are_written_as_segment_writes_them() -> None:
    """Recorded with the reference harness (the raw body bytes): ``1e400`` is ``Infinity`` in
    JavaScript and ``JSON.stringify`` writes it ``null``; lone surrogates are escaped."""
    subscription = Subscription(
        name="s", subscribe='type = "track"', action="addCustomEvent",
        mapping={"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@path": "$.event"},
                 "type": {"@path": "$.type"}, "metadata": {"@path": "$.properties"}},
    )
    event = {"type": "track", "userId": "u", "event": "e", "properties": {"x": float("inf"), "s": "\ud800", "t": "a\udc00x"}}
    [planned] = Destination.build(SETTINGS, [subscription]).plan(event)
    assert planned.body == b'{"customer":{"source_id":"u"},"event":"e","type":"track","metadata":{"x":null,"s":"\\ud800","t":"a\\udc00x"}}'
