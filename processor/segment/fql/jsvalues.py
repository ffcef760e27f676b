"""Just enough JavaScript value semantics to evaluate triggers exactly as Segment's runtime does.

Segment evaluates triggers in JavaScript over the parsed JSON event. The places where that
differs from Python are: number <-> string conversion (``String(1.0)`` is ``"1"``), truthiness
(``0`` and ``""`` stop a property path, ``[]`` does not), property access on non-objects
(``"abc".length``, ``[1,2]["0"]``), inherited members (``{}.constructor`` exists), and strings
being UTF-16 code-unit sequences. Everything here is pure and used at compile time or inside the
compiled closures.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final


class _Undefined:
    """JavaScript ``undefined``: a missing key. Distinct from ``None`` (JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


class JsBuiltin:
    """An inherited JavaScript member (``constructor``, ``toString``, ``length`` of a function...).

    Only its existence matters to triggers: it is not a string, number or boolean, and it is
    neither ``null`` nor ``undefined``.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<js builtin {self.name}>"


# Own property names of the prototypes (Node 20), i.e. what `value[key]` finds when the JSON
# value has no such own key.
OBJECT_PROTO: Final = frozenset(
    "constructor __defineGetter__ __defineSetter__ hasOwnProperty __lookupGetter__ "
    "__lookupSetter__ isPrototypeOf propertyIsEnumerable toString valueOf __proto__ "
    "toLocaleString".split()
)
ARRAY_PROTO: Final = OBJECT_PROTO | frozenset(
    "constructor at concat copyWithin fill find findIndex findLast findLastIndex lastIndexOf "
    "pop push reverse shift unshift slice sort splice includes indexOf join keys entries values "
    "forEach filter flat flatMap map every some reduce reduceRight toLocaleString toString "
    "toReversed toSorted toSpliced with".split()
)
STRING_PROTO: Final = OBJECT_PROTO | frozenset(
    "constructor anchor at big blink bold charAt charCodeAt codePointAt concat endsWith "
    "fontcolor fontsize fixed includes indexOf isWellFormed italics lastIndexOf link "
    "localeCompare match matchAll normalize padEnd padStart repeat replace replaceAll search "
    "slice small split strike sub substr substring sup startsWith toString toWellFormed trim "
    "trimStart trimLeft trimEnd trimRight toLocaleLowerCase toLocaleUpperCase toLowerCase "
    "toUpperCase valueOf".split()
)
NUMBER_PROTO: Final = OBJECT_PROTO | frozenset(
    "toExponential toFixed toPrecision toString valueOf toLocaleString".split()
)
BOOLEAN_PROTO: Final = OBJECT_PROTO | frozenset("toString valueOf".split())
FUNCTION_PROTO: Final = OBJECT_PROTO | frozenset("apply bind call toString".split())
ALL_BUILTIN_NAMES: Final = ARRAY_PROTO | STRING_PROTO | NUMBER_PROTO | FUNCTION_PROTO | {
    "length",
    "name",
    "arguments",
    "caller",
}

_INDEX = re.compile(r"0|[1-9][0-9]*")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def to_units(text: str) -> str:
    """Split astral characters into surrogate pairs, so indices count UTF-16 code units as JS does."""
    if not _ASTRAL.search(text):
        return text
    return _ASTRAL.sub(lambda m: _pair(m.group()), text)


def _pair(ch: str) -> str:
    code = ord(ch) - 0x10000
    return chr(0xD800 + (code >> 10)) + chr(0xDC00 + (code & 0x3FF))


def from_units(units: str) -> str:
    """Recombine surrogate pairs into characters; lone surrogates stay (as in a JS string)."""
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def has_lone_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def is_number(value: Any) -> bool:
    """``typeof value === 'number'`` for a JSON value (bool is not a number)."""
    kind = type(value)
    return kind is float or kind is int


def to_float(value: int | float) -> float:
    """A JSON number as a JS double (huge ints become +-Infinity instead of raising)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def truthy(value: Any) -> bool:
    """JavaScript truthiness of a JSON value (``[]`` and ``{}`` are truthy, ``0``/``""``/NaN not)."""
    if value is UNDEFINED or value is None or value is False:
        return False
    kind = type(value)
    if kind is str:
        return value != ""
    if kind is int or kind is float:
        return value == value and value != 0
    return True


def get_member(obj: Any, key: str) -> Any:
    """``obj[key]`` in JavaScript, for a truthy JSON value ``obj``."""
    if isinstance(obj, dict):
        found = obj.get(key, UNDEFINED)
        if found is UNDEFINED and key in OBJECT_PROTO:
            return JsBuiltin(key)
        return found
    if isinstance(obj, str):
        units = to_units(obj)
        if key == "length":
            return len(units)
        if _INDEX.fullmatch(key):
            index = int(key)
            return from_units(units[index]) if index < len(units) else UNDEFINED
        return JsBuiltin(key) if key in STRING_PROTO else UNDEFINED
    if isinstance(obj, list):
        if key == "length":
            return len(obj)
        if _INDEX.fullmatch(key):
            index = int(key)
            return obj[index] if index < len(obj) else UNDEFINED
        return JsBuiltin(key) if key in ARRAY_PROTO else UNDEFINED
    if obj is True:
        return JsBuiltin(key) if key in BOOLEAN_PROTO else UNDEFINED
    if is_number(obj):
        return JsBuiltin(key) if key in NUMBER_PROTO else UNDEFINED
    if isinstance(obj, JsBuiltin):
        # Approximation: members of built-in functions are only known to exist or not.
        return JsBuiltin(key) if key in FUNCTION_PROTO else UNDEFINED
    return UNDEFINED


def js_number_to_string(value: float) -> str:
    """``String(number)``: shortest round-trip digits, exponent outside [1e-7, 1e21)."""
    if value != value:
        return "NaN"
    if value == 0:
        return "0"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    sign = "-" if value < 0 else ""
    digits_tuple = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digits_tuple.digits)).rstrip("0") or "0"
    exponent = int(digits_tuple.exponent) + len(digits_tuple.digits)  # decimal point position
    k = len(digits)
    if k <= exponent <= 21:
        return sign + digits + "0" * (exponent - k)
    if 0 < exponent <= 21:
        return sign + digits[:exponent] + "." + digits[exponent:]
    if -6 < exponent <= 0:
        return sign + "0." + "0" * (-exponent) + digits
    e = exponent - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


_JS_WHITESPACE = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_RADIX_DIGITS = {16: re.compile(r"[0-9a-fA-F]+"), 8: re.compile(r"[0-7]+"), 2: re.compile(r"[01]+")}


def js_string_to_number(text: str) -> float:
    """``Number(string)``: trims JS whitespace; ``""`` is 0; hex/octal/binary; else NaN."""
    text = text.strip(_JS_WHITESPACE)
    if not text:
        return 0.0
    if text in ("Infinity", "+Infinity"):
        return math.inf
    if text == "-Infinity":
        return -math.inf
    radix = _RADIX.get(text[:2])
    if radix is not None:
        body = text[2:]
        return to_float(int(body, radix)) if _RADIX_DIGITS[radix].fullmatch(body) else math.nan
    if _DECIMAL.fullmatch(text):
        return float(text)
    return math.nan


def js_string(value: str | float | bool) -> str:
    """``String(value)`` for a trigger literal."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return js_number_to_string(value)
    return value


def js_number(value: str | float | bool) -> float:
    """``Number(value)`` for a trigger literal."""
    if value is True:
        return 1.0
    if value is False:
        return 0.0
    if isinstance(value, float):
        return value
    return js_string_to_number(value)
