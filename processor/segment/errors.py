"""Named errors of the Segment layer (defined, with the whole tree, in :mod:`processor.errors`).

Two families, because they are handled at different times:

- ``ConfigError`` and subclasses: something is wrong in the configuration alone (a trigger that
  does not parse, a malformed mapping). Raised while compiling, at start-up, so a bad config
  never reaches the stream.
- ``PayloadValidationError`` / ``MappingRuntimeError`` (``DeliveryError``s): one event cannot
  produce a valid payload. Raised per event; permanent for that event (it goes to the
  dead-letter topic), worded exactly as Segment words it so users recognise the message.
"""

from __future__ import annotations

from processor.errors import (
    ConfigError,
    FqlSyntaxError,
    MappingConfigError,
    MappingRuntimeError,
    PayloadValidationError,
)

__all__ = ["ConfigError", "FqlSyntaxError", "MappingConfigError", "PayloadValidationError", "MappingRuntimeError"]
