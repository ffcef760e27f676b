"""The local broker's cluster ids are valid arguments for ``kafka-storage format --cluster-id``.

The failure this pins down: 1 random id in 64 starts with '-', and the storage tool's argument
parser then read ``--cluster-id -Xyz...`` as an option without its value ("--cluster-id:
expected one argument"), so starting a broker failed now and then.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

import pytest

from dev.kafka_local import LocalKafka, free_port
from dev.kafka_local import broker as broker_mod
from dev.kafka_local.broker import _new_cluster_id
from dev.kafka_local.config import BrokerLayout, server_properties
from dev.kafka_local.java import find_java
from dev.kafka_local.net import LOOPBACK

#: A valid Kafka Uuid string whose base64 text starts with '-' (first 6 bits = 62).
DASH_ID = base64.urlsafe_b64encode(b"\xf8" + bytes(range(1, 16))).rstrip(b"=").decode()


def test_cluster_ids_never_start_with_a_dash() -> None:
    # 1 in 64 raw draws starts with "-"; 10,000 draws without the guard would all but surely hit one.
    ids = [_new_cluster_id() for _ in range(10_000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids)


def test_dash_id_fixture_starts_with_a_dash():
    assert DASH_ID.startswith("-") and len(DASH_ID) == 22


def test_new_cluster_ids_never_start_with_a_dash(monkeypatch):
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\xfb" + bytes(15)),
                  uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(broker_mod.uuid, "uuid4", lambda: next(drawn))
    cluster_id = broker_mod._new_cluster_id()
    assert not cluster_id.startswith("-")
    assert base64.urlsafe_b64decode(cluster_id + "==") == b"\x10" + bytes(15)


def test_format_passes_the_cluster_id_as_one_argument(monkeypatch, tmp_path):
    seen: list[list[str]] = []

    def fake_run(cmd, **kwargs):
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(broker_mod.subprocess, "run", fake_run)
    kafka = LocalKafka(19092, tmp_path, version="0.0.0")
    kafka._format("java", tmp_path, {"cluster_id": DASH_ID})
    assert f"--cluster-id={DASH_ID}" in seen[0]
    assert "--cluster-id" not in seen[0]


@pytest.mark.integration
def test_storage_tool_formats_with_an_id_that_starts_with_a_dash(tmp_path: Path):
    """The real storage tool (the jars the test broker runs) accepts the id as we pass it."""
    kafka = LocalKafka(free_port(), tmp_path, controller_port=free_port())
    libs = kafka.fetch()
    layout = BrokerLayout(LOOPBACK, kafka.port, free_port(), None, tmp_path / "kraft")
    (tmp_path / "server.properties").write_text(server_properties(layout))
    (tmp_path / "log4j2.xml").write_text(broker_mod.log4j2_xml())
    kafka._format(find_java(), libs, {"cluster_id": DASH_ID})
    meta = (tmp_path / "kraft" / "meta.properties").read_text()
    assert f"cluster.id={DASH_ID}" in meta
