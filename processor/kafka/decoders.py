"""The input seam: message value bytes -> a Segment event ``dict``.

Every decoder implements the engine's :class:`~processor.engine.ports.Decoder` port and yields
the same shape — the event as Segment's JSON would be parsed — so nothing downstream knows the
wire format. A value that cannot become an event raises ``DecodeError`` with a short reason; the
engine dead-letters it with error class ``decode``.

A parsed value that is not a Segment event (what counts as one is Segment's rule, owned by
:mod:`processor.segment.events`) is a decode error too: the dead-letter topic is where an
operator sees such poison input.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

import orjson

from processor.engine.ports import DecodeError, Decoder
from processor.segment.events import shape_problem
from processor.segment.js import json_parse

__all__ = [
    "DecoderSettings",
    "Decoder",
    "DecodeError",
    "JsonDecoder",
    "AvroDecoder",
    "ConfluentAvroDecoder",
    "decoder_from_config",
    "FREE_FORM_FIELDS",
]

#: Segment's free-form objects; in Avro they travel as JSON text (see schemas/segment-event.avsc).
FREE_FORM_FIELDS = ("properties", "traits", "context", "integrations")


def _check_event(event: Any) -> dict[str, Any]:
    problem = shape_problem(event)
    if problem is not None:
        raise DecodeError(problem)
    return event


def _check_size(value: bytes | None, max_value_bytes: int) -> bytes:
    if value is None:
        raise DecodeError("null value (tombstone)")
    if len(value) > max_value_bytes:
        raise DecodeError(f"value of {len(value)} bytes exceeds max_value_bytes ({max_value_bytes})")
    return value


def _parse_as_javascript(value: bytes, orjson_message: str) -> Any:
    """The slow path for what orjson refuses: Segment's runtime reads the event with
    ``JSON.parse``, which also takes lone surrogate escapes and numbers beyond the double range
    (``segment.js.json_parse``); only what neither reads is undecodable."""
    if "UTF-8" in orjson_message:
        raise DecodeError("invalid UTF-8") from None
    try:
        return json_parse(value)
    except RecursionError:
        raise DecodeError("invalid JSON: nested too deeply") from None
    except ValueError:
        raise DecodeError(f"invalid JSON: {orjson_message}") from None


class JsonDecoder:
    """Segment events as JSON objects (the default; what Segment's own pipeline carries)."""

    def __init__(self, max_value_bytes: int = 1_000_000) -> None:
        self.max_value_bytes = max_value_bytes

    def decode(self, value: bytes | None, topic: str) -> dict[str, Any]:
        value = _check_size(value, self.max_value_bytes)
        try:
            event = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            event = _parse_as_javascript(value, str(exc))
        return _check_event(event)


def _normalize_avro(record: Any) -> dict[str, Any]:
    """Avro record -> the JSON shape: drop null optionals, parse JSON-text free-form fields."""
    if not isinstance(record, dict):
        return _check_event(record)
    event = {k: v for k, v in record.items() if v is not None}
    for name in FREE_FORM_FIELDS:
        text = event.get(name)
        if isinstance(text, str):
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                raise DecodeError(f"'{name}' is not valid JSON text: {exc}") from None
            if not isinstance(parsed, dict):
                raise DecodeError(f"'{name}' must hold a JSON object")
            event[name] = parsed
    return _check_event(event)


class AvroDecoder:
    """Schemaless Avro: every value written with one known writer schema (an .avsc file)."""

    def __init__(self, schema_path: str | Path, max_value_bytes: int = 1_000_000) -> None:
        from fastavro import parse_schema

        self.max_value_bytes = max_value_bytes
        self._schema = parse_schema(json.loads(Path(schema_path).read_text(encoding="utf-8")))

    def decode(self, value: bytes | None, topic: str) -> dict[str, Any]:
        from fastavro import schemaless_reader

        value = _check_size(value, self.max_value_bytes)
        buffer = io.BytesIO(value)
        try:
            record = schemaless_reader(buffer, self._schema)
        except Exception as exc:  # fastavro raises EOFError, ValueError, IndexError, UnicodeDecodeError...
            raise DecodeError(f"invalid Avro: {type(exc).__name__}: {exc}"[:300]) from None
        if buffer.tell() != len(value):
            raise DecodeError(f"invalid Avro: {len(value) - buffer.tell()} trailing bytes")
        return _normalize_avro(record)


class ConfluentAvroDecoder:
    """Confluent wire format (magic byte + schema id + Avro), schemas fetched from a registry.

    ``client`` lets tests share one ``mock://`` registry between a serializer and this decoder
    (each mock client has its own store).
    """

    def __init__(
        self,
        registry_url: str,
        conf: dict[str, Any] | None = None,
        *,
        max_value_bytes: int = 1_000_000,
        client: Any = None,
    ) -> None:
        from confluent_kafka.schema_registry import SchemaRegistryClient
        from confluent_kafka.schema_registry.avro import AvroDeserializer

        self.max_value_bytes = max_value_bytes
        self.registry = client if client is not None else SchemaRegistryClient.new_client({"url": registry_url, **(conf or {})})
        self._deserializer = AvroDeserializer(self.registry)

    def decode(self, value: bytes | None, topic: str) -> dict[str, Any]:
        from confluent_kafka.serialization import MessageField, SerializationContext

        value = _check_size(value, self.max_value_bytes)
        try:
            record = self._deserializer(value, SerializationContext(topic, MessageField.VALUE))
        except Exception as exc:  # SerializationError, SchemaRegistryError, fastavro errors
            raise DecodeError(f"invalid Confluent Avro: {type(exc).__name__}: {exc}"[:300]) from None
        return _normalize_avro(record)


@dataclass(frozen=True, slots=True)
class DecoderSettings:
    """How source values are decoded (plain values, built by ``processor.app.decoder_settings``).

    ``format`` ``avro`` needs ``avro_schema`` (an .avsc path); ``avro-confluent`` needs
    ``schema_registry_url`` (plus extra client settings in ``schema_registry``). Values longer
    than ``max_value_bytes`` are dead-lettered as oversized.
    """

    format: Literal["json", "avro", "avro-confluent"] = "json"
    avro_schema: Path | None = None
    schema_registry_url: str | None = None
    schema_registry: Mapping[str, Any] = field(default_factory=dict)
    max_value_bytes: int = 1_000_000


def decoder_from_config(cfg: DecoderSettings) -> Decoder:
    """The decoder ``format`` names."""
    if cfg.format == "json":
        return JsonDecoder(cfg.max_value_bytes)
    if cfg.format == "avro":
        assert cfg.avro_schema is not None  # the config model enforces it at start-up
        return AvroDecoder(cfg.avro_schema, cfg.max_value_bytes)
    if cfg.format == "avro-confluent":
        assert cfg.schema_registry_url is not None
        return ConfluentAvroDecoder(cfg.schema_registry_url, dict(cfg.schema_registry), max_value_bytes=cfg.max_value_bytes)
    raise ValueError(f"unknown input format {cfg.format!r}")
