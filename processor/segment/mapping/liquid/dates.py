"""liquidjs 10.30.1's date filters (``date``, ``date_to_xmlschema``, ``date_to_rfc822``,
``date_to_string``, ``date_to_long_string``) as Segment's runtime renders them.

Segment's process runs in UTC with the ``en-US`` locale, so:

* a value becomes a date as liquidjs's ``parseDate`` makes it: ``'now'``/``'today'``, a number
  or a string of digits as *seconds* since the epoch, any other string through JavaScript's
  ``new Date(string)`` (:func:`processor.segment.jsdate.parse`, V8's grammar), anything else
  through ``new Date(value)``; an invalid date returns the input unchanged;
* ``date: format, tz`` shifts the displayed wall clock: a string ``tz`` is an IANA zone (looked
  up case-insensitively, like ICU; an unknown one fails with ``Invalid time zone specified: tz``),
  a number is minutes *west* of UTC (JavaScript's ``getTimezoneOffset`` sign);
* strftime is liquidjs's own (``%-d``, ``%^B``, ``%:z``, ``%N``, ``%q`` ...), not C's: Python's
  ``time.strftime`` pads, names and flags differently and stops at year 9999, so the directive
  table below is a port of liquidjs's ``formatCodes``. ``%c``/``%x``/``%X`` are ``en-US``'s
  ``toLocaleString`` forms (``3/11/2024, 4:30:00 AM``).
"""

from __future__ import annotations

import math
import re
import time
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, available_timezones

from ...js import UNDEFINED, number_to_string, string_to_number, to_units
from ...jsdate import Fields, parse, time_clip
from .errors import LiquidFailure
from .filters import FILTERS
from .values import Drop, is_nil, js_number, js_string, stringify, to_value

DEFAULT_FORMAT: Final = "%A, %B %-e, %Y at %-l:%M %P %z"  # liquidjs's dateFormat
_MONTHS: Final = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                  "October", "November", "December")
_DAYS: Final = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DIGITS: Final = re.compile(r"\d+")
_FORMAT: Final = re.compile("%([-_0^#:]+)?(\\d+)?([EO])?([^\n\r\u2028\u2029])")
_PAD_WIDTHS: Final = {"C": 2, "d": 2, "e": 2, "H": 2, "I": 2, "j": 3, "k": 2, "l": 2, "L": 3, "m": 2, "M": 2,
                      "S": 2, "U": 2, "W": 2, "y": 2, "Y": 4}
_PAD_SPACE: Final = frozenset("aAbBceklpP")


_GREGORIAN_CYCLE_S: Final = 146097 * 86400.0  # 400 years: weekdays (and DST rules) repeat


@lru_cache(maxsize=None)
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _zone_offset_minutes(name: str, t: float) -> float:
    """``LiquidDate.getTimezoneOffset(name, date)``: minutes *west* of UTC of zone ``name`` at
    time value ``t``, computed as liquidjs does it: both wall clocks written as ``en-US``
    ``toLocaleString`` text, read back with ``new Date(text)`` and subtracted (so the era years
    and two-digit years of that round trip shift distant dates exactly as in Segment). The
    zone's UTC offset comes from the IANA data via :mod:`zoneinfo`."""
    if t != t:  # toLocaleString of an invalid date is "Invalid Date": the zone is not checked
        return math.nan
    key = _zones().get(name.lower())
    if key is None:
        raise LiquidFailure(f"Invalid time zone specified: {_as_icu_message(name)}")
    from datetime import datetime, timezone

    seconds = t / 1000.0
    if seconds > 4102444800.0:  # after 2100: the zone's rules repeat with the 400-year calendar
        seconds = 946684800.0 + (seconds - 946684800.0) % _GREGORIAN_CYCLE_S
    seconds = max(seconds, -62135596800.0)  # before year 1: the zone's first (LMT) offset
    instant = datetime.fromtimestamp(math.floor(seconds), tz=timezone.utc)
    offset = ZoneInfo(key).utcoffset(instant)
    offset_ms = offset.total_seconds() * 1000.0 if offset is not None else 0.0
    utc_text = _locale_string(Fields(t))
    local_text = _locale_string(Fields(t + offset_ms))
    return (parse(utc_text) - parse(local_text)) / 60000.0


def _as_icu_message(name: str) -> str:
    """Node words the RangeError with the zone's UTF-8 bytes read as Latin-1."""
    try:
        return name.encode("utf-8").decode("latin-1").replace("\x00", " ")
    except UnicodeEncodeError:
        return name


