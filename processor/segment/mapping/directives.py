"""The mapping-kit directives of actions-core 3.170.0, compiled to closures.

Each ``_compile_*`` function receives the directive's raw argument and its path, performs the
checks upstream performs on the argument itself (``@if requires an "exists" key ...``) at
compile time, compiles the sub-mappings it resolves, and returns a :class:`~.nodes.Node`.
Checks on *resolved* values stay per event (``MappingRuntimeError``) unless the inputs are
constant, in which case the node is folded and the error surfaces at compile time.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..errors import MappingConfigError, MappingRuntimeError
from .compiler import DIRECTIVES, Stack, compile_node, field_of, fold_if_constant
from ..js import UNDEFINED, is_nullish, json_parse, real_type_of, to_string, truthy, typeof, utf16_len
from .jsvalue import js_keys, json_stringify, loose_not_equal_empty_string
from .nodes import Node, constant, dynamic
from .codegen import emit_plain_path
from .paths import compile_get
from .template import compile_template
from .validate import MAX_PATTERN_LENGTH, MAX_REPLACEMENT_LENGTH

ROOT_MAPPING_FIELD_KEY = "__segment_internal_directive"


def _directive(name: str) -> Callable[[Callable[[Any, Stack], Node]], Callable[[Any, Stack], Node]]:
    def register(fn: Callable[[Any, Stack], Node]) -> Callable[[Any, Stack], Node]:
        DIRECTIVES[name] = fn
        return fn

    return register


def _config(message: str, stack: Stack) -> MappingConfigError:
    return MappingConfigError(message, field=field_of(stack))


def _is_object(v: Any) -> bool:
    return type(v) is dict


# --- @path, @template (string directives) -------------------------------------------------------


def _string_directive(name: str, value: Any, stack: Stack, build: Callable[[str], Callable[[Any], Any]], kind: str) -> Node:
    arg = compile_node(value, stack)
    if arg.constant:
        if type(arg.value) is not str:
            raise _config(f"{name}: expected string, got {real_type_of(arg.value)}", stack)
        return dynamic(build(arg.value), kind)
    arg_fn = arg.fn
    cache: dict[str, Callable[[Any], Any]] = {}

    def run(p: Any) -> Any:
        s = arg_fn(p)
        if type(s) is not str:
            raise MappingRuntimeError(f"{name}: expected string, got {real_type_of(s)}")
        fn = cache.get(s)
        if fn is None:
            if len(cache) > 256:
                cache.clear()
            fn = cache[s] = build(s)
        return fn(p)

    return dynamic(run, kind)


def _path_getter(path: str) -> Callable[[Any], Any]:
    return compile_get(path.replace("$.", "", 1))


@_directive("@path")
def _compile_path(value: Any, stack: Stack) -> Node:
    node = _string_directive("@path", value, stack, _path_getter, "event")
    keys = getattr(node.fn, "plain_keys", None)  # a constant path of plain keys: written out
    if keys:
        node.emit = emit_plain_path(keys, node.fn, node.final, node.fn.rests)  # type: ignore[attr-defined]
    return node


@_directive("@template")
def _compile_template(value: Any, stack: Stack) -> Node:
    return _string_directive("@template", value, stack, compile_template, "scalar")


# --- @literal, @if, @case ----------------------------------------------------------------------


@_directive("@literal")
def _compile_literal(value: Any, stack: Stack) -> Node:
    return compile_node(value, stack)


@_directive("@if")
def _compile_if(opts: Any, stack: Stack) -> Node:
    if not _is_object(opts):
        raise _config('@if requires an object with an "exists" key', stack)
    if not truthy(opts.get("exists", UNDEFINED)) and not truthy(opts.get("blank", UNDEFINED)):
        raise _config('@if requires an "exists" key or a "blank" key', stack)
    if "exists" in opts:
        test = compile_node(opts["exists"], [*stack, "exists"])
        blank = False
    else:
        test = compile_node(opts["blank"], [*stack, "blank"])
        blank = True
    then = compile_node(opts["then"], [*stack, "then"]) if "then" in opts else None
    other = compile_node(opts["else"], [*stack, "else"]) if truthy(opts.get("else", UNDEFINED)) else None

    def condition(v: Any) -> bool:
        if v is None or v is UNDEFINED:
            return False
        return loose_not_equal_empty_string(v) if blank else True

    if test.constant:
        chosen = then if condition(test.value) else other
        return chosen if chosen is not None else constant(UNDEFINED)

    test_fn = test.fn
    then_fn, then_final = (then.fn, then.final) if then else (_undefined, _undefined)
    else_fn, else_final = (other.fn, other.final) if other else (_undefined, _undefined)

    if blank:

        def resolve(p: Any) -> Any:
            v = test_fn(p)
            if v is not None and v is not UNDEFINED and loose_not_equal_empty_string(v):
                return then_fn(p)
            return else_fn(p)

        def final(p: Any) -> Any:
            v = test_fn(p)
            if v is not None and v is not UNDEFINED and loose_not_equal_empty_string(v):
                return then_final(p)
            return else_final(p)

    else:

        def resolve(p: Any) -> Any:
            v = test_fn(p)
            if v is not None and v is not UNDEFINED:
                return then_fn(p)
            return else_fn(p)

        def final(p: Any) -> Any:
            v = test_fn(p)
            if v is not None and v is not UNDEFINED:
                return then_final(p)
            return else_final(p)

    node = Node(resolve, final)

    def emit(gen: Any, p: str, mode: str) -> str:
        """``final`` written out: the test's resolved value, then one branch's final value."""
        if mode != "final":
            return gen.call(resolve, p)
        v = gen.value(test, p, "fn")
        out = gen.var()
        extra = f" and {gen.ref(loose_not_equal_empty_string)}({v})" if blank else ""
        gen.line(f"if {v} is not None and {v} is not UNDEFINED{extra}:")
        with gen.indented():
            gen.line(f"{out} = {gen.value(then, p, 'final') if then else 'UNDEFINED'}")
        gen.line("else:")
        with gen.indented():
            gen.line(f"{out} = {gen.value(other, p, 'final') if other else 'UNDEFINED'}")
        return out

    node.emit = emit
    return node


def _undefined(p: Any) -> Any:
    return UNDEFINED


@_directive("@case")
def _compile_case(opts: Any, stack: Stack) -> Node:
    if not _is_object(opts):
        raise _config('@case requires an object with a "operator" key', stack)
    if not truthy(opts.get("operator", UNDEFINED)):
        raise _config('@case requires a "operator" key', stack)
    operator = opts["operator"]
    if not truthy(opts.get("value", UNDEFINED)):
        return constant(UNDEFINED)
    if operator not in ("lower", "upper"):
        raise _config('operator key should have a value of "lower" or "upper"', stack)
    arg = compile_node(opts["value"], [*stack, "value"])
    arg_fn = arg.fn
    lower = operator == "lower"

    def resolve(p: Any) -> Any:
        v = arg_fn(p)
        if type(v) is str:
            return v.lower() if lower else v.upper()
        return v

    return fold_if_constant(dynamic(resolve), [arg], stack)


# --- @replace ----------------------------------------------------------------------------------


def _compile_replacement(replacement: str) -> Callable[[str, int, int], str]:
    """``String.prototype.replace`` substitution patterns ($$, $&, $`, $'); no groups exist."""
    if "$" not in replacement:
        return lambda s, start, end: replacement
    parts: list[str | int] = []
    i, buf = 0, []
    while i < len(replacement):
        c = replacement[i]
        nxt = replacement[i + 1] if i + 1 < len(replacement) else ""
        if c == "$" and nxt in ("$", "&", "`", "'"):
            if nxt == "$":
                buf.append("$")
            else:
                parts.append("".join(buf))
                buf = []
                parts.append({"&": 0, "`": 1, "'": 2}[nxt])
            i += 2
            continue
        buf.append(c)
        i += 1
    parts.append("".join(buf))
    pieces = tuple(parts)

    def substitute(s: str, start: int, end: int) -> str:
        out = []
        for piece in pieces:
            if type(piece) is str:
                out.append(piece)
            elif piece == 0:
                out.append(s[start:end])
            elif piece == 1:
                out.append(s[:start])
            else:
                out.append(s[end:])
        return "".join(out)

    return substitute


def _compile_perform_replace(pattern: str, replacement: str, is_global: bool, ignorecase: bool) -> Callable[[str], str]:
    if utf16_len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f'@replace requires a "pattern" less than {MAX_PATTERN_LENGTH} characters')
    if utf16_len(replacement) > MAX_REPLACEMENT_LENGTH:
        raise ValueError(f'@replace requires a "replacement" less than {MAX_REPLACEMENT_LENGTH} characters')
    substitute = _compile_replacement(replacement)
    regex = re.compile(re.escape(pattern), re.IGNORECASE) if ignorecase else None
    count = 0 if is_global else 1
    if regex is None and "$" not in replacement:
        return lambda s: s.replace(pattern, replacement, -1 if is_global else 1)

    def perform(s: str) -> str:
        if regex is not None:
            return regex.sub(lambda m: substitute(s, m.start(), m.end()), s, count=count)
        out, pos = [], 0
        while True:
            i = s.find(pattern, pos)
            if i < 0:
                break
            out.append(s[pos:i])
            out.append(substitute(s, i, i + len(pattern)))
            pos = i + len(pattern)
            if not is_global:
                break
        out.append(s[pos:])
        return "".join(out)

    return perform


