"""The destination: compiled subscriptions that turn one Segment event into requests to make.

``Destination.build`` does, once, everything Segment does lazily per event: it checks the
settings, parses every trigger, validates and compiles every mapping and compiles every
action's field schema. Anything wrong in the configuration alone raises :class:`ConfigError`
naming the subscription and the field (``subscriptions[2] 'Big orders' mapping /event/@path:
...``), so a bad configuration never reaches the stream.

``plan(event)`` then mirrors Segment's ``onEvent`` for each subscription, in subscription order:
not triggered -> left out; triggered -> mapping, ``removeEmptyValues``, schema validation, and
either a :class:`Delivery` (the exact body to POST) or a :class:`Rejection` worded as Segment
words it. The per-event path is plain calls on dicts: no configuration is interpreted there.

One deliberate difference: an event whose ``context`` is ``null`` is treated as having no
context (Segment's runtime throws a TypeError for it once the payload is valid, a defect).

One bad (event, subscription) never stops the stream: any exception the trigger, the mapping,
the validation or the body encoding raises for one subscription, expected or not (a defect in
our port, e.g. a Liquid filter called with an argument count it does not handle), becomes that
pair's :class:`Rejection` with error class ``internal`` (dead-lettered with the exception's type
and message), logged at ERROR with the traceback; the event's other subscriptions, and every
other event, carry on. Otherwise the event would stop the processor, come back after the
restart and stop it again: one event would wedge its partition forever.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

import orjson

from processor.segment.errors import ConfigError, MappingRuntimeError, PayloadValidationError
from processor.segment.fql import compile_trigger
from processor.segment.mapping import compile_mapping, mapping_warnings
from processor.segment.mapping.jsvalue import json_stringify
from processor.segment.validation import PayloadSchema, compile_schema
from processor.voucherify.actions import ACTIONS, default_mapping
from processor.voucherify.delivery import Delivery, Rejection
from processor.voucherify.presets import presets
from processor.voucherify.settings import DestinationSettings

__all__ = ["Destination", "Subscription", "Planned", "INTERNAL"]

log = logging.getLogger(__name__)

#: Error class of an (event, subscription) our Segment semantics failed on unexpectedly.
INTERNAL = "internal"
#: An exception message quoted in a dead letter is cut to this many characters.
MAX_INTERNAL_MESSAGE = 1000

Planned = Delivery | Rejection

_NO_VALUE = object()


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as configured: Segment's ``{name, subscribe, partnerAction, mapping}``."""

    name: str
    subscribe: str
    action: str
    mapping: Mapping[str, Any] | None = None  # None = the action's default mapping
    enabled: bool = True

    @classmethod
    def from_config(cls, config: Any) -> "Subscription":
        """From :class:`processor.config.SubscriptionConfig`."""
        return cls(config.name, config.subscribe, config.action, config.mapping, config.enabled)

    @classmethod
    def from_segment(cls, raw: Mapping[str, Any]) -> "Subscription":
        """From Segment's JSON shape (``partnerAction`` instead of ``action``)."""
        return cls(raw["name"], raw["subscribe"], raw["partnerAction"], raw.get("mapping"), raw.get("enabled", True))


class _Compiled:
    """One enabled subscription, compiled: ``run(event)`` assumes the trigger already matched.

    ``event_type``: the trigger's :attr:`~processor.segment.fql.Trigger.event_type` (``"track"``
    for exactly ``type = "track"``), else ``None``."""

    __slots__ = ("name", "action", "trigger", "event_type", "run")

    def __init__(self, name: str, action: str, trigger: Callable[[dict], bool], run: Callable[[dict], Planned],
                 event_type: str | None = None):
        self.name = name
        self.action = action
        self.trigger = trigger
        self.event_type = event_type
        self.run = run


#: Subscriptions to try on an event, in order, each with its trigger, or ``None`` when the
#: trigger is known to match (see :func:`_index_by_type`).
_Entries = tuple[tuple[_Compiled, Callable[[dict], bool] | None], ...]


def _index_by_type(subs: Sequence[_Compiled]) -> tuple[dict[str, _Entries], _Entries]:
    """The subscriptions to try per event type, so an event's triggers are not all called.

    A trigger that is exactly ``type = "x"`` matches an event iff its ``type`` is the ``str``
    ``"x"``. So for an event whose ``type`` is a ``str``: the subscriptions of that type, whose
    trigger need not be called, and every subscription whose trigger is anything else, called as
    usual, in subscription order (``by_type[type]``, or the second result for a type no such
    trigger names). An event whose ``type`` is not a ``str`` tries every trigger (``Destination._all``).
    Segment's five presets are all of the first kind: one lookup, no trigger called.
    """
    other = tuple((sub, sub.trigger) for sub in subs if sub.event_type is None)
    by_type: dict[str, _Entries] = {}
    for event_type in dict.fromkeys(sub.event_type for sub in subs if sub.event_type is not None):
        by_type[event_type] = tuple(
            (sub, None if sub.event_type == event_type else sub.trigger)
            for sub in subs
            if sub.event_type is None or sub.event_type == event_type
        )
    return by_type, other


