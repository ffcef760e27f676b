"""Compiled mapping nodes: the closures a mapping is turned into once, at start-up.

Every mapping value (raw JSON, plain object, array, directive) becomes a :class:`Node`:

* ``fn(payload)`` resolves it with JavaScript semantics; the result may contain
  :data:`~processor.segment.js.UNDEFINED` (e.g. a key of a plain object whose ``@path`` is missing),
  because directives such as ``@merge`` and ``@flatten`` can observe such keys;
* ``final(payload)`` returns the same value as it appears in the payload: ``UNDEFINED`` at
  the top only, nothing ``JSON.stringify`` would drop inside. Plain objects build their final
  form straight from their children's ``final`` (no second walk over the result);
* ``constant`` nodes do not read the payload; their ``value`` was computed at compile time
  (which is also how errors that depend only on the mapping are found before any event).
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import MappingConfigError, MappingRuntimeError
from ..js import UNDEFINED, JsBuiltin
from .jsvalue import to_json_value

Resolver = Callable[[Any], Any]


class Node:
    """One compiled mapping value (see the module docstring)."""

    __slots__ = ("fn", "final", "constant", "value", "emit")

    def __init__(self, fn: Resolver, final: Resolver, constant: bool = False, value: Any = UNDEFINED):
        self.fn = fn
        self.final = final
        self.constant = constant
        self.value = value
        #: how the node writes itself out in a generated mapping function (:mod:`.codegen`);
        #: None: it is called through ``fn``/``final`` there
        self.emit: Callable[[Any, str, str], str] | None = None


def _final_of(value: Any) -> Any:
    if value is UNDEFINED or type(value) is JsBuiltin:
        return UNDEFINED
    return to_json_value(value)


def constant(value: Any) -> Node:
    """A node that always resolves to ``value`` (shared, so payloads are read-only)."""
    final = _final_of(value)
    node = Node(lambda p: value, lambda p: final, True, value)

    def emit(gen: Any, p: str, mode: str) -> str:
        return gen.ref(final if mode == "final" else value)

    node.emit = emit
    return node


def dynamic(fn: Resolver, kind: str = "any") -> Node:
    """A payload-dependent node.

    ``kind`` says what ``fn`` can return, to pick the cheapest ``final``: ``"scalar"`` (never
    a container holding undefined, never a function), ``"event"`` (event values: clean
    containers, but possibly a function such as ``$.a.toString``), or ``"any"``.
    """
    if kind == "scalar":
        final = fn
    elif kind == "event":

        def final(p: Any) -> Any:
            v = fn(p)
            return UNDEFINED if type(v) is JsBuiltin else v

    else:

        def final(p: Any) -> Any:
            return _final_of(fn(p))

    return Node(fn, final)


def fold(node: Node, field: str) -> Node:
    """Evaluate a payload-independent node now; its runtime errors become config errors."""
    try:
        value = node.fn(None)
    except MappingRuntimeError as e:
        raise MappingConfigError(e.message, field=field) from None
    return constant(value)
