"""Liquid errors, worded as liquidjs 10.30.1 words them (``<message>, line:L, col:C``)."""

from __future__ import annotations

from processor.errors import InternalSignal
from processor.segment.js import utf16_len


class LiquidError(InternalSignal):
    """A parse, tokenization or render error; ``str(e)`` is the liquidjs message."""

    def __init__(self, message: str, source: str = "", pos: int = 0, *, located: bool = True) -> None:
        if located:
            line = source.count("\n", 0, pos) + 1
            # liquidjs counts columns in UTF-16 units (an emoji is two)
            col = utf16_len(source[source.rfind("\n", 0, pos) + 1 : pos]) + 1
            message = f"{message}, line:{line}, col:{col}"
        super().__init__(message)
        self.message = message


class LiquidFailure(InternalSignal):
    """A plain error raised while evaluating (wrapped into a located LiquidError by the caller)."""
