"""Segment's payload clean-up and schema validation, as ``@segment/actions-core`` 3.170.0 does it.

Between resolving a mapping and calling the action, Segment runs two steps
(``destination-kit/action.js``)::

    payload = removeEmptyValues(payload, schema, true)
    validateSchema(payload, schema)     # ajv 8, messages from @segment/ajv-human-errors 2.16.0

where ``schema = fieldsToJsonSchema(action.fields)``. The ajv instance is configured with
``coerceTypes: 'array'``, ``allErrors: true``, ``removeAdditional: true``: validation *changes*
the payload (a number in a string field becomes a string, properties an object field does
not declare are removed) and what is sent is the changed payload. This module reproduces both
steps and the error wording, including ajv's quirks that leak into Segment's messages:

* With ``coerceTypes: 'array'`` a one-element array is unwrapped before coercion
  (``["x"]`` -> ``"x"`` for a string field). For a field with several types (``allowNull``
  gives ``["string", "null"]``) ajv checks the unwrapped value against *all* types joined
  with ``&&`` (a bug in ``checkDataTypes``), which never holds. The value then falls through
  to per-type coercion, and if that fails the error reports the *unwrapped* element: hence
  "Country must be a string or null but it was a string." for ``["PL"]`` and
  "Metadata must be an object or null but it was an object." for ``[{"tier": "gold"}]``.
* ``removeEmptyValues`` drops ``null`` where the field does not allow null, ``""`` where the
  field is not a string, and any ``""`` at the top level; it only descends into objects whose
  field declares ``properties``.
* Errors are reported in ajv's keyword order (type, then ``required``, then ``properties`` in
  field-definition order), each worded by ajv-human-errors with the field's label, and joined
  with a single space.

Everything is compiled once (:func:`compile_schema`) into plain nodes; the per-event work is a
walk over the payload with no schema interpretation beyond attribute lookups.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from processor.segment.errors import ConfigError, PayloadValidationError
from processor.segment.js import UNDEFINED, number_to_string, real_type_of, string_to_number, truthy, typeof

__all__ = ["PayloadSchema", "compile_schema", "remove_empty_values"]

#: Segment field type -> JSON-schema type (``toJsonSchemaType``); ``datetime`` is not supported.
_JSON_TYPE = {
    "string": "string",
    "text": "string",
    "password": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "object": "object",
}
#: Types ajv can coerce to (``COERCIBLE`` in ajv's ``dataType.ts``); "array" is excluded because
#: no supported field is ``multiple``.
_COERCIBLE = ("string", "number", "integer", "boolean", "null")
#: Field keys this port understands; anything else changes validation and is refused.
_KNOWN_FIELD_KEYS = frozenset(
    {"label", "description", "type", "required", "allowNull", "default", "properties",
     "additionalProperties", "placeholder", "readOnly", "format", "multiple", "choices",
     "defaultObjectUI", "depends_on", "disabledInputMethods", "category", "unsafe_hidden"}
)


# --- ajv type helpers (JavaScript typeof/truthiness/undefined come from processor.segment.js) --


def _is_type(json_type: str, value: Any) -> bool:
    """ajv's ``checkDataType`` in the "correct" direction for one JSON-schema type."""
    t = type(value)
    if json_type == "string":
        return t is str
    if json_type == "object":
        return t is dict
    if json_type == "null":
        return value is None
    if json_type == "number":
        return (t is int or t is float) and value - value == 0  # finite (strictNumbers)
    if json_type == "integer":
        return (t is int) or (t is float and value.is_integer())
    if json_type == "boolean":
        return t is bool
    if json_type == "array":
        return t is list
    return False