class LiquidDate:
    """liquidjs's ``LiquidDate``: a time value and a display time zone (``timezoneOffset``)."""

    __slots__ = ("value", "offset", "zone_name", "fixed", "display", "f")

    def __init__(self, value: float, tz: Any) -> None:
        self.value = value
        self.fixed = tz is not UNDEFINED
        if tz is UNDEFINED:
            tz = 0.0 if value == value else math.nan
        if type(tz) is str:
            self.offset: Any = _zone_offset_minutes(tz, value)
            self.zone_name = tz
        else:
            self.offset = tz
            self.zone_name = ""
        minutes = float(js_number(self.offset)) if type(self.offset) is not float else self.offset
        base = 0.0 if value == value else math.nan
        self.display = time_clip(value + (base - minutes) * 60000.0)
        self.f = Fields(self.display) if self.display == self.display else None

    def valid(self) -> bool:
        return self.display == self.display


def _time_value(v: Any) -> float:
    """``new Date(init)`` as liquidjs's ``parseDate`` builds ``init``."""
    t = type(v)
    if t is str:
        if v == "now" or v == "today":
            return float(int(time.time() * 1000))
        if _DIGITS.fullmatch(v) and v.isascii():
            return time_clip(float(string_to_number(v)) * 1000.0)
        return parse(v)
    if t is int or t is float:
        return time_clip(float(v) * 1000.0) if not (t is int and abs(v) > 2**1023) else math.nan
    if t is bool:
        return float(v)
    if t is list:
        return parse(js_string(v))
    return math.nan


def parse_date(v: Any, tz: Any = UNDEFINED) -> LiquidDate | None:
    """liquidjs ``parseDate(v, opts, timezoneOffset)``; None for an invalid date."""
    v = to_value(v)
    if is_nil(v):
        return None
    if tz is None:  # `timezoneOffset ?? opts.timezoneOffset`
        tz = UNDEFINED
    d = LiquidDate(_time_value(v), tz)
    return d if d.valid() else None


# --- strftime -----------------------------------------------------------------------------------


def _pad_start(s: str, length: Any, ch: str) -> str:
    n = float(js_number(length)) - len(to_units(s))
    if not n > 0:
        return s
    return ch * int(n) + s


def _day_of_year(f: Fields) -> int:
    y = f.year
    leap = (y & 3) == 0 and (y % 100 != 0 or (y % 400 == 0 and y != 0))
    months = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    return sum(months[: f.month]) + f.day


