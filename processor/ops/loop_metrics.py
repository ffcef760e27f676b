"""A counter and a histogram by one label, for the event loop's thread: plain numbers, read at scrape.

Why not ``prometheus_client.Counter`` / ``Histogram`` for these three (``triggered``, ``sent``,
``http_latency``): they are updated once or twice per event, and prometheus_client takes a lock
per update (its values are safe to update from any thread) and checks the metric per call; with
a bucket scan in Python for the histogram that was ~4 µs of ~76 per event on the loop's thread
(native profile of bench/run.py, issue 16). Here an update is an integer addition (a C
``bisect`` for the bucket). Exposition stays prometheus_client's: each class is a custom
collector (its documented ``collect()`` API), so the text format, the names (``_total``,
``_bucket{le=...}``, ``_count``, ``_sum``) and the registry are the library's.

Update only from the event loop's thread (the engine's, which also serves ``/metrics``): the
updates are not locked. A scrape from another thread reads consistent integers (the GIL), at
worst a histogram whose ``_sum`` lags its ``_count`` by one observation.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

__all__ = ["LoopCounter", "LoopHistogram"]

Child = TypeVar("Child")


class _Count:
    """A counter's value for one label value."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float = 1.0) -> None:
        self.value += amount


class _ByLabel(Generic[Child]):
    """A metric by one label: its children by label value, registered as a custom collector."""

    def __init__(self, name: str, documentation: str, label: str, registry: CollectorRegistry) -> None:
        self._name = name
        self._doc = documentation
        self._labelnames = (label,)
        self._children: dict[str, Child] = {}
        registry.register(self)

    def _new_child(self) -> Child:
        raise NotImplementedError

    def labels(self, *values: str, **named: str) -> Child:
        """The child of one label value, positional or by the label's name (as prometheus_client's)."""
        value = values[0] if values else named[self._labelnames[0]]
        child = self._children.get(value)
        if child is None:
            child = self._children[value] = self._new_child()
        return child


class LoopCounter(_ByLabel[_Count]):
    """``counter.labels(value).inc(n)``, exposed as ``<name>_total{<label>="value"}``."""

    def _new_child(self) -> _Count:
        return _Count()

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self._name, self._doc, labels=self._labelnames)]

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._doc, labels=self._labelnames)
        for value, child in list(self._children.items()):
            family.add_metric([value], child.value)
        yield family


class _Buckets:
    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every finite bound (+Inf only)
        self.sum = 0.0

    def observe(self, amount: float) -> None:
        self.counts[bisect_left(self.bounds, amount)] += 1  # le is inclusive, as bisect_left finds
        self.sum += amount


class LoopHistogram(_ByLabel[_Buckets]):
    """``histogram.labels(value).observe(seconds)``, exposed as a Prometheus histogram with
    ``buckets`` (upper bounds, ascending; ``+Inf`` is added)."""

    def __init__(self, name: str, documentation: str, label: str, buckets: Sequence[float],
                 registry: CollectorRegistry) -> None:
        self._bounds = tuple(float(b) for b in buckets)  # before registering: a scrape may follow
        super().__init__(name, documentation, label, registry)

    def _new_child(self) -> _Buckets:
        return _Buckets(self._bounds)

    def describe(self) -> list[Metric]:
        return [HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)]

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(self._name, self._doc, labels=self._labelnames)
        for value, child in list(self._children.items()):
            running = 0
            buckets = []
            for bound, count in zip((*self._bounds, float("inf")), list(child.counts)):
                running += count
                buckets.append((_le(bound), running))
            family.add_metric([value], buckets, child.sum)
        yield family


def _le(bound: float) -> str:
    """A bucket's ``le`` as prometheus_client writes it (``0.001``, ``10.0``, ``+Inf``)."""
    return "+Inf" if bound == float("inf") else repr(bound)
