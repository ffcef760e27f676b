"""liquidjs 10.30.1's value model over our JavaScript values (:mod:`processor.segment.js`).

Templates see the event as JavaScript sees it (``dict``/``list``/``str``/numbers/``None``/
:data:`~processor.segment.js.UNDEFINED`). On top of that liquidjs has *drops*: the literals
``nil``/``null``, ``empty`` and ``blank`` are objects (``NullDrop``, ``EmptyDrop``, ``BlankDrop``)
that most filters unwrap with ``toValue`` (to ``null``, ``''``, ``''``) but some see as plain
objects (``{{ nil | json }}`` is ``{}``, ``{{ x | size }}`` reads ``.length``). A filter argument
written ``key: value`` reaches the filter as the JavaScript array ``[key, value]``, so it is a
``list`` here too (``{{ 'a' | append: k: 1 }}`` is ``ak1``).

The helpers are ports of liquidjs's ``stringify``/``toValue``/``toNumber``/``toArray`` and of the
JavaScript operators the filters use (``<`` on mixed types, ``JSON.stringify`` with ``space``).
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

from ...js import (
    JS_WHITESPACE,
    UNDEFINED,
    JsBuiltin,
    from_units,
    number_to_string,
    string_to_number,
    to_float,
    to_number,
    to_string,
    to_units,
)
from ..jsvalue import js_keys
from .errors import LiquidFailure


class Drop:
    """A liquidjs literal drop: ``nil`` (``value`` None), ``empty`` or ``blank`` (``value`` '')."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: Any) -> None:
        self.kind = kind
        self.value = value

    def __repr__(self) -> str:
        return f"<{self.kind} drop>"


NIL: Final = Drop("nil", None)
EMPTY: Final = Drop("empty", "")
BLANK: Final = Drop("blank", "")

#: JavaScript's ``\s`` (the same set as ``String.prototype.trim``), as a regex class body.
_WS_CLASS: Final = "".join("\\u%04x" % ord(c) for c in JS_WHITESPACE)
JS_SPACES: Final = re.compile(f"[{_WS_CLASS}]+")

MEMORY_LIMIT: Final = 100_000_000  # actions-core's memoryLimit: 1e8