def _matches_all(types: tuple[str, ...], value: Any) -> bool:
    """ajv's ``checkDataTypes(types, data)`` in "correct" mode: the types are joined with ``&&``.

    This is what ajv evaluates after unwrapping a one-element array; with more than one type it
    is (almost) never true, which is the source of the "... or null but it was a string" errors.
    """
    if len(types) == 1:
        return _is_type(types[0], value)
    remaining = list(types)
    ok = True
    if "array" in remaining and "object" in remaining:
        not_obj = typeof(value) != "object"
        ok = not_obj if "null" in remaining else (not truthy(value) or not_obj)
        remaining = [t for t in remaining if t not in ("null", "array", "object")]
    if "number" in remaining and "integer" in remaining:
        remaining.remove("integer")
    return ok and all(_is_type(t, value) for t in remaining)


def _humanize_type_of(value: Any) -> str:
    """ajv-human-errors' ``humanizeTypeOf``: typeof with an article, arrays and null told apart."""
    kind = real_type_of(value)
    if kind == "undefined" or kind == "null":
        return kind
    return f"{_article(kind)} {kind}"


def _article(word: str) -> str:
    return "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"


def _humanize_list(items: list[str], conjunction: str) -> str:
    if not items:
        return "nothing"
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} {conjunction} {items[1]}"
    return f"{', '.join(items[:-1])}, {conjunction} {items[-1]}"


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def _pointer_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


# --- compiled schema nodes ---------------------------------------------------------------------


class _Node:
    """One compiled (sub)schema: a field, or the root object."""

    __slots__ = ("title", "types", "coerce_to", "type_words", "properties", "required", "strip_additional")

    def __init__(
        self,
        *,
        title: str | None,
        types: tuple[str, ...],
        properties: dict[str, "_Node"] | None = None,
        required: tuple[str, ...] = (),
        strip_additional: bool = False,
    ) -> None:
        self.title = title
        self.types = types
        self.coerce_to = tuple(t for t in types if t in _COERCIBLE)
        expected = _humanize_list(list(types), "or")
        self.type_words = f"must be {_article(expected)} {expected} but it was "
        self.properties = properties
        self.required = required
        self.strip_additional = strip_additional

    def preamble(self, pointer: str) -> str:
        """ajv-human-errors' ``fieldPreamble`` with ``fieldLabels: 'title'``."""
        if self.title:
            return self.title
        if pointer == "":
            return "the root value"
        return f"the value at {pointer}"


def _compile_fields(fields: Mapping[str, Any], *, where: str) -> tuple[dict[str, _Node], tuple[str, ...]]:
    properties: dict[str, _Node] = {}
    required: list[str] = []
    for key, field in fields.items():
        field_where = f"{where}.{key}" if where else key
        if not isinstance(field, Mapping):
            raise ConfigError("a field definition must be an object", field=field_where)
        unknown = set(field) - _KNOWN_FIELD_KEYS
        if unknown:
            raise ConfigError(f"unsupported field keys: {', '.join(sorted(unknown))}", field=field_where)
        for unsupported in ("multiple", "choices", "format"):
            if field.get(unsupported):
                raise ConfigError(f"{unsupported!r} is not supported by this port", field=field_where)
        json_type = _JSON_TYPE.get(field.get("type"))  # type: ignore[arg-type]
        if json_type is None:
            raise ConfigError(f"unsupported field type {field.get('type')!r}", field=field_where)
        types: tuple[str, ...] = (json_type, "null") if field.get("allowNull") else (json_type,)
        node_props: dict[str, _Node] | None = None
        node_required: tuple[str, ...] = ()
        strip = False
        if json_type == "object" and field.get("properties"):
            node_props, node_required = _compile_fields(field["properties"], where=field_where)
            strip = not field.get("additionalProperties")
        properties[key] = _Node(
            title=field.get("label"), types=types, properties=node_props,
            required=node_required, strip_additional=strip,
        )
        flag = field.get("required")
        if flag is True:
            required.append(key)
        elif flag:
            raise ConfigError("conditionally required fields are not supported", field=field_where)
    return properties, tuple(required)


# --- removeEmptyValues -------------------------------------------------------------------------


