"""JavaScript ``Date`` as Node (V8) computes it, in a process whose time zone is UTC.

Segment's runtime parses date strings with ``new Date(string)``: V8's parser accepts the
ECMAScript date-time format (``2024-03-10T23:30:00-05:00``; date-only forms are UTC) and, failing
that, a permissive legacy grammar (``March 10, 2024``, ``Sun, 10 Mar 2024 23:30:00 GMT``,
``3/10/2024 5:06 PM``, ``2024-03-10 23:30``). Python's ``datetime``/``dateutil`` parse other
sets of strings and stop at year 9999, so the parser here follows V8's ``DateParser``
(``src/date/dateparser*``) step by step, and the calendar arithmetic is ECMAScript's
(``MakeDay``/``MakeTime``/``TimeClip``) over milliseconds since the epoch.

Time values are ``float`` milliseconds (NaN = invalid date), as in JavaScript.
"""

from __future__ import annotations

import math
from typing import Final

from .js import JS_WHITESPACE

MS_PER_DAY: Final = 86_400_000
MAX_TIME: Final = 8.64e15
_NONE: Final = 2**31 - 1  # V8's kNone (kMaxInt)

_KEYWORDS: Final = (
    ("jan", "month", 1), ("feb", "month", 2), ("mar", "month", 3), ("apr", "month", 4),
    ("may", "month", 5), ("jun", "month", 6), ("jul", "month", 7), ("aug", "month", 8),
    ("sep", "month", 9), ("oct", "month", 10), ("nov", "month", 11), ("dec", "month", 12),
    ("am", "ampm", 0), ("pm", "ampm", 12), ("ut", "tz", 0), ("utc", "tz", 0), ("z", "tz", 0),
    ("gmt", "tz", 0), ("cdt", "tz", -5), ("cst", "tz", -6), ("edt", "tz", -4), ("est", "tz", -5),
    ("mdt", "tz", -6), ("mst", "tz", -7), ("pdt", "tz", -7), ("pst", "tz", -8), ("t", "tsep", 0),
)


def _between(x: int, lo: int, hi: int) -> bool:
    return lo <= x <= hi


# --- ECMAScript date arithmetic -----------------------------------------------------------------


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of proleptic Gregorian ``y-m-d`` (``m`` 1..12)."""
    y -= m <= 2
    era = y // 400  # floor division: C's truncating (y - 399) / 400 for negative years
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    """``(year, month 1..12, day)`` of a day number (inverse of :func:`days_from_civil`)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def make_time_value(year: float, month0: float, day: float, h: float, mi: float, s: float, ms: float) -> float:
    """``MakeDate(MakeDay(year, month0, day), MakeTime(h, mi, s, ms))`` then ``TimeClip``."""
    vals = (year, month0, day, h, mi, s, ms)
    if any(not math.isfinite(v) for v in vals):
        return math.nan
    y, m = int(year), int(month0)
    ym = y + m // 12
    mn = m % 12
    if abs(ym) > 400_000:
        return math.nan
    days = days_from_civil(ym, mn + 1, 1) + int(day) - 1
    t = days * MS_PER_DAY + ((int(h) * 60 + int(mi)) * 60 + int(s)) * 1000 + int(ms)
    return time_clip(float(t))


def time_clip(t: float) -> float:
    if not math.isfinite(t) or abs(t) > MAX_TIME:
        return math.nan
    return float(math.trunc(t)) + 0.0


class Fields:
    """The UTC fields of a time value (what a Date's getters answer when TZ=UTC)."""

    __slots__ = ("year", "month", "day", "hours", "minutes", "seconds", "ms", "weekday")

    def __init__(self, t: float) -> None:
        ms_total = int(t)
        days, rem = divmod(ms_total, MS_PER_DAY)
        self.year, m, self.day = civil_from_days(days)
        self.month = m - 1
        self.hours, rem = divmod(rem, 3_600_000)
        self.minutes, rem = divmod(rem, 60_000)
        self.seconds, self.ms = divmod(rem, 1000)
        self.weekday = (days + 4) % 7  # 1970-01-01 was a Thursday


# --- V8's date string parser --------------------------------------------------------------------