#: A float in orjson's output that JavaScript writes differently: an integral float (``100.0``,
#: ``-0.0``) or exponent notation (orjson writes ``1e+16`` and ``1e-6``, JavaScript
#: ``10000000000000000`` and ``0.000001``). A superset: text inside strings may match too, which
#: merely takes the exact path. Only searched when a literal search finds ``.0``, ``e+`` or ``e-``
#: (three compiled literal searches: measured about half the cost of ``bytes.__contains__``).
_JS_FLOAT_RISK = re.compile(rb"[:,\[]-?\d+(?:\.0[,}\]]|(?:\.\d+)?e[+-])")
_HAS_POINT_ZERO = re.compile(rb"\.0").search
_HAS_E_PLUS = re.compile(rb"e\+").search
_HAS_E_MINUS = re.compile(rb"e-").search
#: An object key that JavaScript enumerates first (an array index: ``"0"``, ``"7"``, ``"10"``, not
#: ``"01"``), so ``JSON.stringify`` writes it before the object's other keys, in numeric order,
#: where orjson keeps insertion order. A superset too (a string value may match). It starts at the
#: quote, not at the ``{`` or ``,`` before a key: a pattern opening with a literal is searched for
#: that literal first, one opening with a character class tries every position (1.8 against
#: 0.6 µs on the benchmark's ~260-byte bodies); the matches are a superset of the stricter ones.
_ARRAY_INDEX_KEY = re.compile(rb'"(?:0|[1-9][0-9]{0,9})":').search


def _encode(payload: Any) -> bytes:
    """The request body as Segment's ``JSON.stringify`` writes it: one rule for every number.

    Every number is written as the double JavaScript holds (integers beyond 2**53 rounded to the
    nearest one, ``-0`` as ``0``, ``100.0`` as ``100``) in ``Number.prototype.toString``'s
    notation. orjson writes most bodies exactly so; the rest go through :func:`json_stringify`:

    1. integers beyond 53 bits (``OPT_STRICT_INTEGER`` makes orjson refuse them), and what orjson
       cannot encode at all (integers beyond 64 bits, lone surrogates);
    2. bodies with a float orjson writes differently (:data:`_JS_FLOAT_RISK`);
    3. bodies with an integer-like object key (:data:`_ARRAY_INDEX_KEY`), which JavaScript
       enumerates first (``js_keys``), so the bytes follow Segment's key order too.
    """
    try:
        body = orjson.dumps(payload, option=orjson.OPT_STRICT_INTEGER)
    except orjson.JSONEncodeError:
        return json_stringify(payload).encode("utf-8")  # type: ignore[union-attr]
    if (
        _HAS_POINT_ZERO(body) is not None or _HAS_E_PLUS(body) is not None or _HAS_E_MINUS(body) is not None
    ) and _JS_FLOAT_RISK.search(body) is not None:
        return json_stringify(payload).encode("utf-8")  # type: ignore[union-attr]
    if _ARRAY_INDEX_KEY(body) is not None:
        return json_stringify(payload).encode("utf-8")  # type: ignore[union-attr]
    return body


#: The rejection message of an event nested too deeply for Python's recursion limit.
TOO_DEEP = "The event is nested too deeply for voucherify-processor (about 900 levels or more)."


def _runner(name: str, action: str, url: str, mapping: Callable[[dict], Any], schema: PayloadSchema) -> Callable[[dict], Planned]:
    """The per-event work of one subscription, with everything it needs bound as locals."""
    validate = schema.clean_and_validate

    def run(event: dict) -> Planned:
        try:
            payload = validate(mapping(event))
            body = _encode(payload)
        except PayloadValidationError as exc:
            return Rejection(name, action, exc.message, exc.status)
        except MappingRuntimeError as exc:
            return Rejection(name, action, exc.message, exc.status)
        except RecursionError:
            # Python's recursion limit is met near 1,000 levels of nesting, JavaScript's stack
            # a few thousand: an event this deep is refused for this subscription (dead-lettered
            # with the reason) instead of stopping the process; see "Where we differ".
            return Rejection(name, action, TOO_DEEP, None)
        return Delivery(name, action, url, body)

    return run