def _remove_empty(value: Any, node: _Node | None, is_root: bool = False) -> Any:
    """``removeEmptyValues(value, schema, isRoot)``; returns ``UNDEFINED`` for "remove".

    Objects whose field declares properties are copied, so the caller's data (often a
    sub-object of the event itself) is never modified by coercion later on.
    """
    if node is None:
        return value
    t = type(value)
    if t is list:
        return value  # no supported field has ``items``
    if t is dict:
        props = node.properties
        if props is None:
            return value
        out = {}
        for key, child in value.items():
            cleaned = _remove_empty(child, props.get(key))
            if cleaned is UNDEFINED or (is_root and cleaned == "" and type(cleaned) is str):
                continue
            out[key] = cleaned
        return out
    if value is None and "null" not in node.types:
        return UNDEFINED
    if t is str and value == "" and "string" not in node.types:
        return UNDEFINED
    return value


def remove_empty_values(payload: Any, schema: "PayloadSchema") -> Any:
    """Segment's ``removeEmptyValues(payload, schema, true)``; ``None`` when the root is removed."""
    cleaned = _remove_empty(payload, schema._root, True)
    return None if cleaned is UNDEFINED else cleaned


# --- ajv validation (coerceTypes: 'array', allErrors, removeAdditional) ------------------------


def _coerce(node: _Node, value: Any) -> tuple[Any, Any]:
    """ajv's ``coerceData``: returns (coerced value or ``UNDEFINED``, the value ajv now looks at)."""
    data = value
    if type(data) is list and len(data) == 1:
        data = data[0]
        if _matches_all(node.types, data):
            return data, data
    dt = typeof(data)
    for target in node.coerce_to:
        if target == "string":
            if dt == "number":
                return number_to_string(data), data
            if dt == "boolean":
                return ("true" if data else "false"), data
            if data is None:
                return "", data
        elif target == "number" or target == "integer":
            if dt == "boolean":
                return (1 if data else 0), data
            if data is None:
                return 0, data
            if dt == "string" and data:
                number = string_to_number(data)
                if number == number and (target == "number" or float(number).is_integer()):
                    return number, data
        elif target == "boolean":
            if data == "false" or (dt == "number" and data == 0) or data is None:
                return False, data
            if data == "true" or (dt == "number" and data == 1):
                return True, data
        elif target == "null":
            if (dt == "string" and data == "") or (dt == "number" and data == 0) or data is False:
                return None, data
    return UNDEFINED, data


def _validate(node: _Node, value: Any, pointer: str, errors: list[str]) -> Any:
    """Validate (and coerce) ``value`` against ``node``; returns the value to store back."""
    data = value
    types = node.types
    if not any(_is_type(t, value) for t in types):
        # Object-only fields are not coercible: ajv reports the type error as is.
        if node.coerce_to:
            coerced, data = _coerce(node, value)
            if coerced is not UNDEFINED:
                value = data = coerced
            else:
                errors.append(_capitalize(f"{node.preamble(pointer)} {node.type_words}{_humanize_type_of(data)}."))
        else:
            errors.append(_capitalize(f"{node.preamble(pointer)} {node.type_words}{_humanize_type_of(data)}."))
    props = node.properties
    if props is not None and type(data) is dict:
        if data is not value:  # an unwrapped one-element array: not our copy
            data = dict(data)
        for key in node.required:
            if data.get(key, UNDEFINED) is UNDEFINED:
                errors.append(_capitalize(f"{node.preamble(pointer)} is missing the required field '{key}'."))
        if node.strip_additional:
            for key in [k for k in data if k not in props]:
                del data[key]
        for key, child in props.items():
            if key in data:
                before = data[key]
                after = _validate(child, before, f"{pointer}/{_pointer_token(key)}", errors)
                if after is not before:
                    data[key] = after
    return value


# --- the per-event fast path: both steps fused, compiled per node ------------------------------

Runner = Callable[[Any, list], Any]