class _Tok:
    __slots__ = ("kind", "value", "length")

    def __init__(self, kind: str, value: object = None, length: int = 0) -> None:
        self.kind, self.value, self.length = kind, value, length

    def num(self, length: int) -> bool:
        return self.kind == "num" and self.length == length

    def sym(self, c: str) -> bool:
        return self.kind == "sym" and self.value == c

    def sign(self) -> bool:
        return self.kind == "sym" and self.value in ("+", "-")

    def kw(self, kind: str) -> bool:
        return self.kind == kind

    def is_z(self) -> bool:
        return self.kind == "tz" and self.length == 1 and self.value == 0


class _Scanner:
    def __init__(self, s: str) -> None:
        nul = s.find("\0")
        self.s = s if nul < 0 else s[:nul]
        self.i = 0
        self.next_tok = self._scan()

    def _scan(self) -> _Tok:
        s, i, n = self.s, self.i, len(self.s)
        if i >= n:
            return _Tok("end")
        c = s[i]
        if "0" <= c <= "9":
            j = i
            v = 0
            while j < n and "0" <= s[j] <= "9":
                if j - i < 9:
                    v = v * 10 + ord(s[j]) - 48
                j += 1
            self.i = j
            return _Tok("num", v, j - i)
        if c in ":-+.)":
            self.i = i + 1
            return _Tok("sym", c, 1)
        if c >= "A" and c not in JS_WHITESPACE:  # non-ASCII spaces (U+00A0, U+3000) are blanks
            j = i
            while j < n and s[j] >= "A" and s[j] not in JS_WHITESPACE:
                j += 1
            word = s[i:j]
            self.i = j
            prefix = "".join(ch.lower() if "A" <= ch <= "Z" else ch for ch in word[:3])
            for key, kind, value in _KEYWORDS:
                if prefix == key and (len(word) <= 3 or kind == "month"):
                    return _Tok(kind, value, len(word))
            return _Tok("word", None, len(word))
        if c in JS_WHITESPACE:
            self.i = i + 1
            return _Tok("ws", None, 1)
        if c == "(":
            balance = 0
            while True:
                ch = s[self.i] if self.i < n else ""
                if ch == ")":
                    balance -= 1
                elif ch == "(":
                    balance += 1
                self.i += 1
                if not (balance > 0 and self.i < n):
                    break
            return _Tok("unknown")
        self.i = i + 1
        return _Tok("unknown")

    def next(self) -> _Tok:
        t = self.next_tok
        self.next_tok = self._scan()
        return t

    def peek(self) -> _Tok:
        return self.next_tok

    def skip(self, c: str) -> bool:
        if self.next_tok.sym(c):
            self.next_tok = self._scan()
            return True
        return False


class _Day:
    def __init__(self) -> None:
        self.comp: list[int] = []
        self.named_month = _NONE
        self.iso = False

    def add(self, n: int) -> bool:
        if len(self.comp) < 3:
            self.comp.append(n)
            return True
        return False

    def write(self) -> tuple[int, int, int] | None:
        if not self.comp:
            return None
        # Missing components default to 1 *before* the shape is chosen, so the component count
        # is always 3 here (V8 in Node 20: "12" is 2001-12-01, "32" is 2032-01-01).
        comp = self.comp + [1] * (3 - len(self.comp))
        year, month, day = 0, _NONE, _NONE
        if self.named_month == _NONE:
            if self.iso or not _between(comp[0], 1, 31):
                year, month, day = comp
            else:
                month, day, year = comp
        else:
            month = self.named_month
            if not _between(comp[0], 1, 31):
                year, day = comp[0], comp[1]
            else:
                day, year = comp[0], comp[1]
        if not self.iso:
            if _between(year, 0, 49):
                year += 2000
            elif _between(year, 50, 99):
                year += 1900
        if not _between(month, 1, 12) or not _between(day, 1, 31):
            return None
        return year, month - 1, day


