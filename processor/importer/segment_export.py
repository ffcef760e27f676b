"""Segment Public API documents -> one :class:`Export` (the destination and its subscriptions, in order).

Shapes read (Segment Public API v1; ``data`` is the API's envelope and may be absent when a user
saved only its content):

- ``GET /destinations/{id}``: ``{"data": {"destination": {"id", "name", "enabled", "metadata":
  {"name", "slug", ...}, "settings": {"apiKey", "secretKey", "customURL", ...}, ...}}}``;
- ``GET /destinations/{id}/subscriptions``: ``{"data": {"subscriptions": [...], "pagination":
  {"current", "next", "previous", "totalEntries"}}}``, one document per page;
- ``GET /destinations/{id}/subscriptions/{sid}``: ``{"data": {"subscription": {...}}}``;
- a bare JSON list of subscriptions.

A subscription is ``{"id", "name", "actionId", "actionSlug", "destinationId", "modelId",
"enabled", "trigger", "settings"}`` (``trigger``: FQL; ``actionSlug``: the action; ``settings``:
the mapping, an object or its JSON text). The shape actions-core itself stores
(``{"name", "subscribe", "partnerAction", "mapping", "enabled"}``) is read too.

Order: Segment's. Pages are chained by their cursors (the page whose ``current`` is another's
``next`` comes after it), whatever order the files were given in; subscriptions keep their
order within a page. A page given twice, or a subscription id seen twice, is read once. A gap
(a ``next`` cursor no file has, or fewer subscriptions than ``totalEntries``) is reported in
:attr:`Export.notes`, because the import would otherwise silently miss subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from processor.errors import ExportError

__all__ = ["ExportError", "ExportedDestination", "ExportedSubscription", "Export", "read_export"]


@dataclass(frozen=True, slots=True)
class ExportedDestination:
    """The destination's own record: its settings hold the credentials and the custom URL."""

    id: str | None
    name: str | None
    slug: str | None  # the catalog entry's slug (``metadata.slug``), e.g. "actions-voucherify"
    settings: dict[str, Any]
    source: str  # the file (or URL) it came from, for messages


@dataclass(frozen=True, slots=True)
class ExportedSubscription:
    """One subscription as Segment holds it; nothing is checked or translated yet."""

    id: str | None
    name: str
    action: str | None  # actionSlug (Public API) or partnerAction (actions-core)
    trigger: Any
    settings: Any  # the mapping: normally an object; as found, for the translation to judge
    enabled: bool
    destination_id: str | None
    source: str
    #: what was read differently from Segment's record, for the report (e.g. an empty name)
    warnings: tuple[str, ...] = ()
    #: why this subscription cannot be imported as found (e.g. ``enabled`` not a boolean)
    refusal: str | None = None


@dataclass
class Export:
    destination: ExportedDestination | None = None
    subscriptions: list[ExportedSubscription] = field(default_factory=list)
    #: things the user should know about the input itself (missing pages, repeated documents)
    notes: list[str] = field(default_factory=list)
    #: a page of subscriptions is known to be missing from the inputs
    incomplete: bool = False


@dataclass
class _Page:
    source: str
    items: list[ExportedSubscription]
    current: str | None
    next: str | None
    total: int | None


def _subscription(raw: Any, source: str, where: str) -> ExportedSubscription:
    if not isinstance(raw, dict):
        raise ExportError(f"{source}: {where}: a subscription must be a JSON object, got {type(raw).__name__}")
    warnings: list[str] = []
    refusal = None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        given = name
        name = f"Subscription {raw.get('id') or where}"
        warnings.append(f"Segment's name is {given!r}: named {name!r} (names must be non-empty)")
    action = raw.get("actionSlug", raw.get("partnerAction"))
    trigger = raw.get("trigger", raw.get("subscribe"))
    settings = raw.get("settings", raw.get("mapping"))
    if isinstance(settings, str):  # some tools (Terraform's provider) keep the mapping as JSON text
        try:
            settings = orjson.loads(settings)
        except orjson.JSONDecodeError:
            pass  # left as text: the translation refuses it with the reason
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):  # e.g. "false": neither value can be assumed
        refusal = f"enabled is {enabled!r} ({type(enabled).__name__}), not true or false: set it in Segment and export again"
    return ExportedSubscription(
        id=raw.get("id") if isinstance(raw.get("id"), str) else None,
        name=name,
        action=action if isinstance(action, str) else None,
        trigger=trigger,
        settings=settings,
        enabled=enabled is not False,
        destination_id=raw.get("destinationId") if isinstance(raw.get("destinationId"), str) else None,
        source=source,
        warnings=tuple(warnings),
        refusal=refusal,
    )


