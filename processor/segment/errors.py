"""Named errors of the Segment layer.

Two families, because they are handled at different times:

- ``ConfigError`` and subclasses: something is wrong in the configuration alone (a trigger that
  does not parse, a malformed mapping). Raised while compiling, at start-up, so a bad config
  never reaches the stream.
- ``PayloadValidationError`` / ``MappingRuntimeError``: one event cannot produce a valid payload.
  Raised per event; permanent for that event (it goes to the dead-letter topic), worded exactly
  as Segment words it so users recognise the message.
"""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration is unusable; ``field`` names where (e.g. ``subscriptions[2].mapping.event``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class FqlSyntaxError(ConfigError):
    """A trigger does not parse; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, *, position: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.position = position


class MappingConfigError(ConfigError):
    """A mapping is malformed (unknown directive, bad directive argument, bad Liquid template)."""


class PayloadValidationError(Exception):
    """The resolved payload fails the action's field schema (Segment answers 400)."""

    status = 400

    def __init__(self, message: str, *, status: int | None = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class MappingRuntimeError(Exception):
    """A directive failed while resolving one event (Segment's runtime would throw)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
