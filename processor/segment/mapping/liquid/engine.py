"""A Liquid engine with liquidjs 10.30.1 semantics, configured as actions-core configures it.

Scope: what a Segment ``@liquid`` field can do. Output (``{{ value | filter: arg }}``), whitespace
control (``{{-``/``-%}}``), every tag liquidjs 10.30.1 has that actions-core 3.170.0 leaves enabled
(:data:`TAGS`: ``#`` ``assign`` ``block`` ``break`` ``capture`` ``comment`` ``continue`` ``cycle``
``decrement`` ``echo`` ``if`` ``increment`` ``liquid`` ``raw`` ``unless``) and every filter
(:mod:`.filters`, :mod:`.dates`). ``case``, ``for``, ``include``, ``layout``, ``render`` and
``tablerow`` are disabled by actions-core (``tag "for" is disabled``); any other tag is
``not found``.

Templates are parsed once, at start-up: parse errors, and filters actions-core disables, are
configuration errors (Segment fails each event with the same message instead). Names that are no
liquidjs filter pass their input through, as in Segment; :func:`unknown_filters` lists them so
start-up can warn. Rendering walks the parsed tree with liquidjs's render rules (``break`` and
``continue`` stop the rest of the template; ``increment`` counts in the event's own variables).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from ...js import UNDEFINED, from_units, is_array_index, to_number, to_units, utf16_len
from ..jsvalue import js_keys
from . import dates as _dates  # noqa: F401  (registers the date filters)
from .errors import LiquidError, LiquidFailure
from .filters import DISABLED, FILTERS, apply_filter, is_known
from .values import (
    BLANK,
    EMPTY,
    NIL,
    JS_SPACES,
    Drop,
    Memory,
    is_nil,
    js_num,
    js_ge,
    js_gt,
    js_le,
    js_lt,
    js_string,
    json_quote,
    liquid_falsy,
    stringify,
    to_array,
    to_value,
    truthy,
)

DISABLED_TAGS = frozenset(["case", "for", "include", "layout", "render", "tablerow"])
#: liquidjs 10.30.1's tags (``Object.keys(new Liquid().tags)``, 21) minus actions-core's disabled 6.
TAGS = frozenset("# assign block break capture comment continue cycle decrement echo if increment liquid raw unless".split())
_BLANK = " \t\n\r\x0b\x0c\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _is_word(c: str) -> bool:
    if not c:
        return False
    o = ord(c)
    if o >= 128:
        return c not in _BLANK and c not in "\u201c\u201d"
    return c.isalnum() or c in "_-?"


def _snapshot(s: str, n: int = 32) -> str:
    """liquidjs ``JSON.stringify(ellipsis(text, 32))`` (lengths in UTF-16 units)."""
    units = to_units(s)
    if len(units) > n:
        s = from_units(units[: n - 3]) + "..."
    return json_quote(s)


# --- tokens ------------------------------------------------------------------------------------


class _Tok:
    __slots__ = ("kind", "begin", "end", "content", "trim_left", "trim_right", "name", "args", "args_at", "args_end")

    def __init__(self, kind: str, begin: int, end: int, content: str, trim_left: bool = False, trim_right: bool = False):
        self.kind, self.begin, self.end, self.content = kind, begin, end, content
        self.trim_left, self.trim_right = trim_left, trim_right
        self.name, self.args, self.args_at, self.args_end = "", "", 0, 0


def _tokenize(src: str) -> list[_Tok]:
    toks: list[_Tok] = []
    p, n = 0, len(src)
    while p < n:
        if src.startswith("{%", p):
            begin = p
            # readToDelimiter: skip blanks, then advance at least one char before matching
            end = _find_close(src, p + 2, "%}", quoted=False)
            if end < 0:
                raise LiquidError(f"tag {_snapshot(src[begin:])} not closed", src, begin)
            inner = src[begin + 2 : end - 2]
            tl, tr = inner.startswith("-"), inner.endswith("-")
            body = inner[1 if tl else 0 : len(inner) - (1 if tr else 0)]
            tok = _Tok("tag", begin, end, body, tl, tr)
            i = 0
            while i < len(body) and body[i] in _BLANK:
                i += 1
            if i < len(body) and body[i] == "#":
                tok.name, j = "#", i + 1
            else:
                j = i
                while j < len(body) and _is_word(body[j]):
                    j += 1
                tok.name = body[i:j]
            if not tok.name:
                raise LiquidError("illegal tag syntax, tag name expected", src, begin + 2 + (1 if tl else 0) + i)
            tok.args = body[j:].strip(_BLANK)
            tok.args_at = begin + 2 + (1 if tl else 0) + j
            tok.args_end = begin + 2 + (1 if tl else 0) + len(body.rstrip(_BLANK))
            toks.append(tok)
            p = end
            if tok.name == "raw":
                p = _read_raw(src, p, toks, begin)
        elif src.startswith("{{", p):
            begin = p
            end = _find_close(src, p + 2, "}}", quoted=True)
            if end < 0:
                raise LiquidError(f"output {_snapshot(src[begin:])} not closed", src, begin)
            inner = src[begin + 2 : end - 2]
            tl, tr = inner.startswith("-"), inner.endswith("-")
            body = inner[1 if tl else 0 : len(inner) - (1 if tr else 0)]
            tok = _Tok("output", begin, end, body, tl, tr)
            tok.args_at = begin + 2 + (1 if tl else 0)
            toks.append(tok)
            p = end
        else:
            a, b = src.find("{%", p), src.find("{{", p)
            stop = min(x for x in (a, b, n) if x >= 0)
            toks.append(_Tok("html", p, stop, src[p:stop]))
            p = stop
    _whitespace_control(toks)
    return toks


def _find_close(src: str, p: int, delim: str, quoted: bool) -> int:
    n = len(src)
    while p < n and src[p] in _BLANK:
        p += 1
    while p < n:
        if quoted and src[p] in "\"'":
            q = src[p]
            p += 1
            escaped = False
            while p < n:
                p += 1
                if src[p - 1] == q and not escaped:
                    break
                escaped = (not escaped) and src[p - 1] == "\\"
            continue
        p += 1
        if src.startswith(delim, p - len(delim)) and p - len(delim) >= 0:
            return p
    return -1


def _read_raw(src: str, p: int, toks: list[_Tok], raw_begin: int) -> int:
    """liquidjs ``readEndrawOrRawContent``: the text up to a ``{%`` directly followed (after
    blanks) by the word ``endraw`` (so ``{%- endraw %}`` does not close a raw block)."""
    n = len(src)
    begin = p
    i = src.find("{%", p)
    p, left = (n, -3) if i < 0 else (i + 2, i)
    while p < n:
        q = p
        while q < n and src[q] in _BLANK:
            q += 1
        j = q
        while j < n and _is_word(src[j]):
            j += 1
        p = j
        if src[q:j] != "endraw":
            i = src.find("{%", p)
            p, left = (n, -3) if i < 0 else (i + 2, i)
            continue
        while p <= n:
            if p >= 2 and src[p - 2 : p] == "%}":
                if left > begin:
                    toks.append(_Tok("html", begin, left, src[begin:left]))
                t = _Tok("tag", left, p, "endraw", src[left + 2 : left + 3] == "-", src[p - 3 : p - 2] == "-")
                t.name = "endraw"
                toks.append(t)
                return p
            if p >= 2 and src[p - 2 : p] == "{%":
                break
            p += 1
    raise LiquidError(f"raw {_snapshot(src[raw_begin:])} not closed", src, begin)


def _whitespace_control(toks: list[_Tok]) -> None:
    """liquidjs ``whiteSpaceCtrl``: ``-`` trims the neighbouring text, except inside ``raw``."""
    in_raw = False
    for i, t in enumerate(toks):
        if t.kind == "html":
            continue
        if not in_raw and t.trim_left and i > 0 and toks[i - 1].kind == "html":
            toks[i - 1].content = toks[i - 1].content.rstrip(_BLANK)
        if t.kind == "tag":
            if t.name == "raw":
                in_raw = True
            elif t.name == "endraw":
                in_raw = False
        if not in_raw and t.trim_right and i + 1 < len(toks) and toks[i + 1].kind == "html":
            toks[i + 1].content = toks[i + 1].content.lstrip(_BLANK)


# --- expressions -------------------------------------------------------------------------------

Evaluator = Callable[["_Ctx"], Any]
_LITERALS = {"true": True, "false": False, "nil": NIL, "null": NIL, "empty": EMPTY, "blank": BLANK}
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")  # liquidjs has no "<>"
_PRECEDENCE = {"==": 2, "!=": 2, "<": 2, ">": 2, "<=": 2, ">=": 2, "contains": 2, "not": 1, "and": 0, "or": 0}


class _Reader:
    def __init__(self, src: str, p: int, end: int, full: str, base: int, parser: "_Parser | None" = None) -> None:
        self.s, self.p, self.n, self.full = src, p, end, full
        self.base = base
        self.parser = parser

    def error(self, msg: str) -> LiquidError:
        return LiquidError(msg, self.full, self.p)

    def peek(self, k: int = 0) -> str:
        i = self.p + k
        return self.s[i] if i < self.n else ""

    def blank(self) -> None:
        while self.p < self.n and self.s[self.p] in _BLANK:
            self.p += 1

    def end(self) -> bool:
        return self.p >= self.n

    def ident(self) -> str:
        self.blank()
        b = self.p
        while self.p < self.n and _is_word(self.s[self.p]):
            self.p += 1
        return self.s[b : self.p]

    def value(self) -> Evaluator | None:
        self.blank()
        v = self._literal() or self._quoted() or self._number()
        if v is None and self.peek() == "(":
            v = self._range()
        props = self._props(v is None)
        if not props:
            return v
        return _prop_access(v, props)

    def _literal(self) -> Evaluator | None:
        for word in ("true", "false", "nil", "null", "empty", "blank"):
            if self.s.startswith(word, self.p) and self.p + len(word) <= self.n and not _is_word(self.peek(len(word))):
                self.p += len(word)
                val = _LITERALS[word]
                return lambda ctx, v=val: v
        return None

    def _quoted(self) -> Evaluator | None:
        if self.peek() not in ("'", '"'):
            return None
        q, b = self.peek(), self.p
        self.p += 1
        escaped = False
        while self.p < self.n:
            self.p += 1
            c = self.s[self.p - 1]
            if c == q and not escaped:
                break
            escaped = (not escaped) and c == "\\"
        raw = self.s[b + 1 : self.p - 1] if self.s[self.p - 1] == q and self.p - 1 > b else self.s[b + 1 : self.p]
        text = _unescape(raw)
        return lambda ctx: text

    def _number(self) -> Evaluator | None:
        n, dec, dig = 0, False, False
        if self.peek() in "+-" and self.peek():
            n += 1
        while True:
            c = self.peek(n)
            if c and c.isascii() and c.isdigit():
                dig, n = True, n + 1
            elif c == "." and self.peek(n + 1) != ".":
                if dec or not dig:
                    return None
                dec, n = True, n + 1
            else:
                break
        if dig and not _is_word(self.peek(n)):
            text = self.s[self.p : self.p + n]
            self.p += n
            num = to_number(text)
            if type(num) is float and num.is_integer() and abs(num) < 2**53:
                num = int(num)
            return lambda ctx: num
        return None

    def _range(self) -> Evaluator:
        self.p += 1
        lo = self.value()
        if lo is None:
            raise self.error(f"unexpected token {_snapshot(self.s[self.p:self.n])}, value expected")
        self.blank()
        if self.peek() == "." and self.peek(1) == ".":
            self.p += 2
            hi = self.value()
            if hi is None:
                raise self.error(f"unexpected token {_snapshot(self.s[self.p:self.n])}, value expected")
            self.blank()
            ok = self.peek() == ")"
            self.p += 1
            if not ok:
                raise self.error("invalid range syntax")

            def rng(ctx: _Ctx) -> Any:
                a, b = to_number(to_value(lo(ctx))), to_number(to_value(hi(ctx)))
                ctx.memory.use(b - a + 1 if a == a and b == b else 0)
                if a != a or b != b:
                    return []
                out: list = []
                i = a
                while i < b + 1:
                    out.append(i)
                    i += 1
                return out

            return rng
        raise self.error("invalid range syntax")

    def _props(self, is_begin: bool) -> list[Evaluator]:
        props: list[Evaluator] = []
        while True:
            if self.peek() == "[":
                self.p += 1
                prop = self.value() or (lambda ctx: "")
                idx = self.s.find("]", self.p, self.n)
                if idx < 0:
                    self.p = self.n  # liquidjs's readTo(']') has read to the end
                    raise self.error("[ not closed")
                self.p = idx + 1
                props.append(prop)
                continue
            if is_begin and not props:
                name = self.ident()
                if name:
                    props.append(lambda ctx, k=name: k)
                    continue
            if self.peek() == "." and self.peek(1) != ".":
                self.p += 1
                name = self.ident()
                if not name:
                    break
                props.append(lambda ctx, k=name: k)
                continue
            break
        return props

    def operator(self) -> str | None:
        self.blank()
        for op in _OPERATORS:
            if self.s.startswith(op, self.p) and self.p + len(op) <= self.n:
                self.p += len(op)
                return op
        for word in ("contains", "and", "or", "not"):
            if self.s.startswith(word, self.p) and self.p + len(word) <= self.n and not _is_word(self.peek(len(word))):
                self.p += len(word)
                return word
        return None

    def expression(self) -> Evaluator | None:
        items: list[Any] = []
        while not self.end():
            save = self.p
            op = self.operator()
            if op is not None:
                items.append(("op", op))
                continue
            self.p = save
            v = self.value()
            if v is None:
                break
            items.append(v)
        if not items:
            return None
        return _build_expression(items)

    def filtered_value(self) -> Evaluator:
        initial = self.expression()
        if initial is None:
            self.blank()
            raise self.error(f"invalid value expression: {_snapshot(self.s[self.p:self.n])}")
        filters: list[tuple[str, list[tuple[str | None, Evaluator]]]] = []
        self.blank()
        while self.peek() == "|":
            self.p += 1
            self.blank()
            name = self.ident()
            if not name:
                if not self.end():
                    raise self.error("expected filter name")
                break
            if name in DISABLED:
                # Segment fails every event that runs it; we refuse the configuration.
                raise LiquidError(f'filter "{name}" is disabled', self.full, self.base)
            if not is_known(name) and self.parser is not None:
                self.parser.unknown.append(name)
            args: list[tuple[str | None, Evaluator]] = []
            self.blank()
            if self.peek() == ":":
                while True:
                    self.p += 1
                    self.blank()
                    save = self.p
                    key = self.value()
                    if key is not None:
                        self.blank()
                        if self.peek() == ":":
                            self.p += 1
                            kname = self.s[save : self.p - 1].strip(_BLANK)
                            val = self.value()
                            args.append((kname, val or (lambda ctx: UNDEFINED)))
                        else:
                            args.append((None, key))
                    self.blank()
                    if not (self.end() or self.peek() in ",|)"):
                        raise self.error(f"unexpected character {_snapshot(self.s[self.p:self.n])}")
                    if self.peek() != ",":
                        break
            elif not (self.end() or self.peek() in "|),"):
                raise self.error('expected ":" after filter name')
            filters.append((name, args))
            self.blank()
        if not self.end() and self.peek() not in "),":
            self.p += 1
            raise self.error('expected "|" before filter')
        init = initial
        if not filters:
            return init
        chain = tuple((name, tuple(args)) for name, args in filters)

        def run(ctx: _Ctx) -> Any:
            v = init(ctx)
            for name, args in chain:
                # a `key: value` argument reaches the filter as the JavaScript array [key, value]
                argv = [f(ctx) if k is None else [k, f(ctx)] for k, f in args]
                v = apply_filter(ctx, name, v, argv)
            return v

        return run


def _unescape(raw: str) -> str:
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            d = raw[i + 1]
            if d == "u" and len(raw[i + 2 : i + 6]) == 4 and all(ch in "0123456789abcdefABCDEF" for ch in raw[i + 2 : i + 6]):
                out.append(chr(int(raw[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(simple.get(d, d))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _prop_access(variable: Evaluator | None, props: list[Evaluator]) -> Evaluator:
    def get(ctx: _Ctx) -> Any:
        keys = [to_value(p(ctx)) for p in props]
        if variable is not None:
            obj = variable(ctx)
        else:
            obj = ctx.find_scope(keys[0])
        for k in keys:
            obj = _read_property(obj, k)
        return obj

    return get


def _has_own(obj: Any, key: str) -> bool:
    t = type(obj)
    if t is dict:
        return key in obj
    if t is list or t is str:
        if key == "length":
            return True
        return is_array_index(key) and int(key) < (len(obj) if t is list else utf16_len(obj))
    return False


def _read_property(obj: Any, key: Any) -> Any:
    """liquidjs ``Context.readProperty`` (``ownPropertyOnly``: prototype members read undefined)."""
    obj = to_value(obj) if type(obj) is Drop and obj is not NIL else obj
    if obj is NIL:
        return None
    if is_nil(obj):
        return obj
    if type(obj) is list and (type(key) is int or type(key) is float):
        i = key
        if i < 0:
            i = len(obj) + i
        if type(i) is float:
            if not i.is_integer():
                return UNDEFINED
            i = int(i)
        return obj[i] if 0 <= i < len(obj) else UNDEFINED
    skey = key if type(key) is str else js_string(key)
    value: Any = UNDEFINED
    if _has_own(obj, skey):
        if type(obj) is dict:
            value = obj[skey]
        elif skey == "length":
            value = len(obj) if type(obj) is list else len(obj.encode("utf-16-le", "surrogatepass")) // 2
        elif type(obj) is list:
            value = obj[int(skey)]
        else:
            from ...js import utf16_unit

            value = utf16_unit(obj, int(skey))
    if skey == "size":
        if type(obj) is dict and "size" in obj:
            return obj["size"]
        if type(obj) is list:
            return len(obj)
        if type(obj) is str:
            return len(obj.encode("utf-16-le", "surrogatepass")) // 2
        if type(obj) is dict:
            return len(obj)
        return UNDEFINED
    if skey == "first":
        if type(obj) is list:
            return obj[0] if obj else UNDEFINED
        return value
    if skey == "last":
        if type(obj) is list:
            return obj[-1] if obj else UNDEFINED
        return value
    return value


def _build_expression(items: list[Any]) -> Evaluator:
    out: list[Any] = []
    ops: list[str] = []
    for it in items:
        if type(it) is tuple:
            op = it[1]
            while ops and _PRECEDENCE[ops[-1]] > _PRECEDENCE[op]:
                out.append(("op", ops.pop()))
            ops.append(op)
        else:
            out.append(it)
    while ops:
        out.append(("op", ops.pop()))
    postfix = tuple(out)

    def evaluate(ctx: _Ctx) -> Any:
        stack: list[Any] = []
        for t in postfix:
            if type(t) is tuple:
                op = t[1]
                r = stack.pop() if stack else UNDEFINED
                if op == "not":
                    stack.append(liquid_falsy(r))
                    continue
                l = stack.pop() if stack else UNDEFINED
                stack.append(_binary(op, l, r))
            else:
                stack.append(t(ctx))
        return stack[0] if stack else UNDEFINED

    if len(postfix) == 1 and type(postfix[0]) is not tuple:
        return postfix[0]
    return evaluate


def _truthy(v: Any) -> bool:
    return not liquid_falsy(v)


def _drop_equals(drop: Drop, value: Any) -> bool:
    """``NullDrop``/``EmptyDrop``/``BlankDrop`` ``.equals(value)``."""
    if drop is NIL:
        return is_nil(to_value(value))
    if drop is BLANK:
        if value is False or is_nil(to_value(value)):
            return True
        if type(value) is str:
            return JS_SPACES.sub("", value) == ""
    if type(value) is Drop and value is not NIL:
        return False
    value = to_value(value)
    if type(value) in (str, list, dict):
        return len(value) == 0
    return False


def _equals(l: Any, r: Any) -> bool:
    if type(l) is Drop:
        return _drop_equals(l, r)
    if type(r) is Drop:
        return _drop_equals(r, l)
    if type(l) is list:
        return type(r) is list and len(l) == len(r) and all(_equals(a, b) for a, b in zip(l, r))
    # JavaScript ===
    tl, tr = type(l), type(r)
    if tl is bool or tr is bool:
        return l is r
    if (tl is int or tl is float) and (tr is int or tr is float):
        return l == r
    if tl is str and tr is str:
        return l == r
    if l is None or r is None or l is UNDEFINED or r is UNDEFINED:
        return l is r
    return l is r


def _binary(op: str, l: Any, r: Any) -> Any:
    if op == "==":
        return _equals(l, r)
    if op == "!=":
        return not _equals(l, r)
    if op == "contains":
        l = to_value(l)
        if type(l) is list:
            return any(_equals(x, r) for x in l)
        if type(l) is str:
            return js_string(to_value(r)) in l
        return False
    if op == "and":
        return _truthy(l) and _truthy(r)
    if op == "or":
        return _truthy(l) or _truthy(r)
    if type(l) is Drop or type(r) is Drop:
        return False  # drops are Comparable: every ordering is false
    if op == "<":
        return js_lt(l, r)
    if op == ">":
        return js_gt(l, r)
    if op == "<=":
        return js_le(l, r)
    return js_ge(l, r)


# --- templates ---------------------------------------------------------------------------------


class _Ctx:
    """One render: scopes (``assign``/``capture``), the event (``environments``), registers,
    the memory limiter and the ``break``/``continue`` flags."""

    __slots__ = ("env", "scope", "env_writes", "memory", "registers", "stop")

    def __init__(self, env: Any) -> None:
        self.env = env
        self.scope: dict[str, Any] = {}
        self.env_writes: dict[str, Any] = {}  # increment/decrement write into the event in liquidjs
        self.memory = Memory()
        self.registers: dict[str, Any] = {}
        self.stop = False

    def find_scope(self, key: Any) -> Any:
        k = key if type(key) is str else js_string(key)
        if k in self.scope:
            return self.scope
        if k in self.env_writes:
            return self.env_writes
        if type(self.env) is dict and k in self.env:
            return self.env
        return {}

    def env_get(self, key: str) -> Any:
        if key in self.env_writes:
            return self.env_writes[key]
        if type(self.env) is dict:
            return self.env.get(key, UNDEFINED)
        return UNDEFINED

    def get_path(self, item: Any, path: str) -> Any:
        """``Context._getFromScope(item, path)``: ``path`` split on dots, read from ``item``."""
        obj = item
        for k in path.split("."):
            obj = _read_property(obj, k)
        return obj


Renderer = Callable[[_Ctx, list], None]


def _render_all(nodes: tuple, ctx: _Ctx, out: list) -> None:
    """liquidjs ``renderTemplates``: stop after a ``break``/``continue`` has been rendered."""
    for node in nodes:
        node(ctx, out)
        if ctx.stop:
            return


def _where(ctx: _Ctx, v: Any, args: list) -> list:
    """liquidjs ``where(arr, property, expected)``: ``property`` is read as a variable path of
    each item (``a.b``, ``a[0]``); without ``expected`` an item is kept when the value is truthy."""
    array = to_array(v)
    ctx.memory.use(len(array))
    prop = stringify(args[0]) if args else ""
    expected = args[1] if len(args) > 1 else UNDEFINED
    reader = _Reader(prop, 0, len(prop), prop, 0)
    reader.blank()
    path = reader._props(True)
    result = []
    for item in array:
        value: Any = UNDEFINED
        if path:
            sub = _Ctx(item if type(item) is dict else {})
            sub.memory = ctx.memory
            if type(item) is not dict:
                keys = [to_value(p(sub)) for p in path]
                value = item if False else UNDEFINED
                obj: Any = UNDEFINED
                if type(item) in (list, str) and keys and keys[0] in ("length", "size", "first", "last") or (type(item) in (list, str) and type(keys[0]) is str and is_array_index(keys[0])):
                    obj = item
                    for k in keys:
                        obj = _read_property(obj, k)
                value = obj
            else:
                value = _prop_access(None, path)(sub)
        keep = _truthy(value) if expected is UNDEFINED else _equals(value, expected)
        if keep:
            result.append(item)
    return result


FILTERS["where"] = _where  # type: ignore[assignment]


def _output_value(v: Any) -> str:
    return stringify(to_value(v))


class _Parser:
    def __init__(self, src: str, toks: list[_Tok]) -> None:
        self.src, self.toks, self.i = src, toks, 0
        self.unknown: list[str] = []

    def reader(self, tok: _Tok) -> _Reader:
        if tok.kind == "output":  # the content range excludes blanks at both ends
            start = tok.args_at + len(tok.content) - len(tok.content.lstrip(_BLANK))
            end = max(start, tok.args_at + len(tok.content.rstrip(_BLANK)))
            return _Reader(self.src, start, end, self.src, tok.begin, self)
        return _Reader(self.src, tok.args_at, max(tok.args_at, tok.args_end), self.src, tok.begin, self)

    def err(self, msg: str, tok: _Tok) -> LiquidError:
        return LiquidError(msg, self.src, tok.begin)

    def next_token(self) -> _Tok | None:
        if self.i < len(self.toks):
            tok = self.toks[self.i]
            self.i += 1
            return tok
        return None

    def parse_token(self, tok: _Tok) -> Renderer | None:
        if tok.kind == "html":
            text = tok.content
            return (lambda ctx, out, t=text: out.append(t)) if text else None
        if tok.kind == "output":
            return self._output(self.reader(tok).filtered_value(), tok)
        return self.tag(tok)

    def parse_all(self) -> list[Renderer]:
        nodes: list[Renderer] = []
        while (tok := self.next_token()) is not None:
            node = self.parse_token(tok)
            if node is not None:
                nodes.append(node)
        return nodes

    def _guard(self, tok: _Tok, fn: Callable[[_Ctx], Any]) -> Callable[[_Ctx], Any]:
        src = self.src

        def run(ctx: _Ctx) -> Any:
            try:
                return fn(ctx)
            except LiquidFailure as e:
                raise LiquidError(str(e), src, tok.begin) from None

        return run

    def _output(self, value: Evaluator, tok: _Tok) -> Renderer:
        guarded = self._guard(tok, value)

        def render(ctx: _Ctx, out: list) -> None:
            out.append(_output_value(guarded(ctx)))

        return render

    def tag(self, tok: _Tok) -> Renderer | None:
        name = tok.name
        if name in DISABLED_TAGS:
            raise self.err(f'tag "{name}" is disabled', tok)
        handler = getattr(self, f"_tag_{name}", None) if name != "#" else self._tag_comment_inline
        if handler is None or name not in TAGS:
            raise self.err(f'tag "{name}" not found', tok)
        return handler(tok)

    def not_closed(self, tok: _Tok) -> LiquidError:
        return self.err(f"tag {self.src[tok.begin:tok.end]} not closed", tok)

    def body_until(self, tok: _Tok, end: str) -> tuple:
        nodes: list[Renderer] = []
        while (t := self.next_token()) is not None:
            if t.kind == "tag" and t.name == end:
                return tuple(nodes)
            node = self.parse_token(t)
            if node is not None:
                nodes.append(node)
        raise self.not_closed(tok)

    def _tag_comment_inline(self, tok: _Tok) -> Renderer | None:
        import re

        if re.search(r"\n[" + "".join("\\u%04x" % ord(c) for c in _JS_WS) + r"]*[^#" + "".join("\\u%04x" % ord(c) for c in _JS_WS) + "]", tok.args):
            raise self.err("every line of an inline comment must start with a '#' character", tok)
        return None

    def _tag_assign(self, tok: _Tok) -> Renderer:
        r = self.reader(tok)
        key = r.ident()
        if not key:
            raise r.error("expected variable name")
        r.blank()
        if r.peek() != "=":
            raise r.error('expected "="')
        r.p += 1
        value = self._guard(tok, r.filtered_value())

        def render(ctx: _Ctx, out: list) -> None:
            ctx.scope[key] = value(ctx)

        return render

    def _tag_echo(self, tok: _Tok) -> Renderer | None:
        r = self.reader(tok)
        r.blank()
        if r.end():
            return None
        return self._output(r.filtered_value(), tok)

    def _tag_capture(self, tok: _Tok) -> Renderer:
        r = self.reader(tok)
        key = r.ident()
        if not key:
            r.blank()
            q = r._quoted()
            if q is None:
                raise r.error("invalid capture name")
            key = q(None)  # type: ignore[arg-type]
        body = self.body_until(tok, "endcapture")

        def render(ctx: _Ctx, out: list) -> None:
            buf: list[str] = []
            _render_all(body, ctx, buf)
            ctx.scope[key] = "".join(buf)

        return render

    def _tag_comment(self, tok: _Tok) -> Renderer | None:
        while (t := self.next_token()) is not None:
            if t.kind == "tag" and t.name == "endcomment":
                return None
        raise self.not_closed(tok)

    def _tag_raw(self, tok: _Tok) -> Renderer:
        texts: list[str] = []
        while (t := self.next_token()) is not None:
            if t.kind == "tag" and t.name == "endraw":
                text = "".join(texts)
                return lambda ctx, out: out.append(text)
            texts.append(t.content if t.kind == "html" else self.src[t.begin : t.end])
        raise self.not_closed(tok)

    def _tag_block(self, tok: _Tok) -> Renderer:
        body = self.body_until(tok, "endblock")
        return lambda ctx, out: _render_all(body, ctx, out)

    def _tag_break(self, tok: _Tok) -> Renderer:
        def render(ctx: _Ctx, out: list) -> None:
            ctx.stop = True

        return render

    _tag_continue = _tag_break

    def _counter(self, tok: _Tok, step: int) -> Renderer:
        key = self.reader(tok).ident()

        def render(ctx: _Ctx, out: list) -> None:
            val = ctx.env_get(key)
            if type(val) is not int and type(val) is not float:
                val = 0
            after = js_num(float(val) + step)  # a double: 2**53 + 1 is 2**53
            ctx.env_writes[key] = after
            out.append(stringify(val if step > 0 else after))

        return render

    def _tag_increment(self, tok: _Tok) -> Renderer:
        return self._counter(tok, 1)

    def _tag_decrement(self, tok: _Tok) -> Renderer:
        return self._counter(tok, -1)

    def _tag_cycle(self, tok: _Tok) -> Renderer:
        r = self.reader(tok)
        begin = r.p
        group: Evaluator | None = None
        first = r.value()
        r.blank()
        if first is not None:
            if r.peek() == ":":
                group = first
                r.p += 1
            else:
                r.p = begin
        candidates: list[tuple[str, Evaluator]] = []
        while not r.end():
            start = r.p
            r.blank()
            start = r.p
            value = r.filtered_value()
            candidates.append((self.src[start : r.p], self._guard(tok, value)))
            idx = self.src.find(",", r.p, r.n)
            r.p = r.n if idx < 0 else idx + 1
        if not candidates:
            raise r.error(f"empty candidates: {json_quote(self.src[tok.begin:tok.end])}")
        texts = ",".join(t for t, _ in candidates)
        group_eval = self._guard(tok, group) if group is not None else None

        def render(ctx: _Ctx, out: list) -> None:
            g = group_eval(ctx) if group_eval is not None else UNDEFINED
            fingerprint = f"cycle:{js_string(g)}:{texts}"
            groups = ctx.registers.setdefault("cycle", {})
            idx = groups.get(fingerprint, 0)
            groups[fingerprint] = (idx + 1) % len(candidates)
            value = to_value(candidates[idx][1](ctx))
            if truthy(value):  # renderTemplates writes a tag's returned value only when truthy
                out.append(stringify(value))

        return render

    def _tag_liquid(self, tok: _Tok) -> Renderer:
        lines: list[_Tok] = []
        p, end = tok.args_at, max(tok.args_at, tok.args_end)
        src = self.src
        while p < end:
            while p < end and src[p] in _BLANK:
                p += 1
            if p >= end:
                break
            begin = p
            nl = src.find("\n", p, end)
            stop = end if nl < 0 else nl
            p = stop
            line = _Tok("tag", begin, stop, src[begin:stop])
            body = src[begin:stop]
            j = 0
            if body.startswith("#"):
                line.name, j = "#", 1
            else:
                while j < len(body) and _is_word(body[j]):
                    j += 1
                line.name = body[:j]
            if not line.name:
                raise LiquidError("illegal liquid tag syntax", src, begin)
            k = j
            while k < len(body) and body[k] in _BLANK:
                k += 1
            line.args = body[k:].rstrip(_BLANK)
            line.args_at = begin + k
            line.args_end = begin + len(body.rstrip(_BLANK))
            lines.append(line)
        sub = _Parser(src, lines)
        sub.unknown = self.unknown
        body_nodes = tuple(sub.parse_all())
        return lambda ctx, out: _render_all(body_nodes, ctx, out)

    def _branches(self, tok: _Tok, end: str, unless: bool) -> Renderer:
        r = self.reader(tok)
        first = self._guard(tok, r.filtered_value())
        branches: list[tuple[Callable[[_Ctx], Any], bool, list]] = [(first, unless, [])]
        else_nodes: list | None = None
        else_count = 0
        current = branches[0][2]
        while True:
            t = self.next_token()
            if t is None:
                raise self.not_closed(tok)
            if t.kind == "tag" and t.name == end:
                if not unless:
                    self._assert_empty(t, tok)
                break
            if t.kind == "tag" and t.name == "elsif":
                if unless:
                    if else_count > 0:
                        current = []
                        continue
                elif else_nodes is not None:
                    raise self.err("unexpected elsif after else", tok)
                cond = self._guard(t, self.reader(t).filtered_value())
                branches.append((cond, False, []))
                current = branches[-1][2]
                continue
            if t.kind == "tag" and t.name == "else":
                if unless:
                    else_count += 1
                    if else_nodes is None:
                        else_nodes = []
                    current = else_nodes
                    continue
                self._assert_empty(t, tok)
                if else_nodes is not None:
                    raise self.err("duplicated else", tok)
                else_nodes = []
                current = else_nodes
                continue
            node = self.parse_token(t)
            if node is not None and (not unless or current is not else_nodes or else_count == 1):
                current.append(node)
        compiled = tuple((c, neg, tuple(nodes)) for c, neg, nodes in branches)
        otherwise = tuple(else_nodes or ())

        def render(ctx: _Ctx, out: list) -> None:
            for cond, neg, nodes in compiled:
                v = to_value(cond(ctx))
                if liquid_falsy(v) if neg else not liquid_falsy(v):
                    _render_all(nodes, ctx, out)
                    return
            _render_all(otherwise, ctx, out)

        return render

    def _assert_empty(self, t: _Tok, opener: _Tok) -> None:
        """liquidjs ``assertEmpty(tag.args)`` (raised while the opening tag parses: its position)."""
        if t.args:
            raise self.err(f"unexpected {json_quote(t.args)}", opener)

    def _tag_if(self, tok: _Tok) -> Renderer:
        return self._branches(tok, "endif", False)

    def _tag_unless(self, tok: _Tok) -> Renderer:
        return self._branches(tok, "endunless", True)


from ...js import JS_WHITESPACE as _JS_WS  # noqa: E402

_SURROGATE = re.compile("[\ud800-\udfff]")


class CompiledLiquid:
    """A parsed template: call it with the event to render it (``str``), or raise
    :class:`LiquidError` worded as liquidjs words it. ``unknown_filters`` lists the filter
    names liquidjs does not have (they pass their input through)."""

    __slots__ = ("_body", "_text", "unknown_filters")

    def __init__(self, body: tuple, text: str | None, unknown: list[str]) -> None:
        self._body = body
        self._text = text
        self.unknown_filters = list(dict.fromkeys(unknown))

    def __call__(self, event: Any) -> str:
        if self._text is not None:
            return self._text
        ctx = _Ctx(event)
        out: list[str] = []
        try:
            _render_all(self._body, ctx, out)
        except LiquidError:
            raise
        except RecursionError:
            raise LiquidError("Maximum call stack size exceeded", located=False) from None
        except Exception as exc:  # noqa: BLE001
            # A defect of this port, not of the event: fail the event (dead letter with the
            # reason) rather than the process. The differential and fuzz tests keep this unused.
            raise LiquidError(f"internal error in the Liquid port: {type(exc).__name__}: {exc}", located=False) from exc
        text = "".join(out)
        if not text.isascii() and _SURROGATE.search(text) is not None:
            # JavaScript strings are UTF-16: halves of a character split apart (``split: ''``)
            # and joined again are that character again.
            text = from_units(text)
        return text


def compile_liquid(template: str) -> CompiledLiquid:
    """Parse ``template`` now (raising :class:`LiquidError`); return ``event -> str``."""
    toks = _tokenize(template)
    parser = _Parser(template, toks)
    nodes = parser.parse_all()
    if len(toks) == 1 and toks[0].kind == "html":
        return CompiledLiquid((), toks[0].content, [])
    return CompiledLiquid(tuple(nodes), None, parser.unknown)


def unknown_filters(template: str) -> list[str]:
    """Filters ``template`` uses that liquidjs 10.30.1 does not have, in order of use, without
    repeats. liquidjs (``strictFilters`` off, as actions-core runs it) passes the value through
    such a filter unchanged, so the template works but most likely not as its author meant (a
    typo such as ``upcse``). A template that does not compile gives the names found before the
    error (:func:`compile_liquid` refuses it anyway)."""
    parser = _Parser(template, [])
    try:
        parser.toks = _tokenize(template)
        parser.parse_all()
    except LiquidError:
        pass
    return list(dict.fromkeys(parser.unknown))


__all__ = ["compile_liquid", "unknown_filters", "CompiledLiquid", "LiquidError", "js_keys", "TAGS", "DISABLED_TAGS"]
