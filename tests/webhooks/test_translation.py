"""The table: every supported Voucherify event type becomes its Segment track event (pure, no I/O)."""

from __future__ import annotations

import pytest

from processor.webhooks.translation import (
    INTEGRATION_NAME,
    TABLE,
    MalformedDelivery,
    Skipped,
    Translated,
    Translator,
    event_type_of,
)
from tests.support.webhooks import FIXTURES, fixture

EXPECTED = {
    "customer.redemption.succeeded": "Customer Redemption Succeeded",
    "customer.redemption.rollback.succeeded": "Customer Redemption Rollback Succeeded",
    "customer.reward_redemptions.created": "Customer Reward Redemptions Created",
    "customer.reward_redemptions.completed": "Customer Reward Redemptions Completed",
    "customer.rewarded": "Customer Rewarded",
    "customer.rewarded.loyalty_points": "Customer Rewarded Loyalty Points",
    "customer.publication.succeeded": "Customer Publication Succeeded",
    "redemption.succeeded": "Redemption Succeeded",
    "redemption.failed": "Redemption Failed",
    "redemption.rollback.succeeded": "Redemption Rollback Succeeded",
    "redemption.rollback.failed": "Redemption Rollback Failed",
    "publication.succeeded": "Publication Succeeded",
    "voucher.published": "Voucher Published",
}


def test_every_rule_has_a_fixture_and_an_expectation() -> None:
    assert {r.voucherify_type for r in TABLE} == set(EXPECTED)
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_type_becomes_its_segment_event(kind: str) -> None:
    envelope = fixture(kind)
    out = Translator(version="9.9.9").translate(envelope)
    assert isinstance(out, Translated)
    event = out.event
    assert event["type"] == "track"
    assert event["event"] == EXPECTED[kind]
    assert event["userId"] == envelope["data"]["customer"]["source_id"]
    assert event["messageId"] == envelope["event"]["id"] == out.message_id
    assert event["timestamp"] == envelope["event"]["created_at"]
    assert event["context"] == {"integration": {"name": INTEGRATION_NAME, "version": "9.9.9"}}
    props = event["properties"]
    for key, value in envelope["data"].items():
        assert props[key] == value
    assert props["voucherify"] == {"event_type": kind, "event_id": envelope["event"]["id"],
                                   "webhook_id": envelope["id"], "project_id": envelope["project_id"]}
    if envelope["data"]["customer"].get("email"):
        assert props["email"] == envelope["data"]["customer"]["email"]
    assert "anonymousId" not in event


def test_distribution_webhooks_take_the_type_from_event_type() -> None:
    envelope = fixture("customer.publication.succeeded")
    assert envelope["source"]["object"] == "distribution"
    assert envelope["type"] != "customer.publication.succeeded"  # the user's own name for the distribution
    assert event_type_of(envelope) == "customer.publication.succeeded"
    envelope["source"]["object"] = "webhook"
    assert event_type_of(envelope) == envelope["type"]


def test_no_customer_is_skipped_like_segments_source() -> None:
    envelope = fixture("voucher.published")
    del envelope["data"]["customer"]
    assert Translator().translate(envelope) == Skipped(envelope["event"]["id"], "voucher.published", "no_customer")
    envelope["data"]["customer"] = {"id": "cust_x", "source_id": None}
    assert Translator().translate(envelope).reason == "no_customer"  # type: ignore[union-attr]


def test_unknown_and_excluded_types_are_skipped() -> None:
    envelope = fixture("voucher.published")
    envelope["type"] = "campaign.created"
    assert Translator().translate(envelope).reason == "not_in_table"  # type: ignore[union-attr]
    # nc17: excluded types were reported as not_in_table, like unknown ones.
    assert Translator(exclude=["voucher.published"]).translate(fixture("voucher.published")).reason == "excluded"  # type: ignore[union-attr]
    only = Translator(include=["customer.rewarded"])
    assert isinstance(only.translate(fixture("customer.rewarded")), Translated)
    assert isinstance(only.translate(fixture("voucher.published")), Skipped)


def test_rename() -> None:
    out = Translator(rename={"voucher.published": "Coupon Assigned"}).translate(fixture("voucher.published"))
    assert out.event["event"] == "Coupon Assigned"  # type: ignore[union-attr]


def test_configuration_naming_an_unknown_type_is_refused() -> None:
    with pytest.raises(ValueError, match="exclude: unknown Voucherify event type.*voucher.exploded"):
        Translator(exclude=["voucher.exploded"])


@pytest.mark.parametrize("mutate", [lambda e: e.pop("event"), lambda e: e["event"].pop("id"),
                                    lambda e: e["event"].update(id=12345)])
def test_a_delivery_without_an_event_id_is_malformed(mutate) -> None:
    # nc17: a missing event.id fell back to the sendout id (whs_...), which differs per retry: no dedupe.
    envelope = fixture("voucher.published")
    mutate(envelope)
    with pytest.raises(MalformedDelivery, match="event.id is missing"):
        Translator().translate(envelope)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda e: e.pop("type"), "type is missing"),
        (lambda e: e.pop("data"), "data is missing"),
        (lambda e: (e.pop("event"), e.pop("id")), "event.id is missing"),
        (lambda e: e["event"].pop("type"), None),  # project-settings webhook: envelope type suffices
    ],
)
def test_malformed_envelopes(mutate, message) -> None:
    envelope = fixture("voucher.published")
    mutate(envelope)
    if message is None:
        assert isinstance(Translator().translate(envelope), Translated)
        return
    with pytest.raises(MalformedDelivery, match=message):
        Translator().translate(envelope)
    with pytest.raises(MalformedDelivery, match="JSON object"):
        Translator().translate([1, 2])
