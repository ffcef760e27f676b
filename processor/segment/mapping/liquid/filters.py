"""The liquidjs filters a Segment ``@liquid`` template may use.

actions-core disables some filters (``concat``, ``map``, ``where_exp``, ...): they raise
``filter "<name>" is disabled``. Unknown filters return their input unchanged, as liquidjs
does when ``strictFilters`` is off.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable
from urllib.parse import quote

from ...js import UNDEFINED, js_trim, number_to_string, to_number, to_string
from ..jsvalue import json_stringify
from .errors import LiquidFailure

DISABLED = frozenset(
    "array_to_sentence_string concat find find_exp find_index find_index_exp group_by group_by_exp has "
    "has_exp map newline_to_br reject reject_exp reverse sort sort_natural uniq where_exp type".split()
)


def is_nil(v: Any) -> bool:
    return v is None or v is UNDEFINED


def stringify(v: Any) -> str:
    """liquidjs ``stringify``: strings as is, nil empty, arrays joined without separator."""
    if type(v) is str:
        return v
    if is_nil(v):
        return ""
    if type(v) is list:
        return "".join(stringify(x) for x in v)
    return to_string(v)


def num(v: Any) -> float | int:
    """liquidjs ``toNumber``: ``+value || 0``."""
    n = to_number(v)
    return 0 if (n != n or n == 0) else n


def _js_num(n: float | int) -> float | int:
    if type(n) is float and n.is_integer() and abs(n) < 2**53:
        return int(n)
    return n


def _div(a: Any, b: Any, integer: Any = False) -> Any:
    a, b = num(a), num(b)
    if b == 0:
        q = math.nan if a == 0 else math.copysign(math.inf, a) * (1 if math.copysign(1, b) > 0 else -1)
    else:
        q = a / b
    if integer and integer is not UNDEFINED:
        q = math.floor(q) if math.isfinite(q) else q
    return _js_num(q)


def _mod(a: Any, b: Any) -> Any:
    a, b = num(a), num(b)
    if b == 0:
        return math.nan
    r = math.fmod(math.fmod(a, b) + b, b)
    return _js_num(r)


def _round(v: Any, arg: Any = 0) -> Any:
    v, arg = num(v), num(arg)
    scaled = abs(v) * 10**arg
    if not scaled <= 2**53 - 1:
        return v
    r = math.floor(scaled + 0.5) / 10**arg
    r = float(f"{r:.15g}")
    return _js_num(-r if v < 0 else r)


def _default(v: Any, default: Any = UNDEFINED, *args: Any) -> Any:
    if type(v) in (list, str):
        return v if len(v) else default
    if v is False and any(type(a) is tuple and a[0] == "allow_false" and a[1] for a in args):
        return False
    return default if (v is False or is_nil(v)) else v


def _capitalize(v: Any) -> str:
    s = stringify(v)
    return s[:1].upper() + s[1:].lower()


def _split(v: Any, sep: Any = UNDEFINED) -> list:
    s = stringify(v)
    sep_s = stringify(sep)
    arr = list(s) if sep_s == "" else s.split(sep_s)
    while arr and arr[-1] == "":
        arr.pop()
    return arr


def _cp_advance(s: str, count: int) -> int:
    return min(count, len(s))


def _slice(v: Any, begin: Any = UNDEFINED, length: Any = 1) -> Any:
    if is_nil(v):
        return []
    is_arr = type(v) is list
    if not is_arr:
        v = stringify(v)
    b = num(begin) if not isinstance(begin, (int, float)) or type(begin) is bool else begin
    ln = length
    if b < 0:
        b = len(v) + b
    if b < 0 or (isinstance(ln, (int, float)) and ln < 0):
        return [] if is_arr else ""
    b = int(b)
    ln = int(num(ln))
    return v[b : b + ln]


def _truncate(v: Any, n: Any = 50, o: Any = "...") -> Any:
    s, o = stringify(v), stringify(o)
    n = int(num(n))
    if len(s) <= n:
        return v
    return s[: max(n - len(o), 0)] + o


def _truncatewords(v: Any, words: Any = 15, o: Any = "...") -> str:
    s, o = stringify(v), stringify(o)
    arr = re.split(r"\s+", s.lstrip())
    words = int(num(words))
    if words <= 0:
        words = 1
    ret = " ".join(arr[:words])
    if len(arr) >= words:
        ret += o
    return ret


def _strip(v: Any, chars: Any = UNDEFINED) -> str:
    s = stringify(v)
    if chars not in (UNDEFINED, None, "", False, 0):
        return s.strip(stringify(chars))
    return js_trim(s)


def _lstrip(v: Any, chars: Any = UNDEFINED) -> str:
    s = stringify(v)
    if chars not in (UNDEFINED, None, "", False, 0):
        return s.lstrip(stringify(chars))
    return _js_lstrip(s)


def _js_lstrip(s: str) -> str:
    t = js_trim(s + "x")[:-1]
    return t


def _rstrip(v: Any, chars: Any = UNDEFINED) -> str:
    s = stringify(v)
    if chars not in (UNDEFINED, None, "", False, 0):
        return s.rstrip(stringify(chars))
    return js_trim("x" + s)[1:]


def _escape(v: Any) -> str:
    s = stringify(v)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;").replace("'", "&#39;")


def _url_encode(v: Any) -> str:
    return quote(stringify(v), safe="-_.!~*'()").replace("%20", "+")


def _first(v: Any) -> Any:
    if type(v) is list:
        return v[0] if v else UNDEFINED
    if type(v) is str:
        return v[0] if v else UNDEFINED
    return UNDEFINED


def _last(v: Any) -> Any:
    if type(v) is list:
        return v[-1] if v else UNDEFINED
    if type(v) is str:
        return v[-1] if v else UNDEFINED
    return UNDEFINED


def _size(v: Any) -> Any:
    if type(v) in (list, str):
        return len(v)
    if type(v) is dict:
        return len(v)
    return 0


def _join(v: Any, sep: Any = UNDEFINED) -> Any:
    if type(v) is not list:
        return v if is_nil(v) else stringify(v) if type(v) is str else v
    s = " " if sep is UNDEFINED else stringify(sep)
    return s.join(stringify(x) for x in v)


def _compact(v: Any) -> list:
    arr = [] if is_nil(v) else v if type(v) is list else [v]
    return [x for x in arr if not is_nil(x)]


def _json(v: Any, space: Any = 0) -> Any:
    return json_stringify(v)


def _to_integer(v: Any) -> int:
    n = to_number(v)
    return int(round(n)) if n == n and math.isfinite(n) else 0


def _arith(fn: Callable[[float, float], float]) -> Callable[..., Any]:
    def f(a: Any, b: Any = UNDEFINED) -> Any:
        return _js_num(fn(num(a), num(b)))

    return f


def _math1(fn: Callable[[float], float]) -> Callable[..., Any]:
    def f(a: Any, *_: Any) -> Any:
        return _js_num(fn(num(a)))

    return f


def _ceil(x: float) -> float:
    return math.ceil(x) if math.isfinite(x) else x


def _floor(x: float) -> float:
    return math.floor(x) if math.isfinite(x) else x


def _at_least(a: Any, b: Any = UNDEFINED) -> Any:
    return _js_num(max(num(a), num(b)))


def _at_most(a: Any, b: Any = UNDEFINED) -> Any:
    return _js_num(min(num(a), num(b)))


FILTERS: dict[str, Callable[..., Any]] = {
    "default": _default,
    "downcase": lambda v, *a: stringify(v).lower(),
    "upcase": lambda v, *a: stringify(v).upper(),
    "capitalize": lambda v, *a: _capitalize(v),
    "append": lambda v, a=UNDEFINED, *r: stringify(v) + stringify(a),
    "prepend": lambda v, a=UNDEFINED, *r: stringify(a) + stringify(v),
    "replace": lambda v, p=UNDEFINED, r=UNDEFINED, *x: stringify(r).join(stringify(v).split(stringify(p))) if stringify(p) else stringify(r).join(list(stringify(v))),
    "replace_first": lambda v, p=UNDEFINED, r=UNDEFINED, *x: stringify(v).replace(stringify(p), stringify(r), 1),
    "remove": lambda v, p=UNDEFINED, *x: "".join(stringify(v).split(stringify(p))) if stringify(p) else stringify(v),
    "remove_first": lambda v, p=UNDEFINED, *x: stringify(v).replace(stringify(p), "", 1),
    "split": _split,
    "slice": _slice,
    "strip": _strip,
    "lstrip": _lstrip,
    "rstrip": _rstrip,
    "strip_newlines": lambda v, *a: re.sub(r"\r?\n", "", stringify(v)),
    "truncate": _truncate,
    "truncatewords": _truncatewords,
    "escape": lambda v, *a: _escape(v),
    "url_encode": lambda v, *a: _url_encode(v),
    "first": lambda v, *a: _first(v),
    "last": lambda v, *a: _last(v),
    "size": lambda v, *a: _size(v),
    "join": _join,
    "compact": lambda v, *a: _compact(v),
    "json": _json,
    "jsonify": _json,
    "to_integer": lambda v, *a: _to_integer(v),
    "plus": _arith(lambda a, b: a + b),
    "minus": _arith(lambda a, b: a - b),
    "times": _arith(lambda a, b: a * b),
    "divided_by": _div,
    "modulo": _mod,
    "abs": _math1(abs),
    "ceil": _math1(_ceil),
    "floor": _math1(_floor),
    "round": _round,
    "at_least": _at_least,
    "at_most": _at_most,
}


#: liquidjs 10.30.1's built-in filters. Those neither ported above nor disabled by actions-core
#: are refused when the template is compiled: passing their input through unchanged (what an
#: unknown filter does) would silently send something other than what Segment sends.
LIQUIDJS_BUILTINS = frozenset(
    "escape escape_once xml_escape newline_to_br strip_html "
    "abs at_least at_most ceil divided_by floor minus modulo times round plus "
    "url_decode url_encode cgi_escape uri_escape slugify "
    "join last first reverse sort sort_natural size map sum compact concat push pop shift unshift "
    "slice where where_exp reject reject_exp group_by group_by_exp has has_exp find find_exp "
    "find_index find_index_exp uniq sample array_to_sentence_string "
    "date date_to_xmlschema date_to_rfc822 date_to_string date_to_long_string "
    "append prepend capitalize downcase upcase lstrip rstrip strip strip_newlines remove "
    "remove_first remove_last replace replace_first replace_last split truncate truncatewords "
    "normalize_whitespace number_of_words base64_encode base64_decode "
    "default json jsonify inspect to_integer raw unescape".split()
)


def unsupported_filter(name: str) -> bool:
    """A liquidjs built-in this port does not reproduce yet (a start-up error, not a silent pass)."""
    return name in LIQUIDJS_BUILTINS and name not in FILTERS and name not in DISABLED


def known_filter(name: str) -> bool:
    """A filter liquidjs 10.30.1 knows (ported, disabled by actions-core, or a built-in)."""
    return name in FILTERS or name in DISABLED or name in LIQUIDJS_BUILTINS


def apply_filter(name: str, value: Any, args: list[Any]) -> Any:
    if name in DISABLED:
        raise LiquidFailure(f'filter "{name}" is disabled')
    if name in ("append", "prepend") and len(args) != 1:
        raise LiquidFailure(f"{name} expect 2 arguments")
    fn = FILTERS.get(name)
    if fn is None:
        return value
    return fn(value, *args)


__all__ = ["apply_filter", "stringify", "num", "number_to_string", "DISABLED", "unsupported_filter", "known_filter"]
