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


def rate_by_decile(samples: list[Sample], expected: int) -> list[float]:
    """Events/s in each tenth of the run: a falling rate means something degrades as it goes.

    Each tenth's start and end are the times the request count reached it, interpolated between
    the samples around it: a short run's tenth that falls inside one sampling interval was
    ``nan``, and one measured from sample to sample could span a dozen requests (a newcomer read
    both as a collapse). A tenth the run never reached, or a run of one sample, is ``nan``.
    """
    def reached(count: float) -> float | None:
        i = bisect_left(counts, count)
        if i >= len(samples):
            return None
        if i == 0 or counts[i] == counts[i - 1]:
            return samples[i].t
        before, after = samples[i - 1], samples[i]
        return before.t + (count - counts[i - 1]) / (counts[i] - counts[i - 1]) * (after.t - before.t)

    counts = [s.requests for s in samples]
    out: list[float] = []
    for d in range(10):
        start, end = reached(expected * d / 10), reached(expected * (d + 1) / 10)
        ok = start is not None and end is not None and end > start
        out.append(round(expected / 10 / (end - start)) if ok else float("nan"))  # type: ignore[operator]
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
    for arrived, path, status, body in records:
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
