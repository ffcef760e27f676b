"""An :class:`~.segment_export.Export` -> this processor's configuration, with a report per subscription.

Rules (each says why):

1. Every subscription keeps Segment's order, name, trigger (``subscribe``), action and mapping
   verbatim, so the processor plans exactly what Segment planned; ``enabled: false`` stays.
2. A name already taken gets `` (2)``, `` (3)``... with a warning: Segment allows repeats, our
   names must be unique (they name subscriptions in retry records and metrics).
3. Refused, and left out of the file, with the reason: an action that is not one of this
   destination's three (the export of another destination: its subscriptions cannot run here),
   a ``destinationId`` other than the exported destination's id, subscriptions given with a
   destination export of another type (e.g. ``actions-slack``),
   a missing trigger, a mapping that is not a JSON object, and anything the processor's own
   compiler refuses at start-up (a trigger Segment cannot parse, a malformed mapping, a Liquid
   filter not ported yet). Writing them would stop ``run`` for every other subscription.
4. Imported with warnings: what runs as in Segment but probably not as meant (triggers Segment
   reads oddly, unknown Liquid filters, an empty mapping), and renamed duplicates.
5. Secrets (``apiKey``, ``secretKey``) are never written: the file expects them in
   ``VOUCHERIFY_APPLICATION_ID`` / ``VOUCHERIFY_SECRET_KEY``; :attr:`ImportResult.secrets`
   says which the export held so the command can name them (masked). ``customURL`` is not a
   secret and becomes ``destination.custom_url``.
6. The whole resulting document is then checked as ``check-config`` does offline (validated,
   every enabled subscription compiled), with placeholder credentials where none are set.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from processor.config import apply_environment, parse_config
from processor.importer.segment_export import Export, ExportedSubscription
from processor.errors import ConfigError
from processor.voucherify.actions import ACTIONS
from processor.voucherify.destination import Destination, Subscription
from processor.voucherify.settings import DestinationSettings

__all__ = ["SubscriptionReport", "SecretHint", "ImportResult", "translate", "SECRET_ENV"]

Status = Literal["imported", "warnings", "refused"]

#: Segment setting -> (environment variable the processor reads, label as Segment shows it).
SECRET_ENV: Mapping[str, tuple[str, str]] = {
    "apiKey": ("VOUCHERIFY_APPLICATION_ID", "Application ID"),
    "secretKey": ("VOUCHERIFY_SECRET_KEY", "Secret Key"),
}

#: Only used to compile subscriptions for the check; never written anywhere.
_CHECK_URL = "https://import-check.segmentio.voucherify.io"
_CHECK_SETTINGS = DestinationSettings(application_id="import-check", secret_key="import-check", custom_url=_CHECK_URL)


@dataclass
class SubscriptionReport:
    name: str  # as written to the file (after de-duplication)
    segment_name: str  # as in Segment
    action: str | None
    enabled: bool
    status: Status = "imported"
    messages: list[str] = field(default_factory=list)  # warnings, or the reason for a refusal


@dataclass(frozen=True, slots=True)
class SecretHint:
    env: str  # the variable to set
    label: str  # "Application ID"
    setting: str  # Segment's key: "apiKey"
    in_export: bool  # the export held a (non-empty) value
    masked_in_export: bool  # ...but Segment had masked it: copy it from Voucherify's dashboard
    set_in_environment: bool  # already set where the import ran


@dataclass
class ImportResult:
    #: the configuration document (plain dicts/lists; the base document's other sections kept)
    document: dict[str, Any]
    reports: list[SubscriptionReport]
    secrets: list[SecretHint]
    #: about the input and the destination (missing pages, another destination, missing URL)
    notes: list[str]
    #: the offline check of the whole document: None = it would start, else why not
    config_problem: str | None
    destination_label: str | None = None

    @property
    def refused(self) -> list[SubscriptionReport]:
        return [r for r in self.reports if r.status == "refused"]


def _masked(value: str) -> bool:
    """Segment's API shows some secrets as bullets or stars instead of their value."""
    stripped = value.strip()
    return bool(stripped) and set(stripped) <= {"•", "*", "●", "·", "x", "X"} and len(set(stripped)) == 1


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def _other_destination(sub: ExportedSubscription, export: Export) -> str | None:
    """Why ``sub`` belongs to another destination than the exported one, or None.

    A subscription runs with its own destination's settings (URL, credentials): one saved from
    another destination's export, even with a Voucherify action name, is not this one's.
    """
    dest = export.destination
    if dest is None:
        return None
    if sub.destination_id and dest.id and sub.destination_id != dest.id:
        return (f"it belongs to another destination (destinationId {sub.destination_id}), "
                f"not the exported destination {dest.id}")
    if dest.slug and "voucherify" not in dest.slug.lower():
        return (f"the destination export ({dest.source}) is a {dest.slug!r}, not Voucherify (Actions): "
                "its subscriptions are not imported")
    return None


