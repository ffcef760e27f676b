"""Generate the @liquid differential cases (templates x events), seeded, as JSON lines.

    python -m dev.differential.liquid_gen > /tmp/cases.jsonl
    node dev/differential/liquid_record.js --env /work/segment-reference < /tmp/cases.jsonl \
        > tests/segment/data/liquid_differential.jsonl

Every liquidjs 10.30.1 filter (enabled ones and those actions-core disables) with random inputs of
every JSON type and random argument forms (none, positional, extra, named, missing variables),
the date filters over many date shapes, strftime directives and timezone arguments, every tag,
whitespace control, expressions, and numbers at the edges. Cases whose outcome depends on the
clock or on randomness (``'now'``, ``sample`` of several values) are left out.
"""

from __future__ import annotations

import json
import random
import sys

# liquidjs 10.30.1 `Object.keys(new Liquid().filters)` (88), written out from liquidjs itself rather than
# imported from the product: a name the product's list lacked would still be recorded, and differ.
FILTERS = (
    "abs append array_to_sentence_string at_least at_most base64_decode base64_encode capitalize ceil "
    "cgi_escape compact concat date date_to_long_string date_to_rfc822 date_to_string date_to_xmlschema "
    "default divided_by downcase escape escape_once find find_exp find_index find_index_exp first floor "
    "group_by group_by_exp has has_exp hmac_sha256 inspect join json jsonify last lstrip map minus modulo "
    "newline_to_br normalize_whitespace number_of_words plus pop prepend push raw reject reject_exp remove "
    "remove_first remove_last replace replace_first replace_last reverse round rstrip sample sha256 shift "
    "size slice slugify sort sort_natural split squish strip strip_html strip_newlines sum times to_integer "
    "truncate truncatewords uniq unshift upcase uri_escape url_decode url_encode where where_exp xml_escape"
).split()

STRINGS = [
    "", "abc", "Hello World", "  padded  ", "\t tabs\nand\r\nlines \n", "a,b,,c,,", "ABC def GHI",
    "<p>Hi <b>there</b></p><script>x()</script><!-- c -->end", "<unclosed", "a <b> c", "&amp; &lt;x&gt; & \"q\" 'a'",
    "a b+c%20d", "%E4%BD%A0%E5%A5%BD", "%zz", "50%", "https://ex.com/a b?q=[1]&r=é#f", "SGVsbG8gV29ybGQ=", "SGVsbG8",
    "not*base64", "Zm9v\nYmFy", "Crème Brûlée à la carte", "你好 world 世界", "😀 smile 👍🏽", "ÄÖÜß straße",
    "12", "3.7", "-0", "1e3", " 42 ", "0x1F", "true", "null", "2024-03-10T23:30:00Z", "x-y_z.w", "one two three four five",
    "The quick brown fox jumps over the lazy dog", "mississippi", "ss", "i", "İstanbul", "ǅ", "ﬁne", "a\u00a0b\u2028c",
    "--Hello, World!--", "émoji_😀_test", "UPPER lower", "....", "a.b.c", "[1,2]", "{\"a\":1}",
]
NUMBERS = [0, 1, -1, 2, 3, 7, 10, -3.5, 7.9, 0.5, 1.5, 2.5, -2.5, 1.005, 2.675, 0.1, 123.456, 1e21, 1e-7, 1e-6,
           9007199254740991, 9007199254740993, 1234567890123456789, 12345678901234567890, 1e300, -0.0, 100.0,
           255, 1700000000, 1710113400, 1710113400.5, -86400, 4.35, 1e16, 0.000001234, 99.99, 5e-324]
ARRAYS = [[], [1, 2, 3], ["a", "b", "c"], [None, 1, "x", None], [[1, 2], [3]], [{"a": 1}, {"a": 2, "b": "x"}, {"b": 3}],
          ["x"], [True, False], [1.5, "2", 3], ["b", "a", "C"], [{"name": "n1", "price": 10}, {"name": "n2", "price": "5"}],
          [" a ", "b\n"], ["😀", "é"], [0, None, False, ""]]