class _Time:
    def __init__(self) -> None:
        self.comp: list[int] = []
        self.hour_offset = _NONE

    def empty(self) -> bool:
        return not self.comp

    def expecting(self, n: int) -> bool:
        i = len(self.comp)
        return (i == 1 and _between(n, 0, 59)) or (i == 2 and _between(n, 0, 59)) or (i == 3 and _between(n, 0, 999))

    def add(self, n: int) -> bool:
        if len(self.comp) < 4:
            self.comp.append(n)
            return True
        return False

    def add_final(self, n: int) -> bool:
        if not self.add(n):
            return False
        self.comp += [0] * (4 - len(self.comp))
        return True

    def write(self) -> tuple[int, int, int, int] | None:
        h, mi, s, ms = self.comp + [0] * (4 - len(self.comp))
        if self.hour_offset != _NONE:
            if not _between(h, 0, 12):
                return None
            h = h % 12 + self.hour_offset
        if not (_between(h, 0, 23) and _between(mi, 0, 59) and _between(s, 0, 59) and _between(ms, 0, 999)):
            if h != 24 or mi != 0 or s != 0 or ms != 0:
                return None
        return h, mi, s, ms


class _Zone:
    def __init__(self) -> None:
        self.sign = _NONE
        self.hour = _NONE
        self.minute = _NONE

    def set(self, offset_hours: int) -> None:
        self.sign = -1 if offset_hours < 0 else 1
        self.hour = offset_hours * self.sign
        self.minute = 0

    def expecting(self, n: int) -> bool:
        return self.hour != _NONE and self.minute == _NONE and _between(n, 0, 59)

    def is_utc(self) -> bool:
        return self.hour == 0 and self.minute == 0

    def write(self) -> int | None | bool:
        """Offset in seconds, None when absent, False when invalid."""
        if self.sign == _NONE:
            return None
        hour = 0 if self.hour == _NONE else self.hour
        minute = 0 if self.minute == _NONE else self.minute
        total = hour * 3600 + minute * 60
        if total > 2**30 - 1:
            return False
        return -total if self.sign < 0 else total


def _read_ms(tok: _Tok) -> int:
    number, length = int(tok.value), tok.length  # type: ignore[arg-type]
    if length == 1:
        return number * 100
    if length == 2:
        return number * 10
    if length > 3:
        length = min(length, 9)
        return number // 10 ** (length - 3)
    return number


def _es5(sc: _Scanner, day: _Day, time: _Time, tz: _Zone) -> _Tok | None:
    """V8 ``ParseES5DateTime``: the next token for the legacy parser, None when invalid."""
    if sc.peek().sign():
        sign_tok = sc.next()
        if not sc.peek().num(6):
            return sign_tok
        sign = 1 if sign_tok.value == "+" else -1
        year = int(sc.next().value)  # type: ignore[arg-type]
        if sign < 0 and year == 0:
            return sign_tok
        day.add(sign * year)
    elif sc.peek().num(4):
        day.add(int(sc.next().value))  # type: ignore[arg-type]
    else:
        return sc.next()
    if sc.skip("-"):
        if not sc.peek().num(2) or not _between(int(sc.peek().value), 1, 12):  # type: ignore[arg-type]
            return sc.next()
        day.add(int(sc.next().value))  # type: ignore[arg-type]
        if sc.skip("-"):
            if not sc.peek().num(2) or not _between(int(sc.peek().value), 1, 31):  # type: ignore[arg-type]
                return sc.next()
            day.add(int(sc.next().value))  # type: ignore[arg-type]
    if not sc.peek().kw("tsep"):
        if sc.peek().kind != "end":
            return sc.next()
    else:
        sc.next()
        p = sc.peek()
        if not p.num(2) or not _between(int(p.value), 0, 24):  # type: ignore[arg-type]
            return None
        hour_is_24 = p.value == 24
        time.add(int(sc.next().value))  # type: ignore[arg-type]
        if not sc.skip(":"):
            return None
        p = sc.peek()
        if not p.num(2) or not _between(int(p.value), 0, 59) or (hour_is_24 and int(p.value) > 0):  # type: ignore[arg-type]
            return None
        time.add(int(sc.next().value))  # type: ignore[arg-type]
        if sc.skip(":"):
            p = sc.peek()
            if not p.num(2) or not _between(int(p.value), 0, 59) or (hour_is_24 and int(p.value) > 0):  # type: ignore[arg-type]
                return None
            time.add(int(sc.next().value))  # type: ignore[arg-type]
            if sc.skip("."):
                p = sc.peek()
                if p.kind != "num" or (hour_is_24 and int(p.value) > 0):  # type: ignore[arg-type]
                    return None
                time.add(_read_ms(sc.next()))
        if sc.peek().is_z():
            sc.next()
            tz.set(0)
        elif sc.peek().sym("+") or sc.peek().sym("-"):
            tz.sign = 1 if sc.next().value == "+" else -1
            if sc.peek().num(4):
                hm = int(sc.next().value)  # type: ignore[arg-type]
                h, m = hm // 100, hm % 100
                if not _between(h, 0, 23) or not _between(m, 0, 59):
                    return None
                tz.hour, tz.minute = h, m
            else:
                p = sc.peek()
                if not p.num(2) or not _between(int(p.value), 0, 23):  # type: ignore[arg-type]
                    return None
                tz.hour = int(sc.next().value)  # type: ignore[arg-type]
                if not sc.skip(":"):
                    return None
                p = sc.peek()
                if not p.num(2) or not _between(int(p.value), 0, 59):  # type: ignore[arg-type]
                    return None
                tz.minute = int(sc.next().value)  # type: ignore[arg-type]
        if sc.peek().kind != "end":
            return None
    if tz.hour == _NONE and time.empty():
        tz.set(0)
    day.iso = True
    return _Tok("end")


