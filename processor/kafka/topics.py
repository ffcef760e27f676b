"""Topic naming: the one place that turns the configuration into topic names.

Retry topics are tiers, one per entry of ``engine.retry_delays_s``: tier ``i`` is
``f"{kafka.retry_topic}.{i}"`` and holds records whose next attempt waits ``retry_delays_s[i]``.
The engine, ``topics create``, ``check-config`` and ``dlq redrive`` all name topics through here.
"""

from __future__ import annotations

from typing import TypedDict

from processor.config import AppConfig

__all__ = ["TopicNames", "retry_topic_names", "all_topic_names"]


class TopicNames(TypedDict):
    source: str
    retries: list[str]
    dlq: str


def retry_topic_names(cfg: AppConfig) -> list[str]:
    """The retry tiers, shortest delay first."""
    return [f"{cfg.kafka.retry_topic}.{i}" for i in range(len(cfg.engine.retry_delays_s))]


def all_topic_names(cfg: AppConfig) -> TopicNames:
    """Every topic the processor reads or writes."""
    return {
        "source": cfg.kafka.source_topic,
        "retries": retry_topic_names(cfg),
        "dlq": cfg.kafka.dead_letter_topic,
    }