def _compile_runner(node: _Node, pointer: str, is_root: bool) -> Runner:
    """``removeEmptyValues`` + validation of one node as a closure (same results as
    :func:`_remove_empty` followed by :func:`_validate`, which stay as the literal reference).

    Everything static is decided here: messages (each node has exactly one JSON pointer, as no
    supported field is an array), which values a parent drops, and a type check specialised
    for the node's types. Returns the value to store; errors are appended to the list.
    """
    preamble = _capitalize(node.preamble(pointer))
    type_prefix = f"{preamble} {node.type_words}"
    types = node.types
    nullable = "null" in types

    def type_failure(value: Any, errors: list) -> tuple[Any, Any]:
        data = value
        if node.coerce_to:
            coerced, data = _coerce(node, value)
            if coerced is not UNDEFINED:
                return coerced, coerced
        errors.append(type_prefix + _humanize_type_of(data) + ".")
        return value, data

    props = node.properties
    if props is None:
        primary = types[0] if len(types) <= 2 and types[-1] in (types[0], "null") else None
        exact = {"string": str, "object": dict, "boolean": bool}.get(primary or "")
        if exact is not None:
            def run_scalar(value: Any, errors: list) -> Any:
                if type(value) is exact or (nullable and value is None):
                    return value
                return type_failure(value, errors)[0]
            return run_scalar

        def run_generic(value: Any, errors: list) -> Any:
            for t in types:
                if _is_type(t, value):
                    return value
            return type_failure(value, errors)[0]
        return run_generic

    children = tuple(
        (
            key,
            _compile_runner(child, f"{pointer}/{_pointer_token(key)}", False),
            "null" in child.types,  # removeEmptyValues keeps null
            not is_root and "string" in child.types,  # ... and keeps ""
            _exact_type(child),  # values of this Python type need no further check
        )
        for key, child in props.items()
    )
    required = tuple((key, f"{preamble} is missing the required field '{key}'.") for key in node.required)
    strip = node.strip_additional
    names = frozenset(props)

    def run_not_object(value: Any, errors: list) -> Any:
        value, data = type_failure(value, errors)
        if type(data) is not dict:
            return value
        # An unwrapped one-element array: ajv goes on validating the element as is (uncleaned).
        out = {k: v for k, v in data.items() if k in names} if strip else dict(data)
        for key, message in required:
            if key not in out:
                errors.append(message)
        for key, run, _, _, _ in children:
            if key in out:
                out[key] = run(out[key], errors)
        return value

    return _generate_run_object(children, required, strip, names, is_root, run_not_object)


