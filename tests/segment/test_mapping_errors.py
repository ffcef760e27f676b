"""How a malformed mapping is reported (issue 12 item 11): one line per problem, each naming its
location once; Segment's own wording stays available as ``message`` (the conformance cases)."""

from __future__ import annotations

import pytest

from processor.segment.errors import MappingConfigError
from processor.segment.mapping import compile_mapping

PREFIX = "subscriptions[2] 'Big orders' mapping "


def test_two_problems_are_two_lines_and_no_path_repeats() -> None:
    with pytest.raises(MappingConfigError) as info:
        compile_mapping({"event": {"@path": 3}, "type": {"@template": 5}}, field_prefix=PREFIX)
    assert str(info.value).splitlines() == [
        f"{PREFIX}/event/@path: should be a string or a mapping directive but it is a number.",
        f"{PREFIX}/type/@template: should be a string or a mapping directive but it is a number.",
    ]
    assert info.value.message == ("/event/@path should be a string or a mapping directive but it is a number. "
                                  "/type/@template should be a string or a mapping directive but it is a number.")
    assert info.value.field == f"{PREFIX}/event/@path"


def test_one_problem_names_its_path_once() -> None:
    with pytest.raises(MappingConfigError) as info:
        compile_mapping({"x": {"@foo": 1}}, field_prefix=PREFIX)
    assert str(info.value) == f"{PREFIX}/x: has an invalid directive: @foo."
