"""The table: which Voucherify webhook event becomes which Segment ``track`` event, and the translation.

Pure: a parsed webhook envelope (``dict``) in, a Segment event (``dict``) or a skip reason out. It
knows nothing of HTTP, signatures or Kafka, so the table can be read, tested and changed alone.

Sources (cite these when the table changes):

- Voucherify webhook payload format **v2024-01-01**: ``reference/OpenAPIWebhooks.json`` in
  voucherifyio/voucherify-openapi (``info.version`` "2024-01-01"). The envelope keys are ``id``
  (the sendout), ``project_id``, ``created_at``, ``type``, ``data``, ``source``, ``event``
  (schemas ``WebhookProjectSettingPayload`` and ``WebhookDistributionPayload``). Every type in
  :data:`TABLE` has a documented example payload there; the test fixtures are written from them.
- Segment's "Voucherify Source" page (segmentio/segment-docs,
  ``src/connections/sources/catalog/cloud-apps/voucherify/index.md``): server-side ``track``
  events; ``source_id`` of the customer becomes ``userId``; no anonymous events ("events that
  aren't assigned to or called by a customer are ignored"); event names such as
  "Customer Redemption Succeeded", each event's fields (``order``, ``redemption``, ``voucher``,
  ``holder`` ...) plus the common ``customer``, ``campaign`` and ``email`` properties.

Where the sources are silent or disagree, this module says what it chose:

- **Which field holds the event type.** For a Project-settings webhook it is the envelope's
  ``type``; for a Distribution webhook ``type`` is the *name the user typed* in the distribution
  creator, and the event type is ``event.type``. We read ``event.type`` when ``source.object`` is
  ``"distribution"``, ``type`` otherwise.
- **messageId.** ``event.id`` ("unique identifier of the event that triggered the sendout") is the
  Voucherify event id; the envelope ``id`` identifies the *sendout* and differs between two
  webhooks carrying the same event. We use ``event.id`` and refuse a delivery without one
  (400): falling back to the sendout id would break dedupe, since each retry's sendout id differs.
- **timestamp.** ``event.created_at`` (when the event happened), else the envelope ``created_at``.
- **properties.** Segment lists each event's objects by name but not their nesting; we put the
  webhook's ``data`` objects at the top level of ``properties`` (as the field lists read), add
  ``email`` from the customer, and keep the envelope's identifiers under ``properties.voucherify``.
- **Types Segment lists without a Voucherify payload.** Segment's page also names
  "Customer Redemption Failed", "Customer Redemption Rollback Failed", "Customer Validation
  Succeeded/Failed" and "Customer Publication Failed"; v2024-01-01 documents no payload for
  ``customer.redemption.failed``, ``customer.redemption.rollback.failed``,
  ``customer.validation.*`` or ``customer.publication.failed``, so they are not in the table
  (add them with ``rename`` once Voucherify documents them; unknown types are skipped, counted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from processor.errors import MalformedDelivery

__all__ = [
    "EventRule",
    "TABLE",
    "Translator",
    "Translated",
    "Skipped",
    "MalformedDelivery",
    "event_type_of",
    "INTEGRATION_NAME",
]

#: ``context.integration.name`` of every event we produce (Segment's spec field for a cloud source).
INTEGRATION_NAME = "voucherify-processor"


@dataclass(frozen=True, slots=True)
class EventRule:
    """One row of the table.

    ``voucherify_type``: the event type as v2024-01-01 spells it; ``segment_event``: the default
    Segment event name; ``webhook``: where Voucherify sends it (``project-settings`` or
    ``distribution``); ``reference``: the operation id of its documented example in
    OpenAPIWebhooks.json; ``segment_documented``: whether Segment's Voucherify Source page lists
    the name (the others follow the same Title Case object-action rule).
    """

    voucherify_type: str
    segment_event: str
    webhook: str
    reference: str
    segment_documented: bool


#: Voucherify event type -> Segment track event. Order is the README's order.
TABLE: tuple[EventRule, ...] = (
    # Segment's Voucherify Source events (Distribution webhooks, customer-scoped).
    EventRule("customer.redemption.succeeded", "Customer Redemption Succeeded", "distribution",
              "events-customer-redemption-succeeded", True),
    EventRule("customer.redemption.rollback.succeeded", "Customer Redemption Rollback Succeeded", "distribution",
              "events-customer-redemption-rollback-succeeded", True),
    EventRule("customer.reward_redemptions.created", "Customer Reward Redemptions Created", "distribution",
              "events-customer-reward_redemptions-created", True),
    EventRule("customer.reward_redemptions.completed", "Customer Reward Redemptions Completed", "distribution",
              "events-customer-reward_redemptions-completed", True),
    EventRule("customer.rewarded", "Customer Rewarded", "project-settings",
              "events-customer-rewarded", True),
    EventRule("customer.rewarded.loyalty_points", "Customer Rewarded Loyalty Points", "project-settings",
              "events-customer-rewarded-loyalty_points", True),
    EventRule("customer.publication.succeeded", "Customer Publication Succeeded", "distribution",
              "events-customer-publication-succeeded", True),
    # Project-settings webhooks that carry a customer (same naming rule).
    EventRule("redemption.succeeded", "Redemption Succeeded", "project-settings",
              "events-redemption-succeeded", False),
    EventRule("redemption.failed", "Redemption Failed", "project-settings",
              "events-redemption-failed", False),
    EventRule("redemption.rollback.succeeded", "Redemption Rollback Succeeded", "project-settings",
              "events-redemption-rollback-succeeded", False),
    EventRule("redemption.rollback.failed", "Redemption Rollback Failed", "project-settings",
              "events-redemption-rollback-failed", False),
    EventRule("publication.succeeded", "Publication Succeeded", "project-settings",
              "events-publication-succeeded", False),
    EventRule("voucher.published", "Voucher Published", "project-settings",
              "events-voucher-published", False),
)

KNOWN_TYPES = frozenset(rule.voucherify_type for rule in TABLE)


@dataclass(frozen=True, slots=True)
class Translated:
    """A delivery that becomes one Segment event: produce ``event`` keyed by ``user_id``."""

    message_id: str
    voucherify_type: str
    user_id: str
    event: dict[str, Any]
    #: The envelope ``id`` (the sendout, ``whs_...``; differs per webhook and retry), or "".
    webhook_id: str = ""


@dataclass(frozen=True, slots=True)
class Skipped:
    """A valid delivery that produces nothing. ``reason`` is a closed set (a metric label):
    ``not_in_table`` (a type the table does not know), ``excluded`` (a known type that
    ``include``/``exclude`` leave out) or ``no_customer``."""

    message_id: str
    voucherify_type: str
    reason: str


def event_type_of(envelope: Mapping[str, Any]) -> str:
    """The Voucherify event type of an envelope (see the module docstring for why two fields)."""
    source = envelope.get("source")
    event = envelope.get("event")
    if isinstance(source, dict) and source.get("object") == "distribution":
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise MalformedDelivery("a distribution webhook needs event.type")
        return event["type"]
    kind = envelope.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedDelivery("type is missing or not a string")
    return kind


class Translator:
    """The table after configuration: which types are produced, under which Segment names.

    ``include``: types to produce (``None`` = every type in :data:`TABLE`); ``exclude``: types
    never produced; ``rename``: type -> Segment event name. Unknown types in any of them raise
    ``ValueError`` naming the type (start-up only). ``version`` goes to ``context.integration``.
    """

    def __init__(
        self,
        *,
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        rename: Mapping[str, str] | None = None,
        version: str = "",
    ) -> None:
        rename = dict(rename or {})
        for label, types in (("include", include or ()), ("exclude", exclude), ("rename", rename)):
            unknown = sorted(set(types) - KNOWN_TYPES)
            if unknown:
                raise ValueError(f"{label}: unknown Voucherify event type(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(KNOWN_TYPES))}")
        chosen = set(KNOWN_TYPES if include is None else include) - set(exclude)
        self.names: dict[str, str] = {
            rule.voucherify_type: rename.get(rule.voucherify_type, rule.segment_event)
            for rule in TABLE
            if rule.voucherify_type in chosen
        }
        self._integration = {"name": INTEGRATION_NAME, "version": version}

    def translate(self, envelope: Any) -> Translated | Skipped:
        """One webhook envelope -> one Segment track event, or why not.

        Raises :class:`MalformedDelivery` when the envelope lacks what every v2024-01-01 webhook
        has (an object with a type, an id and a ``data`` object).
        """
        if not isinstance(envelope, dict):
            raise MalformedDelivery("the body must be a JSON object")
        kind = event_type_of(envelope)
        event = envelope.get("event") if isinstance(envelope.get("event"), dict) else {}
        message_id = event.get("id")
        if not isinstance(message_id, str) or not message_id:
            raise MalformedDelivery("event.id is missing or not a non-empty string (it is the messageId and the dedupe key)")
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise MalformedDelivery("data is missing or not an object")
        name = self.names.get(kind)
        if name is None:
            return Skipped(message_id, kind, "excluded" if kind in KNOWN_TYPES else "not_in_table")
        customer = data.get("customer")
        user_id = customer.get("source_id") if isinstance(customer, dict) else None
        if not isinstance(user_id, str) or not user_id:
            return Skipped(message_id, kind, "no_customer")
        properties: dict[str, Any] = dict(data)
        email = customer.get("email")  # type: ignore[union-attr]
        if email:
            properties["email"] = email
        properties["voucherify"] = {
            "event_type": kind,
            "event_id": event.get("id"),
            "webhook_id": envelope.get("id"),
            "project_id": envelope.get("project_id"),
        }
        out: dict[str, Any] = {
            "type": "track",
            "event": name,
            "userId": user_id,
            "messageId": message_id,
            "timestamp": event.get("created_at") or envelope.get("created_at"),
            "properties": properties,
            "context": {"integration": self._integration},
        }
        webhook_id = envelope.get("id")
        return Translated(message_id, kind, user_id, out, webhook_id if isinstance(webhook_id, str) else "")