@_directive("@replace")
def _compile_replace(opts: Any, stack: Stack) -> Node:
    if not _is_object(opts):
        raise _config('@replace requires an object with a "pattern" key', stack)
    if not truthy(opts.get("pattern", UNDEFINED)):
        raise _config('@replace requires a "pattern" key', stack)
    pattern = opts["pattern"]
    replacement = opts.get("replacement")
    replacement = "" if replacement is None else replacement
    pattern2 = opts.get("pattern2", UNDEFINED)
    replacement2 = opts.get("replacement2")
    if truthy(pattern2) and replacement2 is None:
        replacement2 = ""
    ignorecase = opts.get("ignorecase")
    ignorecase = False if ignorecase is None else ignorecase
    is_global = opts.get("global")
    is_global = True if is_global is None else is_global
    if not truthy(opts.get("value", UNDEFINED)):
        return constant(UNDEFINED)
    arg = compile_node(opts["value"], [*stack, "value"])
    arg_fn = arg.fn
    if not (
        type(pattern) is str and type(replacement) is str and type(ignorecase) is bool and type(is_global) is bool
    ):
        def resolve_empty(p: Any) -> Any:
            arg_fn(p)
            return ""

        return fold_if_constant(dynamic(resolve_empty, "scalar"), [arg], stack)
    try:
        first = _compile_perform_replace(pattern, replacement, is_global, ignorecase)
        second = None
        if truthy(pattern2) and type(pattern2) is str and type(replacement2) is str:
            second = _compile_perform_replace(pattern2, replacement2, is_global, ignorecase)
    except ValueError as e:
        raise _config(str(e), stack) from None

    def resolve(p: Any) -> Any:
        v = arg_fn(p)
        t = type(v)
        if t is not str:
            if t is bool or t is int or t is float:
                v = to_string(v)
            else:
                return ""
        v = first(v)
        return second(v) if second is not None else v

    return fold_if_constant(dynamic(resolve, "scalar"), [arg], stack)


