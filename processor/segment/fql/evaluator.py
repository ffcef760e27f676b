"""Compile a parsed trigger into a tree of closures that mirror ``validate.js`` exactly.

Every operator of ``validateValue`` is a predicate over the JavaScript value found at the
condition's path; the literal is converted once, here, the way ``String(expected)`` /
``Number(expected)`` would convert it on every call in the reference. Paths are walked with
lodash-like ``get`` semantics: ``a && a[key]`` at each step, so a falsy value (``0``, ``""``,
``false``, ``null``) part-way down *is* the result.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from ..js import (
    UNDEFINED,
    from_units,
    get_member,
    has_lone_surrogate,
    is_number,
    to_float,
    to_number,
    to_string,
    to_units,
    truthy,
)
from .parser import PATH_TYPES, TOP_LEVEL_FIELDS, Condition, Group, Node

Predicate = Callable[[Any], bool]
EventTest = Callable[[dict], bool]

_PATH_SEGMENT = re.compile(r"[^\[.\]]+")


def compile_node(node: Node) -> EventTest:
    if isinstance(node, Group):
        return _compile_group(node)
    return _compile_condition(node)


def _compile_group(group: Group) -> EventTest:
    children = tuple(compile_node(child) for child in group.children if child is not None)
    if group.operator == "and":
        if len(children) == 1:
            return children[0]
        if len(children) == 2:
            first, second = children
            return lambda event: first(event) and second(event)

        def all_of(event: dict) -> bool:
            for child in children:
                if not child(event):
                    return False
            return True

        return all_of
    if group.operator == "or":
        if len(children) == 2:
            first, second = children
            return lambda event: first(event) or second(event)

        def any_of(event: dict) -> bool:
            for child in children:
                if child(event):
                    return True
            return False

        return any_of
    return lambda event: False


def _compile_condition(condition: Condition) -> EventTest:
    predicate = make_predicate(condition.operator, condition.value)
    field = TOP_LEVEL_FIELDS.get(condition.type)
    if field is not None:
        # Fast paths for the common `type = "track"` / `event != "x"` shapes.
        if condition.operator == "=":
            expected = from_units(to_string(condition.value))  # type: ignore[arg-type]
            return lambda event: event.get(field) == expected
        if condition.operator == "!=":
            expected = from_units(to_string(condition.value))  # type: ignore[arg-type]
            return lambda event: event.get(field) != expected
        return lambda event: predicate(event.get(field, UNDEFINED))
    root = PATH_TYPES[condition.type]
    getter = make_getter(root, condition.name or "")
    return lambda event: predicate(getter(event))


def make_getter(root: str, name: str) -> Callable[[dict], Any]:
    """``get(event[root], name)`` from destination-subscriptions' ``get.js``."""
    if not name:
        return lambda event: UNDEFINED
    keys = tuple(from_units(key) for key in _PATH_SEGMENT.findall(name))

    def getter(event: dict) -> Any:
        value = event.get(root, UNDEFINED)
        for key in keys:
            if type(value) is dict:
                found = value.get(key, UNDEFINED)
                value = found if found is not UNDEFINED else get_member(value, key)
            elif truthy(value):
                value = get_member(value, key)
            else:
                return value
        return value

    return getter


def make_predicate(operator: str, expected: str | float | bool | None) -> Predicate:
    """``validateValue(actual, operator, expected)`` with ``expected`` pre-converted."""
    if operator == "exists":
        return lambda actual: actual is not UNDEFINED and actual is not None
    if operator == "not_exists":
        return lambda actual: actual is UNDEFINED or actual is None
    if operator == "is_true":
        return lambda actual: actual is True
    if operator == "is_false":
        return lambda actual: actual is False
    assert expected is not None
    text = to_string(expected)
    number = to_number(expected)
    if operator == "=":
        text = from_units(text)
        return lambda actual: type(actual) is str and actual == text
    if operator == "!=":
        text = from_units(text)
        return lambda actual: not (type(actual) is str and actual == text)
    if operator in ("number_equals", "number_not_equals", "<", "<=", ">", ">="):
        compare = _NUMERIC[operator]
        return lambda actual: is_number(actual) and compare(to_float(actual), number)
    if operator in _STRING_TESTS:
        test, negate = _STRING_TESTS[operator]
        if has_lone_surrogate(from_units(text)):
            # A literal cut inside a surrogate pair (match() drops one code unit): compare
            # code units, as JavaScript does.
            unit_test = test
            return lambda actual: type(actual) is str and unit_test(to_units(actual), text) != negate
        text = from_units(text)
        return lambda actual: type(actual) is str and test(actual, text) != negate
    return lambda actual: False


_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "number_equals": lambda a, b: a == b,
    "number_not_equals": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_STRING_TESTS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "contains": (lambda actual, text: text in actual, False),
    "not_contains": (lambda actual, text: text in actual, True),
    "starts_with": (str.startswith, False),
    "not_starts_with": (str.startswith, True),
    "ends_with": (str.endswith, False),
    "not_ends_with": (str.endswith, True),
}
