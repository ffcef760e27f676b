"""The destination's five presets: what a Segment user gets without writing a mapping.

Same names, triggers, actions and mappings as ``presets`` in Segment's Voucherify (Actions)
definition, in the same order. They are used when the configuration has no ``subscriptions``.
The mappings are built fresh on each call so a caller can never modify the shared definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processor.voucherify.actions import ACTIONS, default_mapping

__all__ = ["Preset", "presets"]


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    subscribe: str
    action: str  # partnerAction id
    mapping: dict[str, Any]


def presets() -> list[Preset]:
    """Segment's five presets, in Segment's order."""
    add_event = default_mapping(ACTIONS["addCustomEvent"])
    return [
        Preset("Add Custom Event (Track Event)", 'type = "track"', "addCustomEvent", dict(add_event)),
        Preset(
            "Add Custom Event (Page Event)", 'type = "page"', "addCustomEvent",
            {**add_event, "event": {"@template": "Viewed {{name}} Page"}},
        ),
        Preset(
            "Add Custom Event (Screen Event)", 'type = "screen"', "addCustomEvent",
            {**add_event, "event": {"@template": "Viewed {{name}} Screen"}},
        ),
        Preset(
            "Create Or Update Customer", 'type = "identify"', "upsertCustomer",
            default_mapping(ACTIONS["upsertCustomer"]),
        ),
        Preset(
            "Assign Customer To Group", 'type = "group"', "assignCustomerToGroup",
            default_mapping(ACTIONS["assignCustomerToGroup"]),
        ),
    ]
