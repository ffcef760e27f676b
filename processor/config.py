"""The configuration file: one YAML (or JSON) document, validated once at start-up.

Why pydantic here and nowhere else: configuration is read once, and its value is in the error
messages (a bad field stops start-up with a message naming it). Per-event code never touches
these models; the engine and the destination are built from them at start-up.

Secrets (application id, secret key, SASL passwords) are ``SecretStr`` so that printing a config,
logging it or putting it in an error message shows ``**********``. They may come from the file,
from environment variables (``VOUCHERIFY_APPLICATION_ID``, ``VOUCHERIFY_SECRET_KEY``) or from
files (``application_id_file``, ``secret_key_file``: the Kubernetes-secret way).

Any setting can also be overridden from the environment with the prefix ``VP__`` and ``__``
between levels, e.g. ``VP__KAFKA__BOOTSTRAP_SERVERS=broker:9092`` or
``VP__ENGINE__MAX_IN_FLIGHT=2000`` (values are parsed as YAML scalars).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal

import orjson
import yaml
from pydantic import BaseModel, ByteSize, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from processor.errors import ConfigFileError, EmptyConfigFileError
from processor.kafka.logs import KAFKA_LOGGER
from processor.redaction import SENSITIVE_KAFKA_KEYS
from processor.voucherify.actions import ACTION_IDS, ActionId
from processor.voucherify.settings import coerce_setting

__all__ = [
    "ACTION_IDS",
    "AppConfig",
    "ConfigFileError",
    "EmptyConfigFileError",
    "DestinationConfig",
    "EngineConfig",
    "InputConfig",
    "KafkaConfig",
    "OpsConfig",
    "SubscriptionConfig",
    "load_config",
    "parse_document",
    "parse_config",
]

ENV_PREFIX = "VP__"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DestinationConfig(_Section):
    """Segment's destination settings plus the HTTP client's knobs."""

    application_id: SecretStr | None = None
    application_id_file: Path | None = None
    secret_key: SecretStr | None = None
    secret_key_file: Path | None = None
    custom_url: str = Field(description="Custom Voucherify URL, e.g. https://us1.segmentio.voucherify.io")
    verify_tls: bool = True
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(10.0, gt=0)
    max_connections: int = Field(256, ge=1)
    requests_per_minute: float | None = Field(
        None, gt=0, description="ceiling of the adaptive request rate (stay under your plan); None = only what 429s show"
    )

    @field_validator("application_id", "secret_key", mode="before")
    @classmethod
    def _coerce_like_segment(cls, value: Any, info: Any) -> Any:
        """Segment's settings validation turns a number into its string (a numeric application id works
        there, so it must work here) and words type errors its way ("Secret Key must be a string ...")."""
        if value is None or isinstance(value, (str, SecretStr)):
            return value
        return coerce_setting(info.field_name, value)

    @model_validator(mode="after")
    def _secrets_present(self) -> "DestinationConfig":
        for name in ("application_id", "secret_key"):
            if getattr(self, name) is None and getattr(self, f"{name}_file") is None:
                env = f"VOUCHERIFY_{name.upper()}"
                raise ValueError(f"{name} is required (set it in the file, in ${env}, or with {name}_file)")
        return self

    def secret(self, name: Literal["application_id", "secret_key"]) -> str:
        """The secret's value, read from the file when given as ``<name>_file``."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value()
        return _read_secret_file(getattr(self, f"{name}_file"), f"destination.{name}_file")


class SubscriptionConfig(_Section):
    """One Segment subscription: a trigger, an action, and Segment's JSON mapping."""

    name: str = Field(min_length=1)
    subscribe: str = Field(min_length=1, description='Segment FQL, e.g. type = "track"')
    action: ActionId
    mapping: dict[str, Any] | None = Field(None, description="Segment mapping JSON; None = the action's defaults")
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _not_segment_shape(cls, value: Any) -> Any:
        """A subscription copied from Segment (Public API ``trigger``/``actionSlug``/``settings``, or
        actions-core's ``partnerAction``) would otherwise fail with three unrelated field errors."""
        if isinstance(value, dict) and "action" not in value and {"actionSlug", "partnerAction"} & value.keys():
            raise ValueError(
                "this is Segment's subscription shape (actionSlug/partnerAction, trigger, settings); "
                "translate Segment's export with `voucherify-processor import-segment FILE...`"
            )
        return value


