"""A compiled mapping as one Python function: the node closures' work written out as source.

Why: resolving a mapping through its closures costs a Python call per node and per path step
(a preset's mapping is 10-15 of them per event: ~4.5 of the ~12 µs of Segment semantics per
event, ``bench/semantics.py``; generated: ~3). Most nodes of real mappings are plain objects, constants, ``@path``
with plain keys and ``@if``; for those, :func:`generate` writes the same steps as straight-line
code in one function (object keys in order, dict lookups inline), and every other node is
called through its closure as before. The closures stay the definition: the generated code is
their exact unrolling (``tests/segment/test_mapping_codegen.py`` compares the two on every
conformance mapping and on generated events), and a node that does not know how to write itself
out is simply called.

A node writes itself out through its ``emit`` attribute (set where the node is built:
:mod:`.compiler`, :mod:`.nodes`, :mod:`.directives`)::

    emit(gen, p, mode) -> str

``p`` is the name of the variable holding the payload, ``mode`` is ``"final"`` (the node's
``final``: the value as it appears in the payload) or ``"fn"`` (its ``fn``: the resolved value,
which may hold ``undefined`` inside containers or a JavaScript function); it writes statements
with :meth:`Gen.line` and returns a name holding the value. A node may return
:meth:`Gen.call` of its own closure for a mode it does not write out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..js import UNDEFINED, JsBuiltin

__all__ = ["Gen", "generate"]


class Gen:
    """The function being written: its lines, and the objects its names refer to."""

    __slots__ = ("lines", "namespace", "objects", "_count", "_depth")

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"UNDEFINED": UNDEFINED, "JsBuiltin": JsBuiltin}
        #: names known to hold a dict (the payload; objects the function builds): no type check
        #: for them, never undefined
        self.objects: set[str] = set()
        self._count = 0
        self._depth = 1

    def var(self) -> str:
        """A fresh local variable name."""
        self._count += 1
        return f"v{self._count}"

    def ref(self, obj: Any) -> str:
        """A global name bound to ``obj`` (a closure, a constant value, a key)."""
        self._count += 1
        name = f"g{self._count}"
        self.namespace[name] = obj
        return name

    def line(self, text: str) -> None:
        self.lines.append("    " * self._depth + text)

    @contextmanager
    def indented(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1

    def call(self, fn: Callable[[Any], Any], p: str) -> str:
        """``fn(p)`` into a fresh variable: how a node that is not written out is resolved."""
        v = self.var()
        self.line(f"{v} = {self.ref(fn)}({p})")
        return v

    def value(self, node: Any, p: str, mode: str) -> str:
        """The name holding ``node``'s value in ``mode`` (written out, or its closure called)."""
        if node.emit is not None:
            return node.emit(self, p, mode)
        return self.call(node.final if mode == "final" else node.fn, p)


def generate(node: Any) -> Callable[[Any], Any] | None:
    """``node.final`` as one generated function, for a payload that is a ``dict`` (what
    ``CompiledMapping`` passes); ``None`` when the root is not written out."""
    if node.emit is None:
        return None
    gen = Gen()
    gen.objects.add("p")
    result = node.emit(gen, "p", "final")
    source = "def mapping(p):\n" + "\n".join(gen.lines + [f"    return {result}"]) + "\n"
    exec(compile(source, "<compiled mapping>", "exec"), gen.namespace)  # noqa: S102 - our own source
    mapping = gen.namespace["mapping"]
    mapping.source = source  # type: ignore[attr-defined]  (for tests and debugging)
    return mapping


def emit_plain_path(keys: tuple[str, ...], fn: Callable[[Any], Any], final: Callable[[Any], Any],
                    rests: tuple[Callable[[Any], Any], ...]) -> Callable[[Gen, str, str], str]:
    """The emitter of an ``@path`` whose keys no prototype answers (``paths._plain_loop``).

    Objects are walked inline: a key missing from an object is ``undefined``. At the first value
    that is not an object, the rest of the walk is the loop's (``rests[i]``: the loop over
    ``keys[i:]``), and a root that is not an object is the closure's, so every case but the
    common one is the closure's own code. In ``final`` mode a JavaScript function met on the
    way out of the loop becomes ``undefined`` (``nodes.dynamic``'s ``"event"`` kind).
    """

    def emit(gen: Gen, p: str, mode: str) -> str:
        v = gen.var()
        if len(keys) == 1 and p in gen.objects:
            gen.line(f"{v} = {p}.get({keys[0]!r}, UNDEFINED)")
            return v
        w = gen.var()
        if p in gen.objects:
            gen.line(f"{w} = {p}")
            _walk(gen, keys, 0, w, v, rests, mode)
            return v
        gen.line(f"if type({p}) is dict:")
        with gen.indented():
            gen.line(f"{w} = {p}")
            _walk(gen, keys, 0, w, v, rests, mode)
        gen.line("else:")
        with gen.indented():
            gen.line(f"{v} = {gen.ref(final if mode == 'final' else fn)}({p})")
        return v

    return emit


def _walk(gen: Gen, keys: tuple[str, ...], i: int, w: str, v: str, rests: tuple[Callable[[Any], Any], ...],
          mode: str) -> None:
    """``w`` is an object here: look up ``keys[i]`` and go on (see :func:`emit_plain_path`)."""
    if i == len(keys) - 1:
        gen.line(f"{v} = {w}.get({keys[i]!r}, UNDEFINED)")
        return
    gen.line(f"{w} = {w}.get({keys[i]!r}, UNDEFINED)")
    gen.line(f"if type({w}) is dict:")
    with gen.indented():
        _walk(gen, keys, i + 1, w, v, rests, mode)
    gen.line(f"elif {w} is UNDEFINED:")
    with gen.indented():
        gen.line(f"{v} = UNDEFINED")
    gen.line("else:")
    with gen.indented():
        gen.line(f"{v} = {gen.ref(rests[i + 1])}({w})")
        if mode == "final":
            gen.line(f"if type({v}) is JsBuiltin: {v} = UNDEFINED")
