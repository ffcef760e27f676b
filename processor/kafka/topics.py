"""Topic naming: the one place that turns topic settings into topic names.

Retry topics are tiers, one per retry delay: tier ``i`` is ``f"{retry_topic}.{i}"`` and holds
records whose next attempt waits ``retry_delays_s[i]``. The engine, ``topics create``,
``check-config`` and ``dlq redrive`` all name topics through here. The settings are plain values
built once by the composition root (``processor.app.topic_settings``); this module never sees the
configuration object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

__all__ = ["TopicNames", "TopicSettings", "retry_topic_names", "all_topic_names"]


class TopicNames(TypedDict):
    source: str
    retries: list[str]
    dlq: str


@dataclass(frozen=True, slots=True)
class TopicSettings:
    """What names (and sizes the retention of) the processor's topics.

    ``retry_delays_s``: one retry tier per delay, seconds, shortest first. ``max_age_s``: older
    failures are dead-lettered, so retry records must outlive it (seconds).
    """

    source_topic: str
    retry_topic: str
    dead_letter_topic: str
    retry_delays_s: tuple[float, ...]
    max_age_s: float


def retry_topic_names(topics: TopicSettings) -> list[str]:
    """The retry tiers, shortest delay first."""
    return [f"{topics.retry_topic}.{i}" for i in range(len(topics.retry_delays_s))]


def all_topic_names(topics: TopicSettings) -> TopicNames:
    """Every topic the processor reads or writes."""
    return {"source": topics.source_topic, "retries": retry_topic_names(topics), "dlq": topics.dead_letter_topic}