OBJECTS = [{}, {"a": 1}, {"a": 1, "b": 2}, {"size": 3, "first": "f", "last": "l"}, {"name": "n", "items": [1, 2]},
           {"nested": {"deep": {"x": 1}}}, {"2": "two", "1": "one", "b": "bee"}, {"length": 5}]
SCALARS = [True, False, None]
ALL = STRINGS + NUMBERS + ARRAYS + OBJECTS + SCALARS

LITERAL_ARGS = ["1", "2", "0", "-1", "3.5", "'a'", "'b c'", "''", "' '", "','", "'-'", "'x'", "true", "false", "nil",
                "empty", "'%Y'", "'pretty'", "'ascii'", "'latin'", "'none'", "'raw'", "'ordinal'", "'US'", "'cjk'",
                "'auto'", "(1..3)", "10", "50", "100", "-5", "1.5", "'5'", "'abc'", "'key'", "'name'", "'price'", "'a'"]
DATE_STRINGS = [
    "2024-03-10T23:30:00-05:00", "2024-03-10T23:30:00Z", "2024-03-10T23:30:00.123Z", "2024-03-10", "2024-03-10T23:30:00",
    "2024-03-10 23:30:00", "2024-03-10T23:30", "2024-03", "2024", "2024-02-29T12:00:00+0530", "2024-13-01", "2024-02-30",
    "March 10, 2024", "Mar 10 2024 10:00:00 GMT+0100", "Sun, 10 Mar 2024 23:30:00 GMT", "Sun Mar 10 2024 23:30:00 GMT+0000 (UTC)",
    "10 March 2024", "2024/03/10", "03/10/2024", "3/10/2024 5:06 PM", "2024-03-10T23:30:00.123456Z", "+002024-03-10T00:00:00Z",
    "-000001-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "2000-01-01T00:00:00+14:00", "1999-12-31T23:59:60Z",
    "2024-W10", "20240310", "1710113400", "1710113400123", "0", "-1", "12", "abc", "", "  2024-03-10  ", "2024-3-5",
    "Tuesday, 5 November 2024", "Nov 5, 2024 3:04:05 pm", "2024-11-05T15:04:05.000-08:00", "2021-01-04T00:00:00Z",
    "2020-12-31T00:00:00Z", "2024-12-30T00:00:00Z", "2023-01-01T00:00:00Z", "2038-01-19T03:14:08Z", "1900-02-28T00:00:00Z",
]
DATE_NUMBERS = [0, 1, 1710113400, 1710113400.5, -1, 1e10, 8.64e12, 8.65e12, 1700000000, 951782400, -2208988800]
FORMATS = [
    "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S %z", "%a %A %b %B %h", "%c", "%x", "%X", "%C %y %Y", "%d %e %-d %_d %0e",
    "%H %I %k %l %p %P", "%j %L %N %3N %6N %12N", "%m %M %S %s", "%u %w %U %W", "%z %:z %Z", "%q", "%t%n%%", "%^a %^B %#b %#p",
    "%10Y %-m/%-d %_5H", "%E %O %i %J %", "%-I:%M%P", "%D %F %T %R %r %v", "no directives", "%", "%%Y", "%b %-d, %Y",
    "%A, %B %-e, %Y at %-l:%M %P %z", "%G-W%V", "%^10A|%-10A|%_3d|%03e", "%Y%m%d", "%s%L", "%#Z %^Z",
]
TIMEZONES = ["'America/New_York'", "'Asia/Kolkata'", "'UTC'", "'Europe/Warsaw'", "'Australia/Lord_Howe'", "'Etc/GMT+5'",
             "360", "-480", "0", "'+05:30'", "'-0800'", "'Nope/Zone'", "330", "'asia/tokyo'", "nil", "'EST'"]

DISABLED = {"array_to_sentence_string", "concat", "find", "find_exp", "find_index", "find_index_exp", "group_by",
            "group_by_exp", "has", "has_exp", "map", "newline_to_br", "reject", "reject_exp", "reverse", "sort",
            "sort_natural", "uniq", "where_exp"}