class KafkaConfig(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    source_topic: str = "segment-events"
    group_id: str = "voucherify-processor"
    retry_topic: str = "segment-events.voucherify.retry"
    dead_letter_topic: str = "segment-events.voucherify.dlq"
    #: librdkafka settings for every client (security.protocol, sasl.*, ssl.*, ...).
    client: dict[str, Any] = Field(default_factory=dict)
    #: librdkafka settings for consumers only / producers only.
    consumer: dict[str, Any] = Field(default_factory=dict)
    producer: dict[str, Any] = Field(default_factory=dict)
    #: ``sasl.password`` for every client, settable from a shell: ``VP__KAFKA__SASL_PASSWORD``
    #: (a variable name cannot hold the dot of ``VP__KAFKA__CLIENT__SASL.PASSWORD``).
    sasl_password: SecretStr | None = None
    #: ... or read from a file (a mounted Kubernetes secret): ``VP__KAFKA__SASL_PASSWORD_FILE``.
    sasl_password_file: Path | None = None
    #: A file of librdkafka settings for every client, merged over ``client``: a YAML mapping or
    #: Java-style ``key=value`` lines (``ssl.key.password=...``). Any secret setting can live there.
    client_secrets_file: Path | None = None

    @model_validator(mode="after")
    def _one_password_source(self) -> "KafkaConfig":
        if self.sasl_password is not None and self.sasl_password_file is not None:
            raise ValueError("set sasl_password or sasl_password_file, not both")
        self.secret_settings()  # an unreadable or malformed secrets file stops every command here, named
        return self

    def secret_settings(self) -> dict[str, str]:
        """librdkafka settings that come from secret sources (files, ``sasl_password``).

        Raises :class:`ConfigFileError` naming the field when a file cannot be read.
        """
        found: dict[str, str] = {}
        if self.client_secrets_file is not None:
            found.update(_read_settings_file(self.client_secrets_file, "kafka.client_secrets_file"))
        if self.sasl_password is not None:
            found["sasl.password"] = self.sasl_password.get_secret_value()
        elif self.sasl_password_file is not None:
            found["sasl.password"] = _read_secret_file(self.sasl_password_file, "kafka.sasl_password_file")
        return found

    def librdkafka(self, role: Literal["consumer", "producer", "admin"]) -> dict[str, Any]:
        """Settings for one client role: bootstrap + shared passthrough + secrets + role passthrough.

        Every client logs through Python logging (``logger``), never librdkafka's raw stderr
        lines, so ``log_format: json`` stays one JSON object per line (see processor.ops.logging).
        """
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap_servers, **self.client, **self.secret_settings()}
        if role == "consumer":
            conf.update(self.consumer)
        elif role == "producer":
            conf.update(self.producer)
        conf["logger"] = logging.getLogger(KAFKA_LOGGER)
        return conf


def _read_secret_file(path: Path, field: str) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigFileError(f"{field}: cannot read {path}: {exc.strerror}") from None


def _read_settings_file(path: Path, field: str) -> dict[str, str]:
    """A YAML mapping, or ``key=value`` lines (``#`` comments), of librdkafka settings."""
    text = _read_secret_file(path, field)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        doc = None
    if isinstance(doc, dict):
        return {str(k): str(v) for k, v in doc.items()}
    settings: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigFileError(f"{field}: {path} line {number}: expected key=value (or a YAML mapping)")
        settings[key.strip()] = value.strip()
    return settings


class InputConfig(_Section):
    """How source message values are decoded."""

    format: Literal["json", "avro", "avro-confluent"] = "json"
    avro_schema: Path | None = Field(None, description="writer schema (.avsc) for format: avro")
    schema_registry_url: str | None = Field(None, description="for format: avro-confluent")
    schema_registry: dict[str, Any] = Field(default_factory=dict, description="extra schema-registry client settings")
    max_value_bytes: int = Field(1_000_000, ge=1, description="larger values are dead-lettered as oversized")

    @model_validator(mode="after")
    def _format_needs(self) -> "InputConfig":
        if self.format == "avro" and self.avro_schema is None:
            raise ValueError("format 'avro' needs avro_schema (path to an .avsc file)")
        if self.format == "avro-confluent" and not self.schema_registry_url:
            raise ValueError("format 'avro-confluent' needs schema_registry_url")
        return self


