"""Mapping validation: a line-by-line port of actions-core ``mapping-kit/validate.ts``.

Segment validates a mapping before resolving it and throws either one ``ValidationError``
(``/<path> <message>.``) or an ``AggregateError`` collecting several. :func:`validate_mapping`
returns the individual messages in Segment's order (empty when the mapping is valid), so the
caller can join them with a space exactly as the conformance cases record an AggregateError.
Note the upstream quirks kept here: arrays are not descended into, plain objects under
``then``/``else``/``value`` are not validated, and ``@merge`` validates its objects with an
empty path (``/ should be ...``).
"""

from __future__ import annotations

from typing import Any, Callable

from processor.errors import InternalSignal

from ..js import UNDEFINED, real_type_of, utf16_len
from .jsvalue import js_keys, json_stringify

MAX_PATTERN_LENGTH = 10
MAX_REPLACEMENT_LENGTH = 10

Stack = list[str]
Validator = Callable[[Any, Stack], None]


class ValidationError(InternalSignal):
    """One problem; ``message`` is Segment's full text, ``field`` the ``/a/b`` path."""

    def __init__(self, message: str, stack: Stack) -> None:
        self.field = "/" + "/".join(stack)
        self.text = f"{message}."  # without the location, for one line per problem
        self.message = f"{self.field} {self.text}"
        super().__init__(self.message)


class AggregateValidationError(InternalSignal):
    """Several problems (JavaScript ``AggregateError``), already flattened."""

    def __init__(self, errors: list[ValidationError]) -> None:
        self.errors = errors
        super().__init__(" ".join(e.message for e in errors))


def _flat(errors: list[Exception]) -> list[ValidationError]:
    out: list[ValidationError] = []
    for e in errors:
        if isinstance(e, AggregateValidationError):
            out.extend(e.errors)
        else:
            out.append(e)  # type: ignore[arg-type]
    return out


def _article(s: str) -> str:
    return "an" if s[:1] in ("a", "e", "i", "o", "u") else "a"


def _type_or_directive(value: Any) -> str:
    t = real_type_of(value)
    if t == "object" and any(k.startswith("@") for k in value):
        return "directive"
    return t


def _validate_directive(obj: Any, stack: Stack) -> None:
    if real_type_of(obj) != "object":
        t = real_type_of(obj)
        raise ValidationError(f"should be a directive object but it is {_article(t)} {t}", stack)
    keys = js_keys(obj)
    directive_keys = [k for k in keys if k.startswith("@")]
    if len(directive_keys) > 1:
        raise ValidationError(
            f"should only have one @-prefixed key but it has {len(directive_keys)} keys", stack
        )
    other = [k for k in keys if not k.startswith("@") and k != "_metadata"]
    if other:
        raise ValidationError(f"should only have one @-prefixed key but it has {len(keys)} keys", stack)
    key = directive_keys[0]
    fn = _DIRECTIVES.get(key)
    if fn is None:
        raise ValidationError(f"has an invalid directive: {key}", stack)
    fn(obj[key], stack)


