"""No template and no event can make the Liquid port raise anything but :class:`LiquidError`.

Random filter chains (every liquidjs filter, enabled or not, and unknown names) with random
arguments of every form (literals, variables, ranges, ``key: value``, too many, none) over random
JSON events: rendering returns text or raises ``LiquidError`` (what fails an event in Segment too),
never a Python error. What the text is, is the differential test's business.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.segment.mapping.liquid import LiquidError, compile_liquid
from processor.segment.mapping.liquid.engine import TAGS
from processor.segment.mapping.liquid.filters import LIQUIDJS_FILTERS

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
NAMES = sorted(LIQUIDJS_FILTERS) + ["no_such_filter"]
ARG = st.sampled_from(["1", "-1", "0", "2.5", "'a'", "''", "'%Y %q %-d %10N %^B %:z'", "true", "nil", "empty",
                       "blank", "(1..3)", "x", "y", "x.a", "x[0]", "missing", "1e3", "'America/New_York'", "-300",
                       "'Nope/Zone'", "'ordinal'", "'US'", "'pretty'", "'cjk'"])
KEYED = st.builds(lambda k, v: f"{k}: {v}", st.sampled_from(["allow_false", "k"]), ARG)


@st.composite
def templates(draw: st.DrawFn) -> str:
    chain = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(NAMES))
        args = draw(st.lists(ARG | KEYED, max_size=4))
        chain.append(name + (": " + ", ".join(args) if args else ""))
    source = draw(st.sampled_from(["x", "y", "x.a", "'text'", "12", "nil", "(1..2)"]))
    body = "{{ " + source + " | " + " | ".join(chain) + " }}"
    tag = draw(st.sampled_from(["", "if", "unless", "cycle", "echo", "assign", "liquid"]))
    if tag == "if":
        return "{% if " + source + " | " + chain[0] + " %}" + body + "{% else %}e{% endif %}"
    if tag == "unless":
        return "{% unless x contains y %}" + body + "{% endunless %}"
    if tag == "cycle":
        return "{% cycle " + source + " | " + chain[0] + ", 'b' %}" + body
    if tag == "echo":
        return "{% echo " + source + " | " + " | ".join(chain) + " %}"
    if tag == "assign":
        return "{% assign z = " + source + " | " + " | ".join(chain) + " %}{{ z }}{% increment x %}"
    if tag == "liquid":
        return "{% liquid\necho " + source + " | " + " | ".join(chain) + "\nbreak\n%}" + body
    return body


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(templates(), JSON, JSON)
def test_rendering_raises_only_liquid_errors(template: str, x: object, y: object) -> None:
    try:
        render = compile_liquid(template)
    except LiquidError:
        return
    try:
        result = render({"x": x, "y": y})
    except LiquidError as exc:
        assert "internal error" not in str(exc), (template, x, y, exc)
        return
    assert type(result) is str


def test_every_enabled_tag_parses() -> None:
    for name in TAGS - {"#", "liquid"}:
        closing = "{% end" + name + " %}" if name in ("block", "capture", "comment", "if", "raw", "unless") else ""
        args = {"assign": " a = 1", "capture": " c", "cycle": " 'a'", "decrement": " n", "echo": " 1",
                "if": " true", "increment": " n", "unless": " false"}.get(name, "")
        compile_liquid("{% " + name + args + " %}" + closing)({})