class EngineConfig(_Section):
    # 5,000 / 5,000 measured ~40 % faster than 2,000 / 1,000 on a backlog (docs/benchmark.md):
    # a small per-partition window fills with events waiting behind busy keys. Peak RSS ~230 MB.
    max_in_flight: int = Field(5000, ge=1, description="events being processed at once, all partitions")
    max_in_flight_per_partition: int = Field(5000, ge=1)
    # The events bound alone let memory grow with the event size (5,000 x 30 KB: 1.3 GB of RSS).
    # 12 MiB: peak RSS ~200 MB at the worst sizes measured (2.4 KB, where both bounds meet, and
    # 30 KB); 16 MiB measured 204-232 MB, too close to the 250 MB goal (docs/benchmark.md).
    max_in_flight_bytes: ByteSize = Field(
        ByteSize(12 * 1024 * 1024),
        description="bytes of the records being processed at once (key + value + headers as consumed), all "
        "partitions; a number or a size such as 32MiB (MiB = 1,048,576 bytes, MB = 1,000,000); consumption "
        "pauses at this or max_in_flight, whichever comes first",
    )
    max_concurrent_requests: int = Field(256, ge=1, description="HTTP requests in flight at once")
    ordering_key: list[Literal["userId", "anonymousId", "messageKey", "partition"]] = Field(
        default_factory=lambda: ["userId", "anonymousId", "messageKey"],
        description="first present wins; events with equal keys are delivered in offset order",
    )
    quick_retries: int = Field(2, ge=0, description="in-process retries before the retry topic")
    quick_retry_backoff_s: float = Field(0.2, ge=0)
    quick_retry_max_wait_s: float = Field(
        5.0, ge=0,
        description="a retryable failure (e.g. a 503) whose Retry-After is longer than this goes to the retry topic; "
        "a 429 always waits in the process (its Retry-After, capped at 300 s)",
    )
    retry_delays_s: list[float] = Field(default_factory=lambda: [10.0, 60.0, 600.0, 3600.0], min_length=1)
    max_age_s: float = Field(4 * 3600.0, gt=0, description="older failures go to the dead-letter topic")
    commit_interval_s: float = Field(1.0, gt=0)
    drain_timeout_s: float = Field(20.0, gt=0, description="bounded drain on revoke and shutdown; keep below the orchestrator's grace period")
    auth_probe_max_interval_s: float = Field(60.0, gt=0)

    @field_validator("max_in_flight_bytes", mode="before")
    @classmethod
    def _a_size(cls, value: Any) -> Any:
        """Refuse what pydantic's ByteSize would misread: ``true`` (as 1 byte), negative sizes and
        fractions (both reported as "could not parse value and unit"), with a message that says so."""
        if isinstance(value, bool):
            raise ValueError("must be a number of bytes or a size such as 12MiB, not true/false")
        if isinstance(value, (int, float)) and value < 1:
            raise ValueError("must be at least 1 byte")
        if isinstance(value, float) and not value.is_integer():
            raise ValueError("must be a whole number of bytes (or a size such as 1.5MiB)")
        if isinstance(value, str) and value.strip().startswith("-"):
            raise ValueError("must be a positive size, e.g. 12MiB (MiB = 1,048,576 bytes; MB = 1,000,000)")
        return value

    @field_validator("max_in_flight_bytes")
    @classmethod
    def _some_bytes(cls, value: ByteSize) -> ByteSize:
        if value < 1:
            raise ValueError("must be at least 1 byte")
        return value

    @field_validator("retry_delays_s")
    @classmethod
    def _positive_delays(cls, value: list[float]) -> list[float]:
        if any(d < 0 for d in value):
            raise ValueError("retry delays must be >= 0 seconds")
        return value


class OpsConfig(_Section):
    http_host: str = "0.0.0.0"
    http_port: int = Field(9108, ge=0, le=65535, description="/metrics, /healthz, /readyz; 0 disables")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"


class AppConfig(_Section):
    destination: DestinationConfig
    subscriptions: list[SubscriptionConfig] | None = Field(
        None, description="None = Segment's five presets"
    )
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    #: Owned and validated by ``voucherify-processor webhooks`` (processor.webhooks.settings), so one
    #: file can configure both commands without the processor depending on the receiver's secret.
    webhooks: dict[str, Any] | None = Field(None, description="the webhook receiver (see `voucherify-processor webhooks`)")

    def secrets(self) -> list[str]:
        """Every secret this configuration holds: destination credentials and Kafka passwords.

        What the log redactor and command output must never show. An unreadable ``*_file``
        secret is skipped here (reading it again reports the error where it matters).
        """
        found: list[str] = []
        for name in ("application_id", "secret_key"):
            try:
                found.append(self.destination.secret(name))  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - unreadable or undecodable file: nothing to redact yet
                pass
        k = self.kafka
        try:
            kafka_secrets = k.secret_settings()  # kafka.sasl_password(_file), client_secrets_file
        except ConfigFileError:  # unreadable: reported where it is read
            kafka_secrets = {}
        for section in (k.client, k.consumer, k.producer, self.input.schema_registry, kafka_secrets):
            found.extend(str(v) for key, v in section.items() if key in SENSITIVE_KAFKA_KEYS and v)
        return [s for s in found if s]

    @field_validator("subscriptions")
    @classmethod
    def _unique_names(cls, value: list[SubscriptionConfig] | None) -> list[SubscriptionConfig] | None:
        if value is not None:
            seen: set[str] = set()
            for sub in value:
                if sub.name in seen:
                    raise ValueError(f"subscription names must be unique; {sub.name!r} repeats")
                seen.add(sub.name)
        return value


