"""Turning what the stub recorded and what the monitor sampled into the reported figures.

Zero loss: requests received per stub path must equal the requests the events trigger.
Order: for each user, the stub's arrival order must follow the per-user ``seq``; an earlier seq
arriving after a later one is a violation (a re-sent equal seq is a duplicate, counted apart).
Steady state: the rate between 10 % and 90 % of the expected requests, so start-up (imports,
group join, connection set-up) and the drain tail do not count.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from dev.sample_events import body_tag

Record = tuple[float, str, int, dict[str, Any] | None]


def tag_of(path: str, body: dict[str, Any]) -> tuple[str, int, int] | None:
    """(userId, i, seq) from a request body the stub recorded on ``path``, or None if it carries no tag."""
    customer = body.get("customer") or {}
    user = customer.get("source_id") if customer else body.get("source_id")  # upsertCustomer: top level
    tagged = body_tag(path, body)
    if tagged is None or "i" not in tagged or user is None:
        return None
    return user, int(tagged["i"]), int(tagged["seq"])


@dataclass(slots=True)
class Sample:
    """One monitor reading: wall time, stub request count, processor and stub CPU seconds."""

    t: float
    requests: int
    cpu_s: float
    stub_cpu_s: float
    wait_s: float = 0.0  # processor threads' time runnable but not running (CPU contention)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


def steady_state(samples: list[Sample], expected: int, lo: float = 0.1, hi: float = 0.9) -> dict[str, float]:
    """Events/s and CPU s per 1,000 events between the ``lo`` and ``hi`` fractions of the run."""
    counts = [s.requests for s in samples]
    a = bisect_left(counts, expected * lo)
    b = bisect_left(counts, expected * hi)
    b = min(b, len(samples) - 1)
    if b <= a:  # too short a run for a window between two samples: every figure, as "unknown"
        nan = float("nan")
        return {"events_per_s": nan, "cpu_s_per_1k": nan, "window_s": 0.0, "cpu_utilisation": nan,
                "stub_cpu_utilisation": nan, "stub_cpu_s_per_1k": nan, "runqueue_wait_per_s": nan}
    first, last = samples[a], samples[b]
    n = last.requests - first.requests
    dt = last.t - first.t
    return {"events_per_s": n / dt, "cpu_s_per_1k": (last.cpu_s - first.cpu_s) / n * 1000 if n else float("nan"),
            "window_s": dt, "cpu_utilisation": (last.cpu_s - first.cpu_s) / dt,
            "stub_cpu_utilisation": (last.stub_cpu_s - first.stub_cpu_s) / dt,
            "stub_cpu_s_per_1k": (last.stub_cpu_s - first.stub_cpu_s) / n * 1000 if n else float("nan"),
            "runqueue_wait_per_s": (last.wait_s - first.wait_s) / dt}


def rate_by_decile(arrivals: list[float], expected: int) -> list[float]:
    """Events/s in each tenth of the run: a falling rate means something degrades as it goes.

    ``arrivals``: the stub's arrival time of every request, in order. Each tenth is timed from
    the arrival of its first request to that of its last, so it is exact: from the 0.25 s
    samples, a tenth inside one sample was ``nan``, and the last tenth read as a collapse when
    the run ended just after a sample (newcomers' findings). A tenth never reached is ``nan``.
    """
    out: list[float] = []
    if not arrivals:
        return [float("nan")] * 10
    arrivals = sorted(arrivals)  # (pages of the stub's records come in order; be sure)
    bounds = [min(len(arrivals), max(1, round(expected * d / 10))) - 1 for d in range(11)]
    bounds[0] = 0
    for d in range(10):
        a, b = bounds[d], bounds[d + 1]
        reached = len(arrivals) >= round(expected * (d + 1) / 10)
        dt = arrivals[b] - arrivals[a]
        out.append(round((b - a) / dt) if reached and dt > 0 else float("nan"))
    return out


def check(records: Iterable[Record], ts_ms: Any, expected_by_path: dict[str, int],
          latency_from_index: int = 0) -> dict[str, Any]:
    """Loss, duplicates, per-key order and end-to-end latency (ms) from the stub's records.

    ``records`` is read once, in arrival order (a generator of pages will do).
    """
    by_path: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    last_seq: dict[str, int] = {}
    seen: set[int] = set()
    violations = duplicates = untagged = 0
    latencies: list[float] = []
    arrivals: list[float] = []
    for arrived, path, status, body in records:
        arrivals.append(arrived)
        by_path[path] += 1
        statuses[status] += 1
        tag = tag_of(path, body) if isinstance(body, dict) else None
        if tag is None:
            untagged += 1
            continue
        user, i, seq = tag
        if i in seen:
            duplicates += 1
        seen.add(i)
        prev = last_seq.get(user, 0)
        if seq < prev:
            violations += 1
        else:
            last_seq[user] = seq
        if i >= latency_from_index and i < len(ts_ms):
            latencies.append(arrived * 1000 - ts_ms[i])
    latencies.sort()
    expected_total = sum(expected_by_path.values())
    missing = {p: n - by_path.get(p, 0) for p, n in expected_by_path.items() if by_path.get(p, 0) != n}
    return {
        "requests": sum(by_path.values()),
        "expected_requests": expected_total,
        "rate_by_decile": rate_by_decile(arrivals, expected_total),
        "distinct_events_delivered": len(seen),
        "lost": expected_total - len(seen),
        "duplicates": duplicates,
        "path_mismatch": missing,
        "statuses": {str(k): v for k, v in statuses.items()},
        "untagged": untagged,
        "order_violations": violations,
        "latency_ms": {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99),
                       "max": latencies[-1] if latencies else float("nan"), "n": len(latencies)},
    }
