"""LiveDestination: one generation per planned event; retries of removed/disabled subscriptions
become ``config`` rejections naming what happened (never silently dropped)."""

from __future__ import annotations

import orjson

from processor.voucherify.delivery import Delivery, Rejection
from processor.voucherify.destination import Destination, Subscription
from processor.voucherify.live import GONE_ERROR_CLASS, Generation, LiveDestination
from processor.voucherify.settings import DestinationSettings

SETTINGS = DestinationSettings("app", "sk", "https://x.voucherify.io")
TRACK = {"type": "track", "event": "Order Completed", "userId": "u1"}


def mapping(version: str) -> dict:
    return {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@template": f"{version} {{{{event}}}}"},
            "type": {"@path": "$.type"}}


def generation(number: int, version: str, *, with_b: bool = True, disabled: frozenset[str] = frozenset()) -> Generation:
    subs = [Subscription("A", 'type = "track"', "addCustomEvent", mapping(version))]
    if with_b:
        subs.append(Subscription("B", 'type = "track"', "upsertCustomer", {"source_id": {"@path": "$.userId"}}))
    return Generation(Destination.build(SETTINGS, subs), number, f"hash{number}", disabled)


def event_names(planned: list) -> list[str]:
    return [orjson.loads(p.body)["event"] for p in planned if isinstance(p, Delivery) and p.action == "addCustomEvent"]


def test_swap_changes_what_later_events_are_planned_with() -> None:
    live = LiveDestination(generation(1, "v1"))
    before = live.plan(TRACK)
    previous = live.swap(generation(2, "v2"))
    after = live.plan(TRACK)
    assert previous.number == 1 and live.current.number == 2
    assert event_names(before) == ["v1 Order Completed"] and event_names(after) == ["v2 Order Completed"]
    assert before[0].body != after[0].body  # what was planned before stays as planned


def test_retry_of_a_removed_subscription_is_a_config_rejection() -> None:
    gone = []
    live = LiveDestination(generation(1, "v1"), on_gone=lambda name, reason, gen: gone.append((name, reason, gen.number)))
    live.swap(generation(2, "v2", with_b=False))
    planned = live.plan_only(TRACK, ["A", "B"])
    assert event_names(planned) == ["v2 Order Completed"]  # A: re-planned with the current mapping
    [rejection] = [p for p in planned if isinstance(p, Rejection)]
    assert rejection.subscription == "B" and rejection.action == "upsertCustomer"  # the action it had
    assert rejection.error_class == GONE_ERROR_CLASS == "config"
    assert rejection.message == ("subscription 'B' was removed by a configuration reload (generation 2, hash hash2) "
                                 "before this retry was due; not delivered")
    assert gone == [("B", "removed", 2)]


def test_retry_of_a_disabled_subscription_says_disabled() -> None:
    live = LiveDestination(generation(1, "v1"))
    live.swap(generation(2, "v1", with_b=False, disabled=frozenset({"B"})))
    [_, rejection] = live.plan_only(TRACK, ["A", "B"])
    assert "'B' was disabled by a configuration reload" in rejection.message


def test_a_name_never_configured_is_dead_lettered_too() -> None:
    """e.g. a dead letter re-driven into a processor whose configuration never had that name."""
    live = LiveDestination(generation(1, "v1"))
    [rejection] = live.plan_only(TRACK, ["Z"])
    assert rejection.action == "unknown" and "'Z' was removed" in rejection.message


def test_retry_whose_trigger_no_longer_matches_is_left_out() -> None:
    live = LiveDestination(generation(1, "v1"))
    subs = [Subscription("A", 'type = "identify"', "addCustomEvent", mapping("v2")),
            Subscription("B", 'type = "track"', "upsertCustomer", {"source_id": {"@path": "$.userId"}})]
    live.swap(Generation(Destination.build(SETTINGS, subs), 2, "h2"))
    assert [p.subscription for p in live.plan_only(TRACK, ["A", "B"])] == ["B"]
