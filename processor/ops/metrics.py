"""Prometheus metrics of one processor.

Each ``Metrics`` owns its own ``CollectorRegistry`` instead of using the global default one,
so several processors (or tests) in one Python process never clash on "Duplicated timeseries".
The attribute names are the API the engine and client call; the label sets are deliberately
small and closed (topic, partition, action, error class) — never an event field, a URL with
credentials or a header value, so labels can neither explode nor carry secrets.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from processor.engine.ports import PAUSE_REASONS
from processor.ops.loop_metrics import LoopCounter, LoopHistogram

__all__ = ["Metrics", "PREFIX", "HTTP_LATENCY_BUCKETS", "CONTENT_TYPE_LATEST"]

PREFIX = "voucherify_processor_"

#: 1 ms .. 10 s, roughly x2.5 apart: Voucherify answers in tens of ms; timeouts sit at seconds.
HTTP_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The processor's counters, histogram and gauges, registered in a private registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        p = PREFIX
        self.consumed = Counter(f"{p}consumed", "Records consumed, by topic.", ["topic"], registry=r)
        # Updated per event on the loop's thread: loop_metrics.py's lock-free kinds (why: there).
        self.triggered = LoopCounter(
            f"{p}triggered", "Subscriptions triggered by an event, by action.", "action", registry=r
        )
        self.sent = LoopCounter(f"{p}sent", "Deliveries Voucherify accepted, by action.", "action", registry=r)
        self.failed = Counter(
            f"{p}failed",
            "Failed delivery attempts, by action and error class.",
            ["action", "error_class"],
            registry=r,
        )
        self.retried = Counter(
            f"{p}retried", "Deliveries handed to a retry topic, by action.", ["action"], registry=r
        )
        self.dead_lettered = Counter(
            f"{p}dead_lettered", "Records written to the dead-letter topic, by error class.", ["error_class"], registry=r
        )
        self.http_latency = LoopHistogram(
            f"{p}http_latency_seconds",
            "Voucherify request latency in seconds, by action.",
            "action",
            buckets=HTTP_LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(f"{p}in_flight", "Events being processed right now.", registry=r)
        self.in_flight_bytes = Gauge(
            f"{p}in_flight_bytes", "Bytes of the records being processed right now (as consumed).", registry=r
        )
        self.paused_partitions = Gauge(
            f"{p}paused_partitions",
            "Partitions paused by flow control, by reason: circuit, in_flight_bytes, in_flight, "
            "partition_in_flight, retry_delay.",
            ["reason"],
            registry=r,
        )
        for reason in PAUSE_REASONS:
            self.paused_partitions.labels(reason)  # every series exists (0) from start
        self.consumer_lag = Gauge(
            f"{p}consumer_lag", "High watermark minus committed offset.", ["topic", "partition"], registry=r
        )
        self.circuit_open = Gauge(
            f"{p}circuit_open", "1 while deliveries are paused (e.g. auth failing), else 0.", registry=r
        )
        self.throttled = Counter(
            f"{p}throttled", "Requests Voucherify answered 429 (rate-limited), by action.", ["action"], registry=r
        )
        self.allowed_rate = Gauge(
            f"{p}allowed_rate",
            "Requests/s the adaptive rate allows now (+Inf: not paced).",
            registry=r,
        )
        self.allowed_rate.set(float("inf"))
        self.availability_circuit_open = Gauge(
            f"{p}availability_circuit_open",
            "1 while Voucherify counts as unavailable (consumption and retry tiers paused), else 0.",
            registry=r,
        )
        self.availability_circuit_info = Gauge(
            f"{p}availability_circuit_info",
            "1 for the cause of the open availability circuit ('status <n>', or 'no answer': connection failure or timeout).",
            ["reason"],
            registry=r,
        )
        self.assigned_partitions = Gauge(
            f"{p}assigned_partitions", "Partitions currently assigned to this consumer.", registry=r
        )
        self.offsets_skipped = Counter(
            f"{p}offsets_skipped",
            "Offsets the consumer's position jumped over without reading them (records deleted by "
            "retention before they were read, a re-created topic), by topic and partition.",
            ["topic", "partition"],
            registry=r,
        )
        self.position_jumps = Counter(
            f"{p}position_jumps", "Times a partition's position jumped (reset by the client), by topic.",
            ["topic"], registry=r,
        )
        self.already_finished = Counter(
            f"{p}already_finished",
            "Records skipped because the previous owner had finished them (committed with the offset), by topic.",
            ["topic"],
            registry=r,
        )
        self.committed_offset = Gauge(
            f"{p}committed_offset", "Last committed offset.", ["topic", "partition"], registry=r
        )
        # Configuration reload (processor/reload.py): one series, labelled with the running hash.
        self.config_generation = Gauge(
            f"{p}config_generation",
            "Generation of the running configuration (1 at start, +1 per applied reload), labelled with its hash.",
            ["hash"],
            registry=r,
        )
        self.config_reloads = Counter(
            f"{p}config_reloads",
            "Configuration reloads, by result: applied, partial (some settings need a restart), refused "
            "(only such settings changed), unchanged, invalid (the running configuration stays).",
            ["result"],
            registry=r,
        )
        for result in ("applied", "partial", "refused", "unchanged", "invalid"):  # processor/reload.py's Result
            self.config_reloads.labels(result)  # every series exists (0) from start: rate() and alerts work at once
        self.retry_subscription_gone = Counter(
            f"{p}retry_subscription_gone",
            "Retry-tier deliveries dead-lettered because a reload removed or disabled their subscription.",
            ["reason"],
            registry=r,
        )

    def set_config(self, generation: int, config_hash: str) -> None:
        """Show the running configuration (the previous hash's series is removed)."""
        self.config_generation.clear()
        self.config_generation.labels(config_hash).set(generation)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
