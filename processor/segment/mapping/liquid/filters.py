"""The liquidjs 10.30.1 built-in filters, as a Segment ``@liquid`` template runs them.

Each filter is a port of liquidjs 10.30.1's own function (``src/filters/*.ts``), called the way
liquidjs calls it: ``fn(ctx, value, args)`` where ``args`` holds every argument written in the
template, in order (a ``key: value`` argument is the list ``[key, value]``, as liquidjs passes a
JavaScript array), with JavaScript's loose handling of missing, extra and ill-typed arguments:
JavaScript ignores extra arguments, a missing one is ``undefined`` (which selects a default
parameter), and operators such as ``<`` and ``-`` coerce whatever they get. So no argument shape
can raise a Python error; a filter fails an event only where liquidjs throws (and with its
message: ``append expect 2 arguments``, ``URI malformed``, ``memory alloc limit exceeded`` ...).

actions-core 3.170.0 registers 20 filters that throw ``filter "<name>" is disabled`` (19 are
liquidjs built-ins, plus ``type``): :data:`DISABLED`. A name liquidjs does not know returns its
input unchanged (``strictFilters`` is off); :func:`is_known` lets start-up warn about those.

Where a JavaScript behaviour is emulated rather than taken from a Python library, the function
says so: no Python library reproduces ``encodeURIComponent``'s exact unreserved set together with
its ``URIError`` on lone surrogates, liquidjs's own ``strip_html`` scanner, or Node's base64 and
UTF-8 replacement rules, so those are written out here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import random
import re
import unicodedata
from typing import Any, Callable, Final

from ...js import JS_WHITESPACE, UNDEFINED, from_units, to_string, to_units, utf16_len, utf8_bytes
from .errors import LiquidFailure
from .values import (
    JS_SPACES,
    Drop,
    advance_code_points,
    code_point_length,
    is_nil,
    js_ge,
    js_le,
    js_lt,
    js_num,
    js_number,
    js_string,
    json_gap,
    json_stringify,
    liquid_falsy,
    num,
    slice_bounds,
    stringify,
    to_array,
    to_integer,
    to_value,
    truthy,
)

Filter = Callable[[Any, Any, list], Any]

#: actions-core 3.170.0 ``disabledFilters`` (``type`` is not a liquidjs built-in).
DISABLED: Final = frozenset(
    "array_to_sentence_string concat find find_exp find_index find_index_exp group_by group_by_exp has "
    "has_exp map newline_to_br reject reject_exp reverse sort sort_natural uniq where_exp type".split()
)

#: ``Object.keys(new Liquid().filters)`` of liquidjs 10.30.1 (88 names).
LIQUIDJS_FILTERS: Final = frozenset(
    "abs append array_to_sentence_string at_least at_most base64_decode base64_encode capitalize ceil "
    "cgi_escape compact concat date date_to_long_string date_to_rfc822 date_to_string date_to_xmlschema "
    "default divided_by downcase escape escape_once find find_exp find_index find_index_exp first floor "
    "group_by group_by_exp has has_exp hmac_sha256 inspect join json jsonify last lstrip map minus modulo "
    "newline_to_br normalize_whitespace number_of_words plus pop prepend push raw reject reject_exp remove "
    "remove_first remove_last replace replace_first replace_last reverse round rstrip sample sha256 shift "
    "size slice slugify sort sort_natural split squish strip strip_html strip_newlines sum times to_integer "
    "truncate truncatewords uniq unshift upcase uri_escape url_decode url_encode where where_exp xml_escape".split()
)

FILTERS: dict[str, Filter] = {}


def _filter(*names: str) -> Callable[[Filter], Filter]:
    def register(fn: Filter) -> Filter:
        for name in names:
            FILTERS[name] = fn
        return fn

    return register


def _arg(args: list, i: int) -> Any:
    return args[i] if i < len(args) else UNDEFINED


# --- html (liquidjs src/filters/html.ts) ---------------------------------------------------------

_ESCAPE = re.compile("[&<>\"']")
_ESCAPE_MAP = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_UNESCAPE = re.compile("&(amp|lt|gt|#34|#39);")
_UNESCAPE_MAP = {"amp": "&", "lt": "<", "gt": ">", "#34": '"', "#39": "'"}


def _escape_text(s: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPE_MAP[m.group()], s)


@_filter("escape", "xml_escape")
def _escape(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return _escape_text(s)


@_filter("escape_once")
def _escape_once(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    s = _UNESCAPE.sub(lambda m: _UNESCAPE_MAP[m.group(1)], s)
    ctx.memory.use(len(s))
    return _escape_text(s)


_RAW_TEXT_BLOCKS = (("<script", "</script>"), ("<style", "</style>"), ("<!--", "-->"), ("<", ">"))


@_filter("strip_html")
def _strip_html(ctx: Any, v: Any, args: list) -> str:
    """liquidjs 10.30.1's linear scanner (not a regex, and not an HTML parser: an unclosed
    ``<script`` stops being looked for, an unclosed ``<`` keeps the rest of the text)."""
    s = stringify(v)
    ctx.memory.use(len(s))
    blocks = list(_RAW_TEXT_BLOCKS)
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        lt = s.find("<", i)
        if lt < 0:
            out.append(s[i:])
            return "".join(out)
        out.append(s[i:lt])
        for opener, closer in list(blocks):
            if not s.startswith(opener, lt):
                continue
            e = s.find(closer, lt + len(opener))
            if e >= 0:
                i = e + len(closer)
                break
            blocks.remove((opener, closer))
        if i <= lt:
            out.append(s[lt:])
            return "".join(out)
    return "".join(out)


# --- math (liquidjs src/filters/math.ts: every argument through toNumber) -------------------------


def _js_mod(a: float, b: float) -> float:
    """JavaScript ``a % b`` (the sign of the dividend; NaN for an infinite dividend or 0 divisor)."""
    if b == 0 or a != a or b != b or math.isinf(a):
        return math.nan
    if math.isinf(b):
        return a
    return math.fmod(a, b)


def _js_div(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or a != a:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _js_floor(x: float) -> float:
    return float(math.floor(x)) if math.isfinite(x) else x


def _js_ceil(x: float) -> float:
    if not math.isfinite(x):
        return x
    r = float(math.ceil(x))
    return -0.0 if r == 0 and x < 0 else r


def _js_math_round(x: float) -> float:
    """``Math.round``: halves toward +Infinity, exactly (``x - floor(x)`` is exact)."""
    if not math.isfinite(x):
        return x
    f = math.floor(x)
    return float(f + 1 if x - f >= 0.5 else f)


@_filter("abs")
def _abs(ctx: Any, v: Any, args: list) -> Any:
    return js_num(abs(num(v)))


@_filter("ceil")
def _ceil(ctx: Any, v: Any, args: list) -> Any:
    return js_num(_js_ceil(num(v)))


@_filter("floor")
def _floor(ctx: Any, v: Any, args: list) -> Any:
    return js_num(_js_floor(num(v)))


def _max_min(pick: Callable[..., float]) -> Filter:
    def f(ctx: Any, v: Any, args: list) -> Any:
        values = [num(v)] + [num(a) for a in args]
        if any(x != x for x in values):
            return math.nan
        return js_num(pick(values))

    return f


FILTERS["at_least"] = _max_min(max)
FILTERS["at_most"] = _max_min(min)


def _binary(op: Callable[[float, float], float]) -> Filter:
    def f(ctx: Any, v: Any, args: list) -> Any:
        if not args:  # only the arguments given go through toNumber: `v - undefined` is NaN
            return math.nan
        return js_num(op(num(v), num(args[0])))

    return f


FILTERS["plus"] = _binary(lambda a, b: a + b)
FILTERS["minus"] = _binary(lambda a, b: a - b)
FILTERS["times"] = _binary(lambda a, b: a * b)
FILTERS["modulo"] = _binary(lambda a, b: _js_mod(_js_mod(a, b) + b, b))


@_filter("divided_by")
def _divided_by(ctx: Any, v: Any, args: list) -> Any:
    q = _js_div(num(v), num(args[0])) if args else math.nan
    if len(args) > 1 and num(args[1]) != 0:  # integerArithmetic, after toNumber
        q = _js_floor(q)
    return js_num(q)


def _shift_decimal(n: float, exponent: float) -> float:
    """liquidjs ``shiftDecimal``: ``Number(`${mantissa}e${Number(power) + exponent}`)``."""
    from ...js import number_to_string, string_to_number

    mantissa, _, power = number_to_string(n).partition("e")
    p = float(power) if power else 0.0
    return float(string_to_number(f"{mantissa}e{number_to_string(js_num(p + exponent))}"))


@_filter("round")
def _round(ctx: Any, v: Any, args: list) -> Any:
    x = num(v)
    arg = num(_arg(args, 0)) if args else 0.0
    scaled = _shift_decimal(abs(x), arg)
    if not scaled <= 9007199254740991:
        return js_num(x)
    rounded = _shift_decimal(_js_math_round(scaled), -arg)
    return js_num(-rounded if x < 0 else rounded)


# --- url (liquidjs src/filters/url.ts) ------------------------------------------------------------

_URI_COMPONENT_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
_URI_SAFE = _URI_COMPONENT_SAFE | frozenset(";,/?:@&=+$#")


def _encode_uri(s: str, safe: frozenset) -> str:
    """ECMAScript ``Encode``: UTF-8 percent-encoding outside ``safe``; ``URIError`` on a lone
    surrogate (``urllib.parse.quote`` would encode it or raise a Python error instead)."""
    out: list[str] = []
    for c in s:
        if c in safe:
            out.append(c)
            continue
        if "\ud800" <= c <= "\udfff":
            raise LiquidFailure("URI malformed")
        out.append("".join("%%%02X" % b for b in c.encode("utf-8")))
    return "".join(out)


def _decode_uri_component(s: str) -> str:
    """ECMAScript ``decodeURIComponent``: strict UTF-8 (overlong, surrogate and truncated
    sequences and malformed escapes raise ``URIError: URI malformed``)."""
    if "%" not in s:
        return s
    out: list[str] = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c != "%":
            out.append(c)
            i += 1
            continue
        b = _hex_byte(s, i)
        i += 3
        if b < 0x80:
            out.append(chr(b))
            continue
        if 0xC2 <= b <= 0xDF:
            extra = 1
        elif 0xE0 <= b <= 0xEF:
            extra = 2
        elif 0xF0 <= b <= 0xF4:
            extra = 3
        else:
            raise LiquidFailure("URI malformed")
        seq = bytearray([b])
        for _ in range(extra):
            if i >= n or s[i] != "%":
                raise LiquidFailure("URI malformed")
            seq.append(_hex_byte(s, i))
            i += 3
        try:
            out.append(bytes(seq).decode("utf-8"))
        except UnicodeDecodeError:
            raise LiquidFailure("URI malformed") from None
    return "".join(out)


def _hex_byte(s: str, i: int) -> int:
    h = s[i + 1 : i + 3]
    if len(h) != 2 or not all(c in "0123456789abcdefABCDEF" for c in h):
        raise LiquidFailure("URI malformed")
    return int(h, 16)


@_filter("url_decode")
def _url_decode(ctx: Any, v: Any, args: list) -> str:
    return _decode_uri_component(stringify(v).replace("+", " "))


@_filter("url_encode")
def _url_encode(ctx: Any, v: Any, args: list) -> str:
    return _encode_uri(stringify(v), _URI_COMPONENT_SAFE).replace("%20", "+")


@_filter("cgi_escape")
def _cgi_escape(ctx: Any, v: Any, args: list) -> str:
    s = _encode_uri(stringify(v), _URI_COMPONENT_SAFE).replace("%20", "+")
    return re.sub("[!'()*]", lambda m: "%%%X" % ord(m.group()), s)


@_filter("uri_escape")
def _uri_escape(ctx: Any, v: Any, args: list) -> str:
    return _encode_uri(stringify(v), _URI_SAFE).replace("%5B", "[").replace("%5D", "]")


def _slug_keep_default(c: str) -> bool:
    cat = unicodedata.category(c)
    return cat[0] in "LM" or cat == "Nd"


_PRETTY_EXTRA = frozenset("._~!$&'()+,;=@")
_SLUG_KEEP: dict[str, Callable[[str], bool] | None] = {
    "default": _slug_keep_default,
    "latin": _slug_keep_default,
    "pretty": lambda c: _slug_keep_default(c) or c in _PRETTY_EXTRA,
    "ascii": lambda c: c.isascii() and c.isalnum(),
}
_ACCENTS = (
    ("àáâãäå", "a"), ("æ", "ae"), ("ç", "c"), ("èéêë", "e"), ("ìíîï", "i"), ("ð", "d"), ("ñ", "n"),
    ("òóôõöø", "o"), ("ùúûü", "u"), ("ýÿ", "y"), ("ß", "ss"), ("œ", "oe"), ("þ", "th"), ("ẞ", "SS"),
    ("Œ", "OE"), ("Þ", "TH"),
)
_ACCENT_MAP = {c: repl for chars, repl in _ACCENTS for c in chars}


@_filter("slugify")
def _slugify(ctx: Any, v: Any, args: list) -> str:
    """liquidjs ``slugify(str, mode = 'default', cased = false)``; ``raw`` replaces runs of
    whitespace, ``none`` nothing; ``\\p{L}\\p{M}\\p{Nd}`` via :mod:`unicodedata` categories."""
    s = stringify(v)
    mode = _arg(args, 0)
    key = "default" if mode is UNDEFINED else js_string(to_value(mode)) if type(mode) is not Drop else "null"
    if key == "raw":
        s = JS_SPACES.sub("-", s)
        s = s[1:] if s.startswith("-") else s
        s = s[:-1] if s.endswith("-") else s
    elif key in _SLUG_KEEP:
        if key == "latin":
            s = "".join(_ACCENT_MAP.get(c, c) for c in s)
        keep = _SLUG_KEEP[key]
        out: list[str] = []
        run = False
        for c in s:
            if keep(c):  # type: ignore[misc]
                out.append(c)
                run = False
            elif not run:
                out.append("-")
                run = True
        s = "".join(out)
        s = s[1:] if s.startswith("-") else s
        s = s[:-1] if s.endswith("-") else s
    return s if truthy(_arg(args, 1)) else s.lower()


# --- array (liquidjs src/filters/array.ts) --------------------------------------------------------


@_filter("join")
def _join(ctx: Any, v: Any, args: list) -> str:
    array = to_array(v)
    sep_arg = to_value(_arg(args, 0))
    sep = " " if is_nil(sep_arg) else stringify(sep_arg)
    parts = ["" if (x is None or x is UNDEFINED) else js_string(x) for x in array]
    ctx.memory.use(len(sep) * max(len(array) - 1, 0) + sum(len(js_string(x)) for x in array))
    return sep.join(parts)


def _array_like_element(v: Any, last: bool) -> Any:
    """liquidjs ``first``/``last``: ``isArrayLike(v) ? readArrayElement(v, 0 | -1) : ''``."""
    v = to_value(v)
    t = type(v)
    if t is list:
        if not v:
            return UNDEFINED
        return v[-1] if last else v[0]
    if t is str:
        if not v:
            return ""
        units = to_units(v)
        return units[-1] if last else units[0]
    if t is dict:
        length = v.get("length", UNDEFINED)
        if type(length) is not int and type(length) is not float:
            return ""
        index = length - 1 if last else 0
        if last and index < 0:
            index = length + index
        return v.get(to_string(js_num(float(index))), UNDEFINED)
    return ""


@_filter("first")
def _first(ctx: Any, v: Any, args: list) -> Any:
    return _array_like_element(v, False)


@_filter("last")
def _last(ctx: Any, v: Any, args: list) -> Any:
    return _array_like_element(v, True)


@_filter("size")
def _size(ctx: Any, v: Any, args: list) -> Any:
    """``(v && v.length) || 0``: strings in UTF-16 units, an object only through a ``length`` key."""
    if not truthy(v):
        return 0
    t = type(v)
    if t is str:
        return utf16_len(v)
    if t is list:
        return len(v) or 0
    if t is dict:
        length = v.get("length", UNDEFINED)
        return length if truthy(length) else 0
    return 0


@_filter("sum")
def _sum(ctx: Any, v: Any, args: list) -> Any:
    prop = _arg(args, 0)
    total = 0.0
    for item in to_array(v):
        value = ctx.get_path(item, stringify(prop)) if truthy(prop) else item
        data = js_number(to_value(value) if type(value) is not Drop else value)
        if data == data:
            total += data
    return js_num(total)


@_filter("compact")
def _compact(ctx: Any, v: Any, args: list) -> list:
    array = to_array(v)
    ctx.memory.use(len(array))
    return [x for x in array if not is_nil(x)]


@_filter("push")
def _push(ctx: Any, v: Any, args: list) -> list:
    array = to_array(v)
    ctx.memory.use(len(array) + 1)
    return [*array, _arg(args, 0)]


@_filter("unshift")
def _unshift(ctx: Any, v: Any, args: list) -> list:
    array = to_array(v)
    ctx.memory.use(len(array))
    return [_arg(args, 0), *array]


@_filter("pop")
def _pop(ctx: Any, v: Any, args: list) -> list:
    array = to_array(v)
    ctx.memory.use(len(array))
    return array[:-1]


@_filter("shift")
def _shift(ctx: Any, v: Any, args: list) -> list:
    array = to_array(v)
    ctx.memory.use(len(array))
    return array[1:]


def _js_plus(a: Any, b: Any) -> Any:
    """JavaScript ``a + b`` for the values a filter argument can hold."""
    from .values import _primitive

    pa, pb = _primitive(a), _primitive(b)
    if type(pa) is str or type(pb) is str:
        return js_string(pa) + js_string(pb)
    return js_num(float(js_number(pa)) + float(js_number(pb)))


@_filter("slice")
def _slice(ctx: Any, v: Any, args: list) -> Any:
    v = to_value(v)
    if is_nil(v):
        return []
    begin = _arg(args, 0)
    length = _arg(args, 1) if len(args) > 1 and args[1] is not UNDEFINED else 1
    is_array = type(v) is list
    if not is_array:
        v = stringify(v)
    if js_lt(begin, 0):
        begin = _js_plus(len(v) if is_array else code_point_length(to_units(v)), begin)
    if js_lt(begin, 0) or js_lt(length, 0):
        return [] if is_array else ""
    ctx.memory.use(length)
    if is_array:
        a, b = slice_bounds(len(v), begin, _js_plus(begin, length))
        return v[a:b]
    units = to_units(v)
    start = advance_code_points(units, 0, begin)
    return from_units(units[start : advance_code_points(units, start, length)])


@_filter("sample")
def _sample(ctx: Any, v: Any, args: list) -> Any:
    """Random, as liquidjs's (``[...v].sort(() => Math.random() - 0.5)``): a shuffle."""
    v = to_value(v)
    if is_nil(v):
        return []
    if type(v) is list:
        items = list(v)
        ctx.memory.use(len(items))
    else:
        # ``[...v]`` spreads a string by code points (an emoji stays whole), while the memory
        # limit is charged ``v.length``, in UTF-16 units.
        text = stringify(v)
        items = list(from_units(to_units(text)))
        ctx.memory.use(utf16_len(text))
    random.shuffle(items)
    count = _arg(args, 0) if args else 1
    if count == 1 and type(count) is not bool:
        return items[0] if items else UNDEFINED
    a, b = slice_bounds(len(items), 0, count)
    return items[a:b]


