"""The delivery protocol's subtle branches, with a fake sink and reader (real HTTP through aiohttp's test server)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import KafkaError

from dev.sample_webhooks import signed, webhook
from processor.kafka.producer import ProduceError
from processor.webhooks.dedupe import SeenIds
from processor.webhooks.metrics import WebhookMetrics
from processor.webhooks.receiver import Receiver, build_app
from processor.webhooks.translation import Translated, Translator

SECRET = "unit-secret"
MSG_SIZE_TOO_LARGE = KafkaError.MSG_SIZE_TOO_LARGE


class FakeSink:
    """Fails the first ``failures`` sends; ``lands`` says whether a failed record reached the topic anyway."""

    def __init__(self, seen: SeenIds, failures: int = 0, lands: bool = False, code: int | None = None) -> None:
        self.seen, self.failures, self.lands, self.code = seen, failures, lands, code
        self.sent: list[str] = []
        self.on_topic: list[str] = []

    async def send(self, item: Translated) -> Any:
        self.sent.append(item.message_id)
        if self.failures:
            self.failures -= 1
            if self.lands:
                self.on_topic.append(item.message_id)
            raise ProduceError("timed out", self.code)
        self.on_topic.append(item.message_id)
        return (0, len(self.on_topic) - 1)


class FakeReader:
    """Reading the topic up to its end puts what is on it into the window."""

    def __init__(self, seen: SeenIds, sink: FakeSink) -> None:
        self.seen, self.sink, self.calls = seen, sink, 0

    async def catch_up(self, timeout: float) -> bool:
        self.calls += 1
        for mid in self.sink.on_topic:
            self.seen.add(mid)
        return True


def _run(scenario, **sink_kwargs) -> Any:
    async def main() -> Any:
        seen = SeenIds(3600, 1000)
        sink = FakeSink(seen, **sink_kwargs)
        reader = FakeReader(seen, sink)
        receiver = Receiver(secret=SECRET.encode(), translator=Translator(), seen=seen, sink=sink, reader=reader,
                            metrics=WebhookMetrics(), max_body_bytes=1_000_000, catch_up_timeout_s=1)
        receiver.loaded = receiver.broker_ok = True
        async with TestClient(TestServer(build_app(receiver, "/hook"))) as client:
            async def post(envelope: dict) -> tuple[int, dict]:
                body, headers = signed(envelope, SECRET)
                response = await client.post("/hook", data=body, headers=headers)
                return response.status, orjson.loads(await response.read())

            return await scenario(post, receiver, sink, reader)

    return asyncio.run(main())


def test_a_failed_produce_that_reached_the_topic_is_not_produced_again() -> None:
    envelope = webhook("customer.rewarded")

    async def scenario(post, receiver, sink, reader):
        first = await post(envelope)
        second = await post(envelope)
        return first, second, sink.sent, reader.calls, sink.on_topic

    first, second, sent, catch_ups, on_topic = _run(scenario, failures=1, lands=True)
    assert first == (503, {"error": "produce_failed", "message": "not acknowledged by Kafka: timed out"})
    assert second[0] == 200 and second[1]["status"] == "duplicate"
    assert sent == [envelope["event"]["id"]] and catch_ups == 1 and on_topic == sent


def test_a_failed_produce_that_did_not_land_is_produced_on_the_retry() -> None:
    envelope = webhook("customer.rewarded")

    async def scenario(post, receiver, sink, reader):
        return await post(envelope), await post(envelope), await post(envelope), sink.on_topic

    first, second, third, on_topic = _run(scenario, failures=1, lands=False)
    assert first[0] == 503
    assert second[1]["status"] == "produced" and third[1]["status"] == "duplicate"
    assert on_topic == [envelope["event"]["id"]]


def test_a_record_too_large_for_kafka_is_413() -> None:
    async def scenario(post, receiver, sink, reader):
        return await post(webhook("voucher.published"))

    status, body = _run(scenario, failures=1, code=MSG_SIZE_TOO_LARGE)
    assert status == 413 and body["error"] == "too_large"


def test_not_loaded_or_draining_is_503_and_readiness_says_why() -> None:
    async def scenario(post, receiver, sink, reader):
        receiver.loaded = False
        starting = await post(webhook("voucher.published"))
        not_ready = receiver.readiness()
        receiver.loaded, receiver.draining = True, True
        draining = await post(webhook("voucher.published"))
        return starting, not_ready, draining, receiver.readiness(), sink.sent

    starting, not_ready, draining, readiness, sent = _run(scenario)
    assert starting[0] == draining[0] == 503 and sent == []
    assert not_ready.reasons == ("dedupe window not loaded from the topic yet",)
    assert readiness.reasons == ("draining",)


def test_a_future_dated_event_is_skipped_not_produced() -> None:
    # nc17: event.created_at in 2031 was produced (200 produced); older than the window was refused.
    async def scenario(post, receiver, sink, reader):
        far = webhook("redemption.succeeded", age_s=-3600)  # an hour ahead: beyond the 300 s default skew
        near = webhook("redemption.succeeded", age_s=-60)  # a minute ahead: ordinary clock skew
        return await post(far), await post(near), sink.sent, receiver.metrics

    (far_status, far_body), (near_status, near_body), sent, metrics = _run(scenario)
    assert far_status == 200 and far_body["status"] == "skipped" and far_body["reason"] == "future_dated"
    assert near_status == 200 and near_body["status"] == "produced"
    assert sent == [near_body["messageId"]]
    assert metrics.skipped.labels("future_dated")._value.get() == 1


def test_a_body_not_sent_in_time_is_answered_408_and_the_connection_closed() -> None:
    # nc17: POST with Content-Length: 100 and only 3 bytes sent got no answer for over 65 s.
    async def main() -> tuple[bytes, float]:
        seen = SeenIds(3600, 1000)
        sink = FakeSink(seen)
        receiver = Receiver(secret=SECRET.encode(), translator=Translator(), seen=seen, sink=sink,
                            reader=FakeReader(seen, sink), metrics=WebhookMetrics(), max_body_bytes=1_000_000,
                            catch_up_timeout_s=1, body_timeout_s=0.2)
        receiver.loaded = receiver.broker_ok = True
        async with TestServer(build_app(receiver, "/hook")) as server:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"a")
            await writer.drain()
            # Guard only (the test must not hang when the bound is missing); read until the server closes.
            answer = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            return answer, receiver.metrics.rejected.labels("body_timeout")._value.get()

    answer, refused = asyncio.run(main())
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b'"error":"body_timeout"' in answer and refused == 1
