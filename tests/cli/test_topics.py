"""``topics create``: the planned topics and their retention; idempotence on a real broker."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource

from processor.app import topic_settings
from processor.cli.main import main
from processor.config import parse_config
from processor.kafka.admin import DAY_MS, DLQ_RETENTION_MS, plan_topics
from tests.cli.conftest import WriteConfig, config_document


def test_plan_retention() -> None:
    cfg = parse_config(config_document("b:1", "src", engine={"retry_delays_s": [10.0, 86400.0 * 10], "max_age_s": 3600.0}))
    plans = {p.name: p for p in plan_topics(topic_settings(cfg))}
    assert list(plans) == ["src", "src.retry.0", "src.retry.1", "src.dlq"]
    assert plans["src"].config == {}
    assert plans["src.retry.0"].config["retention.ms"] == str(7 * DAY_MS)
    assert plans["src.retry.1"].config["retention.ms"] == str(20 * DAY_MS)  # 2 x its delay
    assert plans["src.dlq"].config["retention.ms"] == str(DLQ_RETENTION_MS)


def test_bad_config_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("destination: {custom_url: x}\nkafka: {bogus: 1}\n")
    assert main(["topics", "create", "--config", str(path)]) == 2
    assert "kafka.bogus" in capsys.readouterr().err


def test_unreachable_exits_4(write_config: WriteConfig, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("127.0.0.1:1", "nowhere")
    assert main(["topics", "create", "--config", str(path), "--timeout", "2"]) == 4
    assert "Kafka unreachable" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.usefixtures("cleanup_topics")
def test_create_is_idempotent(
    kafka_bootstrap: str, topic_base: str, write_config: WriteConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(kafka_bootstrap, topic_base)
    assert main(["topics", "create", "--config", str(path), "--partitions", "3", "--replication-factor", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("created") == 4

    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topics = admin.list_topics(timeout=10).topics
    assert len(topics[f"{topic_base}.retry.1"].partitions) == 3
    resource = ConfigResource(ConfigResource.Type.TOPIC, f"{topic_base}.dlq")
    configs = admin.describe_configs([resource])[resource].result(timeout=10)
    assert configs["retention.ms"].value == str(DLQ_RETENTION_MS)

    assert main(["topics", "create", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("exists") == 4 and "created" not in out
