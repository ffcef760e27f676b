"""JavaScript value semantics on top of orjson-parsed Python values.

Segment's mapping-kit runs on JavaScript values, and several of its outcomes leak JavaScript
rules into the payload (``String(1e21)`` is ``"1e+21"``, ``[] == ''`` is true, integer-like
object keys are enumerated first). This module is the single place that knows those rules.

Representation choices:

* JavaScript ``undefined`` is the module-level sentinel :data:`UNDEFINED`. It only lives inside
  the resolver; the payload a compiled mapping returns never contains it (object keys holding
  it are dropped and array slots become ``None``, which is what ``JSON.stringify`` does).
* ``null`` is ``None``; objects are ``dict``; arrays are ``list``; numbers are ``int``/``float``
  (``bool`` is never treated as a number).
* A JavaScript function (what ``obj.toString`` or ``"abc".constructor`` evaluate to) is a
  :class:`JSFunction`. It behaves like ``undefined`` in the output, as in ``JSON.stringify``.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final


class _Undefined:
    """The JavaScript ``undefined`` value (a singleton, falsy)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


UNDEFINED: Final = _Undefined()


class JSFunction:
    """A built-in JavaScript function reached through a property path (``$.a.toString``)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"JSFunction({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JSFunction) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


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
    if t is JSFunction:
        return "function"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return "object"


def typeof(value: Any) -> str:
    """JavaScript ``typeof``."""
    t = real_type_of(value)
    if t in ("null", "array"):
        return "object"
    return t


def truthy(value: Any) -> bool:
    """JavaScript truthiness (``""``, ``0``, ``NaN``, ``null``, ``undefined``, ``false`` are falsy)."""
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


def is_nullish(value: Any) -> bool:
    return value is None or value is UNDEFINED


# --- object keys -------------------------------------------------------------------------------

_MAX_ARRAY_INDEX = 2**32 - 2


def is_array_index(key: str) -> bool:
    """True for canonical array-index strings ("0", "17"; not "01", "-1", "1.0")."""
    if not key or not key.isascii() or not key.isdigit():
        return False
    if len(key) > 1 and key[0] == "0":
        return False
    return int(key) <= _MAX_ARRAY_INDEX


def js_keys(obj: dict) -> list[str]:
    """``Object.keys`` order: array-index keys ascending first, then insertion order."""
    keys = list(obj)
    for k in keys:
        if is_array_index(k):
            break
    else:
        return keys
    idx = sorted((k for k in keys if is_array_index(k)), key=int)
    return idx + [k for k in keys if not is_array_index(k)]


def js_ordered(obj: dict) -> dict:
    """A copy of ``obj`` whose iteration order is JavaScript's (only copies when needed)."""
    keys = js_keys(obj)
    if keys == list(obj):
        return obj
    return {k: obj[k] for k in keys}


# --- number and string coercion ----------------------------------------------------------------


def number_to_string(n: float | int) -> str:
    """JavaScript ``Number.prototype.toString()`` (ECMAScript Number::toString, radix 10)."""
    if type(n) is int:
        if -(10**21) < n < 10**21 and -(2**53) <= n <= 2**53:
            return str(n)
        n = float(n)
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


FUNCTION_SOURCE = "function {}() {{ [native code] }}"


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
    if t is JSFunction:
        return FUNCTION_SOURCE.format(value.name)
    return "[object Object]"


def to_number(value: Any) -> float | int:
    """JavaScript ``Number(value)`` (enough for loose equality and Liquid arithmetic)."""
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


_JS_WS = "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"


def js_trim(s: str) -> str:
    """``String.prototype.trim`` (JavaScript's whitespace set, not Python's)."""
    return s.strip(_JS_WS)


def string_to_number(s: str) -> float | int:
    s = js_trim(s)
    if s == "":
        return 0
    low = s.lower()
    try:
        if low[:2] in ("0x", "0o", "0b") and "." not in low:
            return int(s[2:], {"x": 16, "o": 8, "b": 2}[low[1]])
    except ValueError:
        return math.nan
    if s in ("Infinity", "+Infinity"):
        return math.inf
    if s == "-Infinity":
        return -math.inf
    if any(c not in "0123456789+-.eE" for c in s):
        return math.nan
    try:
        return float(s)
    except ValueError:
        return math.nan


def loose_not_equal_empty_string(value: Any) -> bool:
    """``value != ''`` with JavaScript's abstract equality."""
    t = type(value)
    if t is str:
        return value != ""
    if value is None or value is UNDEFINED:
        return True
    if t is bool or t is int or t is float:
        return to_number(value) != 0
    if t is list:
        return to_string(value) != ""
    return True  # objects and functions: ToPrimitive gives a non-empty string


def utf16_len(s: str) -> int:
    """``s.length`` in JavaScript (UTF-16 code units)."""
    if s.isascii():
        return len(s)
    return len(s) + sum(1 for c in s if ord(c) > 0xFFFF)


# --- JSON.stringify ----------------------------------------------------------------------------

_encode_str = json.JSONEncoder(ensure_ascii=False).encode


def json_stringify(value: Any) -> str | _Undefined:
    """``JSON.stringify(value)``: compact, JavaScript key order and number formatting."""
    if value is UNDEFINED or type(value) is JSFunction:
        return UNDEFINED
    return _stringify(value)


def _stringify(value: Any) -> str:
    t = type(value)
    if t is str:
        return _encode_str(value)
    if value is None:
        return "null"
    if t is bool:
        return "true" if value else "false"
    if t is int or t is float:
        if t is float and (value != value or value in (math.inf, -math.inf)):
            return "null"
        return number_to_string(value)
    if t is list:
        parts = [
            "null" if v is UNDEFINED or type(v) is JSFunction else _stringify(v) for v in value
        ]
        return "[" + ",".join(parts) + "]"
    if isinstance(value, dict):
        parts = []
        for k in js_keys(value):
            v = value[k]
            if v is UNDEFINED or type(v) is JSFunction:
                continue
            parts.append(_encode_str(k) + ":" + _stringify(v))
        return "{" + ",".join(parts) + "}"
    return "null"


def to_json_value(value: Any) -> Any:
    """Drop ``undefined``/functions the way ``JSON.stringify`` would; keep ``null``.

    Object keys holding them disappear, array slots holding them become ``None``. Returns
    the input object itself when there is nothing to drop (no copy on the fast path).
    """
    t = type(value)
    if t is dict:
        out = None
        for k, v in value.items():
            if v is UNDEFINED or type(v) is JSFunction:
                if out is None:
                    out = {}
                    for kk, vv in value.items():
                        if kk == k:
                            break
                        out[kk] = vv
                continue
            cv = to_json_value(v)
            if out is not None:
                out[k] = cv
            elif cv is not v:
                out = {}
                for kk, vv in value.items():
                    if kk == k:
                        break
                    out[kk] = vv
                out[k] = cv
        return value if out is None else out
    if t is list:
        out_l = None
        for i, v in enumerate(value):
            if v is UNDEFINED or type(v) is JSFunction:
                cv = None
            else:
                cv = to_json_value(v)
            if cv is not v and out_l is None:
                out_l = list(value[:i])
            if out_l is not None:
                out_l.append(cv)
        return value if out_l is None else out_l
    return value
