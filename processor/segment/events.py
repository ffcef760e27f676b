"""What counts as a Segment event: the shape check every decoder applies after parsing.

A Segment event is a JSON object whose ``type`` is one of the spec's six calls
(track/identify/page/screen/group/alias, as in Segment's Spec). Segment's runtime would simply
not trigger on anything else, but in a Kafka topic such values are almost always poison input
(a wrong topic, a producer bug), so the processor dead-letters them with the reason given here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT_TYPES", "shape_problem"]

EVENT_TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})

_JSON_KIND = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def shape_problem(event: Any) -> str | None:
    """Why ``event`` (a parsed JSON value) is not a Segment event, or ``None`` when it is one.

    Returns a short reason without event data, e.g. ``"missing 'type'"`` or
    ``"unknown type 'purchase'"`` (the type is cut at 64 characters).
    """
    if not isinstance(event, dict):
        kind = "null" if event is None else _JSON_KIND.get(type(event), type(event).__name__)
        return f"expected a JSON object, got {kind}"
    kind = event.get("type")
    if not isinstance(kind, str):
        return "missing 'type'" if kind is None else f"'type' must be a string, got {type(kind).__name__}"
    if kind not in EVENT_TYPES:
        return f"unknown type {kind[:64]!r}"
    return None
