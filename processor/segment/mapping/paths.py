"""Property paths with the semantics of actions-core's ``get(obj, path)``.

``get`` splits ``a.b[0]["c"]`` into keys and walks them with ``prev && prev[key]``, which
leaks JavaScript rules: a falsy value stops the walk and *is* the result (``a.b`` of
``{"a": 0}`` is ``0``), strings and arrays answer ``length`` and indices, and every object
answers inherited members such as ``toString`` (a :class:`~.jsvalue.JSFunction`).
Paths are split once, at compile time; :func:`compile_get` returns the walker.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .jsvalue import UNDEFINED, JSFunction, is_array_index, truthy, utf16_len

_SPLIT = re.compile(r"""\[(?="|'|\d)|\.|(?<="|'|\d)]+""")
_QUOTES = re.compile(r"""'|\"""")

_OBJECT_PROTO = frozenset(
    "constructor __defineGetter__ __defineSetter__ hasOwnProperty __lookupGetter__ "
    "__lookupSetter__ isPrototypeOf propertyIsEnumerable toString valueOf toLocaleString".split()
)
_ARRAY_PROTO = frozenset(
    "constructor at concat copyWithin fill find findIndex findLast findLastIndex lastIndexOf pop "
    "push reverse shift unshift slice sort splice includes indexOf join keys entries values "
    "forEach filter flat flatMap map every some reduce reduceRight toLocaleString toString "
    "toReversed toSorted toSpliced with".split()
) | _OBJECT_PROTO
_STRING_PROTO = frozenset(
    "constructor anchor at big blink bold charAt charCodeAt codePointAt concat endsWith fontcolor "
    "fontsize fixed includes indexOf isWellFormed italics lastIndexOf link localeCompare match "
    "matchAll normalize padEnd padStart repeat replace replaceAll search slice small split strike "
    "sub substr substring sup startsWith toString toWellFormed trim trimStart trimLeft trimEnd "
    "trimRight toLocaleLowerCase toLocaleUpperCase toLowerCase toUpperCase valueOf".split()
) | _OBJECT_PROTO
_NUMBER_PROTO = frozenset(
    "constructor toExponential toFixed toPrecision toString valueOf toLocaleString".split()
) | _OBJECT_PROTO
_BOOLEAN_PROTO = frozenset("constructor toString valueOf".split()) | _OBJECT_PROTO
_CONSTRUCTORS = {"object": "Object", "array": "Array", "string": "String", "number": "Number",
                 "boolean": "Boolean"}
_ALIASES = {"trimLeft": "trimStart", "trimRight": "trimEnd"}


def split_path(path: str) -> list[str]:
    """The keys ``get`` walks for ``path`` (quotes removed, empty segments dropped)."""
    return [_QUOTES.sub("", s) for s in _SPLIT.split(path) if s]


def _inherited(kind: str, key: str, proto: frozenset[str]) -> Any:
    if key in proto:
        if key == "constructor":
            return JSFunction(_CONSTRUCTORS[kind])
        return JSFunction(_ALIASES.get(key, key))
    if key == "__proto__":
        return {}  # the prototype object: an object with no own enumerable keys
    return UNDEFINED


def _utf16_unit(s: str, i: int) -> str | None:
    if s.isascii():
        return s[i] if i < len(s) else None
    units = s.encode("utf-16-le")
    if 2 * i + 2 > len(units):
        return None
    return units[2 * i : 2 * i + 2].decode("utf-16-le", "surrogatepass")


def get_property(obj: Any, key: str) -> Any:
    """``obj[key]`` for a truthy JavaScript value ``obj``."""
    t = type(obj)
    if t is dict:
        v = obj.get(key, UNDEFINED)
        if v is UNDEFINED and key not in obj:
            return _inherited("object", key, _OBJECT_PROTO)
        return v
    if t is list:
        if is_array_index(key):
            i = int(key)
            return obj[i] if i < len(obj) else UNDEFINED
        if key == "length":
            return len(obj)
        return _inherited("array", key, _ARRAY_PROTO)
    if t is str:
        if is_array_index(key):
            unit = _utf16_unit(obj, int(key))
            return UNDEFINED if unit is None else unit
        if key == "length":
            return utf16_len(obj)
        return _inherited("string", key, _STRING_PROTO)
    if t is int or t is float:
        return _inherited("number", key, _NUMBER_PROTO)
    if t is bool:
        return _inherited("boolean", key, _BOOLEAN_PROTO)
    if t is JSFunction:
        if key == "name":
            return obj.name
        return UNDEFINED
    return UNDEFINED


def get(obj: Any, path: str) -> Any:
    """actions-core ``get(obj, path)`` (uncompiled; see :func:`compile_get`)."""
    return compile_get(path)(obj)


def compile_get(path: str) -> Callable[[Any], Any]:
    """A function ``obj -> value`` equivalent to ``get(obj, path)`` with the path pre-split."""
    if path == "" or path == ".":
        return _identity
    keys = tuple(split_path(path))
    if not keys:
        return _identity
    if not any(k in _SPECIAL for k in keys):
        return _compile_plain_walk(keys)
    if len(keys) == 1:
        (k0,) = keys

        def get1(obj: Any) -> Any:
            if type(obj) is dict:
                v = obj.get(k0, UNDEFINED)
                if v is not UNDEFINED or k0 in obj:
                    return v
            if not truthy(obj):
                return obj
            return get_property(obj, k0)

        return get1

    def walk(obj: Any) -> Any:
        for k in keys:
            if type(obj) is dict:
                v = obj.get(k, UNDEFINED)
                if v is not UNDEFINED or k in obj:
                    obj = v
                    continue
            if not truthy(obj):
                return obj
            obj = get_property(obj, k)
        return obj

    return walk


_SPECIAL = _ARRAY_PROTO | _STRING_PROTO | _NUMBER_PROTO | _BOOLEAN_PROTO | {"__proto__", "name"}


def _compile_plain_walk(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """Fast walk for keys no prototype answers: a key missing from an object is undefined."""

    def walk(obj: Any) -> Any:
        for k in keys:
            if type(obj) is dict:
                obj = obj.get(k, UNDEFINED)
                if obj is UNDEFINED:
                    return UNDEFINED
                continue
            if not truthy(obj):
                return obj
            obj = get_property(obj, k)
        return obj

    return walk


def _identity(obj: Any) -> Any:
    # also the empty-path case: reduce() with an initial value returns the object itself
    return obj