def rand_arg(rng: random.Random, names: list[str]) -> str:
    r = rng.random()
    if r < 0.45:
        return rng.choice(LITERAL_ARGS)
    if r < 0.9:
        return rng.choice(names)
    return "missing"


def filter_case(rng: random.Random, name: str) -> dict:
    x = rng.choice(ALL)
    if name.startswith("date") and rng.random() < 0.7:
        x = rng.choice(DATE_STRINGS + DATE_NUMBERS)
    data: dict = {"x": x}
    names = []
    for key in ("a", "b", "c"):
        data[key] = rng.choice(ALL)
        names.append(key)
    nargs = rng.choice([0, 0, 1, 1, 1, 2, 2, 3])
    args = [rand_arg(rng, names) for _ in range(nargs)]
    if args and rng.random() < 0.12:
        args[-1] = rng.choice(["allow_false", "k", "name"]) + ": " + args[-1]
    call = name + (": " + ", ".join(args) if args else "")
    source = "x" if rng.random() < 0.85 else rng.choice(["missing", "x.a", "x[0]", "x.size", "x.first", "'lit'", "12", "nil"])
    tail = rng.choice(["", "", "", " | json", " | size", " | first", " | append: '!'"])
    return {"t": "{{ " + source + " | " + call + tail + " }}", "d": data}


