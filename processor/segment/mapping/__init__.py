"""Segment's mapping-kit (actions-core 3.170.0) as compiled Python closures.

``compile_mapping(mapping)`` validates a subscription mapping exactly like actions-core's
``validate(mapping)`` and compiles it once; the returned :class:`CompiledMapping` is called per
event and returns the resolved payload (before empty-value removal and schema validation).

JavaScript ``undefined`` is :data:`~processor.segment.js.UNDEFINED` inside the resolver; the returned
payload never contains it: object keys whose value is undefined are absent and undefined
array slots are ``None``, as ``JSON.stringify`` would send them. ``null`` stays ``None``.
The payload may share sub-objects with the event and with the compiled mapping: treat it
as read-only.
"""

from __future__ import annotations

from typing import Any

from ..errors import MappingConfigError, MappingRuntimeError
from . import directives as _directives  # noqa: F401  (registers the directives)
from .codegen import generate
from .compiler import compile_node
from .directives import root_mapping
from .notes import mapping_warnings
from ..js import UNDEFINED, JsBuiltin, real_type_of
from .validate import validate_mapping

__all__ = ["CompiledMapping", "compile_mapping", "mapping_warnings", "UNDEFINED", "JsBuiltin"]


class CompiledMapping:
    """A validated, compiled mapping: ``compiled(event) -> payload`` (a fresh top-level dict)."""

    __slots__ = ("mapping", "_final")

    def __init__(self, mapping: dict, final: Any) -> None:
        self.mapping = mapping
        self._final = final

    def __call__(self, event: dict) -> dict:
        if type(event) is not dict:
            raise MappingRuntimeError(f"data must be an object, got {real_type_of(event)}")
        try:
            result = self._final(event)
        except RecursionError:
            raise MappingRuntimeError("Maximum call stack size exceeded") from None
        if result is UNDEFINED or type(result) is JsBuiltin:
            return {}
        return result

    def __repr__(self) -> str:
        return f"CompiledMapping({self.mapping!r})"


def compile_mapping(mapping: dict, *, field_prefix: str = "") -> CompiledMapping:
    """Validate and compile ``mapping``; raise :class:`MappingConfigError` if it cannot work.

    The error's message is Segment's (several validation messages are joined with a space, as
    for an ``AggregateError``); its ``field`` is ``field_prefix`` + the ``/a/@path`` location.
    """
    try:
        if type(mapping) is not dict:
            raise MappingConfigError(
                f"data must be an object, got {real_type_of(mapping)}", field=field_prefix or None
            )
        to_process = root_mapping(mapping, [])
        problems = validate_mapping(to_process)
        if problems:
            raise MappingConfigError(" ".join(p.message for p in problems), field=problems[0].field,
                                     problems=[(p.field, p.text) for p in problems])
        node = compile_node(to_process, [])
    except MappingConfigError as e:
        if field_prefix:
            e.field = field_prefix + (e.field or "")
            e.prefix = field_prefix
        raise
    except RecursionError:
        raise MappingConfigError("Maximum call stack size exceeded", field=field_prefix or None) from None
    return CompiledMapping(mapping, generate(node) or node.final)