# --- @arrayPath --------------------------------------------------------------------------------


def _arrify(v: Any) -> list:
    if v is None or v is UNDEFINED:
        return []
    return v if type(v) is list else [v]


@_directive("@arrayPath")
def _compile_array_path(data: Any, stack: Stack) -> Node:
    if type(data) is not list:
        raise _config(f"@arrayPath expected array, got {real_type_of(data)}", stack)
    path = data[0] if len(data) > 0 else UNDEFINED
    shape = data[1] if len(data) > 1 else UNDEFINED
    if type(path) is str:
        root_fn = _path_getter(path)
        root_const = False
    else:
        root = compile_node(path, [*stack, "0"])
        root_fn, root_const = root.fn, root.constant
    if type(shape) is dict and len(shape) > 0:
        item = compile_node(shape, [*stack, "1"])
        item_fn = item.fn

        def resolve(p: Any) -> Any:
            r = root_fn(p)
            t = type(r)
            if t is dict or t is list:
                return [item_fn(x) for x in _arrify(r)]
            return r

    else:
        resolve = root_fn
    node = dynamic(resolve, "any")
    if root_const:
        return fold_if_constant(node, [], stack)
    return node


# --- @json, @flatten, @merge -------------------------------------------------------------------


@_directive("@json")
def _compile_json(opts: Any, stack: Stack) -> Node:
    if not _is_object(opts):
        raise _config('@json requires an object with a "value" key', stack)
    if not truthy(opts.get("mode", UNDEFINED)):
        raise _config('@json requires a "mode" key', stack)
    if not truthy(opts.get("value", UNDEFINED)):
        raise _config('@json requires a "value" key', stack)
    mode = opts["mode"]
    arg = compile_node(opts["value"], [*stack, "value"])
    arg_fn = arg.fn
    if mode == "encode":

        def resolve(p: Any) -> Any:
            return json_stringify(arg_fn(p))

        return fold_if_constant(dynamic(resolve, "scalar"), [arg], stack)
    if mode == "decode":

        def decode(p: Any) -> Any:
            v = arg_fn(p)
            if type(v) is str:
                try:
                    return json_parse(v)
                except (ValueError, RecursionError):
                    return v
            return v

        return fold_if_constant(dynamic(decode, "any"), [arg], stack)

    def neither(p: Any) -> Any:
        arg_fn(p)
        return UNDEFINED

    return fold_if_constant(dynamic(neither, "scalar"), [arg], stack)


