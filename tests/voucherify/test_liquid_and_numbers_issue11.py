"""Issue 11's table, row by row: what Segment sends as ``metadata`` (recorded with the reference
harness), through the whole destination (trigger, mapping, validation, body encoding).

Subscription ``type = "track"`` -> ``addCustomEvent`` with the mapping
``{"customer":{"source_id":{"@path":"$.userId"}},"event":{"@path":"$.event"},"type":{"@path":"$.type"},"metadata":M}``
over the event ``{"type":"track","userId":"u1","event":"E","properties":P}`` (written as raw JSON
text, parsed as our decoder parses it).
"""

from __future__ import annotations

import io
import re
from argparse import Namespace
from pathlib import Path

import orjson
import pytest

from processor.segment.errors import MappingConfigError
from processor.segment.mapping.liquid.engine import DISABLED_TAGS, TAGS
from processor.segment.mapping.liquid.filters import DISABLED, FILTERS, LIQUIDJS_FILTERS
from processor.voucherify.delivery import Delivery
from processor.voucherify.destination import Destination, Subscription
from processor.voucherify.settings import DestinationSettings

SETTINGS = DestinationSettings.from_segment({"apiKey": "a", "secretKey": "s", "customURL": "https://x.voucherify.test"})


def destination(metadata: object) -> Destination:
    mapping = {
        "customer": {"source_id": {"@path": "$.userId"}},
        "event": {"@path": "$.event"},
        "type": {"@path": "$.type"},
        "metadata": metadata,
    }
    return Destination.build(SETTINGS, [Subscription("issue 11", 'type = "track"', "addCustomEvent", mapping)])


def sent_metadata(metadata: object, properties_text: str) -> bytes:
    """The ``metadata`` member of the body, as the exact bytes we send."""
    event = orjson.loads('{"type":"track","userId":"u1","event":"E","properties":' + properties_text + "}")
    [planned] = destination(metadata).plan(event)
    assert isinstance(planned, Delivery), planned
    match = re.search(rb'"metadata":(.*?),"event":', planned.body) or re.search(rb'"metadata":(.*)}$', planned.body)
    assert match is not None, planned.body
    return match.group(1)


ROWS = [
    ({"d": {"@liquid": "{{ properties.at | date: '%Y-%m-%dT%H:%M:%S' }}"}}, '{"at":"2024-03-10T23:30:00-05:00"}', '{"d":"2024-03-11T04:30:00"}'),
    ({"d": {"@liquid": "[{{ properties.missing | strip_html }}]"}}, "{}", '{"d":"[]"}'),
    ({"d": {"@liquid": "{{ event | base64_encode }}"}}, "{}", '{"d":"RQ=="}'),
    ({"d": {"@liquid": "{{ properties.x | round: 2 }}"}}, '{"x":1.005}', '{"d":"1.01"}'),
    ({"d": {"@liquid": "{{ properties.obj | size }}"}}, '{"obj":{"a":1,"b":2}}', '{"d":"0"}'),
    ({"d": {"@liquid": "{{ properties.x | to_integer }}"}}, '{"x":7.9}', '{"d":"7.9"}'),
    ({"d": {"@liquid": "{{ properties.arr | json: 2 }}"}}, '{"arr":[1,2]}', '{"d":"[\\n  1,\\n  2\\n]"}'),
    ({"d": {"@liquid": "{% cycle 'a', 'b' %}"}}, "{}", '{"d":"a"}'),
    ({"d": {"@liquid": "a{% break %}b"}}, "{}", '{"d":"a"}'),
    ({"@path": "$.properties"}, '{"n":1234567890123456789,"a":100.0,"c":-0.0}', '{"n":1234567890123456800,"a":100,"c":0}'),
    ({"d": {"@json": {"mode": "decode", "value": "[1e2,12345678901234567890]"}}}, "{}", '{"d":[100,12345678901234567000]}'),
]


@pytest.mark.parametrize(("metadata", "properties", "segment_sends"), ROWS)
def test_issue_table_row(metadata: object, properties: str, segment_sends: str) -> None:
    assert sent_metadata(metadata, properties) == segment_sends.encode()


def test_filter_and_tag_lists_are_liquidjs_10_30_1s() -> None:
    """``Object.keys(new Liquid().filters)`` has 88 names, ``.tags`` 21; actions-core disables 19
    built-in filters (plus ``type``) and 6 tags. Every other one is implemented."""
    assert len(LIQUIDJS_FILTERS) == 88
    assert "unescape" not in LIQUIDJS_FILTERS and {"sha256", "hmac_sha256", "squish"} <= LIQUIDJS_FILTERS
    assert len(DISABLED & LIQUIDJS_FILTERS) == 19 and DISABLED - LIQUIDJS_FILTERS == {"type"}
    assert LIQUIDJS_FILTERS - DISABLED <= set(FILTERS)  # 69 enabled, all implemented
    assert len(TAGS) == 15 and len(DISABLED_TAGS) == 6 and not TAGS & DISABLED_TAGS


def test_disabled_filter_is_refused_at_config_load_with_segments_message() -> None:
    with pytest.raises(MappingConfigError) as info:
        destination({"d": {"@liquid": "x {{ properties.items | map: 'sku' }}"}})
    assert str(info.value).endswith('mapping /metadata/d/@liquid: filter "map" is disabled, line:1, col:3')


def test_unknown_filter_passes_through_and_is_warned_about_by_name() -> None:
    dest = destination({"d": {"@liquid": "{{ event | no_such_filter: 1, 2 }}"}})
    assert any('"no_such_filter"' in w and "/metadata/d/@liquid" in w for w in dest.warnings)
    [planned] = dest.plan({"type": "track", "userId": "u1", "event": "E"})
    assert b'"metadata":{"d":"E"}' in planned.body  # type: ignore[union-attr]


@pytest.mark.parametrize("call", ["append: 1, 2, 3", "round: 1, 2, 3, 4", "date: 1, 2, 3", "slice: 'a', nil, x: 1",
                                  "truncate: 'x', 'y', 'z'", "default: 1, 2", "where: 1, 2, 3", "json: 1, 2"])
def test_no_argument_shape_crashes_dry_run(tmp_path: Path, call: str) -> None:
    """A filter called with more (or stranger) arguments than it takes fails the event only
    where Segment does; ``dry-run`` goes on to the next line either way."""
    from processor.cli import dry_run

    config = tmp_path / "c.yaml"
    config.write_text(
        "destination: {application_id: a, secret_key: s, custom_url: 'https://x.voucherify.test'}\n"
        "kafka: {bootstrap_servers: 'nowhere.invalid:9092'}\n"
        "subscriptions:\n"
        "  - {name: t, subscribe: 'type = \"track\"', action: addCustomEvent, mapping: "
        "{customer: {source_id: {'@path': '$.userId'}}, event: {'@liquid': \"{{ event | " + call.replace('"', '\\"') + " }}\"}}}\n",
        encoding="utf-8",
    )
    stdout = io.BytesIO()
    line = b'{"type":"track","userId":"u1","event":"E"}\n'
    code = dry_run.run(Namespace(config=str(config), events="-"), stdin=io.BytesIO(line * 2), stdout=stdout)
    assert len(stdout.getvalue().splitlines()) == 2
    rejected = b'"outcome":"invalid"' in stdout.getvalue()
    assert code == (8 if rejected else 0)  # dry-run's exit code: 8 when an event is rejected (issue 12)
