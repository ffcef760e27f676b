"""The loop-thread counter and histogram expose exactly what prometheus_client's own kinds would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from processor.ops.loop_metrics import LoopCounter, LoopHistogram

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _samples(registry: CollectorRegistry) -> list[str]:
    """The exposition without comments and without prometheus_client's ``_created`` series."""
    return [line for line in generate_latest(registry).decode().splitlines()
            if line and not line.startswith("#") and "_created" not in line]


def test_the_histogram_matches_prometheus_clients_on_bucket_edges_and_beyond() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopHistogram("lat_seconds", "Latency.", "action", BUCKETS, registry=ours)
    ref = Histogram("lat_seconds", "Latency.", ["action"], buckets=BUCKETS, registry=theirs)
    values = [0.0, 0.0005, 0.001, 0.00100001, 0.02, 0.025, 2.5, 9.99, 10.0, 11.0, 300.0]
    for action in ("a", "b"):
        for v in values if action == "a" else values[:3]:
            mine.labels(action).observe(v)
            ref.labels(action=action).observe(v)
    assert _samples(ours) == _samples(theirs)


def test_the_counter_matches_prometheus_clients_and_takes_the_label_by_name() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopCounter("sent", "Sent.", "action", registry=ours)
    ref = Counter("sent", "Sent.", ["action"], registry=theirs)
    mine.labels("a").inc()
    mine.labels(action="a").inc(2)
    mine.labels("b")  # a series that exists at 0
    ref.labels("a").inc(3)
    ref.labels("b")
    assert _samples(ours) == _samples(theirs)
    assert ours.get_sample_value("sent_total", {"action": "a"}) == 3.0
    assert [line for line in generate_latest(ours).decode().splitlines() if line.startswith("#")] == \
        [line for line in generate_latest(theirs).decode().splitlines() if line.startswith("#") and "_created" not in line]