class Memory:
    """liquidjs's ``Limiter('memory alloc', 1e8)``: one per render, charged by filters."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0.0

    def use(self, count: Any) -> None:
        n = count if type(count) is int or type(count) is float else to_number(count)
        if n > 0:
            if self.used + n > MEMORY_LIMIT:
                raise LiquidFailure("memory alloc limit exceeded")
            self.used += n


def to_value(v: Any) -> Any:
    """liquidjs ``toValue``: a drop becomes its ``valueOf()``."""
    return v.value if type(v) is Drop else v


def is_nil(v: Any) -> bool:
    """``value == null`` after ``toValue``."""
    return v is None or v is UNDEFINED or v is NIL


def stringify(v: Any) -> str:
    """liquidjs ``stringify``: strings as is, nil empty, arrays joined without separator."""
    t = type(v)
    if t is str:
        return v
    if t is Drop:
        v = v.value
        return "" if v is None else v
    if v is None or v is UNDEFINED:
        return ""
    if t is list:
        return "".join([stringify(x) for x in v])
    return to_string(v)


def js_string(v: Any) -> str:
    """JavaScript ``String(v)`` where a drop may appear (``String(nil)`` calls its toString)."""
    if type(v) is Drop:
        return "[object Object]"  # a drop has no toString of its own
    if type(v) is list:
        return ",".join(["" if (x is None or x is UNDEFINED) else js_string(x) for x in v])
    return to_string(v)


def js_number(v: Any) -> float | int:
    """JavaScript ``Number(v)`` where a drop may appear (``valueOf`` first)."""
    if type(v) is Drop:
        return 0 if v.value is None else 0
    if type(v) is list:
        return string_to_number(js_string(v))
    return to_number(v)


def num(v: Any) -> float:
    """liquidjs ``toNumber``: ``+toValue(v) || 0``, as a double."""
    n = js_number(v)
    if n != n or n == 0:
        return 0.0
    return n if type(n) is float else to_float(n)


def js_num(n: float | int) -> float | int:
    """A double result in our representation: integral values below 2**53 as ``int``."""
    if type(n) is float and n.is_integer() and -9007199254740992.0 <= n <= 9007199254740992.0:
        return int(n)
    return n


def to_array(v: Any) -> list:
    """liquidjs ``toArray``: nil -> ``[]``, an array as is, anything else ``[v]``."""
    v = to_value(v)
    if v is None or v is UNDEFINED:
        return []
    if type(v) is list:
        return v
    return [v]


def truthy(v: Any) -> bool:
    """JavaScript truthiness (a drop is an object: truthy)."""
    if type(v) is Drop:
        return True
    if v is None or v is UNDEFINED or v is False:
        return False
    t = type(v)
    if t is str:
        return v != ""
    if t is int or t is float:
        return v == v and v != 0
    return True


def liquid_falsy(v: Any) -> bool:
    """liquidjs ``isFalsy`` (``jsTruthy`` off): only ``false``, ``null`` and ``undefined``."""
    v = to_value(v)
    return v is False or v is None or v is UNDEFINED


# --- JavaScript relational operators -------------------------------------------------------------


def _primitive(v: Any) -> Any:
    """ToPrimitive(v, number): arrays and objects become their strings, drops their value."""
    t = type(v)
    if t is Drop:
        return v.value
    if t is list:
        return js_string(v)
    if t is dict or t is JsBuiltin:
        return to_string(v)
    return v


def js_less(a: Any, b: Any) -> bool | None:
    """``a < b`` in JavaScript; None when undefined (a NaN operand): every comparison is false."""
    a, b = _primitive(a), _primitive(b)
    if type(a) is str and type(b) is str:
        if a.isascii() and b.isascii():
            return a < b
        return to_units(a) < to_units(b)
    x, y = to_number(a), to_number(b)
    if x != x or y != y:
        return None
    return x < y


def js_lt(a: Any, b: Any) -> bool:
    return js_less(a, b) is True


def js_le(a: Any, b: Any) -> bool:
    r = js_less(b, a)
    return r is False


def js_gt(a: Any, b: Any) -> bool:
    return js_less(b, a) is True


def js_ge(a: Any, b: Any) -> bool:
    return js_less(a, b) is False


def to_integer(v: Any) -> float:
    """ToIntegerOrInfinity (``Array.prototype.slice``'s and ``String.prototype.slice``'s)."""
    n = js_number(v)
    if n != n:
        return 0
    if n in (math.inf, -math.inf):
        return n
    return float(math.trunc(n))


def slice_bounds(length: int, start: Any, end: Any = UNDEFINED) -> tuple[int, int]:
    """The ``[from, to)`` that ``x.slice(start, end)`` takes from a sequence of ``length``."""
    s = to_integer(start)
    s = max(length + s, 0) if s < 0 else min(s, length)
    e = length if end is UNDEFINED else to_integer(end)
    e = max(length + e, 0) if e < 0 else min(e, length)
    return int(s), int(e)


# --- UTF-16 helpers ----------------------------------------------------------------------------


def advance_code_points(units: str, start: int, count: Any) -> int:
    """liquidjs ``advanceCodePoints`` over a string of UTF-16 units (``i < count`` as in JS)."""
    index = start
    n = len(units)
    limit = count if (type(count) is int or type(count) is float) else js_number(count)
    i = 0
    while i < limit and index < n:
        c = units[index]
        index += 2 if ("\ud800" <= c <= "\udbff" and index + 1 < n and "\udc00" <= units[index + 1] <= "\udfff") else 1
        i += 1
    return index


def code_point_length(s: str) -> int:
    """Code points of a string (lone surrogates count one each)."""
    return len(from_units(s)) if not s.isascii() else len(s)


# --- JSON.stringify with space ------------------------------------------------------------------

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f\ud800-\udfff]')
_LONE = re.compile("[\ud800-\udfff]")


def _quote_char(m: re.Match) -> str:
    c = m.group()
    e = _ESCAPES.get(c)
    return e if e is not None else "\\u%04x" % ord(c)


def json_quote(s: str) -> str:
    """``JSON.stringify(string)`` (well-formed: lone surrogates escaped)."""
    if _NEEDS_ESCAPE.search(s) is None:
        return '"' + s + '"'
    if not s.isascii() and _LONE.search(s) is not None:
        s = from_units(s)  # adjacent halves are one character in a JavaScript string
        if _NEEDS_ESCAPE.search(s) is None:
            return '"' + s + '"'
    return '"' + _NEEDS_ESCAPE.sub(_quote_char, s) + '"'


def json_gap(space: Any) -> str | None:
    """The indentation ``JSON.stringify(v, r, space)`` uses; None for compact output.

    As V8 computes it: a number is ``min(space, 10)`` spaces when positive, so a positive
    fraction (``0.5``, ``5e-324``) gives newlines with no indentation; a string its first 10
    characters when not empty."""
    t = type(space)
    if t is int or t is float:
        n = min(float(space), 10.0)
        return " " * int(n) if n > 0 else None
    if t is str and space:
        # ten UTF-16 units, and V8 reads the gap as a C string: it ends at a NUL character
        return from_units(to_units(space)[:10]).split("\x00", 1)[0]
    return None


def json_stringify(value: Any, gap: str | None = None, memory: Memory | None = None) -> str | Any:
    """``JSON.stringify(value, replacer, gap)``; UNDEFINED when JavaScript returns undefined.

    ``memory`` is charged as liquidjs's ``json`` replacer charges it.
    """
    if value is UNDEFINED or type(value) is JsBuiltin:
        return UNDEFINED
    return _json(value, gap, "", memory)


def _json(v: Any, gap: str | None, indent: str, memory: Memory | None) -> str:
    t = type(v)
    if t is str:
        if memory is not None:
            memory.use(len(v))
        return json_quote(v)
    if v is None:
        if memory is not None:
            memory.use(4)
        return "null"
    if t is bool:
        if memory is not None:
            memory.use(4 if v else 5)
        return "true" if v else "false"
    if t is int or t is float:
        s = "null" if (t is float and (v != v or v in (math.inf, -math.inf))) else number_to_string(v)
        if memory is not None:
            memory.use(len(s))
        return s
    if t is Drop:
        if memory is not None:
            memory.use(2)
        return "{}"
    inner = indent + (gap or "")
    if t is list:
        if memory is not None:
            memory.use(len(v) + 1)
        if not v:
            return "[]"
        parts = ["null" if (x is UNDEFINED or type(x) is JsBuiltin) else _json(x, gap, inner, memory) for x in v]
        if gap is None:
            return "[" + ",".join(parts) + "]"
        return "[\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "]"
    if t is dict:
        if memory is not None:
            memory.use(2)
        sep = ":" if gap is None else ": "
        parts = []
        for k in js_keys(v):
            x = v[k]
            if x is UNDEFINED or type(x) is JsBuiltin:
                continue
            parts.append(json_quote(k) + sep + _json(x, gap, inner, memory))
        if not parts:
            return "{}"
        if gap is None:
            return "{" + ",".join(parts) + "}"
        return "{\n" + inner + (",\n" + inner).join(parts) + "\n" + indent + "}"
    return "null"
