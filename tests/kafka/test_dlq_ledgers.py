"""load_ledgers rides out a group coordinator that is not ready yet (a broker still starting).

The failure this pins down: ``dlq redrive`` right after a broker (re)start failed with
``NOT_COORDINATOR`` from ``Consumer.committed`` instead of asking again (tests/cli/test_dlq.py
failed once that way).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from processor.errors import KafkaUnavailable
from processor.kafka import admin
from processor.kafka import dlq as dlq_mod
from processor.kafka.dlq import DlqSettings, load_ledgers

SETTINGS = DlqSettings(consumer={"bootstrap.servers": "unused:1"}, producer={}, group_id="g",
                       dead_letter_topic="events.dlq", redrive_topic="events.retry.0")


class FakeConsumer:
    """Answers ``committed`` with the queued outcomes in turn (an exception is raised)."""

    def __init__(self, outcomes: list[object]) -> None:
        self.outcomes = outcomes
        self.calls = 0
        self.closed = False

    def list_topics(self, topic: str, timeout: float) -> SimpleNamespace:
        meta = SimpleNamespace(error=None, partitions={0: None, 1: None})
        return SimpleNamespace(topics={topic: meta})

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[TopicPartition]:
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[return-value]

    def close(self) -> None:
        self.closed = True


def _err(code: int) -> KafkaException:
    return KafkaException(KafkaError(code))


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(admin.time, "sleep", waits.append)
    return waits


def _use(monkeypatch: pytest.MonkeyPatch, consumer: FakeConsumer) -> None:
    monkeypatch.setattr(dlq_mod, "_reader", lambda settings, group: consumer)


ANSWER = [TopicPartition("events.dlq", 0, 5, metadata="7-9"), TopicPartition("events.dlq", 1, -1001)]


@pytest.mark.parametrize("code", [KafkaError.NOT_COORDINATOR, KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
                                  KafkaError.COORDINATOR_NOT_AVAILABLE])
def test_coordinator_errors_are_retried(monkeypatch, no_sleep, code):
    consumer = FakeConsumer([_err(code), _err(code), ANSWER])
    _use(monkeypatch, consumer)
    ledgers = load_ledgers(SETTINGS, timeout=10)
    assert consumer.calls == 3 and consumer.closed
    assert ledgers[0].watermark == 5 and 8 in ledgers[0] and 6 not in ledgers[0]
    assert ledgers[1].watermark == 0
    assert no_sleep == [0.1, 0.2]  # backoff doubles


def test_a_coordinator_error_reported_per_partition_is_retried(monkeypatch, no_sleep):
    # TopicPartition.error is read-only in Python; librdkafka sets it, a stand-in does here
    failed = SimpleNamespace(topic="events.dlq", partition=0, offset=-1001, metadata=None,
                             error=KafkaError(KafkaError.NOT_COORDINATOR))
    consumer = FakeConsumer([[failed, TopicPartition("events.dlq", 1, -1001)], ANSWER])
    _use(monkeypatch, consumer)
    assert load_ledgers(SETTINGS, timeout=10)[0].watermark == 5
    assert consumer.calls == 2


def test_retries_are_bounded_by_the_timeout(monkeypatch):
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    monkeypatch.setattr(admin.time, "sleep", sleep)
    monkeypatch.setattr(admin.time, "monotonic", lambda: now[0])
    consumer = FakeConsumer([_err(KafkaError.NOT_COORDINATOR)] * 100)
    _use(monkeypatch, consumer)
    with pytest.raises(KafkaUnavailable, match="NOT_COORDINATOR|coordinator"):
        load_ledgers(SETTINGS, timeout=3)
    assert consumer.closed
    assert max(waits) == admin.RETRY_BACKOFF_MAX_S  # capped
    assert sum(waits) == pytest.approx(3.0)  # never waits past the timeout


def test_other_errors_are_not_retried(monkeypatch, no_sleep):
    consumer = FakeConsumer([_err(KafkaError.GROUP_AUTHORIZATION_FAILED), ANSWER])
    _use(monkeypatch, consumer)
    with pytest.raises(KafkaUnavailable):
        load_ledgers(SETTINGS, timeout=10)
    assert consumer.calls == 1 and no_sleep == []
