"""JavaScript value semantics shared by the FQL trigger evaluator and mapping-kit.

Segment's runtime is JavaScript: destination-subscriptions evaluates triggers and actions-core
resolves mappings over the parsed JSON event with JavaScript's rules, and those rules leak into
what a trigger matches and what a payload contains (``String(1e21)`` is ``"1e+21"``,
``Number(" 0x10 ")`` is ``16``, ``0`` and ``""`` are falsy but ``[]`` is not, ``"abc".length``
counts UTF-16 code units, ``{}.toString`` exists). This module reproduces those coercions once,
so the trigger and the mapping ports cannot drift apart on the same JavaScript rule.

Representation of JavaScript values (orjson-parsed JSON plus two extras):

* ``null`` is ``None``; objects are ``dict``; arrays are ``list``; strings are ``str`` (of code
  points; see :func:`to_units` for code units); numbers are ``int``/``float`` (``bool`` is never a
  number).
* ``undefined`` is the singleton :data:`UNDEFINED` (falsy; distinct from ``None``).
* A built-in member reached through a property path (``a.toString``, ``"s".constructor``,
  ``x.__proto__``) is a :class:`JsBuiltin`.

Everything here is pure. Several functions run per event (``truthy``, ``number_to_string``,
``get_member``): they are written for speed (type dispatch with ``type(x) is``, no helper layers).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

# --- undefined -----------------------------------------------------------------------------------


class _Undefined:
    """JavaScript ``undefined`` (a missing key; falsy; distinct from ``None``, JSON ``null``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"  # unpickles to this module's singleton


UNDEFINED: Final = _Undefined()


def is_nullish(value: Any) -> bool:
    """``value == null`` (``null`` or ``undefined``)."""
    return value is None or value is UNDEFINED


def truthy(value: Any) -> bool:
    """JavaScript truthiness: ``""``, ``0``, ``NaN``, ``null``, ``undefined``, ``false`` are falsy;
    ``[]``, ``{}`` and functions are truthy."""
    if value is None or value is UNDEFINED or value is False:
        return False
    t = type(value)
    if t is str:
        return value != ""
    if t is int:
        return value != 0
    if t is float:
        return value != 0.0 and value == value
    return True


def is_number(value: Any) -> bool:
    """``typeof value === 'number'`` (``bool`` is not a number)."""
    t = type(value)
    return t is float or t is int


def to_float(value: int | float) -> float:
    """A number as a JavaScript double (ints beyond the double range become +-Infinity)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


# --- built-in members ----------------------------------------------------------------------------


class JsBuiltin:
    """A built-in JavaScript member reached through a property path.

    ``kind`` is ``"function"`` for a method or constructor (``{}.toString``, ``"s".constructor``),
    which answers ``name`` and ``length`` like the real function, or ``"object"`` for a prototype
    reached via ``__proto__`` (``name`` is then the prototype: ``"object"``, ``"string"`` ...),
    approximated by its methods. ``JSON.stringify`` drops functions, so mapping-kit treats a
    function like ``undefined`` in its output.
    """

    __slots__ = ("name", "length", "kind")

    def __init__(self, name: str, length: int = 0, kind: str = "function") -> None:
        self.name = name
        self.length = length
        self.kind = kind

    def __repr__(self) -> str:
        return f"<js {self.kind} {self.name}>"

    def __eq__(self, other: object) -> bool:
        return type(other) is JsBuiltin and other.name == self.name and other.kind == self.kind

    def __hash__(self) -> int:
        return hash((self.name, self.kind))


#: Every method per prototype (Node 20) as ``key:length``, or ``key=name:length`` where the
#: function's ``name`` differs from the key (constructors; ``trimLeft`` is ``trimStart``).
_METHOD_SPECS: Final = {
    "object": (
        "constructor=Object:1 __defineGetter__:2 __defineSetter__:2 hasOwnProperty:1 "
        "__lookupGetter__:1 __lookupSetter__:1 isPrototypeOf:1 propertyIsEnumerable:1 "
        "toString:0 valueOf:0 toLocaleString:0"
    ),
    "array": (
        "constructor=Array:1 at:1 concat:1 copyWithin:2 fill:1 find:1 findIndex:1 findLast:1 "
        "findLastIndex:1 lastIndexOf:1 pop:0 push:1 reverse:0 shift:0 unshift:1 slice:2 "
        "sort:1 splice:2 includes:1 indexOf:1 join:1 keys:0 entries:0 values:0 forEach:1 "
        "filter:1 flat:0 flatMap:1 map:1 every:1 some:1 reduce:1 reduceRight:1 "
        "toLocaleString:0 toString:0 toReversed:0 toSorted:1 toSpliced:2 with:2"
    ),
    "string": (
        "constructor=String:1 anchor:1 at:1 big:0 blink:0 bold:0 charAt:1 charCodeAt:1 "
        "codePointAt:1 concat:1 endsWith:1 fontcolor:1 fontsize:1 fixed:0 includes:1 "
        "indexOf:1 isWellFormed:0 italics:0 lastIndexOf:1 link:1 localeCompare:1 match:1 "
        "matchAll:1 normalize:0 padEnd:1 padStart:1 repeat:1 replace:2 replaceAll:2 search:1 "
        "slice:2 small:0 split:2 strike:0 sub:0 substr:2 substring:2 sup:0 startsWith:1 "
        "toString:0 toWellFormed:0 trim:0 trimStart:0 trimLeft=trimStart:0 trimEnd:0 "
        "trimRight=trimEnd:0 toLocaleLowerCase:0 toLocaleUpperCase:0 toLowerCase:0 "
        "toUpperCase:0 valueOf:0"
    ),
    "number": (
        "constructor=Number:1 toExponential:1 toFixed:1 toPrecision:1 toString:1 valueOf:0 "
        "toLocaleString:0"
    ),
    "boolean": (
        "constructor=Boolean:1 toString:0 valueOf:0"
    ),
    "function": (
        "constructor=Function:1 apply:2 bind:1 call:1 toString:0"
    ),
}


def _parse_methods(spec: str) -> dict[str, tuple[str, int]]:
    methods = {}
    for item in spec.split():
        key_name, _, length = item.rpartition(":")
        key, _, name = key_name.partition("=")
        methods[key] = (name or key, int(length))
    return methods


#: (function name, length) of every method, per prototype.
_METHODS: Final = {proto: _parse_methods(spec) for proto, spec in _METHOD_SPECS.items()}

# Own property names of the prototypes: what ``value[key]`` finds when the value has no such
# own key.
OBJECT_PROTO: Final = frozenset(_METHODS["object"]) | {"__proto__"}
ARRAY_PROTO: Final = OBJECT_PROTO | frozenset(_METHODS["array"])
STRING_PROTO: Final = OBJECT_PROTO | frozenset(_METHODS["string"])
NUMBER_PROTO: Final = OBJECT_PROTO | frozenset(_METHODS["number"])
BOOLEAN_PROTO: Final = OBJECT_PROTO | frozenset(_METHODS["boolean"])
FUNCTION_PROTO: Final = OBJECT_PROTO | frozenset(_METHODS["function"])
#: Every key some built-in value answers: a path without any of these never reaches a built-in.
ALL_BUILTIN_NAMES: Final = ARRAY_PROTO | STRING_PROTO | NUMBER_PROTO | FUNCTION_PROTO | {
    "length",
    "name",
    "arguments",
    "caller",
}

def _member(proto: str, key: str) -> Any:
    """``Proto.prototype[key]`` as far as triggers and mappings can observe it, or UNDEFINED."""
    if key == "__proto__":
        return JsBuiltin(proto, 0, "object")
    method = _METHODS[proto].get(key) or _METHODS["object"].get(key)
    return JsBuiltin(*method) if method else UNDEFINED


def get_member(obj: Any, key: str) -> Any:
    """``obj[key]`` in JavaScript, for a truthy value ``obj`` (the step of lodash-like ``get``).

    Own keys first, then the prototype's members; strings and arrays answer ``length`` and
    canonical indices (strings in UTF-16 code units).
    """
    t = type(obj)
    if t is dict:
        found = obj.get(key, UNDEFINED)
        if found is UNDEFINED and key not in obj:
            return _member("object", key)
        return found
    if t is list:
        if is_array_index(key):
            index = int(key)
            return obj[index] if index < len(obj) else UNDEFINED
        if key == "length":
            return len(obj)
        return _member("array", key)
    if t is str:
        if is_array_index(key):
            return utf16_unit(obj, int(key))
        if key == "length":
            return utf16_len(obj)
        return _member("string", key)
    if t is int or t is float:
        return _member("number", key)
    if t is bool:
        return _member("boolean", key)
    if t is JsBuiltin:
        if obj.kind == "object":
            # A prototype object: approximated by its methods (its own data is not modelled).
            return UNDEFINED if key == "__proto__" else _member(obj.name, key)
        if key == "name":
            return obj.name
        if key == "length":
            return obj.length
        return _member("function", key)
    return UNDEFINED


# --- object keys ---------------------------------------------------------------------------------

_MAX_ARRAY_INDEX = 2**32 - 2


def is_array_index(key: str) -> bool:
    """True for canonical array-index strings ("0", "17"; not "01", "-1", "1.0", "+1")."""
    if not key or not key.isascii() or not key.isdigit():
        return False
    if len(key) > 1 and key[0] == "0":
        return False
    return int(key) <= _MAX_ARRAY_INDEX


# --- UTF-16 --------------------------------------------------------------------------------------

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


def utf16_len(s: str) -> int:
    """``s.length`` in JavaScript (UTF-16 code units)."""
    if s.isascii():
        return len(s)
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


def utf16_unit(s: str, index: int) -> Any:
    """``s[index]``: one UTF-16 code unit (half of an astral character is a lone surrogate)."""
    if not s.isascii():
        s = to_units(s)
    return s[index] if index < len(s) else UNDEFINED


# --- types ---------------------------------------------------------------------------------------


def real_type_of(value: Any) -> str:
    """``Object.prototype.toString.call(value).slice(8, -1).toLowerCase()``."""
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    t = type(value)
    if t is str:
        return "string"
    if t is bool:
        return "boolean"
    if t is int or t is float:
        return "number"
    if t is dict:
        return "object"
    if t is list:
        return "array"
    if t is JsBuiltin:
        return value.kind
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def typeof(value: Any) -> str:
    """JavaScript ``typeof`` (``null``, arrays and objects are ``"object"``)."""
    kind = real_type_of(value)
    return "object" if kind == "null" or kind == "array" else kind


# --- number <-> string ---------------------------------------------------------------------------


def number_to_string(n: float | int) -> str:
    """``String(number)`` (ECMAScript Number::toString, radix 10): shortest round-trip digits,
    exponent notation outside [1e-7, 1e21)."""
    if type(n) is int:
        if -(10**21) < n < 10**21 and -(2**53) <= n <= 2**53:
            return str(n)
        n = to_float(n)
    if n != n:
        return "NaN"
    if n == math.inf:
        return "Infinity"
    if n == -math.inf:
        return "-Infinity"
    if n == 0:
        return "0"
    if n < 0:
        return "-" + number_to_string(-n)
    if n.is_integer() and n < 2**53:
        return str(int(n))
    mantissa, _, exp = repr(n).partition("e")
    digits = mantissa.replace(".", "")
    point = mantissa.find(".")
    int_len = point if point >= 0 else len(mantissa)
    e = int(exp) if exp else 0
    # strip leading zeros (e.g. "0.001"), tracking the decimal point
    stripped = digits.lstrip("0")
    lead = len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    k = len(digits)
    nexp = int_len - lead + e  # value = 0.digits * 10**nexp
    if k <= nexp <= 21:
        return digits + "0" * (nexp - k)
    if 0 < nexp <= 21:
        return digits[:nexp] + "." + digits[nexp:]
    if -6 < nexp <= 0:
        return "0." + "0" * (-nexp) + digits
    sign = "+" if nexp - 1 >= 0 else "-"
    if k == 1:
        return f"{digits}e{sign}{abs(nexp - 1)}"
    return f"{digits[0]}.{digits[1:]}e{sign}{abs(nexp - 1)}"


#: ``String.prototype.trim``'s whitespace (WhiteSpace + LineTerminator), not Python's ``str.strip``.
JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def js_trim(s: str) -> str:
    """``String.prototype.trim``."""
    return s.strip(JS_WHITESPACE)


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_RADIX = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}
_RADIX_DIGITS = {16: re.compile(r"[0-9a-fA-F]+"), 8: re.compile(r"[0-7]+"), 2: re.compile(r"[01]+")}
_MAX_SAFE = 2**53


def string_to_number(s: str) -> float | int:
    """``Number(string)``: trims JS whitespace; ``""`` is 0; ``0x``/``0o``/``0b`` integers (no sign,
    no ``_``); ``Infinity``; a decimal literal; anything else NaN.

    Integer results that a double holds exactly come back as ``int`` (``""`` -> ``0``,
    ``"0x10"`` -> ``16``); everything else is a ``float``.
    """
    s = s.strip(JS_WHITESPACE)
    if not s:
        return 0
    radix = _RADIX.get(s[:2])
    if radix is not None:
        body = s[2:]
        if not _RADIX_DIGITS[radix].fullmatch(body):
            return math.nan
        n = int(body, radix)
        return n if n <= _MAX_SAFE else to_float(n)
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    if _DECIMAL.fullmatch(s):
        return float(s)
    return math.nan


# --- String(value), Number(value) ----------------------------------------------------------------

FUNCTION_SOURCE: Final = "function {}() {{ [native code] }}"


def to_string(value: Any) -> str:
    """JavaScript ``String(value)``."""
    t = type(value)
    if t is str:
        return value
    if value is None:
        return "null"
    if value is UNDEFINED:
        return "undefined"
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        return number_to_string(value)
    if t is list:
        return ",".join("" if is_nullish(v) else to_string(v) for v in value)
    if t is JsBuiltin and value.kind == "function":
        return FUNCTION_SOURCE.format(value.name)
    return "[object Object]"


def to_number(value: Any) -> float | int:
    """JavaScript ``Number(value)`` (enough for comparisons, loose equality and Liquid arithmetic)."""
    t = type(value)
    if t is int or t is float:
        return value
    if t is bool:
        return 1 if value else 0
    if value is None:
        return 0
    if value is UNDEFINED:
        return math.nan
    if t is str:
        return string_to_number(value)
    if t is list:
        return string_to_number(to_string(value))
    return math.nan


def utf8_bytes(text: str) -> bytes:
    """Node's ``Buffer.from(text)`` (UTF-8): a lone surrogate becomes U+FFFD (``EF BF BD``).

    Python refuses to encode a lone surrogate; Node replaces it. Checked with Segment's runtime
    (the reference harness): application id ``"app\\ud800id"`` is sent as ``Basic YXBw77+9aWQ=``.
    """
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode("utf-8")


# --- JSON.parse ---------------------------------------------------------------------------------


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"Unexpected token {name[0]} in JSON")


def _js_int(digits: str) -> int | float:
    n = int(digits)
    return n if -(2**53) <= n <= 2**53 else float(digits)


def json_parse(text: str | bytes) -> Any:
    """``JSON.parse(text)`` as V8 reads it, for the inputs orjson refuses or reads otherwise.

    Differences from orjson that V8 has: a lone surrogate escape (``"\\ud800"``) is kept as that
    code unit; a number beyond the double range (``1e400``) is ``Infinity``; an integer beyond
    2**53 is the nearest double. Like V8 it refuses ``NaN``/``Infinity`` literals.
    Raises ``ValueError`` (``json.JSONDecodeError`` is one) for text that is not JSON, and
    ``RecursionError`` for nesting deeper than Python's recursion limit.
    """
    return json.loads(text, parse_constant=_refuse_constant, parse_int=_js_int)
