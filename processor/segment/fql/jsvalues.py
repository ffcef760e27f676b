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
    """An inherited JavaScript member (``constructor``, ``toString``, ``__proto__``...).

    Triggers mostly only see that it exists and is not a string, number or boolean. Functions
    also answer ``name`` and ``length`` (so ``properties.constructor.name = "Object"`` works as in
    Segment); ``kind`` is ``"function"`` or ``"object"`` (a prototype reached via ``__proto__``).
    """

    __slots__ = ("name", "length", "kind")

    def __init__(self, name: str, length: int = 0, kind: str = "function") -> None:
        self.name = name
        self.length = length
        self.kind = kind

    def __repr__(self) -> str:
        return f"<js {self.kind} {self.name}>"


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
# (function name, length) of every method, per prototype (Node 20).
_METHODS: Final[dict[str, dict[str, tuple[str, int]]]] = {'object': {'constructor': ('Object', 1), '__defineGetter__': ('__defineGetter__', 2), '__defineSetter__': ('__defineSetter__', 2), 'hasOwnProperty': ('hasOwnProperty', 1), '__lookupGetter__': ('__lookupGetter__', 1), '__lookupSetter__': ('__lookupSetter__', 1), 'isPrototypeOf': ('isPrototypeOf', 1), 'propertyIsEnumerable': ('propertyIsEnumerable', 1), 'toString': ('toString', 0), 'valueOf': ('valueOf', 0), 'toLocaleString': ('toLocaleString', 0)}, 'array': {'constructor': ('Array', 1), 'at': ('at', 1), 'concat': ('concat', 1), 'copyWithin': ('copyWithin', 2), 'fill': ('fill', 1), 'find': ('find', 1), 'findIndex': ('findIndex', 1), 'findLast': ('findLast', 1), 'findLastIndex': ('findLastIndex', 1), 'lastIndexOf': ('lastIndexOf', 1), 'pop': ('pop', 0), 'push': ('push', 1), 'reverse': ('reverse', 0), 'shift': ('shift', 0), 'unshift': ('unshift', 1), 'slice': ('slice', 2), 'sort': ('sort', 1), 'splice': ('splice', 2), 'includes': ('includes', 1), 'indexOf': ('indexOf', 1), 'join': ('join', 1), 'keys': ('keys', 0), 'entries': ('entries', 0), 'values': ('values', 0), 'forEach': ('forEach', 1), 'filter': ('filter', 1), 'flat': ('flat', 0), 'flatMap': ('flatMap', 1), 'map': ('map', 1), 'every': ('every', 1), 'some': ('some', 1), 'reduce': ('reduce', 1), 'reduceRight': ('reduceRight', 1), 'toLocaleString': ('toLocaleString', 0), 'toString': ('toString', 0), 'toReversed': ('toReversed', 0), 'toSorted': ('toSorted', 1), 'toSpliced': ('toSpliced', 2), 'with': ('with', 2)}, 'string': {'constructor': ('String', 1), 'anchor': ('anchor', 1), 'at': ('at', 1), 'big': ('big', 0), 'blink': ('blink', 0), 'bold': ('bold', 0), 'charAt': ('charAt', 1), 'charCodeAt': ('charCodeAt', 1), 'codePointAt': ('codePointAt', 1), 'concat': ('concat', 1), 'endsWith': ('endsWith', 1), 'fontcolor': ('fontcolor', 1), 'fontsize': ('fontsize', 1), 'fixed': ('fixed', 0), 'includes': ('includes', 1), 'indexOf': ('indexOf', 1), 'isWellFormed': ('isWellFormed', 0), 'italics': ('italics', 0), 'lastIndexOf': ('lastIndexOf', 1), 'link': ('link', 1), 'localeCompare': ('localeCompare', 1), 'match': ('match', 1), 'matchAll': ('matchAll', 1), 'normalize': ('normalize', 0), 'padEnd': ('padEnd', 1), 'padStart': ('padStart', 1), 'repeat': ('repeat', 1), 'replace': ('replace', 2), 'replaceAll': ('replaceAll', 2), 'search': ('search', 1), 'slice': ('slice', 2), 'small': ('small', 0), 'split': ('split', 2), 'strike': ('strike', 0), 'sub': ('sub', 0), 'substr': ('substr', 2), 'substring': ('substring', 2), 'sup': ('sup', 0), 'startsWith': ('startsWith', 1), 'toString': ('toString', 0), 'toWellFormed': ('toWellFormed', 0), 'trim': ('trim', 0), 'trimStart': ('trimStart', 0), 'trimLeft': ('trimStart', 0), 'trimEnd': ('trimEnd', 0), 'trimRight': ('trimEnd', 0), 'toLocaleLowerCase': ('toLocaleLowerCase', 0), 'toLocaleUpperCase': ('toLocaleUpperCase', 0), 'toLowerCase': ('toLowerCase', 0), 'toUpperCase': ('toUpperCase', 0), 'valueOf': ('valueOf', 0)}, 'number': {'constructor': ('Number', 1), 'toExponential': ('toExponential', 1), 'toFixed': ('toFixed', 1), 'toPrecision': ('toPrecision', 1), 'toString': ('toString', 1), 'valueOf': ('valueOf', 0), 'toLocaleString': ('toLocaleString', 0)}, 'boolean': {'constructor': ('Boolean', 1), 'toString': ('toString', 0), 'valueOf': ('valueOf', 0)}, 'function': {'constructor': ('Function', 1), 'apply': ('apply', 2), 'bind': ('bind', 1), 'call': ('call', 1), 'toString': ('toString', 0)}}


def _member(proto: str, key: str) -> Any:
    """``Proto.prototype[key]`` as far as triggers can observe it, or UNDEFINED."""
    if key == "__proto__":
        return JsBuiltin(proto, 0, "object")
    method = _METHODS[proto].get(key) or _METHODS["object"].get(key)
    return JsBuiltin(*method) if method else UNDEFINED


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
        return _member("object", key) if found is UNDEFINED else found
    if isinstance(obj, str):
        units = to_units(obj)
        if key == "length":
            return len(units)
        if _INDEX.fullmatch(key):
            index = int(key)
            return from_units(units[index]) if index < len(units) else UNDEFINED
        return _member("string", key)
    if isinstance(obj, list):
        if key == "length":
            return len(obj)
        if _INDEX.fullmatch(key):
            index = int(key)
            return obj[index] if index < len(obj) else UNDEFINED
        return _member("array", key)
    if obj is True:
        return _member("boolean", key)
    if is_number(obj):
        return _member("number", key)
    if isinstance(obj, JsBuiltin):
        if obj.kind == "object":
            # A prototype object: approximated by its methods (its own data is not modelled).
            return UNDEFINED if key == "__proto__" else _member(obj.name, key)
        if key == "name":
            return obj.name
        if key == "length":
            return obj.length
        return _member("function", key)
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
