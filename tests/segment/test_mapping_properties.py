"""Property tests: compile_mapping and compiled mappings only ever fail with the named errors."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from processor.segment.errors import MappingConfigError, MappingRuntimeError  # noqa: E402
from processor.segment.mapping import compile_mapping  # noqa: E402
from processor.segment.js import number_to_string  # noqa: E402

DIRECTIVES = ["@path", "@if", "@template", "@literal", "@case", "@replace", "@arrayPath", "@json",
              "@flatten", "@merge", "@transform", "@excludeWhenNull", "@liquid", "@bogus"]
KEYS = st.sampled_from(["exists", "blank", "then", "else", "value", "operator", "pattern", "replacement",
                        "pattern2", "global", "ignorecase", "mode", "separator", "direction", "objects",
                        "apply", "mapping", "omitArrays", "a", "b", "_metadata", "__proto__", "0"])
PATHS = st.sampled_from(["$.a", "$.a.b", "$.", "", "$.a[0]", "$.a.length", "$.x.toString", "a.b.c", "$.a['b']"])
STRINGS = st.one_of(PATHS, st.text(max_size=12), st.sampled_from(
    ["lower", "upper", "encode", "decode", "left", "right", "{{a}}", "{{{a}}}", "{{ a | upcase }}",
     "{% if a %}x{% endif %}", "{% for x in a %}{% endfor %}", "{{ a", "{{ a | concat: a }}"]))
JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**22, 10**22),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
JSON = st.recursive(JSON_SCALARS, lambda c: st.one_of(st.lists(c, max_size=4),
                                                      st.dictionaries(st.sampled_from(["a", "b", "c", "0", "1"]), c, max_size=4)),
                    max_leaves=20)


def mappings():
    leaf = st.one_of(JSON_SCALARS, STRINGS)

    def extend(children):
        directive = st.builds(lambda name, arg: {name: arg}, st.sampled_from(DIRECTIVES),
                              st.one_of(children, st.dictionaries(KEYS, children, max_size=4), st.lists(children, max_size=3)))
        return st.one_of(directive, st.dictionaries(KEYS, children, max_size=4), st.lists(children, max_size=3))

    return st.recursive(leaf, extend, max_leaves=15)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(mapping=st.dictionaries(KEYS, mappings(), max_size=4), events=st.lists(JSON, min_size=1, max_size=3))
def test_random_mappings_fail_only_with_named_errors(mapping, events):
    try:
        compiled = compile_mapping(mapping)
    except MappingConfigError:
        return
    for event in events:
        try:
            compiled({"a": event, "x": event} if not isinstance(event, dict) else event)
        except MappingRuntimeError:
            pass


DEFAULT = {"customer": {"source_id": {"@path": "$.userId"}, "email": {"@if": {"exists": {"@path": "$.properties.email"},
           "then": {"@path": "$.properties.email"}, "else": {"@path": "$.context.traits.email"}}}},
           "metadata": {"@path": "$.properties.metadata"}, "type": {"@path": "$.type"}}


@settings(max_examples=300, deadline=1000)
@given(event=st.dictionaries(st.sampled_from(["userId", "properties", "context", "type", "event"]), JSON, max_size=5))
def test_random_events_never_crash_a_compiled_mapping(event):
    compiled = compile_mapping(DEFAULT)
    try:
        compiled(event)
    except MappingRuntimeError:
        pass


# expected strings taken from node 20: String(value)
@pytest.mark.parametrize("value,text", [(1e21, "1e+21"), (1e-7, "1e-7"), (1.0, "1"), (-0.0, "0"), (1.5, "1.5"),
                                        (123456789012345680000.0, "123456789012345680000"), (0.000001, "0.000001"),
                                        (2**60, "1152921504606847000"), (2**53 + 2, "9007199254740994"), (-1e-7, "-1e-7"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"), (1.2e-10, "1.2e-10"), (10**21, "1e+21")])
def test_number_to_string_is_javascripts(value, text):
    assert number_to_string(value) == text
