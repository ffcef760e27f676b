"""Compile a mapping (after validation) into :class:`~.nodes.Node` closures.

Mirrors actions-core ``resolve()``: non-containers are returned as they are, an object whose
keys are all ``@``-prefixed (``_metadata`` aside) runs its first directive, arrays map, and
plain objects resolve key by key in JavaScript key order. Upstream validation does not look
inside arrays or inside plain objects under ``then``/``value``/..., so an unknown directive
there is only met while resolving; here it is refused at compile time with the message the
reference throws (``@x is not a valid directive, got undefined``).
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import MappingConfigError
from ..js import UNDEFINED, real_type_of
from .jsvalue import js_keys
from .nodes import Node, constant, fold

Stack = list[str]
DirectiveCompiler = Callable[[Any, Stack], Node]

DIRECTIVES: dict[str, DirectiveCompiler] = {}


def field_of(stack: Stack) -> str:
    return "/" + "/".join(stack)


def is_directive(obj: Any) -> bool:
    """actions-core ``isDirective``: an object with an ``@`` key and no other keys but ``_metadata``."""
    if type(obj) is not dict:
        return False
    has_at = False
    for k in obj:
        if k.startswith("@"):
            has_at = True
        elif k != "_metadata":
            return False
    return has_at


def compile_node(mapping: Any, stack: Stack) -> Node:
    """Compile any mapping value found at ``stack``."""
    t = real_type_of(mapping)
    if t != "object" and t != "array":
        return constant(mapping)
    if is_directive(mapping):
        name = next(k for k in js_keys(mapping) if k.startswith("@"))
        directive = DIRECTIVES.get(name)
        if directive is None:
            raise MappingConfigError(f"{name} is not a valid directive, got undefined", field=field_of(stack))
        return directive(mapping[name], [*stack, name])
    if t == "array":
        return _compile_array(mapping, stack)
    return _compile_object(mapping, stack)


def _compile_array(mapping: list, stack: Stack) -> Node:
    items = [compile_node(v, [*stack, str(i)]) for i, v in enumerate(mapping)]
    if all(n.constant for n in items):
        return constant([n.value for n in items])
    fns = tuple(n.fn for n in items)
    finals = tuple(n.final for n in items)

    def resolve(p: Any) -> list:
        return [f(p) for f in fns]

    def final(p: Any) -> list:
        return [None if v is UNDEFINED else v for v in (f(p) for f in finals)]

    return Node(resolve, final)


def _compile_object(mapping: dict, stack: Stack) -> Node:
    # `resolved["__proto__"] = v` sets the prototype instead of a key: the key never appears.
    keys = [k for k in js_keys(mapping) if k != "__proto__"]
    children = [(k, compile_node(mapping[k], [*stack, k])) for k in keys]
    if all(n.constant for _, n in children):
        return constant({k: n.value for k, n in children})
    fns = tuple((k, n.fn) for k, n in children)
    finals = tuple((k, n.final) for k, n in children)

    def resolve(p: Any) -> dict:
        return {k: f(p) for k, f in fns}

    def final(p: Any) -> dict:
        out = {}
        for k, f in finals:
            v = f(p)
            if v is not UNDEFINED:
                out[k] = v
        return out

    node = Node(resolve, final)

    def emit(gen: Any, p: str, mode: str) -> str:
        """``final`` written out: the keys in order, each child's final value unless undefined."""
        if mode != "final":
            return gen.call(resolve, p)
        out = gen.var()
        gen.line(f"{out} = {{}}")
        for k, child in children:
            v = gen.value(child, p, "final")
            if v in gen.objects:
                gen.line(f"{out}[{k!r}] = {v}")
            else:
                gen.line(f"if {v} is not UNDEFINED: {out}[{k!r}] = {v}")
        gen.objects.add(out)
        return out

    node.emit = emit
    return node


def fold_if_constant(node: Node, inputs: list[Node], stack: Stack) -> Node:
    """Fold ``node`` at compile time when every input it resolves is payload-independent."""
    if all(n.constant for n in inputs):
        return fold(node, field_of(stack))
    return node
