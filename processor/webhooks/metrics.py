"""Prometheus metrics of the webhook receiver (a private registry, like the processor's).

Labels are closed sets: ``event`` is a Segment event name from the configured table, ``reason``
one of :data:`REJECT_REASONS` or a skip reason of the translation — never a header, an id or a
body, so labels can neither explode nor carry secrets.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["WebhookMetrics", "PREFIX", "REJECT_REASONS"]

PREFIX = "voucherify_webhooks_"

#: Why a delivery was refused (the HTTP status in brackets).
REJECT_REASONS = (
    "missing_signature",  # 401
    "invalid_signature",  # 401
    "too_large",  # 413
    "malformed",  # 400
    "not_ready",  # 503: dedupe window not loaded yet, or draining
    "produce_failed",  # 503: the broker did not acknowledge in time
)

#: 1 ms .. 10 s: a local broker acks in milliseconds; the produce timeout sits at seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class WebhookMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry(auto_describe=True)
        p = PREFIX
        self.received = Counter(f"{p}received", "Deliveries received (any outcome).", registry=r)
        self.produced = Counter(f"{p}produced", "Segment events produced and acknowledged, by event.", ["event"],
                                registry=r)
        self.duplicates = Counter(f"{p}duplicates", "Deliveries of an event id already produced (answered 200).",
                                  registry=r)
        self.skipped = Counter(f"{p}skipped", "Valid deliveries that produce nothing, by reason.", ["reason"],
                               registry=r)
        self.rejected = Counter(f"{p}rejected", "Deliveries refused, by reason.", ["reason"], registry=r)
        self.produce_latency = Histogram(f"{p}produce_latency_seconds", "Produce call to broker ack, seconds.",
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.in_flight = Gauge(f"{p}in_flight", "Deliveries being handled right now.", registry=r)
        self.window_ids = Gauge(f"{p}dedupe_window_ids", "Event ids in the dedupe window.", registry=r)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)  # every reason shows as 0 from the start

    def render(self) -> bytes:
        return generate_latest(self.registry)
