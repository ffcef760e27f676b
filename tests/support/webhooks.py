"""Helpers for the webhook receiver's tests: fixtures, signing, a receiver run in a thread, reading the topic."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any

import httpx
from confluent_kafka import Consumer, TopicPartition

from dev import sample_webhooks
from dev.sample_webhooks import FIXTURES, fixture, fresh  # noqa: F401 - re-exported for the tests
from processor.webhooks.config import ReceiverConfig, parse_receiver_config
from processor.webhooks.service import WebhookService

SECRET = "whsec-test-5Jq9vT2xLr"


def signed(envelope: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    return sample_webhooks.signed(envelope, secret)


def receiver_doc(bootstrap: str, topic: str, **webhooks: Any) -> dict[str, Any]:
    return {
        "kafka": {"bootstrap_servers": bootstrap},
        "ops": {"http_port": 0, "log_format": "json"},
        "webhooks": {"secret": SECRET, "topic": topic, "port": 0, "topic_partitions": 1, "produce_timeout_s": 5,
                     "readiness_probe_interval_s": 0.5, "drain_timeout_s": 5, **webhooks},
    }


def receiver_config(bootstrap: str, topic: str, **webhooks: Any) -> ReceiverConfig:
    return parse_receiver_config(receiver_doc(bootstrap, topic, **webhooks))


class ReceiverRun:
    """``WebhookService`` on its own event loop in a thread (the code path of the CLI command)."""

    def __init__(self, cfg: ReceiverConfig, *, ops_port: int | None = None) -> None:
        self.cfg = cfg
        self.loop = asyncio.new_event_loop()
        self.service: WebhookService | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._ops_port = ops_port

    def __enter__(self) -> "ReceiverRun":
        self._thread.start()
        self.service = self._call(self._start())
        return self

    async def _start(self) -> WebhookService:
        cfg = self.cfg
        if self._ops_port is not None:
            cfg = cfg.model_copy(update={"ops": cfg.ops.model_copy(update={"http_port": self._ops_port})})
        service = WebhookService(cfg)
        await service.start()
        return service

    def _call(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def url(self) -> str:
        assert self.service is not None
        return f"http://127.0.0.1:{self.service.port}{self.cfg.webhooks.path}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        assert self.service is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.service.receiver.readiness().ok:
                return
            time.sleep(0.05)
        raise AssertionError(f"receiver not ready: {self.service.receiver.readiness().reasons}")

    def post(self, body: bytes, headers: dict[str, str], timeout: float = 30.0) -> httpx.Response:
        return httpx.post(self.url, content=body, headers=headers, timeout=timeout)

    def __exit__(self, *exc: object) -> None:
        if self.service is not None:
            self._call(self.service.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def read_topic(bootstrap: str, topic: str, *, expect: int | None = None, timeout: float = 15.0) -> list[Any]:
    """Every record of ``topic`` (all partitions, from the start); waits for ``expect`` records if given."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    out: list[Any] = []
    try:
        md = consumer.list_topics(topic, timeout=10).topics[topic]
        tps = [TopicPartition(topic, p) for p in md.partitions]
        ends = {tp.partition: consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps}
        want = sum(ends.values()) if expect is None else expect
        consumer.assign([TopicPartition(topic, p, 0) for p in md.partitions])
        deadline = time.monotonic() + timeout
        while len(out) < want and time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                out.append(msg)
        if expect is not None:  # and nothing more arrives for a moment
            settle = time.monotonic() + 1.0
            while time.monotonic() < settle:
                msg = consumer.poll(0.2)
                if msg is not None and not msg.error():
                    out.append(msg)
    finally:
        consumer.close()
    return out