def parse(s: str) -> float:
    """``Date.parse(s)`` in a UTC process: milliseconds since the epoch, NaN when invalid."""
    sc = _Scanner(s)
    day, time, tz = _Day(), _Time(), _Zone()
    tok = _es5(sc, day, time, tz)
    if tok is None:
        return math.nan
    has_number = bool(day.comp)
    while tok.kind != "end":
        if tok.kind == "num":
            has_number = True
            n = int(tok.value)  # type: ignore[arg-type]
            if sc.skip(":"):
                if sc.skip(":"):
                    if not time.empty():
                        return math.nan
                    time.add(n)
                    time.add(0)
                else:
                    if not time.add(n):
                        return math.nan
                    if sc.peek().sym("."):
                        sc.next()
            elif sc.skip(".") and time.expecting(n):  # V8 consumes the '.' either way
                time.add(n)
                if sc.peek().kind != "num":
                    return math.nan
                ms = _read_ms(sc.next())
                if ms < 0:
                    return math.nan
                time.add_final(ms)
            elif tz.expecting(n):
                tz.minute = n
            elif time.expecting(n):
                time.add_final(n)
                p = sc.peek()
                if not (p.kind == "end" or p.kind == "ws" or p.is_z() or p.sign()):
                    return math.nan
            else:
                if not day.add(n):
                    return math.nan
                sc.skip("-")
        elif tok.kind in ("month", "ampm", "tz", "tsep", "word"):
            if tok.kind == "ampm" and not time.empty():
                time.hour_offset = int(tok.value)  # type: ignore[arg-type]
            elif tok.kind == "month":
                day.named_month = int(tok.value)  # type: ignore[arg-type]
                sc.skip("-")
            elif tok.kind == "tz" and has_number:
                tz.set(int(tok.value))  # type: ignore[arg-type]
            else:
                if has_number:
                    return math.nan
                if sc.peek().kind == "num":
                    return math.nan
        elif tok.sign() and (tz.is_utc() or not time.empty()):
            tz.sign = 1 if tok.value == "+" else -1
            n, length = 0, 0
            if sc.peek().kind == "num":
                t = sc.next()
                n, length = int(t.value), t.length  # type: ignore[arg-type]
            has_number = True
            if sc.peek().sym(":"):
                tz.hour, tz.minute = n, _NONE
            elif length in (1, 2):
                tz.hour, tz.minute = n, 0
            elif length in (3, 4):
                tz.hour, tz.minute = n // 100, n % 100
            else:
                return math.nan
        elif (tok.sign() or tok.sym(")")) and has_number:
            return math.nan
        tok = sc.next()
    d, t, z = day.write(), time.write(), tz.write()
    if d is None or t is None or z is False:
        return math.nan
    value = make_time_value(d[0], d[1], d[2], *t)
    if z is not None and value == value:
        value = time_clip(value - z * 1000)  # type: ignore[operator]
    return value
