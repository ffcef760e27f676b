"""Scaling out splits the source topic, not just the partition count (issue 16, found measuring
``run --processes 2``).

The group subscribes to the source topic and the retry tiers. With cooperative-sticky assignment
a second member joining got every retry partition and the first kept every source partition
(librdkafka #4044: that assignor balances the total count over all topics), so two processes did
the work of one. Two consumer threads on a real broker; the second joins after the first owns
everything.
"""

from __future__ import annotations

from typing import Any

import pytest

from processor.kafka.consumer import ConsumerThread
from tests.support.processor import wait_until

pytestmark = pytest.mark.integration


class Listener:
    """Takes nothing in flight, so a revoke has nothing to drain."""

    def on_assigned(self, partitions: Any, committed: Any = None) -> None: ...
    def on_messages(self, batch: Any) -> None: ...
    def on_revoked(self, partitions: Any) -> dict:
        return {}
    def on_position_jump(self, tp: Any, old: int, new: int, skipped: int) -> None: ...


def _member(bootstrap: str, group: str, topics: list[str]) -> ConsumerThread:
    member = ConsumerThread({"bootstrap.servers": bootstrap, "group.id": group}, topics, Listener())
    member.start()
    return member


def _of(member: ConsumerThread, topic: str) -> list[int]:
    return sorted(p for t, p in member.assignment if t == topic)


def test_a_second_member_gets_half_of_the_source_topic(kafka_bootstrap, make_topic):
    source = make_topic(partitions=4)
    retry = make_topic(prefix=f"{source}.retry", partitions=4)
    group = f"g-{source}"
    first = _member(kafka_bootstrap, group, [source, retry])
    second = None
    try:
        wait_until(lambda: len(first.assignment) == 8, 60, message="the first member owns everything")
        second = _member(kafka_bootstrap, group, [source, retry])
        wait_until(lambda: len(first.assignment) == 4 and len(second.assignment) == 4, 60,
                   message="the second member got its share")
        assert len(_of(first, source)) == 2 and len(_of(second, source)) == 2, (
            f"source topic split {_of(first, source)} / {_of(second, source)}")
        assert len(_of(first, retry)) == 2 and len(_of(second, retry)) == 2
    finally:
        for member in (first, second):
            if member is not None:
                member.stop()
                member.join(30)
