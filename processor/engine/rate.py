"""The request rate the destination accepts, learned from its throttling answers.

Voucherify's plans allow ~100 to a few thousand requests per minute per project, so being
throttled is the normal state in production, not a fault. A 429 is a signal about the *rate*:
this module keeps a client-side rate (requests/s) and adapts it the way TCP adapts its window
(additive increase, multiplicative decrease, "AIMD"), which converges to just under the
server's limit whatever it is, combined with the configured ceiling (``requests_per_minute``).

The rules (the README's "Rate and availability" section says the same in prose):

1. Start: at the ceiling when one is configured; else a slow start (as TCP's): 200 requests/s,
   growing x16 per second while the rate is used, until the first cut, or unpaced once it
   passes 20,000/s. Starting unpaced with thousands of events in flight flooded a 500/s limit
   with ~2,000 429s in the first second, whose Retry-After retries then queued for seconds.
2. When to cut: a throttled answer to a request *sent after the last cut*, at most one cut per
   100 ms, and only if throttling is more than noise: at least ``cut_share`` (5 %) of the
   answers of the last second were 429s (of the last 100 answers when that second had fewer;
   before 100 answers at all, only a flood of half of 20 or more), and at least two. A server's
   limiter answers 429 in proportion to the overshoot, so its 429s pass that bar as soon as it
   matters; 2 % random 429s (issue 14's test) do not, at hundreds of answers per second. AIMD
   that cut on every random 429 would settle near ``increase / (0.1 x loss)``: a trickle.
   Answers to requests sent before the last cut were sent at the old rate: one burst counts once.
3. How deep: from the lower of the rate and the rate actually sent over the last second (when
   that rests on 20 requests or more; the first cut from "unlimited" always uses the rate sent),
   times 0.9, or times the share of answers that were not 429s when that is lower (DCTCP's idea;
   never below one half); from 20 % 429s on, at most 105 % of the successes per second just
   seen, which is the server's limit when it has one.
4. Increase: each success adds ``increase / rate``, i.e. ``increase`` requests/s per second while
   the rate is in use, ``increase`` being 4 % of the rate the last cut set; when far below the
   rate that cut came from, half of that gap per second instead (as CUBIC), so a cut that
   undershot (a slow server's late answers at the start) does not leave the rate low for minutes.
5. Bounds: never above the ceiling; never below ``min_rate_per_s``; and never staying below 90 %
   of the successes per second of a typical second of the last 30 (the median of the seconds
   that had any; the best second would include the server's burst allowance and keep the rate
   above its limit). Against 429s that do not fall when the rate falls, that turns a collapse
   into a slow drift.
6. ``Retry-After`` (or ``X-Rate-Limit-Retry``) is the earliest time for *that* request (the caller
   waits for it, then goes first: :class:`processor.engine.rate_gate.RateGate`). It holds *new*
   requests too only when throttling is across the board: ``hold_share`` (90 %) of the last
   ``hold_window`` (20) answers and of the last second's were 429s, and the rate has not come
   down for a second (a quota used up, not a rate too high: holding new requests while the rate
   was still coming down stalled the very cuts that would have fixed it). A hold is never
   extended while it lasts, and answers that arrive during it do not count towards the next one:
   never an ever-extending stop.

Pure: time comes from the ``clock`` passed in (seconds, monotonic); nothing here sleeps.
Slots are GCRA (a token bucket with one "theoretical arrival time"), with ``burst`` slots of slack
and at least 50 ms of catch-up (see ``_slack``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["AdaptiveRate"]

_MAX_HOLD_S = 300.0  # never trust a server-requested global hold longer than this
_SLOW_START_STEP = 2.77  # per success: ln(16), i.e. x16 per second while every slot is used
_SLOW_START_END_PER_S = 20_000.0  # a slow start that reaches this found no limit: stop pacing
_HOLD_AFTER_S = 1.0  # a hold only once the rate has not come down for this long
_DEEP_SHARE = 0.2  # a 429 share from which a cut goes straight to the goodput...
_GOODPUT_MARGIN = 1.05  # ...plus this margin (the additive increase probes the rest)
_CATCH_UP_S = 0.05  # slots a late gate timer may catch up on (see _slack)
_GOOD_BUCKET_S = 1.0  # goodput is counted per second (a quarter second let a burst inflate the floor)
_MIN_CUT_INTERVAL_S = 0.1  # at most one cut per 100 ms, whatever the round-trip time
_MIN_MEASURED = 20
_SHARE_SAMPLE = 100  # answers the 429 share is judged on (the last second's, or the last 100)  # requests in the measuring window before the measured rate is trusted over the pace


class AdaptiveRate:
    """Allowed request rate (requests/s; ``None`` = unlimited) with AIMD on throttling."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        ceiling_per_s: float | None = None,
        burst: int = 1,
        decrease: float = 0.9,
        increase_share: float = 0.04,
        min_rate_per_s: float = 0.5,
        hold_window: int = 20,
        hold_share: float = 0.9,
        cut_share: float = 0.05,
        floor_share: float = 0.9,
        floor_window_s: int = 30,
        slow_start_per_s: float | None = 200.0,
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
        # rule 1: slow start from slow_start_per_s, unless a ceiling is configured; None = unlimited
        self.rate: float | None = ceiling_per_s if ceiling_per_s or not slow_start_per_s else slow_start_per_s
        self._slow_start = self.rate is not None and ceiling_per_s is None
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
        self._good: deque[float] = deque(maxlen=int(floor_window_s / _GOOD_BUCKET_S))  # successes/s
        self._floor = 0.0  # floor_share x the best second in the window, updated once a second
        self._good_start = clock()
        self._good_cur = 0
        # answers and 429s per half-second bucket (current and previous): the share over ~1 s
        self._ans_start = clock()
        self._ans = [0, 0]  # previous, current
        self._thr = [0, 0]
        self._ring: deque[bool] = deque(maxlen=_SHARE_SAMPLE)  # the last 100 answers (True = 429)
        self._ring_throttled = 0
        self._first_answer_at: float | None = None
        self._last_decrease_at = float("-inf")
        self._w_max = 0.0  # the rate the last cut started from (as CUBIC's W_max)
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
        self._slow_start = False  # a configured ceiling (or its removal) decides instead (rule 1)
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

    def _slack(self, interval: float) -> float:
        """How far ahead of the pace a slot may be taken: ``burst`` slots, and at least 50 ms worth.

        The gate's timer fires once per loop iteration at best; on a busy loop (or machine) that
        is every few milliseconds, and a slot missed is lost (GCRA restarts from "now"). With one
        slot of slack the rate achieved was the loop's iteration rate (~250/s against an allowed
        600/s under load); 50 ms of slack lets a late timer catch up, in bursts of at most 50 ms
        of traffic (25 requests at 500/s; one at 2/s)."""
        return max((self._burst - 1) * interval, _CATCH_UP_S - interval, 0.0)

    @property
    def interval(self) -> float:
        return 0.0 if self.rate is None else 1.0 / self.rate

    def next_free(self) -> float:
        """Earliest clock time at which :meth:`try_take` can succeed."""
        slot = self._tat - self._slack(self.interval) if self.rate is not None else 0.0
        return max(slot, self.hold_until)

    def try_take(self) -> float | None:
        """Take a slot now if one is free: returns the send time to record (now), else ``None``."""
        now = self._clock()
        if now < self.hold_until:
            return None
        if self.rate is not None:
            interval = 1.0 / self.rate
            if self._tat - self._slack(interval) > now:
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
        current = self._win_count / max(elapsed, 0.05)
        last = self._last_win_rate if elapsed < 2.0 else 0.0
        if current > last and (elapsed >= 0.25 or not last):  # a young window's burst is no rate
            return current, self._win_count
        return last, int(last)

    def recent_goodput(self) -> float | None:
        """Successes/s over the answers of the last second or so (the share's buckets, from the
        first answer ever at the start); None while that spans less than 100 ms."""
        self._roll()
        now = self._clock()
        since = self._ans_start - (0.5 if self._ans[0] else 0.0)
        if self._first_answer_at is not None and self._first_answer_at > since:
            since = self._first_answer_at
        span = now - since
        if span < 0.1:
            return None
        ok = (self._ans[0] - self._thr[0]) + (self._ans[1] - self._thr[1])
        return ok / span

    # -- answers -------------------------------------------------------------------------------

    def throttled_share(self) -> tuple[float, int]:
        """Share of 429s among the answers of the last second, and the number of 429s it rests on;
        when that second had fewer than 100 answers (Voucherify's plans allow ~2 to ~35 requests
        per second), among the last 100 answers instead: 5 % of a handful of answers would be one
        random 429. Before 100 answers: (0, 0)."""
        self._roll()
        answers = self._ans[0] + self._ans[1]
        if answers >= _SHARE_SAMPLE:
            throttled = self._thr[0] + self._thr[1]
            return throttled / answers, throttled
        ring = self._ring
        if len(ring) < _SHARE_SAMPLE:
            # the first answers: only a flood counts (half of 20 or more; never 2 % random 429s)
            if len(ring) >= 20 and self._ring_throttled >= 0.5 * len(ring):
                return self._ring_throttled / len(ring), self._ring_throttled
            return 0.0, 0
        return self._ring_throttled / len(ring), self._ring_throttled

    def _roll(self, now: float | None = None) -> None:
        if now is None:
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

    def _answered(self, throttled: bool, now: float) -> None:
        """Count an answer in the share's buckets and ring and, unless it is stale evidence
        (rule 6), in the hold's window. Once per answer: the rolls are called only when due."""
        if self._first_answer_at is None:
            self._first_answer_at = now
        if now - self._ans_start >= 0.5:
            self._roll(now)
        self._ans[1] += 1
        if throttled:
            self._thr[1] += 1
        ring = self._ring
        if len(ring) == _SHARE_SAMPLE and ring[0]:
            self._ring_throttled -= 1
        ring.append(throttled)
        if throttled:
            self._ring_throttled += 1
        if now < self.hold_until:
            return  # answers to requests sent before the hold: stale evidence (rule 6)
        recent = self._recent
        if len(recent) == recent.maxlen and recent[0]:
            self._recent_throttled -= 1
        recent.append(throttled)
        if throttled:
            self._recent_throttled += 1

    def peak_goodput(self) -> float:
        """The most successes/s seen in one second over the last ``floor_window_s`` seconds (the
        current second counts once half of it has passed)."""
        self._roll_good()
        elapsed = self._clock() - self._good_start
        current = self._good_cur / elapsed if elapsed >= 0.5 else 0.0
        return max(max(self._good, default=0.0), current)

    def _roll_good(self, now: float | None = None) -> None:
        elapsed = (self._clock() if now is None else now) - self._good_start
        if elapsed >= _GOOD_BUCKET_S:
            self._good.append(self._good_cur / elapsed)
            for _ in range(min(int(elapsed / _GOOD_BUCKET_S) - 1, self._good.maxlen or 0)):
                self._good.append(0.0)  # idle seconds
            busy = sorted(g for g in self._good if g > 0)
            self._floor = self._floor_share * busy[len(busy) // 2] if busy else 0.0
            self._good_start += int(elapsed / _GOOD_BUCKET_S) * _GOOD_BUCKET_S
            self._good_cur = 0

    def on_success(self) -> None:
        """Rule 3: additive increase (while paced below the ceiling)."""
        now = self._clock()  # once per answer: the clock is read per request, so reads add up
        if now - self._good_start >= _GOOD_BUCKET_S:
            self._roll_good(now)
        self._good_cur += 1
        self._answered(False, now)
        rate = self.rate
        if rate is None:
            return
        if self._slow_start:  # rule 1: x16 per second while the rate is in use, until a cut
            rate += _SLOW_START_STEP
            if rate >= _SLOW_START_END_PER_S:
                self.rate = None  # no limit found: unpaced
                self._slow_start = False
                return
            self.rate = rate
            return
        gap = self._w_max - rate  # far below the rate of the last cut: close half the gap a second
        rate += (self._increase if gap < 2 * self._increase else 0.5 * gap) / rate
        if rate < self._floor:  # the server took more than this in one second lately
            rate = self._floor
        if self.ceiling is not None and rate >= self.ceiling:
            rate = self.ceiling
        self.rate = rate

    def on_throttled(self, sent_at: float, retry_after: float | None) -> None:
        """Rules 2 and 5: a 429 for a request sent at ``sent_at`` (a :meth:`try_take` result)."""
        self.throttled_total += 1
        now = self._clock()
        self._answered(True, now)
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
            new = base * factor
            goodput = self.recent_goodput() if share >= _DEEP_SHARE else None
            if goodput is not None:  # far over: what the server accepted is the better estimate
                new = min(new, _GOODPUT_MARGIN * goodput)
            new = max(self.min_rate, new, self._floor)
            self._increase = max(0.1, self._increase_share * new / self._decrease)
            old = self.rate
            self._slow_start = False
            self._w_max = base
            self.rate = new if self.ceiling is None else min(new, self.ceiling)
            if old is None or self.rate < old:
                self._last_decrease_at = now
            self._last_cut = now
            self.decreases += 1
            self._tat = min(self._tat, now + 1.0 / self.rate)  # the new pace applies from now
        if (
            retry_after
            and now >= self.hold_until
            and len(self._recent) >= self._hold_window
            and self._recent_throttled >= self._hold_share * len(self._recent)
            and (evidence == 0 or share >= self._hold_share)  # not one cluster: the last second too
            and self.rate is not None  # the rate was cut already...
            and now - self._last_decrease_at >= _HOLD_AFTER_S  # ...and cutting it did not help
        ):
            self.hold_until = now + min(retry_after, _MAX_HOLD_S)
            self._recent.clear()  # rule 6: the next hold needs fresh evidence
            self._recent_throttled = 0