def _week_of_year(f: Fields, start: int) -> str:
    since = (f.weekday - start + 7) % 7
    return str((_day_of_year(f) - 1 - since + 7) // 7)


def _h12(f: Fields) -> str:
    return str(f.hours % 12 or 12)


def _locale_date(f: Fields) -> str:
    """``en-US`` ``toLocaleDateString``: years up to 0 are shown as the era year (``1 - y``)."""
    return f"{f.month + 1}/{f.day}/{f.year if f.year > 0 else 1 - f.year}"


def _locale_string(f: Fields) -> str:
    """``en-US`` ``toLocaleString`` (``3/11/2024, 4:30:00 AM``)."""
    return _locale_date(f) + ", " + _locale_time(f)


def _locale_time(f: Fields) -> str:
    return f"{_h12(f)}:{f.minutes:02d}:{f.seconds:02d} {'AM' if f.hours < 12 else 'PM'}"


def _tz_offset(d: LiquidDate, colon: bool) -> str:
    off = d.offset
    minutes = float(js_number(off)) if type(off) is not float else off
    n = abs(minutes)
    h = number_to_string(math.floor(n / 60)) if n == n else "NaN"
    m = number_to_string(math.fmod(n, 60)) if n == n else "NaN"
    m = m if m != "-0" else "0"
    sign = "-" if minutes > 0 else "+"
    return sign + _pad_start(h, 2, "0") + (":" if colon else "") + _pad_start(m, 2, "0")


def _ordinal(day: int) -> str:
    if day in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _convert(d: LiquidDate, code: str, flags: str, width: str | None, memory: Any) -> str | None:
    f = d.f
    assert f is not None
    if code == "a":
        return _DAYS[f.weekday][:3]
    if code == "A":
        return _DAYS[f.weekday]
    if code in "bh":
        return _MONTHS[f.month][:3]
    if code == "B":
        return _MONTHS[f.month]
    if code == "c":
        return _locale_string(f)
    if code == "C":
        return str(math.floor(f.year / 100))
    if code in "de":
        return str(f.day)
    if code in "Hk":
        return str(f.hours)
    if code in "Il":
        return _h12(f)
    if code == "j":
        return str(_day_of_year(f))
    if code == "L":
        return str(f.ms)
    if code == "m":
        return str(f.month + 1)
    if code == "M":
        return str(f.minutes)
    if code == "N":
        w = int(width) if width and int(width) else 9
        s = _pad_start(str(f.ms), 3, "0")[:w]
        if memory is not None:
            memory.use(w - len(s))
        return s + "0" * (w - len(s))
    if code == "p":
        return "AM" if f.hours < 12 else "PM"
    if code == "P":
        return "am" if f.hours < 12 else "pm"
    if code == "q":
        return _ordinal(f.day)
    if code == "s":
        return number_to_string(math.floor(d.value / 1000))
    if code == "S":
        return str(f.seconds)
    if code == "u":
        return str(f.weekday or 7)
    if code == "U":
        return _week_of_year(f, 0)
    if code == "w":
        return str(f.weekday)
    if code == "W":
        return _week_of_year(f, 1)
    if code == "x":
        return _locale_date(f)
    if code == "X":
        return _locale_time(f)
    if code == "y":
        return str(f.year % 100)
    if code == "Y":
        return str(f.year)
    if code == "z":
        return _tz_offset(d, ":" in flags)
    if code == "Z":
        if d.fixed:
            return d.zone_name or _tz_offset(d, ":" in flags)
        return "UTC"
    if code == "t":
        return "\t"
    if code == "n":
        return "\n"
    if code == "%":
        return "%"
    return None


def _change_case(s: str) -> str:
    return s.upper() if any("a" <= c <= "z" for c in s) else s.lower()


def strftime(d: LiquidDate, fmt: str, memory: Any = None) -> str:
    """liquidjs ``strftime(date, format, memoryLimit)``."""
    out: list[str] = []
    pos = 0
    for m in _FORMAT.finditer(fmt):
        out.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, _modifier, code = m.group(1) or "", m.group(2), m.group(3), m.group(4)
        ret = _convert(d, code, flags, width, memory)
        if ret is None:
            out.append(m.group(0))
            continue
        pad_char = " " if code in _PAD_SPACE else "0"
        pad_width: Any = (int(width) if width else 0) or _PAD_WIDTHS.get(code, 0)
        if "^" in flags:
            ret = ret.upper()
        elif "#" in flags:
            ret = _change_case(ret)
        if "_" in flags:
            pad_char = " "
        elif "0" in flags:
            pad_char = "0"
        if "-" in flags:
            pad_width = 0
        if memory is not None:
            memory.use(pad_width - len(to_units(ret)))
        if pad_char == "0" and ret[:1] == "-":
            out.append("-" + _pad_start(ret[1:], pad_width - 1, pad_char))
        else:
            out.append(_pad_start(ret, pad_width, pad_char))
    out.append(fmt[pos:])
    return "".join(out)


# --- the filters ---------------------------------------------------------------------------------


def _length_of(v: Any) -> float:
    """``v?.length ?? 0`` (charged to memory by ``date``)."""
    t = type(v)
    if t is str:
        return len(v)
    if t is list:
        return len(v)
    if t is dict:
        n = v.get("length", UNDEFINED)
        return n if (type(n) is int or type(n) is float) else 0
    return 0


def _date(ctx: Any, v: Any, args: list) -> Any:
    fmt = args[0] if args else UNDEFINED
    tz = args[1] if len(args) > 1 else UNDEFINED
    ctx.memory.use(_length_of(v) + _length_of(tz))
    d = parse_date(v, tz)
    if d is None:
        return v
    fmt = to_value(fmt)
    text = DEFAULT_FORMAT if is_nil(fmt) else stringify(fmt)
    ctx.memory.use(len(text))
    return strftime(d, text, ctx.memory)


def _date_to_xmlschema(ctx: Any, v: Any, args: list) -> Any:
    return _date(ctx, v, ["%Y-%m-%dT%H:%M:%S%:z"])


def _date_to_rfc822(ctx: Any, v: Any, args: list) -> Any:
    d = parse_date(v)
    if d is None:
        return v
    return strftime(d, "%a, %d %b %Y %H:%M:%S %z", ctx.memory)


def _stringify_date(ctx: Any, v: Any, month: str, args: list) -> Any:
    d = parse_date(v)
    if d is None:
        return v
    kind = args[0] if args else UNDEFINED
    style = args[1] if len(args) > 1 else UNDEFINED
    if kind == "ordinal" and type(kind) is str:
        day = d.f.day  # type: ignore[union-attr]
        if style == "US" and type(style) is str:
            return strftime(d, f"{month} {day}%q, %Y", ctx.memory)
        return strftime(d, f"{day}%q {month} %Y", ctx.memory)
    return strftime(d, f"%d {month} %Y", ctx.memory)


FILTERS["date"] = _date
FILTERS["date_to_xmlschema"] = _date_to_xmlschema
FILTERS["date_to_rfc822"] = _date_to_rfc822
FILTERS["date_to_string"] = lambda ctx, v, args: _stringify_date(ctx, v, "%b", args)
FILTERS["date_to_long_string"] = lambda ctx, v, args: _stringify_date(ctx, v, "%B", args)

__all__ = ["parse_date", "strftime", "LiquidDate"]
