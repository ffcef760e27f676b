"""A Liquid engine with liquidjs 10.30.1 semantics, configured as actions-core configures it.

Scope: what a Segment ``@liquid`` field can do. Output (``{{ value | filter: arg }}``), the
tags ``if``/``elsif``/``else``/``unless``/``assign``/``capture``/``comment``/``raw``/``echo``/
``increment``/``decrement``/``#``, whitespace control (``{{-``/``-%}}``), and the filters in
:mod:`.filters`. ``case``, ``for``, ``include``, ``layout``, ``render`` and ``tablerow`` are
disabled by actions-core (``tag "for" is disabled``); any other tag is ``not found``.
Templates are parsed once (parse errors are config errors); rendering walks the parsed tree.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from ...js import UNDEFINED, to_number
from ..jsvalue import js_keys
from .errors import LiquidError, LiquidFailure
from .filters import apply_filter, is_nil, known_filter, stringify, unsupported_filter

DISABLED_TAGS = frozenset(["case", "for", "include", "layout", "render", "tablerow"])
_BLANK = " \t\n\r\x0b\x0c\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _is_word(c: str) -> bool:
    if not c:
        return False
    o = ord(c)
    if o >= 128:
        return c not in _BLANK and c not in "\u201c\u201d"
    return c.isalnum() or c in "_-?"


def _ellipsis(s: str, n: int = 32) -> str:
    return s[: n - 3] + "..." if len(s) > n else s


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
                raise LiquidError(f"tag {json.dumps(_ellipsis(src[begin:]), ensure_ascii=False)} not closed", src, begin)
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
                raise LiquidError(f"output {json.dumps(_ellipsis(src[begin:]), ensure_ascii=False)} not closed", src, begin)
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
    import re

    m = re.compile(r"\{%-?\s*endraw\s*-?%\}").search(src, p)
    if m is None:
        raise LiquidError(f"raw {json.dumps(_ellipsis(src[raw_begin:]), ensure_ascii=False)} not closed", src, p)
    if m.start() > p:
        toks.append(_Tok("html", p, m.start(), src[p : m.start()]))
    inner = m.group(0)
    t = _Tok("tag", m.start(), m.end(), "endraw", inner.startswith("{%-"), inner.endswith("-%}"))
    t.name = "endraw"
    toks.append(t)
    return m.end()


def _whitespace_control(toks: list[_Tok]) -> None:
    for i, t in enumerate(toks):
        if t.kind == "html":
            continue
        if t.trim_left and i > 0 and toks[i - 1].kind == "html":
            toks[i - 1].content = toks[i - 1].content.rstrip(_BLANK)
        if t.trim_right and i + 1 < len(toks) and toks[i + 1].kind == "html":
            toks[i + 1].content = toks[i + 1].content.lstrip(_BLANK)


# --- expressions -------------------------------------------------------------------------------

Evaluator = Callable[["_Ctx"], Any]
_LITERALS = {"true": True, "false": False, "nil": None, "null": None, "empty": "__empty__", "blank": "__blank__"}
_OPERATORS = ("==", "!=", "<>", "<=", ">=", "<", ">")
_PRECEDENCE = {"==": 2, "!=": 2, "<>": 2, "<": 2, ">": 2, "<=": 2, ">=": 2, "contains": 2, "not": 1, "and": 0, "or": 0}


class _Empty:
    """The ``empty`` / ``blank`` literals (compare specially)."""

    def __init__(self, blank: bool) -> None:
        self.blank = blank


_EMPTY, _BLANK_LIT = _Empty(False), _Empty(True)


class _Reader:
    def __init__(self, src: str, p: int, end: int, full: str, base: int, unknown: list[str] | None = None) -> None:
        self.s, self.p, self.n, self.full = src, p, end, full
        self.base = base
        #: names of filters liquidjs does not know (they pass their input through), for warnings
        self.unknown = unknown if unknown is not None else []

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
            if self.s.startswith(word, self.p) and not _is_word(self.peek(len(word))):
                self.p += len(word)
                lit = _LITERALS[word]
                val = _EMPTY if lit == "__empty__" else _BLANK_LIT if lit == "__blank__" else lit
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
            raise self.error(f"unexpected token {json.dumps(_ellipsis(self.s[self.p:self.n]))}, value expected")
        self.blank()
        if self.peek() == "." and self.peek(1) == ".":
            self.p += 2
            hi = self.value()
            if hi is None:
                raise self.error(f"unexpected token {json.dumps(_ellipsis(self.s[self.p:self.n]))}, value expected")
            self.blank()
            ok = self.peek() == ")"
            self.p += 1
            if not ok:
                raise self.error("invalid range syntax")

            def rng(ctx: _Ctx) -> Any:
                a, b = to_number(lo(ctx)), to_number(hi(ctx))
                if a != a or b != b:
                    return []
                return list(range(int(a), int(b) + 1))

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
            if self.s.startswith(op, self.p):
                self.p += len(op)
                return op
        for word in ("contains", "and", "or", "not"):
            if self.s.startswith(word, self.p) and not _is_word(self.peek(len(word))):
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
            raise self.error(f"invalid value expression: {json.dumps(_ellipsis(self.s[self.p:self.n]), ensure_ascii=False)}")
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
            if unsupported_filter(name):
                raise self.error(f'filter "{name}" is not supported by voucherify-processor yet')
            if not known_filter(name):
                self.unknown.append(name)
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
                            kname = self.s[save : self.p - 1].strip()
                            val = self.value()
                            args.append((kname, val or (lambda ctx: UNDEFINED)))
                        else:
                            args.append((None, key))
                    self.blank()
                    if not (self.end() or self.peek() in ",|)"):
                        raise self.error(f"unexpected character {json.dumps(_ellipsis(self.s[self.p:self.n]))}")
                    if self.peek() != ",":
                        break
            elif not (self.end() or self.peek() in "|),"):
                raise self.error('expected ":" after filter name')
            filters.append((name, args))
            self.blank()
        if not self.end() and self.peek() not in "),":
            self.p += 1
            raise self.error('expected "|" before filter')
        init = initial or (lambda ctx: UNDEFINED)
        if not filters:
            return init

        def run(ctx: _Ctx) -> Any:
            v = init(ctx)
            for name, args in filters:
                argv = [(k, f(ctx)) if k is not None else f(ctx) for k, f in args]
                v = apply_filter(name, v, argv)
            return v

        return run


def _unescape(raw: str) -> str:
    out, i = [], 0
    simple = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}
    while i < len(raw):
        c = raw[i]
        if c == "\\" and i + 1 < len(raw):
            d = raw[i + 1]
            if d == "u" and i + 5 < len(raw) + 0 and all(ch in "0123456789abcdefABCDEF" for ch in raw[i + 2 : i + 6]) and len(raw[i + 2 : i + 6]) == 4:
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
        keys = [p(ctx) for p in props]
        if variable is not None:
            obj = variable(ctx)
        else:
            first = keys[0]
            obj = ctx.find_scope(first)
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
        return key.isdigit() and (key == "0" or key[0] != "0") and int(key) < len(obj)
    return False


def _read_property(obj: Any, key: Any) -> Any:
    if is_nil(obj):
        return obj
    if type(obj) is list and type(key) in (int, float) and type(key) is not bool:
        i = int(key) if float(key).is_integer() else None
        if i is None:
            return UNDEFINED
        if i < 0:
            i += len(obj)
        return obj[i] if 0 <= i < len(obj) else UNDEFINED
    skey = stringify(key) if type(key) is not str else key
    value = UNDEFINED
    if _has_own(obj, skey):
        if type(obj) is dict:
            value = obj[skey]
        elif skey == "length":
            value = len(obj)
        else:
            value = obj[int(skey)]
    if skey == "size":
        if type(obj) is dict and "size" in obj:
            return obj["size"]
        if type(obj) in (list, str):
            return len(obj)
        if type(obj) is dict:
            return len(obj)
        return UNDEFINED
    if skey == "first":
        if type(obj) is list:
            return obj[0] if obj else UNDEFINED
        return obj.get("first", UNDEFINED) if type(obj) is dict else UNDEFINED
    if skey == "last":
        if type(obj) is list:
            return obj[-1] if obj else UNDEFINED
        return obj.get("last", UNDEFINED) if type(obj) is dict else UNDEFINED
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
                    stack.append(not _truthy(r))
                    continue
                l = stack.pop() if stack else UNDEFINED
                stack.append(_binary(op, l, r))
            else:
                stack.append(t(ctx))
        return stack[0] if stack else UNDEFINED

    if len(postfix) == 1:
        return postfix[0]
    return evaluate


def _truthy(v: Any) -> bool:
    return not (v is False or is_nil(v))


def _is_empty(v: Any, blank: bool) -> bool:
    if blank:
        if v is False or is_nil(v):
            return True
        if type(v) is str:
            return v.strip(_BLANK) == ""
    if type(v) in (str, list, dict):
        return len(v) == 0
    return False


def _equals(l: Any, r: Any) -> bool:
    if isinstance(l, _Empty):
        return _is_empty(r, l.blank)
    if isinstance(r, _Empty):
        return _is_empty(l, r.blank)
    if is_nil(l) and is_nil(r):
        return True
    if type(l) is list and type(r) is list:
        return len(l) == len(r) and all(_equals(a, b) for a, b in zip(l, r))
    if type(l) is bool or type(r) is bool:
        return l is r
    if isinstance(l, (int, float)) and isinstance(r, (int, float)):
        return l == r
    return type(l) is type(r) and l == r if type(l) in (str,) else l is r


def _compare(op: str, l: Any, r: Any) -> bool:
    if isinstance(l, _Empty) or isinstance(r, _Empty) or is_nil(l) or is_nil(r):
        return False
    if type(l) is str and type(r) is str:
        a, b = l, r
    else:
        a, b = to_number(l), to_number(r)
        if a != a or b != b:
            return False
    return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]


def _binary(op: str, l: Any, r: Any) -> Any:
    if op == "==":
        return _equals(l, r)
    if op in ("!=", "<>"):
        return not _equals(l, r)
    if op == "contains":
        if type(l) is str:
            return stringify(r) in l if not is_nil(r) else False
        if type(l) is list:
            return any(_equals(x, r) for x in l)
        if type(l) is dict:
            return type(r) is str and r in l
        return False
    if op == "and":
        return _truthy(l) and _truthy(r)
    if op == "or":
        return _truthy(l) or _truthy(r)
    return _compare(op, l, r)


# --- templates ---------------------------------------------------------------------------------


class _Ctx:
    __slots__ = ("env", "scope", "counters")

    def __init__(self, env: Any) -> None:
        self.env = env
        self.scope: dict[str, Any] = {}
        self.counters: dict[str, int] = {}

    def find_scope(self, key: Any) -> Any:
        k = key if type(key) is str else stringify(key)
        if k in self.scope:
            return self.scope
        if type(self.env) is dict and k in self.env:
            return self.env
        return {}


Renderer = Callable[[_Ctx, list], None]


def _output_value(v: Any) -> str:
    if isinstance(v, _Empty):
        return ""
    return stringify(v)


class _Parser:
    def __init__(self, src: str, toks: list[_Tok]) -> None:
        self.src, self.toks, self.i = src, toks, 0
        self.unknown_filters: list[str] = []

    def reader(self, tok: _Tok) -> _Reader:
        if tok.kind == "output":
            return _Reader(self.src, tok.args_at, tok.args_at + len(tok.content), self.src, tok.begin, self.unknown_filters)
        return _Reader(self.src, tok.args_at, max(tok.args_at, tok.args_end), self.src, tok.begin, self.unknown_filters)

    def err(self, msg: str, tok: _Tok) -> LiquidError:
        return LiquidError(msg, self.src, tok.begin)

    def parse_until(self, stops: tuple[str, ...], opener: _Tok | None) -> tuple[list[Renderer], _Tok | None]:
        nodes: list[Renderer] = []
        while self.i < len(self.toks):
            tok = self.toks[self.i]
            self.i += 1
            if tok.kind == "html":
                text = tok.content
                if text:
                    nodes.append(lambda ctx, out, t=text: out.append(t))
            elif tok.kind == "output":
                value = self.reader(tok).filtered_value()
                nodes.append(self._output(value, tok))
            else:
                if tok.name in stops:
                    return nodes, tok
                nodes.append(self.tag(tok))
        if opener is not None:
            raise self.err(f"tag {self.src[opener.begin:opener.end]} not closed", opener)
        return nodes, None

    def _output(self, value: Evaluator, tok: _Tok) -> Renderer:
        src = self.src

        def render(ctx: _Ctx, out: list) -> None:
            try:
                out.append(_output_value(value(ctx)))
            except LiquidFailure as e:
                raise LiquidError(str(e), src, tok.begin) from None

        return render

    def tag(self, tok: _Tok) -> Renderer:
        name = tok.name
        if name in DISABLED_TAGS:
            raise self.err(f'tag "{name}" is disabled', tok)
        handler = getattr(self, f"_tag_{name}", None) if name != "#" else self._tag_comment_inline
        if handler is None:
            raise self.err(f'tag "{name}" not found', tok)
        return handler(tok)

    def _tag_comment_inline(self, tok: _Tok) -> Renderer:
        return lambda ctx, out: None

    def _tag_assign(self, tok: _Tok) -> Renderer:
        r = self.reader(tok)
        key = r.ident()
        if not key:
            raise r.error("expected variable name")
        r.blank()
        if r.peek() != "=":
            raise r.error('expected "="')
        r.p += 1
        value = r.filtered_value()
        src = self.src

        def render(ctx: _Ctx, out: list) -> None:
            try:
                ctx.scope[key] = value(ctx)
            except LiquidFailure as e:
                raise LiquidError(str(e), src, tok.begin) from None

        return render

    def _tag_echo(self, tok: _Tok) -> Renderer:
        r = self.reader(tok)
        r.blank()
        value = r.filtered_value() if not r.end() else (lambda ctx: UNDEFINED)
        return self._output(value, tok)

    def _tag_capture(self, tok: _Tok) -> Renderer:
        r = self.reader(tok)
        r.blank()
        q = r._quoted()
        key = q(None) if q else r.ident()
        if not key:
            raise self.err(f"{tok.args} not valid identifier", tok)
        body, _ = self.parse_until(("endcapture",), tok)

        def render(ctx: _Ctx, out: list) -> None:
            buf: list[str] = []
            for node in body:
                node(ctx, buf)
            ctx.scope[key] = "".join(buf)

        return render

    def _tag_comment(self, tok: _Tok) -> Renderer:
        depth = 1
        while self.i < len(self.toks):
            t = self.toks[self.i]
            self.i += 1
            if t.kind == "tag" and t.name == "comment":
                depth += 1
            elif t.kind == "tag" and t.name == "endcomment":
                depth -= 1
                if depth == 0:
                    return lambda ctx, out: None
        raise self.err(f"tag {self.src[tok.begin:tok.end]} not closed", tok)

    def _tag_raw(self, tok: _Tok) -> Renderer:
        texts: list[str] = []
        while self.i < len(self.toks):
            t = self.toks[self.i]
            self.i += 1
            if t.kind == "tag" and t.name == "endraw":
                text = "".join(texts)
                return lambda ctx, out: out.append(text)
            texts.append(t.content if t.kind == "html" else self.src[t.begin : t.end])
        raise self.err(f"tag {self.src[tok.begin:tok.end]} not closed", tok)

    def _counter(self, tok: _Tok, step: int) -> Renderer:
        key = self.reader(tok).ident()

        def render(ctx: _Ctx, out: list) -> None:
            val = ctx.counters.get(key, 0)
            if step > 0:
                ctx.counters[key] = val + 1
                out.append(stringify(val))
            else:
                val -= 1
                ctx.counters[key] = val
                out.append(stringify(val))

        return render

    def _tag_increment(self, tok: _Tok) -> Renderer:
        return self._counter(tok, 1)

    def _tag_decrement(self, tok: _Tok) -> Renderer:
        return self._counter(tok, -1)

    def _conditional(self, tok: _Tok, negate_first: bool) -> Renderer:
        end = "endunless" if negate_first else "endif"
        branches: list[tuple[Evaluator | None, list[Renderer], bool]] = []
        cond = self.reader(tok).expression()
        current_tok = tok
        negate = negate_first
        while True:
            body, stop = self.parse_until(("elsif", "else", end), tok)
            branches.append((cond, body, negate))
            assert stop is not None
            if stop.name == end:
                break
            if stop.name == "elsif":
                cond = self.reader(stop).expression()
                negate = False
            else:
                cond = None
                negate = False
                body, stop = self.parse_until((end, "else", "elsif"), tok)
                # liquidjs ignores branches after else
                branches.append((None, body, False))
                while stop is not None and stop.name != end:
                    _, stop = self.parse_until((end, "else", "elsif"), tok)
                break
            current_tok = stop
        src = self.src

        def render(ctx: _Ctx, out: list) -> None:
            for c, body, neg in branches:
                if c is not None:
                    try:
                        v = c(ctx)
                    except LiquidFailure as e:
                        raise LiquidError(str(e), src, tok.begin) from None
                    ok = _truthy(v) != neg if not isinstance(v, _Empty) else not neg
                    if not ok:
                        continue
                for node in body:
                    node(ctx, out)
                return

        return render

    def _tag_if(self, tok: _Tok) -> Renderer:
        return self._conditional(tok, False)

    def _tag_unless(self, tok: _Tok) -> Renderer:
        return self._conditional(tok, True)


def compile_liquid(template: str) -> Callable[[Any], str]:
    """Parse ``template`` now (raising :class:`LiquidError`); return ``event -> str``."""
    toks = _tokenize(template)
    parser = _Parser(template, toks)
    nodes, _ = parser.parse_until((), None)
    if len(nodes) == 1 and toks and toks[0].kind == "html" and len(toks) == 1:
        text = toks[0].content
        return lambda event: text
    body = tuple(nodes)

    def render(event: Any) -> str:
        ctx = _Ctx(event)
        out: list[str] = []
        for node in body:
            node(ctx, out)
        return "".join(out)

    return render


def unknown_filters(template: str) -> list[str]:
    """Filters ``template`` uses that liquidjs does not know, in order of use, without repeats.

    liquidjs (``strictFilters`` off, as actions-core runs it) passes the value through such a
    filter unchanged, so the template works but most likely not as its author meant (a typo
    such as ``upcse``). Raises :class:`LiquidError` like :func:`compile_liquid`.
    """
    parser = _Parser(template, _tokenize(template))
    parser.parse_until((), None)
    return list(dict.fromkeys(parser.unknown_filters))


__all__ = ["compile_liquid", "unknown_filters", "LiquidError", "js_keys"]
