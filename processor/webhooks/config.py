"""The receiver's view of the configuration file: ``kafka``, ``ops`` and ``webhooks``.

The same file can configure ``run`` and ``webhooks``: the receiver validates its three sections
and ignores the processor-only ones (``destination``, ``subscriptions``, ``input``, ``engine``), so it
does not need Voucherify's API credentials. Environment overrides work as for ``run``
(``VP__WEBHOOKS__PORT=8081``), plus ``$VOUCHERIFY_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from processor.config import (
    ConfigFileError,
    KafkaConfig,
    OpsConfig,
    Origins,
    apply_environment,
    format_validation_error,
    read_document,
)
from processor.webhooks.settings import WebhooksConfig, apply_secret_env

__all__ = ["ReceiverConfig", "load_receiver_config", "parse_receiver_config"]

#: Sections only ``run`` reads; accepted here unvalidated so one file serves both commands.
PROCESSOR_ONLY_SECTIONS = ("destination", "subscriptions", "input", "engine")


class ReceiverConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    webhooks: WebhooksConfig
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)


def load_receiver_config(path: str | Path, *, environ: dict[str, str] | None = None) -> ReceiverConfig:
    """Read, merge environment overrides into, and validate; raises ``ConfigFileError`` naming the field."""
    raw = read_document(path)
    env = os.environ if environ is None else environ
    origins = apply_environment(raw, env)
    apply_secret_env(raw, env)
    return parse_receiver_config(raw, source=str(path), origins=origins)


def parse_receiver_config(raw: dict[str, Any], *, source: str = "config", origins: Origins | None = None) -> ReceiverConfig:
    doc = {k: v for k, v in raw.items() if k not in PROCESSOR_ONLY_SECTIONS}
    try:
        return ReceiverConfig.model_validate(doc)
    except ValidationError as exc:
        raise ConfigFileError(format_validation_error(exc, source, origins, ReceiverConfig)) from None
