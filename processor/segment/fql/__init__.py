"""Segment's subscription language (FQL), matching ``@segment/destination-subscriptions`` 3.37.0.

Users paste triggers from Segment, so a trigger must select exactly the events it selected
there, however oddly the reference reads it. ``compile_trigger`` lexes and parses once (a literal
port of fql-ts 1.10.1 and parse-fql.js), turns the result into closures, and explains odd
readings in ``Trigger.warnings`` instead of changing them. Deliberate difference: a trigger the
reference rejects (``Invalid subscription : ...`` on every event) or cannot evaluate raises
``FqlSyntaxError`` here, so the processor refuses it at start-up.

    >>> trigger = compile_trigger('type = "track" and event = "Order Completed"')
    >>> trigger({"type": "track", "event": "Order Completed"})
    True
"""

from __future__ import annotations

from typing import Any

from ..errors import FqlSyntaxError
from .evaluator import EventTest, compile_node
from ..js import from_units, to_string, to_units
from .lexer import Lexer, LexerError, normalize
from .parser import UNDEFINED_READ, Condition, Group, Node, ParseFailure, Parser

__all__ = ["Trigger", "compile_trigger", "FqlSyntaxError"]


class Trigger:
    """A compiled trigger: call it with an event dict to learn whether the subscription fires."""

    __slots__ = ("text", "warnings", "event_type", "_test")

    def __init__(self, text: str, test: EventTest, warnings: list[str], event_type: str | None = None) -> None:
        self.text = text
        self.warnings = warnings
        #: ``"track"`` when the trigger is exactly ``type = "track"``: it matches an event iff the
        #: event's ``type`` is that string (``str``, not a subclass). Lets a caller pick the
        #: subscriptions by type with one lookup instead of calling each trigger.
        self.event_type = event_type
        self._test = test

    def __call__(self, event: Any) -> bool:
        # Non-object events have none of the fields triggers read (JS would see `undefined`).
        return self._test(event if isinstance(event, dict) else {})

    def __repr__(self) -> str:
        return f"Trigger({self.text!r})"


def compile_trigger(text: str) -> Trigger:
    """Parse ``text`` the way Segment does; raise ``FqlSyntaxError`` if Segment could not use it."""
    if not isinstance(text, str) or not text:
        raise FqlSyntaxError(
            'a trigger must be a non-empty string; Segment rejects it too: "Failed to validate subscription"\n  \n  ^',
            position=0,
        )
    units = to_units(text)
    lexer = Lexer(units)
    try:
        tokens = lexer.lex()
    except LexerError as error:
        raise _syntax_error(units, error.message, error.pos, UNDEFINED_READ) from None
    parser = Parser(units)
    try:
        ast = parser.parse_trigger(normalize(tokens))
    except ParseFailure as failure:
        raise _syntax_error(units, failure.message, failure.pos, failure.reference) from None
    notes = sorted(lexer.notes + parser.warnings, key=lambda note: note[0])
    warnings = [f"{from_units(message)} (at position {_position(units, pos)})" for pos, message in notes]
    return Trigger(text, compile_node(ast), warnings, _event_type(ast))


def _event_type(node: Node | None) -> str | None:
    """The string ``node`` tests ``type`` for equality with, when that is all it does.

    ``type = "x"`` compiles to ``event.get("type") == "x"`` (``evaluator._compile_condition``'s
    fast path); a group of that one condition (``(type = "x")``) compiles to the condition itself.
    """
    while isinstance(node, Group):
        if len(node.children) != 1 or node.operator not in ("and", "or"):
            return None
        node = node.children[0]
    if isinstance(node, Condition) and node.type == "event-type" and node.operator == "=":
        return from_units(to_string(node.value))  # type: ignore[arg-type]  (as the evaluator converts it)
    return None


def _position(units: str, pos: int) -> int:
    """A code-unit offset as an offset into the original (code point) string."""
    return len(from_units(units[:pos]))


def _syntax_error(units: str, message: str, pos: int, reference: str | None) -> FqlSyntaxError:
    position = _position(units, min(pos, len(units)))
    text = from_units(units)
    segment = (
        f"Segment rejects it too: \"Invalid subscription : {reference}\""
        if reference is not None
        else "Segment accepts it but fails on matching events"
    )
    caret = " " * position + "^"
    return FqlSyntaxError(f"{message} at position {position}; {segment}\n  {text}\n  {caret}", position=position)