def _directive_or_raw(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t == "directive":
        return _validate_directive(v, stack)
    if t in ("object", "array", "boolean", "string", "number", "null"):
        return None
    raise ValidationError(
        f"should be a mapping directive or a JSON value but it is {_article(t)} {t}", stack
    )


def _directive_or_string(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t == "directive":
        return _validate_directive(v, stack)
    if t == "string":
        return None
    raise ValidationError(
        f"should be a string or a mapping directive but it is {_article(t)} {t}", stack
    )


def _directive_or_object(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t == "directive":
        return _validate_directive(v, stack)
    if t == "object":
        return _validate_object(v, stack)
    raise ValidationError(
        f"should be a object or a mapping directive but it is {_article(t)} {t}", stack
    )


def _chain(*validators: Validator) -> Validator:
    def run(v: Any, stack: Stack) -> None:
        for validator in validators:
            validator(v, stack)

    return run


def _string_length(lo: int, hi: int) -> Validator:
    def check(v: Any, stack: Stack) -> None:
        if type(v) is str and utf16_len(v) < lo:
            raise ValidationError(f"should be a string of length {lo} or greater", stack)
        if type(v) is str and utf16_len(v) > hi:
            raise ValidationError(f"should be a string of length {hi} or less", stack)

    return check


def _string(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t != "string":
        raise ValidationError(f"should be a string but it is {_article(t)} {t}", stack)


def _allowed_strings(*allowed: str) -> Validator:
    def check(v: Any, stack: Stack) -> None:
        _string(v, stack)
        if v.lower() not in allowed:
            raise ValidationError(
                f"should be one of {', '.join(allowed)} but it is {json_stringify(v)}", stack
            )

    return check


def _boolean(v: Any, stack: Stack) -> None:
    t = _type_or_directive(v)
    if t != "boolean":
        raise ValidationError(f"should be a boolean but it is {_article(t)} {t}", stack)


def _validate_object(value: Any, stack: Stack) -> None:
    t = _type_or_directive(value)
    if t != "object":
        raise ValidationError(f"should be an object but it is {_article(t)} {t}", stack)
    keys = js_keys(value)
    directive_key = next((k for k in keys if k[:1] == "@"), None)
    if directive_key:
        raise ValidationError(
            f"shouldn't have directive (@-prefixed) keys but it has {json_stringify(directive_key)}",
            stack,
        )
    errors: list[Exception] = []
    for k in keys:
        try:
            _validate(value[k], [*stack, k])
        except (ValidationError, AggregateValidationError) as e:
            errors.append(e)
    if errors:
        raise AggregateValidationError(_flat(errors))


def _object_with_fields(value: Any, fields: dict[str, tuple[str, Validator]], stack: Stack) -> None:
    _validate_object(value, stack)
    errors: list[Exception] = []
    for prop, (kind, validator) in fields.items():
        try:
            present = prop in value
            if kind == "required":
                if not present:
                    raise ValidationError(f"should have field {json_stringify(prop)} but it doesn't", stack)
                validator(value[prop], [*stack, prop])
            elif present:
                validator(value[prop], [*stack, prop])
        except (ValidationError, AggregateValidationError) as e:
            errors.append(e)
    if errors:
        raise AggregateValidationError(_flat(errors))


def _array(value: Any, stack: Stack) -> None:
    t = real_type_of(value)
    if t != "array":
        raise ValidationError(f"should be an array but it is {_article(t)} {t}", stack)


_DIRECTIVES: dict[str, Validator] = {}


def _directive(name: str) -> Callable[[Validator], Validator]:
    def register(fn: Validator) -> Validator:
        def run(v: Any, stack: Stack) -> None:
            fn(v, [*stack, name])

        _DIRECTIVES[name] = run
        return fn

    return register


def _fields(**spec: tuple[str, Validator]) -> Validator:
    def check(v: Any, stack: Stack) -> None:
        _object_with_fields(v, spec, stack)

    return check


_DIRECTIVES_SPEC: dict[str, Validator] = {
    "@if": _fields(
        exists=("optional", _directive_or_raw),
        then=("optional", _directive_or_raw),
        **{"else": ("optional", _directive_or_raw)},
    ),
    "@case": _fields(operator=("optional", _string), value=("optional", _directive_or_string)),
    "@replace": _fields(
        pattern=("required", _chain(_string, _string_length(1, MAX_PATTERN_LENGTH))),
        replacement=("optional", _chain(_string, _string_length(0, MAX_REPLACEMENT_LENGTH))),
        value=("required", _directive_or_string),
        ignorecase=("optional", _boolean),
        **{"global": ("optional", _boolean)},
    ),
    "@json": _fields(
        value=("required", _directive_or_raw), mode=("required", _allowed_strings("encode", "decode"))
    ),
    "@flatten": _fields(separator=("optional", _string), value=("required", _directive_or_raw)),
    "@transform": _fields(apply=("required", _directive_or_object), mapping=("required", _directive_or_object)),
    "@path": _directive_or_string,
    "@template": _directive_or_string,
    "@literal": _directive_or_raw,
    "@excludeWhenNull": _directive_or_raw,
    "@liquid": _string,
}


def _array_path(v: Any, stack: Stack) -> None:
    _array(v, stack)
    _directive_or_string(v[0] if len(v) > 0 else UNDEFINED, stack)
    _validate(v[1] if len(v) > 1 else UNDEFINED, stack)


def _merge(v: Any, stack: Stack) -> None:
    _object_with_fields(
        v,
        {"direction": ("optional", _allowed_strings("left", "right")), "objects": ("required", _array)},
        stack,
    )
    for obj in v["objects"]:
        _directive_or_object(obj, [])  # upstream passes no stack here


for _name, _fn in {**_DIRECTIVES_SPEC, "@arrayPath": _array_path, "@merge": _merge}.items():
    _directive(_name)(_fn)


def _validate(mapping: Any, stack: Stack) -> None:
    t = _type_or_directive(mapping)
    if t == "directive":
        _validate_directive(mapping, stack)
    elif t == "object":
        _validate_object(mapping, stack)
    elif t == "array":
        _array(mapping, stack)


def validate_mapping(mapping: Any, stack: Stack | None = None) -> list[ValidationError]:
    """All validation problems of ``mapping`` in Segment's order (``[]`` when it is valid)."""
    try:
        _validate(mapping, list(stack or []))
    except ValidationError as e:
        return [e]
    except AggregateValidationError as e:
        return list(e.errors)
    return []