def _generate_run_object(children: tuple, required: tuple, strip: bool, names: frozenset,
                         is_root: bool, run_not_object: Runner) -> Runner:
    """The object node's runner, written out as source: one pass over the fields in definition
    order, each field's rule decided here (whether ``null`` and ``""`` are kept, the Python type
    that needs no check, the child's runner), then the node's own rules.

    Why generated: the loop it replaces unpacked five settings and tested them for every field
    of every payload; the unrolled form does per field only the lookups and checks that field
    needs (a preset's payload: 4.4 -> 3.0 µs, semantics micro-benchmark's machine). What it
    does is :func:`_remove_empty` then :func:`_validate` for one object (the literal reference,
    compared by ``tests/voucherify/test_destination_fuzz.py``).
    """
    namespace: dict[str, Any] = {"UNDEFINED": UNDEFINED, "run_not_object": run_not_object, "names": names,
                                 "required": required}
    lines = [
        "def run_object(value, errors):",
        "    if type(value) is not dict:",
        "        return run_not_object(value, errors)",
        # ajv reports ``required`` before the properties' own errors: those go in front afterwards
        "    mark = len(errors)",
        "    out = {}",
        "    get = value.get",
    ]
    for i, (key, run, keep_null, keep_empty, fast) in enumerate(children):
        k = repr(key)
        namespace[f"run{i}"] = run
        namespace[f"fast{i}"] = fast
        lines.append(f"    v = get({k}, UNDEFINED)")
        lines.append("    if v is None:")
        lines.append(f"        out[{k}] = None" if keep_null else "        pass")  # removeEmptyValues keeps null?
        lines.append("    elif v is not UNDEFINED" + ("" if keep_empty else ' and v != ""') + ":")
        lines.append(f"        out[{k}] = v if type(v) is fast{i} else run{i}(v, errors)" if fast is not None
                     else f"        out[{k}] = run{i}(v, errors)")
    if not strip:  # undeclared properties stay (an empty string at the root does not)
        lines.append("    for key, v in value.items():")
        lines.append("        if key not in names" + (' and v != ""' if is_root else "") + ":")
        lines.append("            out[key] = v")
    # ajv edits the object in place, so Segment's body keeps the mapping's key order; ``out`` was
    # built in field order, which differs when a mapping lists its keys in another order (the
    # bytes of the request would differ, not its JSON).
    # (Most payloads keep every key: the same key lists, compared in C, settle it.)
    lines += [
        "    if len(out) > 1:",
        "        keys = list(out)",
        "        if list(value) != keys:",
        "            order = [key for key in value if key in out]",
        "            if order != keys:",
        "                out = {key: out[key] for key in order}",
    ]
    if required:
        lines += [
            "    missing = [message for key, message in required if key not in out]",
            "    if missing:",
            "        errors[mark:mark] = missing",
        ]
    lines.append("    return out")
    exec(compile("\n".join(lines) + "\n", "<validation>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["run_object"]


def _exact_type(node: _Node) -> type | None:
    """The Python type whose values always pass ``node`` unchanged, if there is one."""
    if node.properties is not None:
        return None
    non_null = [t for t in node.types if t != "null"]
    if len(non_null) != 1:
        return None
    return {"string": str, "object": dict, "boolean": bool}.get(non_null[0])


class PayloadSchema:
    """A compiled action (or settings) field schema."""

    __slots__ = ("_root", "_run")

    def __init__(self, root: _Node) -> None:
        self._root = root
        self._run = _compile_runner(root, "", True)

    def clean_and_validate(self, payload: Any) -> dict:
        """``removeEmptyValues`` then ajv validation; returns the payload to send.

        Never modifies ``payload`` (objects that may change are copied first).
        Raises :class:`PayloadValidationError` (status 400) worded as Segment words it.
        """
        if payload is None or payload == "":
            payload = UNDEFINED  # removeEmptyValues removes an empty root: ajv sees undefined
        errors: list[str] = []
        result = self._run(payload, errors)
        if errors:
            raise PayloadValidationError(" ".join(errors), status=400)
        return result

    def validate(self, payload: Any, *, _owned: bool = False) -> Any:
        """ajv validation alone (Segment's settings path); coerces a copy of ``payload``."""
        if not _owned and type(payload) is dict:
            payload = _copy_mutable(payload, self._root)
        errors: list[str] = []
        result = _validate(self._root, payload, "", errors)
        if errors:
            raise PayloadValidationError(" ".join(errors), status=400)
        return result


def _copy_mutable(value: Any, node: _Node | None) -> Any:
    """Copy the objects ajv may modify (those whose field declares properties)."""
    if node is None or node.properties is None or type(value) is not dict:
        return value
    return {k: _copy_mutable(v, node.properties.get(k)) for k, v in value.items()}


def compile_schema(fields: Mapping[str, Any], *, additional_properties: bool = False) -> PayloadSchema:
    """``fieldsToJsonSchema(fields)`` compiled for :meth:`PayloadSchema.clean_and_validate`.

    Raises :class:`ConfigError` for field features this port does not implement (so an
    unsupported definition fails at start-up instead of validating differently).
    """
    properties, required = _compile_fields(fields, where="")
    root = _Node(
        title=None, types=("object",), properties=properties, required=required,
        strip_additional=not additional_properties,
    )
    return PayloadSchema(root)


def _reference_clean_and_validate(schema: PayloadSchema, payload: Any) -> Any:
    """The two steps literally, one after the other (the fast path must agree; used by tests)."""
    cleaned = _remove_empty(payload, schema._root, True)
    errors: list[str] = []
    result = _validate(schema._root, cleaned, "", errors)
    if errors:
        raise PayloadValidationError(" ".join(errors), status=400)
    return result
