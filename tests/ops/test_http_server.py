"""The ops endpoint over real HTTP on an ephemeral port."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson

from processor.ops.health import Health
from processor.ops.http_server import start_ops_server
from processor.ops.metrics import Metrics


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str, str]:
    async with session.get(url) as resp:
        return resp.status, resp.headers.get("content-type", ""), await resp.text()


def test_metrics_healthz_readyz() -> None:
    async def scenario() -> None:
        metrics, health = Metrics(), Health()
        metrics.sent.labels(action="addCustomEvent").inc(3)
        server = await start_ops_server("127.0.0.1", 0, metrics, health)
        base = f"http://127.0.0.1:{server.port}"
        try:
            async with aiohttp.ClientSession() as s:
                status, ctype, text = await _get(s, base + "/metrics")
                assert status == 200 and ctype.startswith("text/plain")
                assert 'voucherify_processor_sent_total{action="addCustomEvent"} 3.0' in text

                assert (await _get(s, base + "/healthz"))[0] == 200

                status, _, text = await _get(s, base + "/readyz")
                assert status == 503
                assert orjson.loads(text)["reasons"] == ["no partitions assigned"]

                health.set_assigned(True)
                assert (await _get(s, base + "/readyz"))[0] == 200
                assert "config" not in orjson.loads((await _get(s, base + "/readyz"))[2])

                health.set_config(3, "3f9a0c1d2e4b")  # which configuration runs: in both probes' bodies
                for probe in ("/readyz", "/healthz"):
                    assert orjson.loads((await _get(s, base + probe))[2])["config"] == {"generation": 3, "hash": "3f9a0c1d2e4b"}

                health.set_circuit_open(True)
                status, _, text = await _get(s, base + "/readyz")
                assert status == 503 and "circuit open" in text
                health.set_circuit_open(False)

                health.set_ready(False, "draining")
                status, _, text = await _get(s, base + "/readyz")
                assert status == 503 and orjson.loads(text)["reasons"] == ["draining"]
                health.set_ready(True)

                health.set_live(False, "engine loop stalled")
                status, _, text = await _get(s, base + "/healthz")
                assert status == 503 and "stalled" in text
                assert (await _get(s, base + "/readyz"))[0] == 503
        finally:
            await server.stop()

    asyncio.run(scenario())