# --- date filters live in .dates ------------------------------------------------------------------

# --- string (liquidjs src/filters/string.ts) ------------------------------------------------------


def _expect_two(name: str, args: list) -> None:
    if len(args) != 1:
        raise LiquidFailure(f"{name} expect 2 arguments")


@_filter("append")
def _append(ctx: Any, v: Any, args: list) -> str:
    _expect_two("append", args)
    lhs, rhs = stringify(v), stringify(args[0])
    ctx.memory.use(len(lhs) + len(rhs))
    return lhs + rhs


@_filter("prepend")
def _prepend(ctx: Any, v: Any, args: list) -> str:
    _expect_two("prepend", args)
    lhs, rhs = stringify(v), stringify(args[0])
    ctx.memory.use(len(lhs) + len(rhs))
    return rhs + lhs


def _trim_start(s: str, chars: set[str]) -> int:
    i = 0
    for c in s:
        if c not in chars:
            break
        i += 1
    return i


def _trim_end(s: str, chars: set[str], start: int = 0) -> int:
    end = len(s)
    while end > start and s[end - 1] in chars:
        end -= 1
    return end


def _strip_sides(ctx: Any, v: Any, args: list, left: bool, right: bool) -> str:
    """liquidjs ``lstrip``/``rstrip``/``strip``: the given characters (by code point) when the
    argument is truthy, else JavaScript's ``trimStart``/``trimEnd``/``trim`` whitespace."""
    s = stringify(v)
    ctx.memory.use(len(s))
    chars = _arg(args, 0)
    if truthy(chars):
        cs = set(stringify(chars))
        ctx.memory.use(len(cs))
        start = _trim_start(s, cs) if left else 0
        return s[start : _trim_end(s, cs, start) if right else len(s)]
    if left and right:
        return s.strip(JS_WHITESPACE)
    return s.lstrip(JS_WHITESPACE) if left else s.rstrip(JS_WHITESPACE)


