"""The three actions of Segment's Voucherify (Actions) destination, as data.

Copied from ``@segment/action-destinations`` 3.497.0 ``dist/destinations/voucherify``: the
field definitions (labels, types, ``required``, ``allowNull``, defaults) decide validation,
error wording ("Customer Object is missing the required field 'source_id'.") and the default
mappings, so they are kept verbatim, in Segment's order (the order decides the order of
validation errors). Titles are kept too, including ``' Upsert Customer'``'s leading space.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Mapping, get_args

__all__ = ["ActionDefinition", "ActionId", "ACTION_IDS", "ACTIONS", "endpoint_path", "default_mapping"]

#: The actions a subscription can name (Segment's ``partnerAction`` ids); the configuration's
#: ``subscriptions[].action`` is typed with this, so this is the one place they are spelled.
ActionId = Literal["addCustomEvent", "upsertCustomer", "assignCustomerToGroup"]
ACTION_IDS: tuple[str, ...] = get_args(ActionId)

_CUSTOMER_DOC = "[customer](https://docs.voucherify.io/reference/the-customer-object)"
_CUSTOMER_OBJECT_DOC = "[customer](https://docs.voucherify.io/reference/customer-object)"
_EVENT_TYPE_DOC = (
    "Type of the [event](https://segment.com/docs/connections/spec/). "
    "For example: identify, track, page, screen or group"
)


@dataclass(frozen=True, slots=True)
class ActionDefinition:
    """One Segment action: its fields (Segment's definition format) and where it posts."""

    id: str  # Segment's partnerAction id
    title: str
    default_subscription: str
    endpoint: str  # the ``{endpoint}`` of ``/segmentio/{endpoint}-processing``
    fields: Mapping[str, Any]

    @property
    def path(self) -> str:
        return endpoint_path(self.endpoint)


def endpoint_path(endpoint: str) -> str:
    """Segment's ``getVoucherifyEndpointURL`` without the base URL."""
    return f"/segmentio/{endpoint}-processing"


def default_mapping(action: ActionDefinition) -> dict[str, Any]:
    """actions-core ``defaultValues(fields)``: every field's ``default``, in field order."""
    return {key: field["default"] for key, field in action.fields.items() if "default" in field}


def _customer_object(description: str, email_default: dict[str, Any]) -> dict[str, Any]:
    return {
        "label": "Customer Object",
        "required": True,
        "description": description,
        "type": "object",
        "properties": {
            "source_id": {
                "label": "Source ID",
                "type": "string",
                "required": True,
                "description": f"The `source_id` which identifies the {_CUSTOMER_DOC} in Voucherify.",
            },
            "email": {
                "label": "Email",
                "type": "string",
                "description": f"The email that identifies the {_CUSTOMER_DOC} in Voucherify.",
            },
        },
        "default": {"source_id": {"@path": "$.userId"}, "email": email_default},
    }


def _event_type(description: str) -> dict[str, Any]:
    """The required ``type`` field every action has (Segment's wording differs by a full stop)."""
    return {
        "label": "Event Type",
        "description": description,
        "type": "string",
        "required": True,
        "default": {"@path": "$.type"},
    }


def _nullable_string(label: str, description: str, path: str) -> dict[str, Any]:
    return {"label": label, "allowNull": True, "description": description, "type": "string", "default": {"@path": path}}


def _address_part(label: str) -> dict[str, Any]:
    return {"label": label, "type": "string", "allowNull": True}


ADD_CUSTOM_EVENT = ActionDefinition(
    id="addCustomEvent",
    title="Add custom event",
    default_subscription='type = "track" or type = "page" or type = "screen"',
    endpoint="event",
    fields={
        "customer": _customer_object(
            f"This is an object containing information about the {_CUSTOMER_DOC}.",
            {
                "@if": {
                    "exists": {"@path": "$.properties.email"},
                    "then": {"@path": "$.properties.email"},
                    "else": {"@path": "$.context.traits.email"},
                }
            },
        ),
        "referral": {
            "label": "Referral Object",
            "description": (
                "If a conversion event for a referral program is set to a [custom event]"
                "(https://docs.voucherify.io/reference/custom-event-object), then you need to send the "
                "referral code in the payload to make a record of the conversion event."
            ),
            "type": "object",
            "properties": {
                "code": {"label": "code", "type": "string"},
                "referrer_id": {"label": "referrer_id", "type": "string"},
            },
            "default": {
                "code": {"@path": "$.properties.referral.code"},
                "referrer_id": {"@path": "$.properties.referral.referrer_id"},
            },
        },
        "loyalty": {
            "label": "Loyalty Object",
            "description": (
                "If an earning rule in a loyalty program is based on a [custom event]"
                "(https://docs.voucherify.io/reference/custom-event-object). This objects allows you "
                "specify the loyalty card to which the custom event should be attributed to."
            ),
            "type": "object",
            "properties": {"code": {"label": "code", "type": "string"}},
            "default": {"code": {"@path": "$.properties.loyalty.code"}},
        },
        "metadata": {
            "label": "Track Event Metadata",
            "description": (
                "The metadata object stores all custom attributes assigned to the [custom event]"
                "(https://docs.voucherify.io/reference/custom-event-object). A set of key/value pairs "
                "that you can attach to an event object. It can be useful for storing additional "
                "information about the event in a structured format. Event metadata schema is defined "
                "in the Dashboard > Project Settings > Event Schema > Edit particular event > "
                "Metadata property definition."
            ),
            "type": "object",
            "default": {"@path": "$.properties.metadata"},
        },
        "event": {
            "label": "Event Name",
            "description": (
                "The name of the event that will be saved as a [custom event]"
                "(https://docs.voucherify.io/reference/the-custom-event-object) in Voucherify."
            ),
            "type": "string",
            "default": {"@if": {"exists": {"@path": "$.event"}, "then": {"@path": "$.event"}, "else": {"@path": "$.name"}}},
        },
        "type": _event_type(_EVENT_TYPE_DOC),
    },
)

UPSERT_CUSTOMER = ActionDefinition(
    id="upsertCustomer",
    title=" Upsert Customer",
    default_subscription='type = "identify"',
    endpoint="customer",
    fields={
        "source_id": {
            "label": "Source ID",
            "description": f"The `source_id` which identifies the {_CUSTOMER_DOC} in Voucherify.",
            "type": "string",
            "required": True,
            "default": {"@path": "$.userId"},
        },
        "name": _nullable_string(
            "Name", f"First name and last name of the {_CUSTOMER_OBJECT_DOC}.", "$.traits.name"
        ),
        "first_name": _nullable_string(
            "First Name",
            f"First name of the {_CUSTOMER_OBJECT_DOC}. It will be merged with `last_name` to create the `name` field.",
            "$.traits.first_name",
        ),
        "last_name": _nullable_string(
            "Last Name",
            f"Last name of the {_CUSTOMER_OBJECT_DOC}. It will be merged with `first_name` to create the `name` field.",
            "$.traits.last_name",
        ),
        "description": _nullable_string(
            "Description",
            f"An arbitrary string that you can attach to a {_CUSTOMER_OBJECT_DOC} object.",
            "$.traits.description",
        ),
        "email": _nullable_string(
            "Email Address", f"The email that identifies the {_CUSTOMER_DOC} in Voucherify.", "$.traits.email"
        ),
        "phone": _nullable_string("Phone", f"Phone number of the {_CUSTOMER_DOC}.", "$.traits.phone"),
        "birthdate": _nullable_string(
            "Birthdate",
            f"Birthdate of the {_CUSTOMER_DOC}. You can pass data here in `date` or `datetime` format (ISO 8601).",
            "$.traits.birthdate",
        ),
        "address": {
            "label": "Address",
            "description": f"Address of the {_CUSTOMER_DOC}.",
            "type": "object",
            "properties": {
                "city": _address_part("City"),
                "state": _address_part("State"),
                "postal_code": _address_part("Postal Code"),
                "street": _address_part("Street"),
                "country": _address_part("Country"),
            },
            "default": {
                "city": {"@path": "$.traits.address.city"},
                "state": {"@path": "$.traits.address.state"},
                "postal_code": {"@path": "$.traits.address.postal_code"},
                "street": {"@path": "$.traits.address.street"},
                "country": {"@path": "$.traits.address.country"},
            },
        },
        "metadata": {
            "label": "Metadata",
            "description": (
                "A set of custom key/value pairs that you can attach to a customer. The metadata object "
                "stores all custom attributes assigned to the customer. It can be useful for storing "
                "additional information about the customer in a structured format."
            ),
            "type": "object",
            "allowNull": True,
            "default": {"@path": "$.traits.metadata"},
        },
        "type": _event_type(_EVENT_TYPE_DOC),
    },
)

ASSIGN_CUSTOMER_TO_GROUP = ActionDefinition(
    id="assignCustomerToGroup",
    title="Assign customer to group",
    default_subscription='type = "group"',
    endpoint="group",
    fields={
        "customer": _customer_object(
            f"Object containing information about the {_CUSTOMER_DOC}.",
            {"@path": "$.email"},
        ),
        "group_id": {
            "label": "Group ID",
            "description": (
                f"The ID used to uniquely identify a group to which {_CUSTOMER_DOC} belongs."
            ),
            "type": "string",
            "required": True,
            "default": {"@path": "$.groupId"},
        },
        "traits": {
            "label": "Group Traits",
            "description": (
                "Traits of the group that will be created in customer "
                "[metadata](https://www.voucherify.io/glossary/metadata-custom-attributes)."
            ),
            "type": "object",
            "default": {"@path": "$.traits"},
        },
        "type": _event_type(_EVENT_TYPE_DOC + "."),
    },
)

#: partnerAction id -> definition (read-only: shared by every subscription).
ACTIONS: Mapping[str, ActionDefinition] = MappingProxyType(
    {a.id: a for a in (ADD_CUSTOM_EVENT, UPSERT_CUSTOMER, ASSIGN_CUSTOMER_TO_GROUP)}
)
if tuple(ACTIONS) != ACTION_IDS:  # pragma: no cover - a definition added without its id, or the reverse
    raise AssertionError(f"ActionId {ACTION_IDS} and ACTIONS {tuple(ACTIONS)} disagree")
