"""Fixtures for the operator-command tests: a config file pointing at uniquely named topics."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.kafka_broker import delete_topics, unique_topic_name

WriteConfig = Callable[..., Path]


def config_document(bootstrap: str, base: str, **sections: dict[str, Any]) -> dict[str, Any]:
    """A minimal valid config whose topics all start with ``base``."""
    doc: dict[str, Any] = {
        "destination": {"custom_url": "http://127.0.0.1:9", "application_id": "demo-app-id", "secret_key": "demo-secret-key"},
        "kafka": {
            "bootstrap_servers": bootstrap,
            "source_topic": base,
            "group_id": f"{base}-group",
            "retry_topic": f"{base}.retry",
            "dead_letter_topic": f"{base}.dlq",
        },
        "engine": {"retry_delays_s": [1.0, 5.0]},
    }
    for name, values in sections.items():
        doc.setdefault(name, {}).update(values)
    return doc


@pytest.fixture
def topic_base(request: pytest.FixtureRequest) -> str:
    return unique_topic_name(request.node.name[:30])


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    """``write_config(bootstrap, base, **sections) -> path`` of a YAML config file."""

    def write(bootstrap: str, base: str, **sections: dict[str, Any]) -> Path:
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config_document(bootstrap, base, **sections)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cleanup_topics(kafka_bootstrap: str, topic_base: str) -> Iterator[None]:
    """Delete the source, retry and DLQ topics derived from ``topic_base`` after the test."""
    yield
    delete_topics(kafka_bootstrap, [topic_base, f"{topic_base}.retry.0", f"{topic_base}.retry.1", f"{topic_base}.dlq"])
