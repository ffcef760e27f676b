"""The ``webhooks:`` section of the configuration file (start-up only; never per delivery).

The webhook secret is a ``SecretStr`` (prints as ``**********``); it may come from the file, from
``$VOUCHERIFY_WEBHOOK_SECRET``, or from ``secret_file`` (a mounted Kubernetes secret).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

__all__ = ["WebhooksConfig", "SECRET_ENV", "DEFAULT_DEDUPE_WINDOW_S", "apply_secret_env"]

SECRET_ENV = "VOUCHERIFY_WEBHOOK_SECRET"

#: Voucherify retries a failed delivery "once an hour for up to 3 days" (docs.voucherify.io,
#: Webhooks > Responding to a webhook); the window must outlast that, with a day of margin.
DEFAULT_DEDUPE_WINDOW_S = 4 * 24 * 3600.0


class WebhooksConfig(BaseModel):
    """The receiver: where it listens, what it produces where, and its bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    secret: SecretStr | None = Field(None, description=f"the webhook secret key (or ${SECRET_ENV}, or secret_file)")
    secret_file: Path | None = None
    topic: str = Field("voucherify-events", min_length=1, description="output topic of the Segment track events")
    topic_partitions: int = Field(3, ge=1, description="partitions when the receiver creates the topic")
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535, description="the webhook endpoint's port (0: any free port)")
    path: str = Field("/webhooks/voucherify", pattern=r"^/", description="the URL path Voucherify posts to")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger bodies are refused with 413")
    body_timeout_s: float = Field(10.0, gt=0, description="body not fully received within this -> 408, connection closed")
    max_future_skew_s: float = Field(300.0, ge=0,
                                     description="event time further ahead of our clock than this -> skipped future_dated")
    include: list[str] | None = Field(None, description="Voucherify event types to produce; None = the whole table")
    exclude: list[str] = Field(default_factory=list, description="Voucherify event types never produced")
    rename: dict[str, str] = Field(default_factory=dict, description="Voucherify event type -> Segment event name")
    dedupe_window_s: float = Field(DEFAULT_DEDUPE_WINDOW_S, gt=0,
                                   description="an event id is produced at most once within this window")
    dedupe_max_ids: int = Field(1_000_000, ge=1, description="ids remembered at most (oldest forgotten first)")
    produce_timeout_s: float = Field(10.0, gt=0, description="no broker ack within this -> 503, Voucherify retries")
    drain_timeout_s: float = Field(20.0, gt=0, description="SIGTERM: wait this long for in-flight deliveries")
    readiness_probe_interval_s: float = Field(5.0, gt=0, description="how often the broker is asked whether it answers")

    @field_validator("rename")
    @classmethod
    def _names_not_empty(cls, value: dict[str, str]) -> dict[str, str]:
        empty = [k for k, v in value.items() if not isinstance(v, str) or not v.strip()]
        if empty:
            raise ValueError(f"empty Segment event name for {', '.join(empty)}")
        return value

    @model_validator(mode="after")
    def _known_types_and_secret(self) -> "WebhooksConfig":
        from processor.webhooks.translation import Translator  # the table owns the list of types

        Translator(include=self.include, exclude=self.exclude, rename=self.rename)  # raises naming the type
        if self.secret is not None and self.secret_file is not None:
            raise ValueError("secret and secret_file are both set (or secret comes from "
                             f"${SECRET_ENV}); give the secret one way only")
        if self.secret is None and self.secret_file is None:
            raise ValueError(f"secret is required (set it in the file, in ${SECRET_ENV}, or with secret_file)")
        return self

    def secret_bytes(self) -> bytes:
        """The secret's value (read from ``secret_file`` when given that way); raises ``ValueError``."""
        if self.secret is not None:
            return self.secret.get_secret_value().encode("utf-8")
        assert self.secret_file is not None
        try:
            return self.secret_file.read_text(encoding="utf-8").strip().encode("utf-8")
        except OSError as exc:
            raise ValueError(f"webhooks.secret_file: cannot read {self.secret_file}: {exc.strerror}") from None


def apply_secret_env(raw: dict[str, Any], env: Any) -> None:
    """Fold ``$VOUCHERIFY_WEBHOOK_SECRET`` into a raw configuration document, in place."""
    value = env.get(SECRET_ENV)
    if value:
        section = raw.setdefault("webhooks", {})
        if isinstance(section, dict):
            section["secret"] = value
