"""The destination the processor plans with, swappable while it runs (configuration reload).

:class:`LiveDestination` is what the engine holds as its planner. A reload compiles a new
:class:`~processor.voucherify.destination.Destination` away from the event loop, then
:meth:`LiveDestination.swap` replaces the reference in one assignment on the loop. Because the
engine plans an event in one synchronous call, and that call reads the reference once:

1. every event is planned entirely with one configuration (never half old, half new);
2. deliveries already planned carry their URL and body, so they finish as planned, whatever
   the configuration is by the time they are sent or retried in-process;
3. a retry-tier record is re-planned with the configuration current when it is due, for the
   subscriptions its headers name (``plan_only``). A named subscription the current
   configuration no longer has (removed, or ``enabled: false``) becomes a :class:`Rejection`
   with error class ``config`` and a message naming the subscription, the reason and the
   configuration generation, so the engine dead-letters the record instead of dropping it
   silently; ``on_gone`` is told (for the log line and the metric).
   A subscription that is still there but whose trigger no longer matches the event is left
   out, as :meth:`Destination.plan_only` documents (the user changed who it is for).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from processor.engine.ports import CONFIG
from processor.voucherify.delivery import Rejection
from processor.voucherify.destination import Destination, Planned

__all__ = ["LiveDestination", "Generation", "GONE_ERROR_CLASS", "GoneReason"]

#: ``vp.error.class`` of a retry record whose subscription a reload removed or disabled.
GONE_ERROR_CLASS = CONFIG

GoneReason = Literal["removed", "disabled"]


@dataclass(frozen=True, slots=True)
class Generation:
    """One compiled configuration: what an event is planned with."""

    destination: Destination
    number: int  # 1 at start-up, +1 per applied reload
    hash: str  # short hash of the effective configuration (secrets excluded)
    disabled: frozenset[str] = frozenset()  # configured with enabled: false


class LiveDestination:
    """A planner (the engine's ``Planner`` port) whose configuration can be swapped between events."""

    __slots__ = ("_current", "_actions", "_on_gone")

    def __init__(
        self, generation: Generation, *, on_gone: Callable[[str, GoneReason, Generation], None] | None = None
    ) -> None:
        self._current = generation
        #: every subscription name ever configured -> its action, so a dead letter for a removed
        #: subscription still names the action it had (metrics are by action)
        self._actions: dict[str, str] = {}
        self._remember(generation)
        self._on_gone = on_gone

    def _remember(self, generation: Generation) -> None:
        for name, action in generation.destination.actions.items():
            self._actions[name] = action

    @property
    def current(self) -> Generation:
        return self._current

    def swap(self, generation: Generation) -> Generation:
        """Plan every later event with ``generation``; returns the previous one. Call on the loop."""
        self._remember(generation)
        previous, self._current = self._current, generation
        return previous

    # -- the Planner port -----------------------------------------------------------------------

    def plan(self, event: Mapping[str, Any]) -> list[Planned]:
        return self._current.destination.plan(event)  # type: ignore[arg-type]

    def plan_only(self, event: Mapping[str, Any], names: Collection[str]) -> list[Planned]:
        current = self._current  # read once: the whole record is planned with this generation
        destination = current.destination
        planned = destination.plan_only(event, names)  # type: ignore[arg-type]
        configured = destination.actions
        gone = [n for n in names if n not in configured]
        if not gone:
            return planned
        for name in gone:
            reason: GoneReason = "disabled" if name in current.disabled else "removed"
            planned.append(Rejection(
                name,
                self._actions.get(name, "unknown"),
                f"subscription {name!r} was {reason} by a configuration reload (generation {current.number}, "
                f"hash {current.hash}) before this retry was due; not delivered",
                None,
                GONE_ERROR_CLASS,
            ))
            if self._on_gone is not None:
                self._on_gone(name, reason, current)
        return planned
