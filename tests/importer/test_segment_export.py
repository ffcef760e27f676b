"""Reading Segment Public API documents: shapes, Segment's order across pages, gaps reported."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from processor.importer.segment_export import ExportError, read_export

EXPORT = Path(__file__).parent / "segment_export"


def doc(name: str) -> tuple[str, object]:
    return name, orjson.loads((EXPORT / name).read_bytes())


def names(export) -> list[str]:
    return [s.name for s in export.subscriptions]


SEGMENT_ORDER = [
    "Order Completed to Voucherify", "Identify Calls", "Page Views",
    "Identify Calls", "Coupons", "Post big orders to #sales",
    "Group Calls", "Screen Views",
]


def test_pages_are_chained_by_cursor_whatever_order_the_files_come_in() -> None:
    export = read_export([doc("subscriptions-page-3.json"), doc("destination.json"),
                          doc("subscriptions-page-1.json"), doc("subscriptions-page-2.json")])
    assert names(export) == SEGMENT_ORDER
    assert export.notes == [] and not export.incomplete
    assert export.destination is not None
    assert export.destination.id == "64b7c2d0e8f1a93c5d2e4f17"
    assert export.destination.slug == "actions-voucherify"
    assert export.destination.settings["customURL"] == "https://us1.segmentio.voucherify.io"


def test_public_api_fields_are_read() -> None:
    export = read_export([doc("subscriptions-page-1.json")])
    first, _, page_views = export.subscriptions[:3]
    assert first.action == "addCustomEvent"
    assert first.trigger == 'type = "track" and event = "Order Completed"'
    assert first.settings["event"] == {"@path": "$.event"}
    assert first.enabled and not page_views.enabled
    assert first.destination_id == "64b7c2d0e8f1a93c5d2e4f17"


def test_a_missing_page_is_reported_not_ignored() -> None:
    export = read_export([doc("subscriptions-page-1.json"), doc("subscriptions-page-3.json")])
    assert export.incomplete
    assert any("next page (cursor 'Mw==') is not among the inputs" in n for n in export.notes)
    assert any("Segment reports 8 subscriptions but the inputs hold 5" in n for n in export.notes)


def test_a_page_given_twice_is_read_once() -> None:
    export = read_export([doc("subscriptions-page-1.json"), doc("subscriptions-page-1.json"),
                          doc("subscriptions-page-2.json"), doc("subscriptions-page-3.json")])
    assert names(export) == SEGMENT_ORDER
    assert any("given twice" in n for n in export.notes)


def test_bare_list_single_subscription_and_actions_core_shape() -> None:
    page = orjson.loads((EXPORT / "subscriptions-page-3.json").read_bytes())
    bare = page["data"]["subscriptions"]
    single = {"data": {"subscription": bare[0]}}
    core = [{"name": "Core", "subscribe": 'type = "track"', "partnerAction": "addCustomEvent",
             "mapping": '{"event": {"@path": "$.event"}}', "enabled": False}]
    export = read_export([("list.json", bare[1:]), ("one.json", single), ("core.json", core)])
    assert names(export) == ["Screen Views", "Group Calls", "Core"]
    assert export.subscriptions[2].action == "addCustomEvent"
    assert export.subscriptions[2].settings == {"event": {"@path": "$.event"}}  # JSON text parsed
    assert not export.subscriptions[2].enabled


@pytest.mark.parametrize(
    "document, message",
    [
        ({"data": {"sources": []}}, "not a Segment Public API destination or subscriptions response"),
        ("text", "expected a JSON object or list"),
        ({"data": {"subscriptions": {"a": 1}}}, "subscriptions must be a JSON list"),
        ([1], "a subscription must be a JSON object"),
    ],
)
def test_other_documents_are_refused_naming_the_source(document: object, message: str) -> None:
    with pytest.raises(ExportError, match=message) as info:
        read_export([("x.json", document)])
    assert str(info.value).startswith("x.json: ")


def test_two_destinations_are_refused() -> None:
    other = orjson.loads((EXPORT / "destination.json").read_bytes())
    other["data"]["destination"]["id"] = "another"
    with pytest.raises(ExportError, match="Import one destination at a time"):
        read_export([doc("destination.json"), ("other.json", other)])