def _check_subscription(sub: ExportedSubscription, report: SubscriptionReport, export: Export) -> dict[str, Any] | None:
    """The subscription's config entry, or None (refused, with the reason in the report)."""
    actions = ", ".join(ACTIONS)
    if sub.action is None:
        report.status = "refused"
        report.messages.append(f"it names no action (actionSlug); Voucherify (Actions) has {actions}")
        return None
    if sub.action not in ACTIONS:
        report.status = "refused"
        origin = ""
        dest = export.destination
        if sub.destination_id and dest is not None and dest.id and sub.destination_id != dest.id:
            origin = f" (destinationId {sub.destination_id}, not {dest.id})"
        report.messages.append(
            f"action {sub.action!r} is not an action of Voucherify (Actions) ({actions}): "
            f"this subscription belongs to another destination's export{origin}"
        )
        return None
    if sub.refusal:
        report.status = "refused"
        report.messages.append(sub.refusal)
        return None
    foreign = _other_destination(sub, export)
    if foreign:
        report.status = "refused"
        report.messages.append(foreign)
        return None
    if not isinstance(sub.trigger, str) or not sub.trigger.strip():
        report.status = "refused"
        report.messages.append("it has no trigger (FQL)")
        return None
    mapping = sub.settings
    if mapping is None:
        # No settings at all: the action's default mapping (the config's ``mapping`` left out),
        # which is what Segment fills a new subscription with; said, because Segment's record
        # holds no fields to compare with.
        report.messages.append("Segment's settings (the mapping) are null: imported with the action's default "
                               "mapping (no `mapping:`); compare with the subscription in Segment")
    elif not isinstance(mapping, dict):
        report.status = "refused"
        report.messages.append(f"its settings (the mapping) must be a JSON object, got {type(mapping).__name__}")
        return None
    try:
        compiled = Destination.build(_CHECK_SETTINGS, [Subscription(report.name, sub.trigger, sub.action, mapping)])
    except ConfigError as exc:
        report.status = "refused"
        where = f"subscriptions[0] {report.name!r} "
        field_name = (exc.field or "").removeprefix(where)
        report.messages.append(f"{field_name}: {exc.message}" if field_name else exc.message)
        return None
    prefix = f"subscriptions[0] {report.name!r} "
    report.messages.extend(w.removeprefix(prefix) for w in compiled.warnings)
    report.messages.extend(sub.warnings)
    if mapping is not None and not mapping:
        report.messages.append("the mapping is empty: requests carry none of the action's fields")
    if report.messages:
        report.status = "warnings"
    entry: dict[str, Any] = {"name": report.name, "subscribe": sub.trigger, "action": sub.action}
    if not sub.enabled:
        entry["enabled"] = False
    if mapping is not None:
        entry["mapping"] = mapping
    return entry


def _secrets(export: Export, environ: Mapping[str, str]) -> list[SecretHint]:
    settings = export.destination.settings if export.destination is not None else {}
    hints = []
    for key, (env, label) in SECRET_ENV.items():
        value = settings.get(key)
        present = isinstance(value, str) and bool(value.strip())
        hints.append(SecretHint(env, label, key, present, present and _masked(value), bool(environ.get(env))))
    return hints


def check_document(document: dict[str, Any], *, environ: Mapping[str, str], source: str) -> str | None:
    """``check-config``'s offline part over a document: None if ``run`` would start with it."""
    raw = copy.deepcopy(document)
    apply_environment(raw, environ)  # type: ignore[arg-type]
    dest = raw.setdefault("destination", {})
    if isinstance(dest, dict):
        for name in ("application_id", "secret_key"):
            if dest.get(name) is None and dest.get(f"{name}_file") is None:
                dest[name] = "import-check"  # secrets live in the environment, not the file
    try:
        Destination.from_config(parse_config(raw, source=source))
    except ConfigError as exc:  # ConfigFileError included
        return str(exc)
    return None


def translate(
    export: Export,
    *,
    base: dict[str, Any] | None = None,
    custom_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    source: str = "imported configuration",
) -> ImportResult:
    """Build the configuration document (on top of ``base``'s sections when given) and its report.

    ``base`` is modified in place and returned as :attr:`ImportResult.document` (so a caller
    holding a comment-preserving YAML document keeps its comments): ``subscriptions`` is
    replaced, ``destination.custom_url`` set from the export (or ``custom_url``), everything
    else is kept.
    """
    env = os.environ if environ is None else environ
    notes = list(export.notes)
    dest = export.destination
    if dest is not None and dest.slug and "voucherify" not in dest.slug.lower():
        notes.append(f"{dest.source}: destination {dest.name!r} is a {dest.slug!r}, not Voucherify (Actions)")
    reports: list[SubscriptionReport] = []
    entries: list[dict[str, Any]] = []
    taken: set[str] = set()
    for sub in export.subscriptions:
        name = _unique(sub.name, taken)
        report = SubscriptionReport(name=name, segment_name=sub.name, action=sub.action, enabled=sub.enabled)
        entry = _check_subscription(sub, report, export)
        if entry is not None:
            taken.add(name)
            if name != sub.name:
                report.messages.insert(0, f"renamed from {sub.name!r}: another subscription already has that name")
                report.status = "warnings"
        reports.append(report)
        if entry is not None:
            entries.append(entry)

    document = base if base is not None else {}
    destination = document.get("destination")
    if not isinstance(destination, dict):
        destination = document["destination"] = {}
    url = custom_url or (dest.settings.get("customURL") if dest is not None else None)
    if isinstance(url, str) and url:
        destination["custom_url"] = url
    elif "custom_url" not in destination:
        notes.append("no destination export and no --custom-url: set destination.custom_url in the file")
    document["subscriptions"] = entries
    label = None
    if dest is not None:
        label = " ".join(x for x in (repr(dest.name) if dest.name else None, dest.id) if x) or None
    return ImportResult(
        document=document,
        reports=reports,
        secrets=_secrets(export, env),
        notes=notes,
        config_problem=check_document(document, environ=env, source=source),
        destination_label=label,
    )
