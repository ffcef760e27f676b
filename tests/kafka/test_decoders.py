"""Decoders: JSON, schemaless Avro and Confluent Avro all yield the JSON event shape."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import orjson
import pytest

from processor.config import InputConfig
from processor.kafka.decoders import (
    AvroDecoder,
    ConfluentAvroDecoder,
    DecodeError,
    JsonDecoder,
    decoder_from_config,
)

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "segment-event.avsc"

EVENT = {
    "type": "track",
    "event": "Order Completed",
    "userId": "u1",
    "messageId": "m-1",
    "timestamp": "2024-05-01T10:00:00.000Z",
    "properties": {"total": 12.5, "items": [{"sku": "a"}], "paid": True},
    "context": {"traits": {"email": "a@example.com"}},
}


def _avro_record(event: dict[str, Any]) -> dict[str, Any]:
    return {k: (json.dumps(v) if k in ("properties", "traits", "context", "integrations") else v) for k, v in event.items()}


def _schemaless(event: dict[str, Any]) -> bytes:
    schema = fastavro.parse_schema(json.loads(SCHEMA_PATH.read_text()))
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, _avro_record(event))
    return buf.getvalue()


def _reason(decoder: Any, value: bytes | None) -> str:
    with pytest.raises(DecodeError) as info:
        decoder.decode(value, "t")
    return info.value.reason


class TestJson:
    def test_object(self) -> None:
        assert JsonDecoder().decode(orjson.dumps(EVENT), "t") == EVENT

    @pytest.mark.parametrize(
        ("value", "kind"),
        [(b"[1]", "an array"), (b"3", "a number"), (b"1.5", "a number"), (b'"x"', "a string"), (b"null", "null"), (b"true", "a boolean")],
    )
    def test_not_an_object_names_what_it_is(self, value: bytes, kind: str) -> None:
        assert _reason(JsonDecoder(), value) == f"expected a JSON object, got {kind}"

    def test_invalid_utf8(self) -> None:
        assert _reason(JsonDecoder(), b'{"type": "\xff"}') == "invalid UTF-8"

    def test_invalid_json(self) -> None:
        assert _reason(JsonDecoder(), b'{"type": ').startswith("invalid JSON")

    def test_oversized(self) -> None:
        reason = _reason(JsonDecoder(max_value_bytes=10), orjson.dumps(EVENT))
        assert "exceeds max_value_bytes (10)" in reason

    def test_tombstone(self) -> None:
        assert "tombstone" in _reason(JsonDecoder(), None)

    def test_type_checks(self) -> None:
        assert _reason(JsonDecoder(), b'{"event": "x"}') == "missing 'type'"
        assert _reason(JsonDecoder(), b'{"type": 3}') == "'type' must be a string, got int"
        assert _reason(JsonDecoder(), b'{"type": "x"}') == "unknown type 'x'"

    @pytest.mark.parametrize("kind", ["track", "identify", "page", "screen", "group", "alias"])
    def test_all_segment_types(self, kind: str) -> None:
        assert JsonDecoder().decode(orjson.dumps({"type": kind}), "t") == {"type": kind}


class TestAvro:
    def test_same_shape_as_json(self) -> None:
        assert AvroDecoder(SCHEMA_PATH).decode(_schemaless(EVENT), "t") == EVENT

    def test_garbage(self) -> None:
        assert _reason(AvroDecoder(SCHEMA_PATH), b"\xff\xff\xff").startswith("invalid Avro")

    def test_trailing_bytes(self) -> None:
        assert "trailing" in _reason(AvroDecoder(SCHEMA_PATH), _schemaless(EVENT) + b"\x00\x00")

    def test_free_form_must_be_json_object(self) -> None:
        bad = {"type": "identify", "traits": "[1]"}
        schema = fastavro.parse_schema(json.loads(SCHEMA_PATH.read_text()))
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, bad)
        assert _reason(AvroDecoder(SCHEMA_PATH), buf.getvalue()) == "'traits' must hold a JSON object"

    def test_oversized(self) -> None:
        assert "exceeds" in _reason(AvroDecoder(SCHEMA_PATH, max_value_bytes=4), _schemaless(EVENT))


class TestConfluentAvro:
    def test_round_trip_through_mock_registry(self) -> None:
        from confluent_kafka.schema_registry.avro import AvroSerializer
        from confluent_kafka.serialization import MessageField, SerializationContext

        decoder = ConfluentAvroDecoder("mock://decoders-test")
        serializer = AvroSerializer(decoder.registry, SCHEMA_PATH.read_text())
        value = serializer(_avro_record(EVENT), SerializationContext("events", MessageField.VALUE))
        assert value[0] == 0  # Confluent magic byte
        assert decoder.decode(value, "events") == EVENT

    def test_not_wire_format(self) -> None:
        decoder = ConfluentAvroDecoder("mock://decoders-test-2")
        assert _reason(decoder, b'{"type":"track"}').startswith("invalid Confluent Avro")


def test_decoder_from_config() -> None:
    assert isinstance(decoder_from_config(InputConfig()), JsonDecoder)
    assert isinstance(decoder_from_config(InputConfig(format="avro", avro_schema=SCHEMA_PATH)), AvroDecoder)
    dec = decoder_from_config(InputConfig(format="avro-confluent", schema_registry_url="mock://cfg"))
    assert isinstance(dec, ConfluentAvroDecoder)


def test_json_decoder_reads_what_javascripts_json_parse_reads() -> None:
    """A newcomer's finding: orjson refuses lone surrogate escapes and ``1e400``, which Segment's
    ``JSON.parse`` reads (a lone code unit, ``Infinity``), so such events were dead-lettered as
    undecodable while Segment sends them. NaN literals and deep nesting stay undecodable."""
    decoder = JsonDecoder()
    event = decoder.decode(b'{"type":"track","properties":{"x":1e400,"s":"\\ud800","t":"a\\udc00x"}}', "t")
    assert event["properties"] == {"x": float("inf"), "s": "\ud800", "t": "a\udc00x"}
    with pytest.raises(DecodeError, match="invalid JSON"):
        decoder.decode(b'{"type":"track","x":NaN}', "t")
    with pytest.raises(DecodeError, match="nested too deeply"):
        decoder.decode(b'{"type":"track","p":' + b"[" * 3000 + b"]" * 3000 + b"}", "t")
