"""The engine's observer hooks, fed into Prometheus metrics and the health state.

Label children are cached per label value: ``Counter.labels()`` costs a lock and a dict lookup
with tuple building, which adds up at thousands of events per second.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from processor.engine.ports import PAUSE_REASONS, EngineObserver
from processor.ops.health import Health
from processor.ops.metrics import Metrics


class MetricsObserver(EngineObserver):
    def __init__(self, metrics: Metrics, health: Health) -> None:
        self.metrics = metrics
        self.health = health
        m = metrics
        self._consumed = lru_cache(maxsize=None)(lambda topic: m.consumed.labels(topic))
        self._triggered = lru_cache(maxsize=None)(lambda action: m.triggered.labels(action))
        self._sent = lru_cache(maxsize=None)(lambda action: m.sent.labels(action))
        self._latency = lru_cache(maxsize=None)(lambda action: m.http_latency.labels(action))
        self._failed = lru_cache(maxsize=None)(lambda action, cls: m.failed.labels(action, cls))
        self._retried = lru_cache(maxsize=None)(lambda action: m.retried.labels(action))
        self._dead = lru_cache(maxsize=None)(lambda cls: m.dead_lettered.labels(cls))
        self._committed = lru_cache(maxsize=None)(lambda t, p: m.committed_offset.labels(t, str(p)))
        self._lag = lru_cache(maxsize=None)(lambda t, p: m.consumer_lag.labels(t, str(p)))
        self._throttled = lru_cache(maxsize=None)(lambda action: m.throttled.labels(action))

    def consumed(self, topic: str, n: int) -> None:
        self._consumed(topic).inc(n)

    def triggered(self, action: str) -> None:
        self._triggered(action).inc()

    def sent(self, action: str, seconds: float) -> None:
        self._sent(action).inc()
        self._latency(action).observe(seconds)

    def failed(self, action: str, error_class: str, seconds: float | None) -> None:
        self._failed(action, error_class).inc()
        if seconds is not None:
            self._latency(action).observe(seconds)

    def retried(self, action: str) -> None:
        self._retried(action).inc()

    def dead_lettered(self, error_class: str) -> None:
        self._dead(error_class).inc()

    def watch_in_flight(self, read: Callable[[], int]) -> None:
        self.metrics.in_flight.set_function(read)

    def watch_in_flight_bytes(self, read: Callable[[], int]) -> None:
        self.metrics.in_flight_bytes.set_function(read)

    def paused(self, reasons: Mapping[str, int]) -> None:
        gauge = self.metrics.paused_partitions
        for reason in PAUSE_REASONS:
            gauge.labels(reason).set(reasons.get(reason, 0))

    def assigned(self, partitions: int) -> None:
        self.metrics.assigned_partitions.set(partitions)
        self.health.set_assigned(partitions > 0)

    def committed(self, tp: Any, offset: int) -> None:
        self._committed(tp[0], tp[1]).set(offset)

    def released(self, tp: Any) -> None:
        """A revoked partition's lag and committed offset kept their last values for as long as
        the process ran, so a dashboard summing lag over members counted it twice (a newcomer
        saw 1,470 events of phantom lag after a rebalance)."""
        labels = (tp[0], str(tp[1]))
        for gauge in (self.metrics.consumer_lag, self.metrics.committed_offset):
            try:
                gauge.remove(*labels)
            except KeyError:
                pass
        self._committed.cache_clear()  # the cached children of removed series are detached
        self._lag.cache_clear()

    def position_jumped(self, tp: Any, skipped: int) -> None:
        self.metrics.position_jumps.labels(tp[0]).inc()
        self.metrics.offsets_skipped.labels(tp[0], str(tp[1])).inc(skipped)

    def already_finished(self, topic: str, n: int) -> None:
        self.metrics.already_finished.labels(topic).inc(n)

    def circuit(self, is_open: bool) -> None:
        self.metrics.circuit_open.set(1 if is_open else 0)
        self.health.set_circuit_open(is_open)

    def throttled(self, action: str) -> None:
        self._throttled(action).inc()

    def allowed_rate(self, per_s: float | None) -> None:
        self.metrics.allowed_rate.set(float("inf") if per_s is None else per_s)

    def availability(self, is_open: bool, reason: str) -> None:
        m = self.metrics
        m.availability_circuit_open.set(1 if is_open else 0)
        m.availability_circuit_info.clear()
        if is_open:
            m.availability_circuit_info.labels(reason or "unknown").set(1)
        self.health.set_destination_unavailable(reason if is_open else None)

    def lag(self, tp: Any, lag: int) -> None:
        """Called from the consumer thread (prometheus_client is thread-safe)."""
        self._lag(tp[0], tp[1]).set(lag)
