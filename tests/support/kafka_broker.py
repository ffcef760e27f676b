"""Which Kafka the integration tests talk to, and uniquely named topics on it.

Order of preference (first that applies wins):

1. ``KAFKA_BOOTSTRAP_SERVERS`` is set: use that broker, start nothing.
2. A Docker engine answers (and ``KAFKA_TEST_BROKER`` is not ``local``):
   testcontainers' Kafka module.
3. Otherwise a :class:`dev.kafka_local.LocalKafka` on free loopback ports with a
   temp data dir. Several people run the suite on one machine at the same time,
   so tests never assume 9092.

Nothing here starts a broker at import time: the conftest fixtures call
:func:`start_test_broker` only when a test asks for Kafka.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from dev.kafka_local import LocalKafka, LocalKafkaError, ScramUser, free_port


@dataclass(frozen=True, slots=True)
class SaslEndpoint:
    """A SASL_PLAINTEXT/SCRAM listener and the credentials of a user that exists on it."""

    bootstrap: str
    username: str
    password: str
    mechanism: str = "SCRAM-SHA-256"

    def client_config(self) -> dict[str, str]:
        """confluent-kafka settings that authenticate as this user."""
        return {
            "bootstrap.servers": self.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
        }


@dataclass
class TestBroker:
    """A broker for one test session; ``close()`` stops it if we started it."""

    __test__ = False  # not a test class, despite the name

    bootstrap: str
    source: str  # "env" | "testcontainers" | "local"
    sasl: SaslEndpoint | None = None
    _close: Callable[[], None] = field(default=lambda: None, repr=False)

    def close(self) -> None:
        self._close()


def start_test_broker() -> TestBroker:
    """Find or start a broker following the module's order of preference."""
    env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if env:
        return TestBroker(env, "env", sasl=_sasl_from_env())
    if os.environ.get("KAFKA_TEST_BROKER", "auto") != "local" and docker_available():
        return _start_testcontainers()
    return start_local_broker()


def _sasl_from_env() -> SaslEndpoint | None:
    bootstrap = os.environ.get("KAFKA_SASL_BOOTSTRAP_SERVERS")
    if not bootstrap:
        return None
    return SaslEndpoint(
        bootstrap,
        os.environ.get("KAFKA_SASL_USERNAME", ""),
        os.environ.get("KAFKA_SASL_PASSWORD", ""),
        os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
    )


def docker_available(timeout: float = 2.0) -> bool:
    """True if a Docker engine answers a ping quickly; any failure means no."""
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _start_testcontainers() -> TestBroker:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # older testcontainers
        from testcontainers.kafka import KafkaContainer
    container = KafkaContainer().with_kraft()
    container.start()
    return TestBroker(container.get_bootstrap_server(), "testcontainers", _close=container.stop)


def start_local_broker(attempts: int = 3) -> TestBroker:
    """A LocalKafka (with a SCRAM listener) on free ports in a temp dir, removed on close.

    Retries with new ports because another process may take a "free" port
    between our check and the broker's bind.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="vp-test-kafka-"))
    last_error: LocalKafkaError | None = None
    for _ in range(attempts):
        user = ScramUser("vp-test", "vp-test-secret")
        kafka = LocalKafka(
            free_port(),
            data_dir,
            controller_port=free_port(),
            sasl=True,
            sasl_port=free_port(),
            scram_user=user,
            tie_to_parent=True,  # a killed pytest takes its broker with it
        )
        try:
            kafka.start()
        except LocalKafkaError as e:
            last_error = e
            kafka.stop()
            shutil.rmtree(data_dir, ignore_errors=True)
            data_dir.mkdir()
            continue

        def close(kafka: LocalKafka = kafka) -> None:
            kafka.stop()
            shutil.rmtree(data_dir, ignore_errors=True)

        sasl = SaslEndpoint(kafka.sasl_bootstrap or "", user.name, user.password)
        return TestBroker(kafka.bootstrap, "local", sasl=sasl, _close=close)
    shutil.rmtree(data_dir, ignore_errors=True)
    assert last_error is not None
    raise last_error


# ------------------------------------------------------------------ topics
_UNSAFE = re.compile(r"[^a-zA-Z0-9._-]+")


def unique_topic_name(prefix: str = "t") -> str:
    """``<prefix>-<random>``, with the prefix cut to characters and length Kafka accepts."""
    clean = _UNSAFE.sub("-", prefix).strip("-.")[:60] or "t"
    return f"{clean}-{uuid.uuid4().hex[:12]}"


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    config: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> str:
    """Create ``name`` and wait until every partition has a leader (so producing works at once)."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    topic = NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})
    admin.create_topics([topic], operation_timeout=timeout)[name].result(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        meta = admin.list_topics(topic=name, timeout=timeout).topics.get(name)
        if meta is not None and meta.error is None and len(meta.partitions) == partitions:
            if all(p.leader >= 0 for p in meta.partitions.values()):
                return name
        time.sleep(0.1)
    raise TimeoutError(f"topic {name} has no leader for every partition after {timeout}s")


def delete_topics(bootstrap: str, names: list[str], timeout: float = 30.0) -> None:
    """Best-effort delete; a test's clean-up must not fail the test."""
    if not names:
        return
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.delete_topics(names, operation_timeout=timeout).values():
        try:
            future.result(timeout)
        except Exception:
            pass
