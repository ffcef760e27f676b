"""How fast can one Python process push requests to a Voucherify-like endpoint?

Settles the transport choice (aiohttp vs httpx, and httpx2 when installed) and shows the
stub is not the bottleneck. Each client runs the same loop: C tasks, each POSTing a ~1 KB
JSON body with the Voucherify auth headers over keep-alive connections, N requests total.
Prints requests/s (wall clock) and client CPU ms per request (this process only; on a
shared machine wall-clock figures are noisy, CPU/request is the steadier number).

    python -m dev.stub --port 8080 &                # or let --spawn-stub start one
    python bench/http_ceiling.py --url http://127.0.0.1:8080 -c 100 -n 20000
    python bench/http_ceiling.py --spawn-stub --stub-latency-ms 20 --clients aiohttp
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

DEFAULT_APPLICATION_ID = "stub-application-id"
DEFAULT_SECRET_KEY = "stub-secret-key"
PATH = "/segmentio/event-processing"

Sender = Callable[[], Awaitable[int]]


def make_body(size: int) -> bytes:
    """A custom-event payload padded to about ``size`` bytes."""
    event: dict[str, Any] = {
        "event": "Order Completed",
        "type": "track",
        "customer": {"source_id": "user-123", "email": "someone@example.com"},
        "metadata": {"order_id": "o-1", "total": 99.5},
    }
    base = len(orjson.dumps(event))
    event["metadata"]["pad"] = "x" * max(0, size - base - 10)
    return orjson.dumps(event)


def headers(app_id: str, secret: str) -> dict[str, str]:
    return {
        "authorization": "Basic " + base64.b64encode(app_id.encode()).decode(),
        "secret-key": base64.b64encode(secret.encode()).decode(),
        "content-type": "application/json",
        "user-agent": "voucherify-processor-bench",
    }


async def run_loop(send: Sender, total: int, concurrency: int) -> tuple[float, float, dict[int, int]]:
    """Run ``total`` sends over ``concurrency`` workers; return (wall s, cpu s, status counts)."""
    remaining = total
    statuses: dict[int, int] = {}

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status = await send()
            statuses[status] = statuses.get(status, 0) + 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - t0, time.process_time() - cpu0, statuses


async def bench_aiohttp(url: str, hdrs: dict[str, str], body: bytes, n: int, c: int) -> tuple[float, float, dict]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=c, keepalive_timeout=60)
    async with aiohttp.ClientSession(connector=connector, headers=hdrs, skip_auto_headers=("Accept-Encoding",)) as s:

        async def send() -> int:
            async with s.post(url, data=body) as r:
                await r.read()
                return r.status

        await run_loop(send, min(n, c * 5), c)  # warm up connections
        return await run_loop(send, n, c)


async def bench_httpx(module: Any, url: str, hdrs: dict[str, str], body: bytes, n: int, c: int) -> tuple[float, float, dict]:
    limits = module.Limits(max_connections=c, max_keepalive_connections=c)
    async with module.AsyncClient(headers=hdrs, limits=limits, timeout=30.0) as client:

        async def send() -> int:
            r = await client.post(url, content=body)
            return r.status_code

        await run_loop(send, min(n, c * 5), c)
        return await run_loop(send, n, c)


async def bench_voucherify(base: str, url: str, app_id: str, secret: str, body: bytes, n: int, c: int) -> tuple[float, float, dict]:
    """The production client, to show what its classification/result layer costs over bare aiohttp."""
    from processor.voucherify.client import VoucherifyClient
    from processor.voucherify.delivery import Delivery

    delivery = Delivery("bench", "addCustomEvent", url, body)
    async with VoucherifyClient(base, app_id, secret, max_connections=c) as client:

        async def send() -> int:
            result = await client.send(delivery)
            return result.status or 0

        await run_loop(send, min(n, c * 5), c)
        return await run_loop(send, n, c)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_cpu_seconds(pid: int) -> float:
    """utime+stime of another process (Linux /proc), to report the stub's own cost."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def spawn_stub(latency_ms: float, extra: list[str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "dev.stub", "--port", str(port), "--latency-ms", str(latency_ms), *extra]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    proc.stderr.readline()  # "listening on ..."
    return proc, f"http://127.0.0.1:{port}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("-c", "--concurrency", type=int, default=100)
    p.add_argument("-n", "--requests", type=int, default=20_000)
    p.add_argument("--body-bytes", type=int, default=1024)
    p.add_argument("--clients", default="aiohttp,voucherify,httpx,httpx2",
                   help="comma list of aiohttp, voucherify (our VoucherifyClient), httpx, httpx2")
    p.add_argument("--application-id", default=DEFAULT_APPLICATION_ID)
    p.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    p.add_argument("--no-uvloop", action="store_true", help="client loop: plain asyncio")
    p.add_argument("--spawn-stub", action="store_true", help="start `python -m dev.stub` for the run")
    p.add_argument("--stub-latency-ms", type=float, default=0.0)
    p.add_argument("--stub-args", default="", help="extra flags for the spawned stub")
    args = p.parse_args(argv)

    stub = None
    url = args.url
    if args.spawn_stub:
        stub, url = spawn_stub(args.stub_latency_ms, args.stub_args.split())
    loop_factory = None
    if not args.no_uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop

    hdrs = headers(args.application_id, args.secret_key)
    body = make_body(args.body_bytes)
    target = url.rstrip("/") + PATH
    print(f"# {target}  C={args.concurrency}  N={args.requests}  body={len(body)} B  "
          f"loop={'uvloop' if loop_factory else 'asyncio'}  cores={os.cpu_count()}")
    try:
        for name in args.clients.split(","):
            if name == "aiohttp":
                coro = bench_aiohttp(target, hdrs, body, args.requests, args.concurrency)
            elif name == "voucherify":
                coro = bench_voucherify(url, target, args.application_id, args.secret_key, body,
                                        args.requests, args.concurrency)
            else:
                try:
                    module = __import__(name)
                except ImportError:
                    print(f"{name:8s}  not installed")
                    continue
                coro = bench_httpx(module, target, hdrs, body, args.requests, args.concurrency)
            stub_cpu0 = _proc_cpu_seconds(stub.pid) if stub else 0.0
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                wall, cpu, statuses = runner.run(coro)
            line = (f"{name:8s}  {args.requests / wall:9,.0f} req/s  client CPU {cpu * 1000 / args.requests:.3f} ms/req"
                    f"  statuses={statuses}")
            if stub:
                stub_cpu = _proc_cpu_seconds(stub.pid) - stub_cpu0
                line += f"  stub CPU {stub_cpu * 1000 / args.requests:.3f} ms/req (incl. warm-up)"
            print(line, flush=True)
    finally:
        if stub:
            stub.terminate()
            stub.wait()


if __name__ == "__main__":
    main()
