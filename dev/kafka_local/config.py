"""Render the broker's ``server.properties`` and log4j2 configuration.

One KRaft node acts as broker and controller. Settings favour tests: every
internal topic has replication factor 1, topics auto-create with one partition,
and consumer groups rebalance without the default 3 s delay.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NODE_ID = 1


@dataclass(frozen=True, slots=True)
class ScramUser:
    """A SCRAM-SHA-256 user created when the log dir is formatted."""

    name: str = "local-user"
    password: str = "local-password"

    def format_arg(self) -> str:
        """The value of ``kafka-storage format --add-scram``."""
        return f"SCRAM-SHA-256=[name={self.name},password={self.password}]"


@dataclass(frozen=True, slots=True)
class BrokerLayout:
    """Ports and paths of one local broker; everything binds to 127.0.0.1 only."""

    host: str
    port: int
    controller_port: int
    sasl_port: int | None
    log_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str | None:
        return None if self.sasl_port is None else f"{self.host}:{self.sasl_port}"


def server_properties(layout: BrokerLayout) -> str:
    """The broker's configuration file text."""
    h = layout.host
    listeners = [f"PLAINTEXT://{h}:{layout.port}", f"CONTROLLER://{h}:{layout.controller_port}"]
    advertised = [f"PLAINTEXT://{h}:{layout.port}"]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
    sasl_lines: list[str] = []
    if layout.sasl_port is not None:
        listeners.append(f"SASL_PLAINTEXT://{h}:{layout.sasl_port}")
        advertised.append(f"SASL_PLAINTEXT://{h}:{layout.sasl_port}")
        protocols.append("SASL_PLAINTEXT:SASL_PLAINTEXT")
        sasl_lines = [
            "sasl.enabled.mechanisms=SCRAM-SHA-256",
            "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        ]
    lines = [
        "# Written by dev/kafka_local; regenerated on every start.",
        "process.roles=broker,controller",
        f"node.id={NODE_ID}",
        f"controller.quorum.voters={NODE_ID}@{h}:{layout.controller_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        f"listeners={','.join(listeners)}",
        f"advertised.listeners={','.join(advertised)}",
        f"listener.security.protocol.map={','.join(protocols)}",
        *sasl_lines,
        f"log.dirs={layout.log_dir}",
        "num.partitions=1",
        "default.replication.factor=1",
        "min.insync.replicas=1",
        "auto.create.topics.enable=true",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "transaction.state.log.num.partitions=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "num.network.threads=2",
        "num.io.threads=2",
        "num.recovery.threads.per.data.dir=1",
        "log.retention.hours=24",
        "delete.topic.enable=true",
    ]
    return "\n".join(lines) + "\n"


def log4j2_xml() -> str:
    """Log to stdout (which the launcher sends to ``kafka.log``), quiet the chattiest loggers."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="out" target="SYSTEM_OUT">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </Console>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="out"/></Root>
    <Logger name="state.change.logger" level="WARN"/>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
  </Loggers>
</Configuration>
"""