def flatten_object(value: Any, prefix: str, separator: str, ignore_arrays: bool) -> dict:
    """actions-core ``flattenObject`` (keys joined with ``separator``, JavaScript key order)."""
    t = type(value)
    if t is dict or (t is list and not ignore_arrays):
        out: dict = {}
        keys = js_keys(value) if t is dict else [str(i) for i in range(len(value))]
        for key in keys:
            child = value[key] if t is dict else value[int(key)]
            new_key = f"{prefix}{separator}{key}" if prefix else key
            out.update(flatten_object(child, new_key, separator, ignore_arrays))
        return out
    return {prefix: value}


@_directive("@flatten")
def _compile_flatten(opts: Any, stack: Stack) -> Node:
    if not _is_object(opts):
        raise _config('@flatten requires an object with a "separator" key', stack)
    if not truthy(opts.get("separator", UNDEFINED)):
        raise _config('@flatten requires a "separator" key', stack)
    sep_node = compile_node(opts["separator"], [*stack, "separator"])
    if not sep_node.constant or type(sep_node.value) is not str:
        if sep_node.constant:
            raise _config("@flatten requires a string separator", stack)
        sep_fn = sep_node.fn
    else:
        sep_value = sep_node.value
        sep_fn = lambda p: sep_value  # noqa: E731
    arg = compile_node(opts.get("value", UNDEFINED), [*stack, "value"])
    arg_fn = arg.fn
    omit_arrays = truthy(opts.get("omitArrays", UNDEFINED))

    def resolve(p: Any) -> Any:
        sep = sep_fn(p)
        if type(sep) is not str:
            raise MappingRuntimeError("@flatten requires a string separator")
        return flatten_object(arg_fn(p), "", sep, omit_arrays)

    return fold_if_constant(dynamic(resolve, "any"), [sep_node, arg], stack)


def _assign_source(target: dict, source: Any) -> None:
    """One source of ``Object.assign`` (strings spread their characters, primitives nothing)."""
    t = type(source)
    if t is dict:
        for k in js_keys(source):
            if k != "__proto__":
                target[k] = source[k]
    elif t is list:
        for i, v in enumerate(source):
            target[str(i)] = v
    elif t is str:
        for i, ch in enumerate(source):
            target[str(i)] = ch


@_directive("@merge")
def _compile_merge(opts: Any, stack: Stack) -> Node:
    if not _is_object(opts):
        raise _config('@merge requires an object with an "objects" key and a "direction" key', stack)
    if not truthy(opts.get("direction", UNDEFINED)):
        raise _config('@merge requires a "direction" key', stack)
    direction = compile_node(opts["direction"], [*stack, "direction"])
    if not truthy(opts.get("objects", UNDEFINED)):
        raise _config('@merge requires a "objects" key', stack)
    objects = opts["objects"]
    if type(objects) is not list:
        raise _config(f"@merge: expected opts.array, got {typeof(objects)}", stack)
    parts = [compile_node(o, [*stack, "objects", str(i)]) for i, o in enumerate(objects)]
    fns = tuple(n.fn for n in parts)
    dir_fn = direction.fn

    def resolve(p: Any) -> Any:
        left = dir_fn(p) == "left"
        values = [f(p) for f in fns]
        if left:
            values.reverse()
        out: dict = {}
        for v in values:
            _assign_source(out, v)
        return _js_order(out)

    return fold_if_constant(dynamic(resolve, "any"), [direction, *parts], stack)