FILTERS["lstrip"] = lambda ctx, v, args: _strip_sides(ctx, v, args, True, False)
FILTERS["rstrip"] = lambda ctx, v, args: _strip_sides(ctx, v, args, False, True)
FILTERS["strip"] = lambda ctx, v, args: _strip_sides(ctx, v, args, True, True)


@_filter("downcase")
def _downcase(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return s.lower()


@_filter("upcase")
def _upcase(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return s.upper()


def _js_split(s: str, sep: str) -> list[str]:
    """``s.split(sep)``: an empty separator splits into UTF-16 units."""
    if sep == "":
        return list(to_units(s))
    return s.split(sep)


@_filter("remove")
def _remove(ctx: Any, v: Any, args: list) -> str:
    s, arg = stringify(v), stringify(_arg(args, 0))
    ctx.memory.use(len(s) + len(arg))
    return s if arg == "" else s.replace(arg, "")


@_filter("remove_first")
def _remove_first(ctx: Any, v: Any, args: list) -> str:
    s, arg = stringify(v), stringify(_arg(args, 0))
    ctx.memory.use(len(s) + len(arg))
    return s.replace(arg, "", 1)


@_filter("remove_last")
def _remove_last(ctx: Any, v: Any, args: list) -> str:
    s, pattern = stringify(v), stringify(_arg(args, 0))
    ctx.memory.use(len(s) + len(pattern))
    i = s.rfind(pattern)
    return s if i < 0 else s[:i] + s[i + len(pattern) :]


@_filter("split")
def _split(ctx: Any, v: Any, args: list) -> list[str]:
    s = stringify(v)
    ctx.memory.use(len(s))
    arr = _js_split(s, stringify(_arg(args, 0)))
    while arr and arr[-1] == "":
        arr.pop()
    return [from_units(x) for x in arr] if not s.isascii() else arr


_NEWLINES = re.compile("\r?\n")


@_filter("strip_newlines")
def _strip_newlines(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return _NEWLINES.sub("", s)


@_filter("squish")
def _squish(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return JS_SPACES.sub(" ", s).strip(JS_WHITESPACE)


@_filter("capitalize")
def _capitalize(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    units = to_units(s)
    return from_units(units[:1].upper() + units[1:].lower())


@_filter("replace")
def _replace(ctx: Any, v: Any, args: list) -> str:
    s, pattern, replacement = stringify(v), stringify(_arg(args, 0)), stringify(_arg(args, 1))
    parts = _js_split(s, pattern)
    ctx.memory.use(len(s) + (len(parts) - 1) * (len(replacement) - len(pattern)))
    joined = replacement.join(parts)
    return from_units(joined) if pattern == "" and not s.isascii() else joined


@_filter("replace_first")
def _replace_first(ctx: Any, v: Any, args: list) -> str:
    s, a1, a2 = stringify(v), stringify(_arg(args, 0)), stringify(_arg(args, 1))
    ctx.memory.use(len(s) + len(a1) + len(a2))
    return s.replace(a1, a2, 1)


@_filter("replace_last")
def _replace_last(ctx: Any, v: Any, args: list) -> str:
    s, pattern, replacement = stringify(v), stringify(_arg(args, 0)), stringify(_arg(args, 1))
    ctx.memory.use(len(s) + len(pattern) + len(replacement))
    i = s.rfind(pattern)
    return s if i < 0 else s[:i] + replacement + s[i + len(pattern) :]


@_filter("truncate")
def _truncate(ctx: Any, v: Any, args: list) -> Any:
    s = stringify(v)
    length = _arg(args, 0)
    if length is UNDEFINED:
        length = 50
    o = _arg(args, 1)
    o = "..." if o is UNDEFINED else stringify(o)
    ctx.memory.use(len(s) + len(o))
    units = to_units(s)
    if js_le(len(units), length) or advance_code_points(units, 0, length) >= len(units):
        return v
    keep = js_number(length) - code_point_length(to_units(o))
    keep = math.nan if keep != keep else max(keep, 0)
    return from_units(units[: advance_code_points(units, 0, keep)]) + o


_WORD_SPLIT = JS_SPACES


@_filter("truncatewords")
def _truncatewords(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    words = _arg(args, 0)
    if words is UNDEFINED:
        words = 15
    o = _arg(args, 1)
    o = "..." if o is UNDEFINED else stringify(o)
    ctx.memory.use(len(s) + len(o))
    arr = _WORD_SPLIT.split(s.lstrip(JS_WHITESPACE))
    if js_le(words, 0):
        words = 1
    _, end = slice_bounds(len(arr), 0, words)
    ret = " ".join(arr[:end])
    if js_ge(len(arr), words):
        ret += o
    return ret


@_filter("normalize_whitespace")
def _normalize_whitespace(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return JS_SPACES.sub(" ", s)


_CJK = "\u4e00-\u9fff\uf900-\ufaff\u3400-\u4dbf\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
_CJK_WORD = re.compile(f"[{_CJK}]")
_NON_CJK_WORD = re.compile(f"[^{_CJK}{''.join(chr(92) + 'u%04x' % ord(c) for c in JS_WHITESPACE)}]+")


@_filter("number_of_words")
def _number_of_words(ctx: Any, v: Any, args: list) -> int:
    s = stringify(v)
    ctx.memory.use(len(s))
    s = s.strip(JS_WHITESPACE)
    if not s:
        return 0
    mode = to_value(_arg(args, 0)) if type(_arg(args, 0)) is not Drop else None
    if mode == "cjk" or (mode == "auto" and _CJK_WORD.search(s)):
        return len(_CJK_WORD.findall(s)) + len(_NON_CJK_WORD.findall(s))
    return len(JS_SPACES.split(s))


# --- base64 and crypto (liquidjs src/filters/base64.ts, crypto.ts) ------------------------------

@_filter("base64_encode")
def _base64_encode(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return base64.b64encode(utf8_bytes(s)).decode("ascii")


_B64_SPACE = re.compile("[\t\n\f\r ]")
_B64_BODY = re.compile("[A-Za-z0-9+/]*")


@_filter("base64_decode")
def _base64_decode(ctx: Any, v: Any, args: list) -> str:
    """liquidjs's ``isBase64`` check, then Node's lenient decoder and UTF-8 with U+FFFD."""
    s = stringify(v)
    ctx.memory.use(len(s))
    body = _B64_SPACE.sub("", s)
    if len(body) % 4 == 0:
        body = re.sub("==?$", "", body)
    if len(body) % 4 == 1 or not _B64_BODY.fullmatch(body):
        raise LiquidFailure("invalid base64 provided to base64_decode")
    raw = base64.b64decode(body + "=" * (-len(body) % 4))
    return raw.decode("utf-8", "replace")


@_filter("sha256")
def _sha256(ctx: Any, v: Any, args: list) -> str:
    s = stringify(v)
    ctx.memory.use(len(s))
    return hashlib.sha256(utf8_bytes(s)).hexdigest()


@_filter("hmac_sha256")
def _hmac_sha256(ctx: Any, v: Any, args: list) -> str:
    s, key = stringify(v), stringify(_arg(args, 0))
    ctx.memory.use(len(s) + len(key))
    return hmac.new(utf8_bytes(key), utf8_bytes(s), hashlib.sha256).hexdigest()


# --- misc (liquidjs src/filters/misc.ts) ----------------------------------------------------------


@_filter("default")
def _default(ctx: Any, v: Any, args: list) -> Any:
    value = to_value(v)
    default = _arg(args, 0)
    if type(value) is list or type(value) is str:
        return value if value else default
    if value is False:
        allow = UNDEFINED
        for entry in args[1:]:  # new Map(args): every entry must be an object
            if type(entry) is list:
                if (entry[0] if entry else UNDEFINED) == "allow_false":
                    allow = entry[1] if len(entry) > 1 else UNDEFINED
            elif type(entry) is dict or type(entry) is Drop:
                key = entry.get("0", UNDEFINED) if type(entry) is dict else UNDEFINED
                if key == "allow_false":
                    allow = entry.get("1", UNDEFINED)  # type: ignore[union-attr]
            else:
                raise LiquidFailure(f"Iterator value {js_string(entry)} is not an entry object")
        if truthy(allow):
            return False
    return default if liquid_falsy(value) else value


@_filter("raw")
def _raw(ctx: Any, v: Any, args: list) -> Any:
    return v


@_filter("json", "jsonify", "inspect")
def _json(ctx: Any, v: Any, args: list) -> Any:
    space = _arg(args, 0)
    gap = json_gap(space)
    return json_stringify(v, gap, ctx.memory)


@_filter("to_integer")
def _to_integer(ctx: Any, v: Any, args: list) -> Any:
    """``Number(value)``: despite the name, no rounding (``7.9`` stays ``7.9``)."""
    return js_num(float(js_number(v))) if type(js_number(v)) is float else js_number(v)


def is_known(name: str) -> bool:
    """A liquidjs 10.30.1 built-in (enabled or disabled) or actions-core's disabled ``type``."""
    return name in LIQUIDJS_FILTERS or name in DISABLED


def apply_filter(ctx: Any, name: str, value: Any, args: list) -> Any:
    """Run filter ``name`` as liquidjs does; an unknown name returns ``value`` unchanged."""
    if name in DISABLED:
        raise LiquidFailure(f'filter "{name}" is disabled')
    fn = FILTERS.get(name)
    if fn is None:
        return value
    return fn(ctx, value, args)


__all__ = ["apply_filter", "is_known", "stringify", "num", "DISABLED", "FILTERS", "LIQUIDJS_FILTERS"]