def _items(raw: Any, source: str) -> list[ExportedSubscription]:
    if not isinstance(raw, list):
        raise ExportError(f"{source}: subscriptions must be a JSON list, got {type(raw).__name__}")
    return [_subscription(item, source, f"subscriptions[{i}]") for i, item in enumerate(raw)]


def _destination(raw: Any, source: str) -> ExportedDestination:
    if not isinstance(raw, dict):
        raise ExportError(f"{source}: destination must be a JSON object")
    settings = raw.get("settings") or {}
    if not isinstance(settings, dict):
        raise ExportError(f"{source}: destination.settings must be a JSON object")
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    return ExportedDestination(
        id=raw.get("id"),
        name=raw.get("name") or metadata.get("name"),
        slug=metadata.get("slug"),
        settings=settings,
        source=source,
    )


def _classify(doc: Any, source: str) -> ExportedDestination | _Page:
    """One document -> the destination, or a page of subscriptions."""
    if isinstance(doc, list):
        return _Page(source, _items(doc, source), None, None, None)
    if not isinstance(doc, dict):
        raise ExportError(f"{source}: expected a JSON object or list, got {type(doc).__name__}")
    body = doc.get("data", doc)
    if not isinstance(body, dict):
        raise ExportError(f"{source}: 'data' must be a JSON object")
    if "destination" in body:
        return _destination(body["destination"], source)
    if "subscriptions" in body:
        pagination = body.get("pagination") if isinstance(body.get("pagination"), dict) else {}
        total = pagination.get("totalEntries")
        return _Page(
            source,
            _items(body["subscriptions"], source),
            pagination.get("current"),
            pagination.get("next"),
            total if isinstance(total, int) else None,
        )
    if "subscription" in body:
        return _Page(source, [_subscription(body["subscription"], source, "subscription")], None, None, None)
    keys = ", ".join(sorted(body)) or "none"
    raise ExportError(
        f"{source}: not a Segment Public API destination or subscriptions response "
        f"(expected data.destination or data.subscriptions; keys found: {keys})"
    )


def _chain(pages: list[_Page], notes: list[str]) -> tuple[list[_Page], bool]:
    """Pages in Segment's order (by cursor where cursors are known, else as given); a gap?"""
    gap = False
    unique: list[_Page] = []
    seen: set[str] = set()
    for page in pages:
        if page.current is not None:
            if page.current in seen:
                notes.append(f"{page.source}: the page at cursor {page.current!r} was given twice; read once")
                continue
            seen.add(page.current)
        unique.append(page)
    by_cursor = {p.current: p for p in unique if p.current is not None}
    followers = {p.next for p in unique if p.next is not None}
    ordered: list[_Page] = []
    placed: set[int] = set()
    for start in unique:
        if id(start) in placed or (start.current is not None and start.current in followers):
            continue
        page: _Page | None = start
        while page is not None and id(page) not in placed:
            ordered.append(page)
            placed.add(id(page))
            if page.next is None:
                break
            nxt = by_cursor.get(page.next)
            if nxt is None:
                gap = True
                notes.append(
                    f"{page.source}: the next page (cursor {page.next!r}) is not among the inputs; "
                    "its subscriptions are not imported"
                )
            page = nxt
    ordered.extend(p for p in unique if id(p) not in placed)  # a cycle of cursors: keep the given order
    return ordered, gap


def read_export(documents: list[tuple[str, Any]]) -> Export:
    """Combine parsed documents (``(source name, JSON value)``) into one export.

    Raises :class:`ExportError` for a document of an unknown shape or for two different
    destinations.
    """
    export = Export()
    pages: list[_Page] = []
    for source, doc in documents:
        item = _classify(doc, source)
        if isinstance(item, ExportedDestination):
            if export.destination is not None and export.destination.id != item.id:
                raise ExportError(
                    f"{source}: a second destination ({item.id}); {export.destination.source} "
                    f"already gave {export.destination.id}. Import one destination at a time."
                )
            export.destination = item
        else:
            pages.append(item)
    ids: set[str] = set()
    totals = {p.total for p in pages if p.total is not None}
    ordered, export.incomplete = _chain(pages, export.notes)
    for page in ordered:
        for sub in page.items:
            if sub.id is not None:
                if sub.id in ids:
                    export.notes.append(f"{sub.source}: subscription {sub.id} ({sub.name!r}) appears again; read once")
                    continue
                ids.add(sub.id)
            export.subscriptions.append(sub)
    if len(totals) == 1:
        (total,) = totals
        if len(export.subscriptions) < total:
            export.incomplete = True
            export.notes.append(
                f"Segment reports {total} subscriptions but the inputs hold {len(export.subscriptions)}: "
                "a page is missing (save every page, following pagination.next)"
            )
    return export
