"""The receiver's broker probe after start (no broker: topic creation and the probe are faked)."""

from __future__ import annotations

import asyncio

from processor.webhooks import service as service_module
from processor.webhooks.service import WebhookService
from tests.support.webhooks import receiver_config


def test_a_failed_first_probe_is_retried_before_the_interval(monkeypatch) -> None:
    # nc17: /readyz said "Kafka broker does not answer" for ~10 s after start while the broker was up:
    # a first probe that failed (new topic's metadata not yet everywhere) waited a whole interval.
    monkeypatch.setattr(service_module, "ensure_topic", lambda cfg, timeout=10.0: "exists")
    cfg = receiver_config("127.0.0.1:1", "t", readiness_probe_interval_s=3600)
    answers = [False, True]
    calls: list[bool] = []

    def broker_answers(timeout: float = 2.0) -> bool:
        calls.append(answers[min(len(calls), 1)])
        return calls[-1]

    async def main() -> bool:
        service = WebhookService(cfg)
        monkeypatch.setattr(service.reader, "start", service.reader.loaded.set)
        monkeypatch.setattr(service.reader, "broker_answers", broker_answers)
        watch = asyncio.create_task(service._watch_broker())
        try:
            for _ in range(400):  # a bound so the test ends, not a timing assertion
                await asyncio.sleep(0.05)
                if len(calls) >= 2:
                    break
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            service.sink.close(1)
        return service.receiver.broker_ok

    broker_ok = asyncio.run(main())
    assert calls[:2] == [False, True] and broker_ok
