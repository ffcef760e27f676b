"""The JavaScript semantics only mapping-kit needs: key order, ``== ''``, ``JSON.stringify``.

The value model and the coercions shared with the FQL port (``undefined``, ``String()``,
``Number()``, truthiness, built-in members) are in :mod:`processor.segment.js`. Here:

* JavaScript ``undefined`` (:data:`~processor.segment.js.UNDEFINED`) only lives inside the
  resolver; the payload a compiled mapping returns never contains it (object keys holding it are
  dropped and array slots become ``None``, which is what ``JSON.stringify`` does).
* A JavaScript function (what ``obj.toString`` or ``"abc".constructor`` evaluate to) is a
  :class:`~processor.segment.js.JsBuiltin`. It behaves like ``undefined`` in the output, as in
  ``JSON.stringify``.
* Integer-like object keys are enumerated first (``Object.keys`` order).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..js import UNDEFINED, JsBuiltin, _Undefined, is_array_index, number_to_string, to_number, to_string


# --- object keys -------------------------------------------------------------------------------


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


# --- JSON.stringify ----------------------------------------------------------------------------

_encode_plain = json.JSONEncoder(ensure_ascii=False).encode
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _encode_str(s: str) -> str:
    """``JSON.stringify(string)``: well-formed, so a lone surrogate is written ``\\udXXX``."""
    text = _encode_plain(s)
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), text)


def json_stringify(value: Any) -> str | _Undefined:
    """``JSON.stringify(value)``: compact, JavaScript key order and number formatting (every
    number as the double JavaScript holds, in ``Number.prototype.toString``'s notation:
    ``100.0`` -> ``100``, ``-0.0`` -> ``0``, ``2**63`` -> ``9223372036854776000``)."""
    if value is UNDEFINED or type(value) is JsBuiltin:
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
            "null" if v is UNDEFINED or type(v) is JsBuiltin else _stringify(v) for v in value
        ]
        return "[" + ",".join(parts) + "]"
    if isinstance(value, dict):
        parts = []
        for k in js_keys(value):
            v = value[k]
            if v is UNDEFINED or type(v) is JsBuiltin:
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
            if v is UNDEFINED or type(v) is JsBuiltin:
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
            if v is UNDEFINED or type(v) is JsBuiltin:
                cv = None
            else:
                cv = to_json_value(v)
            if cv is not v and out_l is None:
                out_l = list(value[:i])
            if out_l is not None:
                out_l.append(cv)
        return value if out_l is None else out_l
    return value
