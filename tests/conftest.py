"""Shared fixtures: a real Kafka broker (started lazily) and uniquely named topics.

Unit tests never touch these, so a plain ``pytest tests/segment`` starts no broker, and the
broker helpers (and with them confluent-kafka) are imported only by the fixtures that need
them: ``pytest tests/engine`` runs without a Kafka client. The first test that asks for
``kafka_bootstrap`` (or anything built on it) starts one broker for the whole session; see
``tests/support/kafka_broker.py`` for where it comes from (env var, testcontainers, or a local
no-Docker broker).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from dev.kafka_local import LocalKafka
    from tests.support.kafka_broker import SaslEndpoint, TestBroker

MakeTopic = Callable[..., str]


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TestBroker]:
    """The session's broker (``.bootstrap``, ``.source``, ``.sasl``); stopped at session end."""
    from tests.support.kafka_broker import start_test_broker

    broker = start_test_broker()
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: TestBroker) -> str:
    """``bootstrap.servers`` of a real broker (PLAINTEXT)."""
    return kafka_broker.bootstrap


@pytest.fixture(scope="session")
def kafka_sasl(kafka_broker: TestBroker) -> SaslEndpoint:
    """A SASL_PLAINTEXT SCRAM-SHA-256 listener with a valid user; skips if the broker has none.

    The local broker always has one; with ``KAFKA_BOOTSTRAP_SERVERS`` set it comes from
    ``KAFKA_SASL_BOOTSTRAP_SERVERS`` / ``KAFKA_SASL_USERNAME`` / ``KAFKA_SASL_PASSWORD``.
    """
    if kafka_broker.sasl is None:
        pytest.skip(f"the {kafka_broker.source} broker has no SASL/SCRAM listener")
    return kafka_broker.sasl


@pytest.fixture
def make_topic(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[MakeTopic]:
    """Factory: ``make_topic(prefix=<test name>, partitions=1, config=None) -> name``.

    Each call creates a new, uniquely named topic (leaders elected before it returns);
    all of them are deleted when the test ends, so tests never see each other's data.
    """
    from tests.support.kafka_broker import create_topic, delete_topics, unique_topic_name

    created: list[str] = []

    def make(prefix: str | None = None, partitions: int = 1, config: dict[str, str] | None = None) -> str:
        name = unique_topic_name(prefix or request.node.name)
        create_topic(kafka_bootstrap, name, partitions, config)
        created.append(name)
        return name

    yield make
    delete_topics(kafka_bootstrap, created)


@pytest.fixture
def unique_topic(make_topic: MakeTopic) -> str:
    """A fresh single-partition topic named after the test."""
    return make_topic()


@pytest.fixture
def own_broker() -> Iterator[LocalKafka]:
    """A broker only this test uses (it gets stopped and started); same data dir and port throughout."""
    from dev.kafka_local import LocalKafka, free_port

    data_dir = Path(tempfile.mkdtemp(prefix="vp-own-kafka-"))
    kafka = LocalKafka(free_port(), data_dir, controller_port=free_port(), tie_to_parent=True)
    try:
        kafka.start()
        yield kafka
    finally:
        kafka.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
