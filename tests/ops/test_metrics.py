"""Metrics: private registries, the agreed attribute names, prefixed metric names."""

from __future__ import annotations

from processor.engine.ports import PAUSE_REASONS
from processor.ops.health import Health
from processor.ops.metrics import PREFIX, Metrics
from processor.ops.observer import MetricsObserver

ATTRIBUTES = {
    "consumed": ["topic"],
    "triggered": ["action"],
    "sent": ["action"],
    "failed": ["action", "error_class"],
    "retried": ["action"],
    "dead_lettered": ["error_class"],
    "http_latency": ["action"],
    "in_flight": [],
    "in_flight_bytes": [],
    "paused_partitions": ["reason"],
    "consumer_lag": ["topic", "partition"],
    "circuit_open": [],
    "assigned_partitions": [],
    "committed_offset": ["topic", "partition"],
    "config_generation": ["hash"],
    "config_reloads": ["result"],
    "retry_subscription_gone": ["reason"],
}


def test_two_instances_do_not_clash() -> None:
    a, b = Metrics(), Metrics()
    a.consumed.labels(topic="t").inc()
    assert b"consumed_total{topic=\"t\"} 1.0" in a.render()
    assert b"topic=\"t\"" not in b.render()


def test_attribute_names_and_labels() -> None:
    m = Metrics()
    for name, labels in ATTRIBUTES.items():
        metric = getattr(m, name)
        assert list(metric._labelnames) == labels, name


def test_every_metric_is_prefixed() -> None:
    m = Metrics()
    m.http_latency.labels(action="addCustomEvent").observe(0.003)
    names = {family.name for family in m.registry.collect()}
    assert names and all(n.startswith(PREFIX) for n in names)


def test_latency_buckets_span_1ms_to_10s() -> None:
    m = Metrics()
    m.http_latency.labels(action="upsertCustomer").observe(0.0005)
    text = m.render().decode()
    assert 'le="0.001"' in text and 'le="10.0"' in text


def test_config_generation_shows_only_the_running_hash() -> None:
    m = Metrics()
    m.set_config(1, "aaaaaaaaaaaa")
    m.set_config(2, "bbbbbbbbbbbb")
    text = m.render().decode()
    assert 'voucherify_processor_config_generation{hash="bbbbbbbbbbbb"} 2.0' in text
    assert "aaaaaaaaaaaa" not in text


def test_config_reloads_has_every_result_series_from_start() -> None:
    text = Metrics().render().decode()
    for result in ("applied", "partial", "refused", "unchanged", "invalid"):
        assert f'voucherify_processor_config_reloads_total{{result="{result}"}} 0.0' in text


def test_bytes_in_flight_are_read_at_scrape_and_pauses_are_counted_by_reason() -> None:
    m = Metrics()
    observer = MetricsObserver(m, Health())
    held = [0]
    observer.watch_in_flight_bytes(lambda: held[0])
    text = m.render().decode()
    for reason in PAUSE_REASONS:  # every series exists (0) from start
        assert f'voucherify_processor_paused_partitions{{reason="{reason}"}} 0.0' in text
    held[0] = 12_345
    observer.paused({"in_flight_bytes": 6})
    text = m.render().decode()
    assert "voucherify_processor_in_flight_bytes 12345.0" in text
    assert 'voucherify_processor_paused_partitions{reason="in_flight_bytes"} 6.0' in text
    observer.paused({})
    assert 'voucherify_processor_paused_partitions{reason="in_flight_bytes"} 0.0' in m.render().decode()


def test_a_released_partition_stops_reporting_lag_and_offset_until_it_comes_back():
    """After a rebalance a member kept the last lag of partitions it no longer owned, so summing
    lag over members counted them twice (a newcomer's finding, issue 16)."""
    m = Metrics()
    observer = MetricsObserver(m, Health())
    lag, committed = f"{PREFIX}consumer_lag", f"{PREFIX}committed_offset"
    labels = {"topic": "events", "partition": "3"}
    observer.lag(("events", 3), 600)
    observer.committed(("events", 3), 651)
    observer.lag(("events", 4), 7)
    observer.released(("events", 3))
    assert m.registry.get_sample_value(lag, labels) is None
    assert m.registry.get_sample_value(committed, labels) is None
    assert m.registry.get_sample_value(lag, {"topic": "events", "partition": "4"}) == 7
    observer.released(("events", 3))  # twice (revoked, then lost): no error
    observer.lag(("events", 3), 5)  # assigned again later: reported again
    assert m.registry.get_sample_value(lag, labels) == 5