def date_cases(rng: random.Random, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        x = rng.choice(DATE_STRINGS + DATE_NUMBERS)
        fmt = rng.choice(FORMATS)
        r = rng.random()
        if r < 0.5:
            t = "{{ x | date: f }}"
        elif r < 0.85:
            t = "{{ x | date: f, " + rng.choice(TIMEZONES) + " }}"
        else:
            t = "{{ x | " + rng.choice(["date_to_xmlschema", "date_to_rfc822", "date_to_string", "date_to_long_string",
                                         "date_to_string: 'ordinal'", "date_to_long_string: 'ordinal', 'US'", "date"]) + " }}"
        out.append({"t": t, "d": {"x": x, "f": fmt}})
    return out


TAG_TEMPLATES = [
    "{% cycle 'a', 'b' %}", "{% cycle 'a', 'b' %}{% cycle 'a', 'b' %}{% cycle 'a', 'b' %}", "{% cycle x, 'b', 3 %}{% cycle x, 'b', 3 %}",
    "{% cycle 'g1': 'a', 'b' %}{% cycle 'g2': 'a', 'b' %}{% cycle 'g1': 'a', 'b' %}", "{% cycle %}", "{% cycle x | upcase, 'b' %}",
    "{% cycle 'a' 'b' %}", "{% cycle g: 'a', 'b' %}{% cycle g: 'a', 'b' %}",
    "a{% break %}b", "a{% continue %}b", "{% if true %}a{% break %}b{% endif %}c", "{% liquid\nassign y = 3\necho y\n%}",
    "{% liquid\n  if x\n    echo 'yes'\n  else\n    echo 'no'\n  endif\n%}", "{% liquid echo x %}", "{% liquid\ncycle 'a','b'\ncycle 'a','b'\n%}",
    "{% liquid\n# comment\necho 'z'\n%}", "{% liquid\nbreak\necho 'n'\n%}x", "{% liquid\nfor i in x\necho i\nendfor\n%}", "{% liquid %}",
    "{% increment n %}{% increment n %}{{ n }}", "{% decrement n %}{% decrement n %}{{ n }}", "{% increment x %}{{ x }}",
    "{% decrement x %}{% increment x %}{{ x }}", "{% assign n = 5 %}{% increment n %}{{ n }}", "{% increment n %}{% assign n = 'q' %}{% increment n %}{{ n }}",
    "{% unless x %}u{% else %}e{% endunless %}", "{% unless x %}u{% elsif a %}ea{% else %}e{% endunless %}", "{% unless x == 1 %}n{% endunless %}",
    "{% raw %}{{ x }}{% endraw %}", "{% raw %}{% if %}{% endraw %}", "{% raw %}a", "{%- raw -%} a {%- endraw -%}", "x {%- raw %} a {% endraw -%} y",
    "{% echo x %}", "{% echo %}", "{% echo x | size %}", "{%- echo x -%}", "{% comment %}{{ x }}{% endcomment %}y", "{% comment %}{% comment %}a{% endcomment %}{% endcomment %}b",
    "{% comment %}{% if %}{% endcomment %}ok", "{% comment %}", "{% # inline %}v", "{%# inline %}v", "{% # a\n # b %}v", "{% # a\n b %}v",
    "  {{- x -}}  ", "a  {%- if true -%}  b  {%- endif -%}  c", "a\n{{- x }}\nb", "{{ x -}}\n\n z", " \n {%- assign y = 1 -%} \n {{ y }}",
    "{% block b %}in{% endblock %}", "{% block %}in{% endblock %}", "{% block b %}in", "{% if x %}{% endif %}", "{% if %}{% endif %}",
    "{% if x %}a{% else %}b{% else %}c{% endif %}", "{% if x %}a{% else %}b{% elsif x %}c{% endif %}", "{% endif %}", "{% else %}",
    "{% capture c %}{{ x }}-{{ a }}{% endcapture %}{{ c }}", "{% capture 'c' %}v{% endcapture %}{{ c }}", "{% capture %}v{% endcapture %}",
    "{% assign %}", "{% assign y %}", "{% assign y = %}", "{% assign y = x | size %}{{ y }}", "{% assign x = 'o' %}{{ x }}",
    "{% for i in x %}{{ i }}{% endfor %}", "{% case x %}{% when 1 %}o{% endcase %}", "{% tablerow i in x %}{% endtablerow %}",
    "{% include 'f' %}", "{% render 'f' %}", "{% layout 'f' %}", "{% nosuchtag %}", "{% if x %}", "{{ x", "{% if x", "{{ x | }}",
    "{{ x | upcase: }}", "{{ x | 5 }}", "{{ x || upcase }}", "{{ x | upcase upcase }}", "{{ x, y }}", "{{ 'unterminated }}", "{{ }}", "{{}}",
    "{{ x | default: 'd' }}", "{{ x.a.b.c }}", "{{ x['a'] }}", "{{ x[a] }}", "{{ x[0] }}", "{{ x[-1] }}", "{{ x.size }}", "{{ x.first }}{{ x.last }}",
    "{{ x.length }}", "{{ x['size'] }}", "{{ x.toString }}", "{{ x.constructor }}", "{{ x.__proto__ }}", "{{ (1..x) }}", "{{ (x..3) | join: ',' }}",
    "{{ x | split: '' | join: '|' }}", "{{ x | json: 2 }}", "{{ x | json: 'ab' }}", "{{ x | inspect: 1 }}", "{{ x | jsonify }}",
    "{{ x | json: 0.5 }}", "{{ x | json: '' }}", "{{ x | json: -0.5 }}", "{{ x | inspect: 10.9 }}", "{{ x | json: 11 }}",
]
EXPRESSIONS = ["x == a", "x != a", "x <> a", "x > a", "x < a", "x >= a", "x <= a", "x contains a", "x and a", "x or a",
               "not x", "x == empty", "x == blank", "x != empty", "empty == x", "x == nil", "x == null", "x", "a", "x == true",
               "x contains 'a'", "x and a or b", "x or a and b", "x == 1 or a", "1 < 2 and 2 < 1", "x.size > 2", "'abc' contains 'b'",
               "x == a == b", "x >", "x == 'a' and", "(x == 1)", "x == 1.0", "x contains nil", "x > 'a'", "x == (1..2)"]


def tag_cases(rng: random.Random, n: int) -> list[dict]:
    out = []
    for t in TAG_TEMPLATES:
        for _ in range(3):
            out.append({"t": t, "d": {"x": rng.choice(ALL), "a": rng.choice(ALL)}})
    while len(out) < n:
        e = rng.choice(EXPRESSIONS)
        kind = rng.choice(["if", "unless", "ifelse", "elsif", "echo", "assign"])
        if kind == "if":
            t = "{% if " + e + " %}T{% endif %}"
        elif kind == "unless":
            t = "{% unless " + e + " %}T{% endunless %}"
        elif kind == "ifelse":
            t = "{% if " + e + " %}T{% else %}F{% endif %}"
        elif kind == "elsif":
            t = "{% if false %}A{% elsif " + e + " %}T{% else %}F{% endif %}"
        elif kind == "echo":
            t = "{% echo " + e + " %}"
        else:
            t = "{% assign r = " + e + " %}{{ r }}"
        out.append({"t": t, "d": {"x": rng.choice(ALL), "a": rng.choice(ALL), "b": rng.choice(ALL)}})
    return out


MORE_TAG_TEMPLATES = [
 "{% liquid\nassign y = x | size\nif y > 2\necho 'big'\nelsif y == 0\necho 'zero'\nelse\necho y\nendif\n%}",
 "{% liquid\ncapture c\necho x\nendcapture\necho c | size\n%}",
 "{% liquid\ncomment\necho 'no'\nendcomment\necho 'yes'\n%}",
 "{% liquid\nunless x\necho 'u'\nendunless\n%}",
 "{%- liquid echo x -%}  \n  ",
 "a\n  {%- liquid\n  echo 'b'\n  -%}\n  c",
 "{% if x | size > 1 %}m{% endif %}",
 "{% if x == empty %}E{% elsif x == blank %}B{% elsif x == nil %}N{% else %}O{% endif %}",
 "{{ x == a }}", "{{ x > a }}", "{{ x contains a }}", "{{ x and a }}", "{{ not x }}",
 "{% assign z = x == a %}{{ z }}", "{% assign z = x | json %}{{ z }}",
 "{{ nil }}|{{ empty }}|{{ blank }}|{{ nil | json }}|{{ empty | size }}|{{ blank | append: 'x' }}",
 "{{ x['1'] }}{{ x[1] }}{{ x.1 }}", "{{ x.a.size }}", "{{ x[a] }}", "{{ x[x] }}",
 "{{ 'a\\nb' }}", '{{ "\\u00e9\\t" | json }}', "{{ 'it\\'s' }}", "{{ 1.5e3 }}", "{{ -1.5 | abs }}", "{{ +5 }}",
 "{{ x | default: 'd', allow_false: true }}", "{{ x | default: a, allow_false: b }}",
 "{% capture x %}cap{% endcapture %}{{ x }}", "{% assign x = 1 %}{% increment x %}{{ x }}",
 "{% increment a %}{% increment a %}{% decrement a %}{{ a }}",
 "{% cycle a, b %}{% cycle a, b %}{% cycle a, b %}", "{% cycle 'x': a, b %}{% cycle 'y': a, b %}{% cycle 'x': a, b %}",
 "{% echo x | json: 1 %}", "{{- x -}}", "  {%- comment -%} c {%- endcomment -%}  z  ",
 "{% raw %} {{- x -}} {% endraw -%}   y", "{% raw %}{% endraw %}", "{% raw %}{%endraw%}", "{% raw %}{% endraw x %}",
 "{% if x %}{% break %}{% endif %}after", "{% capture c %}a{% break %}b{% endcapture %}[{{ c }}]",
 "{% unless x %}a{% else %}b{% else %}c{% endunless %}", "{% unless x %}a{% elsif a %}b{% endunless %}",
 "{% if x %}a{% endif x %}", "{% if x %}a{% else x %}b{% endif %}",
 "{{ x | where: 'a' }}", "{{ x | where: 'a', 1 | json }}", "{{ x | where: 'b' | size }}", "{{ x | where: 'price', '5' | json }}",
 "{{ x | sum: 'price' }}", "{{ x | sum: 'a' }}", "{{ x | sum }}",
]
EXTRA_DATES = ["2024-03-10T23:30:00.5Z", "2024-03-10T24:00:00Z", "2024-03-10T24:00:01Z", "Sat, 1 Jun 2024 1:02:03 PM EST",
               "June 1 2024 13:00 +0200", "1 Jun 2024 10:00 pm", "2024-06-01T10:00:00 GMT+0200 (CEST)", "Jun 2024",
               "2024 Jun 1", "12:00 2024-01-01", "2024-01-01 12:00 PM", "2024-01-01T12:00:00+05", "2024-01-01T12:00:00.1234567Z",
               "1/2/3", "99-01-01", "0001-01-01T00:00:00Z", "275760-09-13T00:00:00Z", "+275760-09-13T00:00:00.001Z",
               "-271821-04-20T00:00:00Z"]
CHAIN_ARGS = LITERAL_ARGS + ["a", "b", "a.a", "a[0]", "a.size", "a.first", "b[-1]", "missing.x", "'\\n'", '"\\u00e9"',
                             "'a\\'b'", "1e3", "-0", "(a..3)", "x: 1", "a: b"]
CHAIN_SOURCES = ["x", "x", "a", "b", "x.a", "x[1]", "x.size", "'lit'", "3.5", "nil", "empty", "blank", "(1..3)", "x.first",
                 "x.last", "x.length"]


def chain_cases(rng: random.Random, n: int) -> list[dict]:
    """Chains of 1-3 enabled filters with mixed argument forms (property paths, ranges, keys)."""
    enabled = [f for f in FILTERS if f not in DISABLED and f != "sample"]
    out = []
    for _ in range(n):
        chain = []
        for _ in range(rng.choice([1, 2, 2, 3])):
            args = ", ".join(rng.choice(CHAIN_ARGS) for _ in range(rng.choice([0, 1, 1, 2, 2, 3])))
            chain.append(rng.choice(enabled) + (": " + args if args else ""))
        t = "{{ " + rng.choice(CHAIN_SOURCES) + " | " + " | ".join(chain) + " }}"
        out.append({"t": t, "d": {"x": rng.choice(ALL), "a": rng.choice(ALL), "b": rng.choice(ALL)}})
    return out


UNICODE_TEMPLATES = ["{{ x | split: '' | join: '' }}", "{{ x | split: '' | json }}", "{{ x | first }}|{{ x | last }}",
                     "{{ x | slice: 0, 1 }}|{{ x | slice: -1 }}", "{{ x | truncate: 2, '' }}", "{{ x | size }}",
                     "{{ x | replace: '', '-' }}", "{{ x | json }}", "{{ x | capitalize }}", "{{ x[0] }}{{ x[1] }}",
                     "{{ x | split: '' | first | append: x | json }}", "{{ x | base64_encode }}", "{{ x | url_encode }}"]
UNICODE_VALUES = ["😀", "😀 smile 👍🏽", "a😀b", "é", "你好", "𝒳y", "\u0301e"]


def unicode_cases() -> list[dict]:
    """Strings beyond the Basic Multilingual Plane: JavaScript sees two UTF-16 units."""
    return [{"t": t, "d": {"x": v}} for t in UNICODE_TEMPLATES for v in UNICODE_VALUES]


RANDOM_CHARS = list("abcXYZ019 _-.,:;'\"<>/&%+=!?*()[]{}#@$~\t\n\r") + [
    "\u00a0", "\u2028", "\ufeff", "\u3000", "é", "ß", "İ", "ǅ", "😀", "👍🏽", "你", "\u0301", "\x00", "\x1f", "ﬁ", "Σ", "ς"]


def random_cases(rng: random.Random, n: int) -> list[dict]:
    """Random strings (control characters, non-ASCII blanks, astral characters), numbers and
    nested values through 1-2 enabled filters with random literal and variable arguments."""
    def text() -> str:
        return "".join(rng.choice(RANDOM_CHARS) for _ in range(rng.randint(0, 12)))

    def number() -> float | int:
        r = rng.random()
        if r < 0.3:
            return rng.randint(-1000, 1000)
        if r < 0.6:
            return round(rng.uniform(-1e4, 1e4), rng.randint(0, 6))
        if r < 0.8:
            return rng.choice([0.5, 1.5, 2.5, -0.5, 1e21, 1e-7, 123456789012, 2**53, 0.1 + 0.2])
        return rng.uniform(-1, 1) * 10 ** rng.randint(-10, 25)

    def value(depth: int = 0) -> object:
        r = rng.random()
        if r < 0.45:
            return text()
        if r < 0.7:
            return number()
        if r < 0.78:
            return rng.choice([True, False, None])
        if depth < 2 and r < 0.9:
            return [value(depth + 1) for _ in range(rng.randint(0, 4))]
        if depth < 2:
            return {text()[:4] or "k": value(depth + 1) for _ in range(rng.randint(0, 3))}
        return text()

    def arg() -> str:
        r = rng.random()
        if r < 0.5:
            return rng.choice(["a", "b", "c"])
        if r < 0.7:
            return "'" + text().replace("'", "").replace("\\", "") + "'"
        if r < 0.9:
            return str(number())
        return rng.choice(["nil", "true", "false", "empty", "(1..4)"])

    enabled = [f for f in FILTERS if f not in DISABLED and f != "sample"]
    out = []
    for _ in range(n):
        chain = []
        for _ in range(rng.choice([1, 1, 2])):
            k = rng.choice([0, 1, 1, 2, 3])
            chain.append(rng.choice(enabled) + (": " + ", ".join(arg() for _ in range(k)) if k else ""))
        out.append({"t": "{{ x | " + " | ".join(chain) + " }}", "d": {"x": value(), "a": value(), "b": value(), "c": value()}})
    return out


NEST_EXPR = ["x", "a", "x == a", "x != 1", "x > 2", "a contains 'b'", "x and a", "not x", "x == empty", "a == blank",
             "x | size > 1", "x == nil", "true", "false", "nil", "x.size"]
NEST_VALS = ["x", "a", "'s'", "1", "x | size", "a | upcase", "x | json", "nil", "empty", "(1..3)"]
NEST_LIQUID = ["echo x", "assign z = a | size\necho z", "if x\necho 'T'\nendif", "cycle 'p', 'q'", "increment n"]


def _block(rng: random.Random, depth: int) -> str:
    """1-3 random pieces; blocks nest up to three deep."""

    def dash() -> str:
        return rng.choice(["", "", "-"])

    def sub() -> str:
        return _block(rng, depth + 1)

    parts = []
    for _ in range(rng.randint(1, 3)):
        r = rng.random()
        if depth < 3 and r < 0.15:
            elsif = ("{% elsif " + rng.choice(NEST_EXPR) + " %}" + sub()) if rng.random() < 0.3 else ""
            other = ("{% else %}" + sub()) if rng.random() < 0.5 else ""
            parts.append("{%" + dash() + " if " + rng.choice(NEST_EXPR) + " " + dash() + "%}" + sub() + elsif + other
                         + "{%" + dash() + " endif " + dash() + "%}")
        elif depth < 3 and r < 0.25:
            other = ("{% else %}" + sub()) if rng.random() < 0.4 else ""
            parts.append("{% unless " + rng.choice(NEST_EXPR) + " %}" + sub() + other + "{% endunless %}")
        elif depth < 3 and r < 0.32:
            parts.append(f"{{% capture c{depth} %}}" + sub() + f"{{% endcapture %}}{{{{ c{depth} }}}}")
        elif r < 0.4:
            parts.append("{% assign v = " + rng.choice(NEST_VALS) + " %}{{ v }}")
        elif r < 0.47:
            values = ", ".join(rng.choice(NEST_VALS) for _ in range(rng.randint(1, 3)))
            parts.append("{% cycle " + rng.choice(["", "'g': "]) + values + " %}")
        elif r < 0.52:
            parts.append("{% increment " + rng.choice(["n", "x", "a"]) + " %}")
        elif r < 0.56:
            parts.append("{% decrement " + rng.choice(["n", "x"]) + " %}")
        elif r < 0.6:
            parts.append(rng.choice(["{% break %}", "{% continue %}"]))
        elif r < 0.66:
            parts.append("{% echo " + rng.choice(NEST_VALS) + " %}")
        elif r < 0.7 and depth < 2:
            parts.append("{% liquid\n" + rng.choice(NEST_LIQUID) + "\n%}")
        elif r < 0.74:
            parts.append("{% raw %}{{ r }}{% endraw %}")
        elif r < 0.78:
            parts.append("{% comment %}c{% endcomment %}")
        elif r < 0.82:
            parts.append("{%# note %}")
        else:
            value = rng.choice(NEST_VALS)
            parts.append(rng.choice([" ", "\n", "t", " \n ", "{{ " + value + " }}", "{{- " + value + " -}}"]))
    return "".join(parts)


NEST_DATA = ["", "abc", 0, 1, 2.5, -1, True, False, None, [], [1, 2], ["a"], {}, {"a": 1}, " ", "b"]


def nested_tag_cases(rng: random.Random, n: int) -> list[dict]:
    """Random nestings of every enabled tag (with whitespace control), at most 1,000 characters."""
    out: list[dict] = []
    while len(out) < n:
        t = _block(rng, 0)
        if len(t) <= 1000:
            out.append({"t": t, "d": {"x": rng.choice(NEST_DATA), "a": rng.choice(NEST_DATA)}})
    return out


def more_date_cases(rng: random.Random, n: int) -> list[dict]:
    zones = ["", "", ", 'America/New_York'", ", 'Asia/Kathmandu'", ", -330", ", 'Pacific/Kiritimati'", ", 'America/Caracas'",
             ", 'Europe/London'"]
    return [{"t": "{{ x | date: f" + rng.choice(zones) + " }}",
             "d": {"x": rng.choice(DATE_STRINGS + EXTRA_DATES), "f": rng.choice(FORMATS)}} for _ in range(n)]


NUM_OPS = ["plus", "minus", "times", "divided_by", "modulo", "round", "ceil", "floor", "abs", "at_least", "at_most", "to_integer"]


def number_cases(rng: random.Random, n: int) -> list[dict]:
    out = [{"t": "{{ x }}", "d": {"x": v}} for v in NUMBERS]
    out += [{"t": "{{ " + lit + " }}", "d": {}} for lit in ["1", "1.0", "-0", "1.50", "007", "-1.5e3", "1e21", ".5", "5.", "9007199254740993", "0.1"]]
    while len(out) < n:
        op = rng.choice(NUM_OPS)
        arg = rng.choice(["a", "b", "0", "-0", "2", "'x'", "nil", "3.7"])
        extra = rng.choice(["", "", ", true", ", 1"])
        t = "{{ x | " + op + ": " + arg + extra + " }}"
        out.append({"t": t, "d": {"x": rng.choice(NUMBERS + STRINGS[:5] + ["12", "3.7", "-0", "1e3", " 42 "]),
                                  "a": rng.choice(NUMBERS), "b": rng.choice(NUMBERS + [None, True, "5"])}})
    return out


def generate(seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    cases: list[dict] = []
    for name in FILTERS:
        per = 12 if name in DISABLED else 70
        if name in ("sample",):
            per = 0
        cases += [filter_case(rng, name) for _ in range(per)]
    # sample: deterministic only for a single candidate
    for v in ([], [1], ["x"], "a", "", None, 5, "aa", [2, 2]):
        for arg in ("", ": 1", ": 0", ": 2", ": 'x'"):
            cases.append({"t": "{{ x | sample" + arg + " | json }}", "d": {"x": v}})
    cases += date_cases(rng, 900)
    cases += tag_cases(rng, 700)
    cases += number_cases(rng, 500)
    for t in MORE_TAG_TEMPLATES:
        cases += [{"t": t, "d": {"x": rng.choice(ALL), "a": rng.choice(ALL), "b": rng.choice(ALL)}} for _ in range(12)]
    cases += chain_cases(rng, 3000)
    cases += unicode_cases()
    cases += random_cases(rng, 4000)
    cases += nested_tag_cases(rng, 1000)
    cases += more_date_cases(rng, 800)
    return cases


def main() -> int:
    for case in generate():
        sys.stdout.write(json.dumps(case, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
