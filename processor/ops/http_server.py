"""The operations HTTP endpoint: ``/metrics``, ``/healthz``, ``/readyz``.

Runs on the processor's own asyncio loop (aiohttp is already the delivery transport), so it
needs no thread; the handlers only read in-memory state and never block.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from aiohttp import web

from processor.ops.health import Health, HealthStatus
from processor.ops.metrics import CONTENT_TYPE_LATEST, Metrics

__all__ = ["OpsServer", "start_ops_server", "build_app"]


def _status_response(status: HealthStatus, config: dict | None = None) -> web.Response:
    body: dict = {"status": "ok" if status.ok else "fail", "reasons": list(status.reasons)}
    if config is not None:
        body["config"] = config  # {"generation": 2, "hash": "3f9a0c..."}: which configuration runs
    return web.Response(
        status=200 if status.ok else 503,
        body=orjson.dumps(body),
        content_type="application/json",
    )


def build_app(metrics: Metrics, health: Health) -> web.Application:
    """The aiohttp application; separate from start-up so it can be mounted or tested alone."""

    async def metrics_handler(_: web.Request) -> web.Response:
        # CONTENT_TYPE_LATEST carries a charset parameter, which aiohttp wants as a raw header.
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    # the processor's Health names the running configuration; other probes (the webhook receiver) may not
    config: Callable[[], dict | None] = getattr(health, "config", lambda: None)

    async def healthz(_: web.Request) -> web.Response:
        return _status_response(health.liveness(), config())

    async def readyz(_: web.Request) -> web.Response:
        return _status_response(health.readiness(), config())

    app = web.Application()
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


class OpsServer:
    """A running ops endpoint; ``port`` is the bound port (useful when asked for port 0)."""

    def __init__(self, runner: web.AppRunner, site: web.TCPSite, port: int) -> None:
        self._runner = runner
        self._site = site
        self.port = port

    async def stop(self) -> None:
        await self._runner.cleanup()


async def start_ops_server(host: str, port: int, metrics: Metrics, health: Health) -> OpsServer:
    """Serve the ops endpoints on the running loop; ``port=0`` picks a free port."""
    runner = web.AppRunner(build_app(metrics, health), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return OpsServer(runner, site, bound)
