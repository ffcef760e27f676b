"""The request rate the destination accepts, learned from its throttling answers.

Voucherify's plans allow ~100 to a few thousand requests per minute per project, so being
throttled is the normal state in production, not a fault. A 429 is a signal about the *rate*:
this module keeps a client-side rate (requests/s) and adapts it the way TCP adapts its window
(additive increase, multiplicative decrease, "AIMD"), which converges to just under the
server's limit whatever it is, combined with the configured ceiling (``requests_per_minute``).

The rules (each one a sentence of the README's delivery section):

1. No ceiling and never throttled: no pacing at all.
2. A throttled answer to a request *sent after the last decrease* multiplies the rate by
   ``decrease`` (0.85), or by the share of answers that were not 429s when that is lower (a
   deep overshoot is cut in few steps, as DCTCP does; never by more than half), starting from the lower of the current rate and the rate actually sent
   over the last second (when that second saw at least 20 requests; the first cut from
   "unlimited" always starts from the rate sent), provided throttling is more than noise: at
   least ``cut_share`` (5 %) of the answers of the last second (or of the last 20 answers, when
   fewer came back; and at least 20 answers and two 429s in all) were 429s. A server's rate limiter answers 429 in proportion to how far the
   rate is over it, so its 429s pass that bar as soon as the overshoot matters; a few random
   429s (2 % in issue 14's test) do not, and must not drag the rate down (AIMD under random loss
   settles near ``increase / (decrease share x loss)``: a handful of requests per second).
   Answers to requests sent before the last decrease say nothing new (they were sent at the old
   rate), so one burst of 429s counts once (as TCP: one cut per window); and there is at most
   one cut per 100 ms, so a fast-answering server does not get ten cuts before any goodput is
   measured.
3. Each success adds ``increase / rate`` requests/s, i.e. about ``increase`` requests/s per second
   while the rate is in use; ``increase`` is 2 % of the rate at the last cut (at least 0.1/s), so
   climbing back from a cut takes ~7.5 s whatever the limit, and the average is ~92 % of it.
4. The rate never exceeds the ceiling, and a cut never takes it below 90 % of the most successes
   the server accepted in one second over the last 30 s (it has just shown it takes that much:
   this is what keeps random 429s, which do not fall when the rate falls, from collapsing the
   rate), nor below ``min_rate_per_s``. A cut may thus raise a rate that fell below that floor.
5. ``Retry-After`` (or ``X-Rate-Limit-Retry``) is the earliest time for *that* request (the caller
   waits for it, then goes first: :class:`processor.engine.rate_gate.RateGate`). It holds *new*
   requests too only when throttling is across the board: at least ``hold_share`` (half) of the
   last ``hold_window`` (20) answers were 429s. A hold is never extended while it lasts, and the
   next one needs a fresh window of answers collected after it ended: never an ever-extending stop.

Pure: time comes from the ``clock`` passed in (seconds, monotonic); nothing here sleeps.
Slots are GCRA (a token bucket with one "theoretical arrival time"), with ``burst`` slots of slack.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["AdaptiveRate"]

_MAX_HOLD_S = 300.0  # never trust a server-requested global hold longer than this
_GOOD_BUCKET_S = 1.0  # goodput is counted per second (a quarter second let a burst inflate the floor)
_MIN_CUT_INTERVAL_S = 0.1  # at most one cut per 100 ms, whatever the round-trip time
_MIN_MEASURED = 20  # requests in the measuring window before the measured rate is trusted over the pace


class AdaptiveRate:
    """Allowed request rate (requests/s; ``None`` = unlimited) with AIMD on throttling."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        ceiling_per_s: float | None = None,
        burst: int = 1,
        decrease: float = 0.85,
        increase_share: float = 0.02,
        min_rate_per_s: float = 0.5,
        hold_window: int = 20,
        hold_share: float = 0.5,
        cut_share: float = 0.05,
        floor_share: float = 0.9,
        floor_window_s: int = 30,
    ) -> None:
        if ceiling_per_s is not None and ceiling_per_s <= 0:
            raise ValueError("ceiling_per_s must be positive")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._clock = clock
        self.ceiling = ceiling_per_s
        self._burst = burst
        self._decrease = decrease
        self._increase_share = increase_share
        self.min_rate = min_rate_per_s
        self.rate: float | None = ceiling_per_s  # rule 1: None = unlimited
        self._increase = max(0.1, increase_share * ceiling_per_s) if ceiling_per_s else 0.1
        self._tat = 0.0  # theoretical arrival time of the next slot (GCRA)
        self._last_cut = float("-inf")
        self.hold_until = 0.0
        self._hold_window = hold_window
        self._hold_share = hold_share
        self._recent: deque[bool] = deque(maxlen=hold_window)  # True = throttled
        self._recent_throttled = 0
        self._cut_share = cut_share
        self._floor_share = floor_share
        # successes per one-second bucket over the last floor_window_s seconds (peak goodput)
        self._good: deque[int] = deque(maxlen=int(floor_window_s / _GOOD_BUCKET_S))
        self._good_start = clock()
        self._good_cur = 0
        # answers and 429s per half-second bucket (current and previous): the share over ~1 s
        self._ans_start = clock()
        self._ans = [0, 0]  # previous, current
        self._thr = [0, 0]
        # sent-rate measure: starts counted per one-second window
        self._win_start = clock()
        self._win_count = 0
        self._last_win_rate = 0.0
        self.throttled_total = 0
        self.decreases = 0

    def set_ceiling(self, ceiling_per_s: float | None) -> None:
        """A new configured ceiling (configuration reload); ``None`` removes it.

        Never throttled so far (the rate is the old ceiling, or unlimited): the rate becomes the
        new ceiling (rule 1 when ``None``). Adapted below a ceiling by throttling: the learned
        rate stays, capped by the new ceiling (rule 4), and keeps growing additively up to it.
        Raises ``ValueError`` for a ceiling that is not positive.
        """
        if ceiling_per_s is not None and ceiling_per_s <= 0:
            raise ValueError("ceiling_per_s must be positive")
        was_paced = self.rate is not None
        self.ceiling = ceiling_per_s
        if self.decreases == 0:
            self.rate = ceiling_per_s
        elif ceiling_per_s is not None and (self.rate is None or self.rate > ceiling_per_s):
            self.rate = ceiling_per_s
        if self.rate is not None:
            now = self._clock()
            self._increase = max(0.1, self._increase_share * self.rate)
            # the new pace applies from now (unpaced until now: the next request goes now)
            self._tat = min(self._tat, now + 1.0 / self.rate) if was_paced else now

    # -- slots ---------------------------------------------------------------------------------

    def now(self) -> float:
        """The clock this rate runs on."""
        return self._clock()

    @property
    def interval(self) -> float:
        return 0.0 if self.rate is None else 1.0 / self.rate

    def next_free(self) -> float:
        """Earliest clock time at which :meth:`try_take` can succeed."""
        slot = self._tat - (self._burst - 1) * self.interval if self.rate is not None else 0.0
        return max(slot, self.hold_until)

    def try_take(self) -> float | None:
        """Take a slot now if one is free: returns the send time to record (now), else ``None``."""
        now = self._clock()
        if now < self.hold_until:
            return None
        if self.rate is not None:
            interval = 1.0 / self.rate
            if self._tat - (self._burst - 1) * interval > now:
                return None
            self._tat = max(self._tat, now) + interval
        self._count_sent(now)
        return now

    def _count_sent(self, now: float) -> None:
        elapsed = now - self._win_start
        if elapsed >= 1.0:
            self._last_win_rate = self._win_count / elapsed if elapsed < 2.0 else 0.0
            self._win_start = now
            self._win_count = 0
        self._win_count += 1

    def sent_rate(self) -> tuple[float, int]:
        """Requests/s actually sent recently, and how many requests that figure rests on (the last
        full one-second window, or the current one when it shows more)."""
        now = self._clock()
        elapsed = now - self._win_start
        current = self._win_count / max(elapsed, 0.01)
        last = self._last_win_rate if elapsed < 2.0 else 0.0
        if current > last:
            return current, self._win_count
        return last, int(last)

    # -- answers -------------------------------------------------------------------------------

    def throttled_share(self) -> tuple[float, int]:
        """Share of 429s among the answers of the last second (or the last 20, if fewer came back
        in that second), and the number of 429s it rests on."""
        self._roll()
        answers = self._ans[0] + self._ans[1]
        if answers >= self._hold_window:
            throttled = self._thr[0] + self._thr[1]
            return throttled / answers, throttled
        if len(self._recent) < self._hold_window:
            return 0.0, 0  # too few answers yet to tell a limit from noise
        return self._recent_throttled / len(self._recent), self._recent_throttled

    def _roll(self) -> None:
        now = self._clock()
        elapsed = now - self._ans_start
        if elapsed >= 0.5:
            if elapsed >= 1.0:
                self._ans = [0, 0]
                self._thr = [0, 0]
            else:
                self._ans = [self._ans[1], 0]
                self._thr = [self._thr[1], 0]
            self._ans_start = now

    def _answered(self, throttled: bool) -> None:
        self._roll()
        self._ans[1] += 1
        if throttled:
            self._thr[1] += 1

    def peak_goodput(self) -> float:
        """The most successes/s seen in one second over the last ``floor_window_s`` seconds (the
        current second counts once half of it has passed)."""
        self._roll_good()
        elapsed = self._clock() - self._good_start
        current = self._good_cur / elapsed if elapsed >= 0.5 else 0.0
        return max(max(self._good, default=0) / _GOOD_BUCKET_S, current)

    def _roll_good(self) -> None:
        elapsed = self._clock() - self._good_start
        if elapsed >= _GOOD_BUCKET_S:
            self._good.append(self._good_cur)
            for _ in range(min(int(elapsed / _GOOD_BUCKET_S) - 1, self._good.maxlen or 0)):
                self._good.append(0)  # idle seconds
            self._good_start += int(elapsed / _GOOD_BUCKET_S) * _GOOD_BUCKET_S
            self._good_cur = 0

    def on_success(self) -> None:
        """Rule 3: additive increase (while paced below the ceiling)."""
        self._roll_good()
        self._good_cur += 1
        self._answered(False)
        self._remember(False)
        rate = self.rate
        if rate is None:
            return
        rate += self._increase / rate
        if self.ceiling is not None and rate >= self.ceiling:
            rate = self.ceiling
        self.rate = rate

    def on_throttled(self, sent_at: float, retry_after: float | None) -> None:
        """Rules 2 and 5: a 429 for a request sent at ``sent_at`` (a :meth:`try_take` result)."""
        self.throttled_total += 1
        now = self._clock()
        self._answered(True)
        self._remember(True)
        share, evidence = self.throttled_share()
        if (sent_at >= self._last_cut and now - self._last_cut >= _MIN_CUT_INTERVAL_S and evidence >= 2
                and share >= self._cut_share):
            measured, samples = self.sent_rate()
            if self.rate is None:
                base = measured
            elif samples >= _MIN_MEASURED:  # the pace may have grown far above what is sent
                base = min(self.rate, measured)
            else:
                base = self.rate
            # never below what the server has just shown it accepts (rule 4)
            # the deeper the share of 429s, the deeper the cut (as DCTCP): from 3,000/s against a
            # 500/s limit (83 % 429s) one cut lands near the limit instead of ten
            factor = max(0.5, min(self._decrease, 1.0 - share))  # at most halved, as TCP
            new = max(self.min_rate, base * factor, self._floor_share * self.peak_goodput())
            self._increase = max(0.1, self._increase_share * new / self._decrease)
            self.rate = new if self.ceiling is None else min(new, self.ceiling)
            self._last_cut = now
            self.decreases += 1
            self._tat = min(self._tat, now + 1.0 / self.rate)  # the new pace applies from now
        if (
            retry_after
            and now >= self.hold_until
            and len(self._recent) >= self._hold_window
            and self._recent_throttled >= self._hold_share * len(self._recent)
        ):
            self.hold_until = now + min(retry_after, _MAX_HOLD_S)
            self._recent.clear()  # rule 5: the next hold needs fresh evidence
            self._recent_throttled = 0

    def _remember(self, throttled: bool) -> None:
        if self._clock() < self.hold_until:
            return  # answers to requests sent before the hold: stale evidence (rule 5)
        recent = self._recent
        if len(recent) == recent.maxlen and recent[0]:
            self._recent_throttled -= 1
        recent.append(throttled)
        if throttled:
            self._recent_throttled += 1