def load_config(path: str | Path, *, environ: dict[str, str] | None = None) -> AppConfig:
    """Read, merge environment overrides into, and validate a configuration file."""
    raw = read_document(path)
    env = os.environ if environ is None else environ
    origins = apply_environment(raw, env)
    return parse_config(raw, source=str(path), origins=origins)


def read_document(path: str | Path, *, empty_ok: bool = True) -> dict[str, Any]:
    """The configuration file as a plain document (``{}`` when the file holds no document).

    Raises :class:`ConfigFileError` when it cannot be read or parsed, or is not a mapping;
    :class:`EmptyConfigFileError` for a file without a document unless ``empty_ok``.
    """
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read the configuration file: {exc.strerror}") from None
    return parse_document(text, source=str(path), as_json=path.suffix == ".json", empty_ok=empty_ok)


def parse_document(text: bytes | str, *, source: str, as_json: bool, empty_ok: bool = True) -> dict[str, Any]:
    """Configuration text -> plain document, exactly as the processor reads its file.

    JSON with orjson, YAML with PyYAML's ``safe_load`` (YAML 1.1: ``no``/``on`` are booleans);
    ``import-segment`` reads what it wrote back through this same function. A document that
    is empty (or only whitespace/comments) is ``{}``.
    """
    try:
        doc = orjson.loads(text) if as_json else yaml.safe_load(text)
    except (orjson.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"{source}: not valid {'JSON' if as_json else 'YAML'}: {exc}") from None
    if doc is None:
        if not empty_ok:
            raise EmptyConfigFileError(f"{source}: empty configuration file")
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigFileError(f"{source}: the top level must be a mapping, got {type(doc).__name__}")
    return doc


#: Where each overridden option came from: its path in the document -> the variable's name.
Origins = dict[tuple[str, ...], str]


def apply_environment(raw: dict[str, Any], env: dict[str, str] | os._Environ[str]) -> Origins:
    """Fold ``VOUCHERIFY_*`` secrets and ``VP__a__b`` overrides into the raw document, in place.

    Returns which variable set which option, so an error in an overridden value names the
    variable (the file does not contain the bad value).
    """
    origins: Origins = {}
    dest = raw.setdefault("destination", {})
    if isinstance(dest, dict):
        for name in ("application_id", "secret_key"):
            variable = f"VOUCHERIFY_{name.upper()}"
            value = env.get(variable)
            if value:
                dest[name] = value
                origins[("destination", name)] = variable
    for key, value in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in key[len(ENV_PREFIX):].split("__") if p]
        if not parts:
            continue
        node = raw
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = _env_value(key, value)
        origins[tuple(parts)] = key
    return origins


def _env_value(variable: str, value: str) -> Any:
    """An override's value, read as a YAML scalar or flow collection (``2000``, ``[1, 10]``);
    one that is not YAML is a configuration error naming the variable."""
    if not value:
        return value
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigFileError(f"{variable}: invalid value {value!r}: {problem}") from None


def parse_config(raw: dict[str, Any], *, source: str = "config", origins: Origins | None = None) -> AppConfig:
    try:
        return AppConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(format_validation_error(exc, source, origins)) from None


def format_validation_error(
    exc: ValidationError, source: str, origins: Origins | None = None, model: type[BaseModel] | None = None
) -> str:
    """One line per error, naming the field; and where the bad value came from.

    An error in a value an environment variable set names the variable (``engine.max_in_flight
    (from VP__ENGINE__MAX_IN_FLIGHT=0)``); an unknown option suggests the nearest valid one.
    ``model``: the model that was validated (default :class:`AppConfig`), for the suggestions.
    """
    origins = origins or {}
    lines: list[str] = []
    from_file = False
    for err in exc.errors():
        loc = tuple(err["loc"])
        field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc).replace(".[", "[")
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown option" + _did_you_mean(model or AppConfig, loc)
        variable = next((name for path, name in origins.items()
                         if loc[: len(path)] == path or (loc and path[: len(loc)] == loc)), None)
        if variable is not None:
            field = f"{field or '(top level)'} (from ${variable})"
        else:
            from_file = True
        lines.append(f"  {field or '(top level)'}: {msg}")
    header = f"{source}: invalid configuration:" if from_file else "invalid configuration (environment overrides):"
    return "\n".join([header, *lines])


def _did_you_mean(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """``; did you mean `engine`?`` for an unknown key at ``loc``, or "" when nothing is close."""
    import difflib
    import types
    import typing

    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return ""
        current = _model_in(fields[part].annotation, typing, types)
        if current is None:
            return ""
    names = list(getattr(current, "model_fields", {}))
    close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else f"; valid here: {', '.join(names)}"


def _model_in(annotation: Any, typing: Any, types: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``X``, ``X | None``, ``list[X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg, typing, types)
        if found is not None:
            return found
    return None