class Destination:
    """Compiled subscriptions of one Voucherify destination. Build with :meth:`build`."""

    __slots__ = ("settings", "warnings", "_subs", "_names", "_actions", "_by_type", "_untyped", "_all")

    def __init__(self, settings: DestinationSettings, compiled: Sequence[_Compiled], warnings: list[str]) -> None:
        self.settings = settings
        self.warnings = warnings
        self._subs = tuple(compiled)
        self._names = tuple(s.name for s in compiled)
        self._actions = MappingProxyType({s.name: s.action for s in compiled})
        self._by_type, self._untyped = _index_by_type(self._subs)
        self._all: _Entries = tuple((sub, sub.trigger) for sub in self._subs)

    @property
    def subscription_names(self) -> tuple[str, ...]:
        """Enabled subscriptions, in order."""
        return self._names

    @property
    def actions(self) -> Mapping[str, str]:
        """Enabled subscription name -> its action id, in order (read-only)."""
        return self._actions

    @classmethod
    def build(cls, settings: DestinationSettings, subscriptions: Sequence[Subscription] | None) -> "Destination":
        """Compile every enabled subscription (``None`` = Segment's five presets).

        Raises :class:`ConfigError` (or a subclass) whose ``field`` names the subscription by
        its position and name, then the part that is wrong (``subscribe``, ``action``,
        ``mapping /event/@path``). Warnings (triggers Segment reads oddly, Liquid filters
        liquidjs does not know) are collected in :attr:`warnings` for start-up logging.
        """
        label = "subscriptions"
        if subscriptions is None:
            label = "presets"
            subscriptions = [Subscription(p.name, p.subscribe, p.action, p.mapping) for p in presets()]
        compiled: list[_Compiled] = []
        warnings: list[str] = []
        schemas = {action_id: compile_schema(a.fields) for action_id, a in ACTIONS.items()}
        for index, sub in enumerate(subscriptions):
            if not sub.enabled:
                continue
            where = f"{label}[{index}] {sub.name!r}"
            definition = ACTIONS.get(sub.action)
            if definition is None:
                raise ConfigError(
                    f"unknown action {sub.action!r}; one of: {', '.join(ACTIONS)}", field=f"{where} action"
                )
            try:
                trigger = compile_trigger(sub.subscribe)
            except ConfigError as exc:
                exc.field = f"{where} subscribe"
                raise
            warnings.extend(f"{where} subscribe: {w}" for w in trigger.warnings)
            mapping = sub.mapping if sub.mapping is not None else default_mapping(definition)
            compiled_mapping = compile_mapping(dict(mapping), field_prefix=f"{where} mapping ")
            warnings.extend(f"{where} mapping {w}" for w in mapping_warnings(mapping))
            run = _runner(sub.name, sub.action, settings.url(definition.path), compiled_mapping, schemas[sub.action])
            compiled.append(_Compiled(sub.name, sub.action, trigger, run, trigger.event_type))
        if not compiled:
            warnings.append(f"{label}: no enabled subscription, so no event triggers anything: every event is "
                            "consumed and committed without a request (remove `subscriptions:` for Segment's presets)")
        return cls(settings, compiled, warnings)

    @classmethod
    def from_config(cls, config: Any) -> "Destination":
        """From :class:`processor.config.AppConfig` (only ``destination`` and ``subscriptions`` are read)."""
        settings = DestinationSettings.from_config(config.destination)
        subs = config.subscriptions
        return cls.build(settings, None if subs is None else [Subscription.from_config(s) for s in subs])

    def plan(self, event: dict) -> list[Planned]:
        """Requests (or rejections) for every subscription ``event`` triggers, in order.

        Never raises for one subscription: see the module docstring (error class ``internal``).
        """
        if event.get("context", _NO_VALUE) is None:
            event = {k: v for k, v in event.items() if k != "context"}
        event_type = event.get("type")
        if type(event_type) is str:
            return _run(self._by_type.get(event_type, self._untyped), event)
        return _run(self._all, event)

    def plan_only(self, event: dict, names: Iterable[str]) -> list[Planned]:
        """Like :meth:`plan`, restricted to the named subscriptions (retries).

        Names no longer configured are ignored, and a named subscription whose trigger no
        longer matches (the configuration changed since the first attempt) is left out.
        """
        wanted = names if isinstance(names, (set, frozenset)) else set(names)
        if event.get("context", _NO_VALUE) is None:
            event = {k: v for k, v in event.items() if k != "context"}
        return _run([(sub, sub.trigger) for sub in self._subs if sub.name in wanted], event)


def _run(entries: Iterable[tuple[_Compiled, Callable[[dict], bool] | None]], event: dict) -> list[Planned]:
    """Each triggered subscription's outcome for ``event`` (``entries``: see :data:`_Entries`); one
    that raises is that pair's ``internal`` rejection."""
    out: list[Planned] = []
    for sub, trigger in entries:
        try:
            if trigger is None or trigger(event):
                out.append(sub.run(event))
        except Exception as exc:  # noqa: BLE001 - one pair's failure, whatever it is
            out.append(_internal(sub, exc))
    return out


def _internal(sub: _Compiled, exc: Exception) -> Rejection:
    """The (event, subscription) failed inside our Segment semantics: dead-letter it as ``internal``."""
    log.error("subscription %r failed on an event with %s; the event is dead-lettered for this subscription "
              "(error class internal) and processing goes on", sub.name, type(exc).__name__, exc_info=exc)
    message = f"internal error in subscription {sub.name!r}: {type(exc).__name__}: {exc}"
    if len(message) > MAX_INTERNAL_MESSAGE:
        message = message[: MAX_INTERNAL_MESSAGE - 1] + "…"
    return Rejection(sub.name, sub.action, message, None, INTERNAL)
