"""``@template``: actions-core ``placeholders.render`` (mustache-like, no escaping).

Two regex passes, exactly as upstream: ``{{{path}}}`` first, then ``{{path}}`` over the
*result*, so a value inserted by the first pass can itself be expanded by the second.
Values are inserted with JavaScript ``String()`` (``null``/``undefined`` become ``""``).
The template is split at compile time; the regexes only run per event when a triple-brace
substitution could have produced new placeholders.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..js import UNDEFINED, js_trim, to_string
from .paths import compile_get

_TRIPLE = re.compile(r"\{\{\{([^}]+)\}\}\}")
_DOUBLE = re.compile(r"\{\{([^}]+)\}\}")

Piece = str | Callable[[Any], Any]


def _lookup(inner: str) -> Callable[[Any], str]:
    getter = compile_get(js_trim(inner))

    def value(data: Any) -> str:
        v = getter(data)
        if v is None or v is UNDEFINED:
            return ""
        return v if type(v) is str else to_string(v)

    return value


def _split(template: str, pattern: re.Pattern[str]) -> list[Piece]:
    pieces: list[Piece] = []
    pos = 0
    for m in pattern.finditer(template):
        if m.start() > pos:
            pieces.append(template[pos : m.start()])
        pieces.append(_lookup(m.group(1)))
        pos = m.end()
    if pos < len(template):
        pieces.append(template[pos:])
    return pieces


def _render_regex(text: str, pattern: re.Pattern[str], data: Any) -> str:
    return pattern.sub(lambda m: _lookup(m.group(1))(data), text)


def compile_template(template: str) -> Callable[[Any], str]:
    """A function ``data -> str`` equivalent to ``render(template, data)``."""
    if _TRIPLE.search(template) is None:
        pieces = _split(template, _DOUBLE)
        if not pieces:
            return lambda data: ""
        if len(pieces) == 1 and type(pieces[0]) is str:
            text = pieces[0]
            return lambda data: text
        parts = tuple(pieces)

        def render(data: Any) -> str:
            return "".join(p if type(p) is str else p(data) for p in parts)

        return render

    first = tuple(_split(template, _TRIPLE))

    def render_triple(data: Any) -> str:
        text = "".join(p if type(p) is str else p(data) for p in first)
        return _render_regex(text, _DOUBLE, data)

    return render_triple