def _js_order(d: dict) -> dict:
    keys = js_keys(d)
    return d if keys == list(d) else {k: d[k] for k in keys}


# --- @transform, @excludeWhenNull --------------------------------------------------------------


def remove_undefined(value: Any) -> Any:
    """actions-core ``removeUndefined``: object keys holding undefined go; arrays are kept as is."""
    t = type(value)
    if t is list:
        return [remove_undefined(v) for v in value]
    if t is dict:
        return {k: remove_undefined(v) for k, v in value.items() if v is not UNDEFINED}
    return value


def root_mapping(mapping: dict, stack: Stack) -> dict:
    """actions-core ``getMappingToProcess`` (the ``__segment_internal_directive`` root form)."""
    if ROOT_MAPPING_FIELD_KEY not in mapping:
        return mapping
    customer = {k: v for k, v in mapping.items() if k != ROOT_MAPPING_FIELD_KEY}
    to_process = mapping[ROOT_MAPPING_FIELD_KEY]
    if type(to_process) is not dict:
        raise _config("The root directive must be an object", stack)
    if len(to_process) > 1:
        raise _config("The root mapping must only have a single directive object", stack)
    keys = js_keys(to_process)
    root_directive = to_process[keys[0]] if keys else UNDEFINED
    if type(root_directive) not in (dict, list) or root_directive is None:
        raise _config("The root directive must be an object", stack)
    if type(root_directive) is dict:
        root_directive = {**root_directive, "mapping": customer}
    return {keys[0]: root_directive}


@_directive("@transform")
def _compile_transform(opts: Any, stack: Stack) -> Node:
    from .validate import validate_mapping

    if not _is_object(opts):
        raise _config('@transform requires an object with an "apply" key and a "mapping" key', stack)
    if not truthy(opts.get("mapping", UNDEFINED)):
        raise _config('@transform requires a "mapping" key', stack)
    if not truthy(opts.get("apply", UNDEFINED)):
        raise _config('@transform requires a "apply" key', stack)
    if type(opts["apply"]) is not dict:
        raise _config('@transform "apply" key should be an object', stack)
    apply = root_mapping(opts["apply"], [*stack, "apply"])
    problems = validate_mapping(apply)
    if problems:
        raise _config(" ".join(e.message for e in problems), [*stack, "apply"])
    apply_node = compile_node(apply, [*stack, "apply"])
    mapping_node = compile_node(opts["mapping"], [*stack, "mapping"])
    apply_fn, mapping_fn = apply_node.fn, mapping_node.fn

    def resolve(p: Any) -> Any:
        t = real_type_of(p)
        if t != "object":
            raise MappingRuntimeError(f"data must be an object, got {t}")
        return mapping_fn(remove_undefined(apply_fn(p)))

    return dynamic(resolve, "any")


def _clean_nulls(value: Any) -> Any:
    if type(value) is dict:
        return {
            k: (UNDEFINED if v is None else _clean_nulls(v) if type(v) is dict else v) for k, v in value.items()
        }
    return value


@_directive("@excludeWhenNull")
def _compile_exclude_when_null(value: Any, stack: Stack) -> Node:
    arg = compile_node(value, stack)
    arg_fn = arg.fn

    def resolve(p: Any) -> Any:
        v = arg_fn(p)
        if v is None:
            return UNDEFINED
        return _clean_nulls(v)

    return fold_if_constant(dynamic(resolve, "any"), [arg], stack)


# --- @liquid -----------------------------------------------------------------------------------


@_directive("@liquid")
def _compile_liquid(value: Any, stack: Stack) -> Node:
    from .liquid import LiquidError, compile_liquid

    if type(value) is not str:
        raise _config("liquid template value must be a string", stack)
    if value == "":
        return constant("")
    if utf16_len(value) > 1000:
        raise _config("liquid template values are limited to 1000 characters", stack)
    try:
        render = compile_liquid(value)
    except LiquidError as e:
        raise _config(str(e), stack) from None

    def resolve(p: Any) -> Any:
        try:
            return render(p)
        except LiquidError as e:
            raise MappingRuntimeError(str(e)) from None

    return dynamic(resolve, "scalar")


__all__ = ["flatten_object", "remove_undefined", "root_mapping", "is_nullish", "ROOT_MAPPING_FIELD_KEY"]
