"""How fast can one Python process push requests to a Voucherify-like endpoint?

Settles the transport choice (aiohttp, aiohttp tuned, pyreqwest over HTTP/1.1 and h2c, aiosonic, httpx,
the client's own pool;
:mod:`bench.http_transports` for what each does) and shows the stub is not the bottleneck.
Each client runs the same loop: C tasks, each POSTing a ~1 KB JSON body with the Voucherify auth
headers over keep-alive connections, N requests total. Prints requests/s (wall clock) and client
CPU ms per request (this process's user+system time, all its threads; on a shared machine
wall-clock figures are noisy, CPU/request is the steadier number).

    python -m dev.stub --port 8080 &                # or let --spawn-stub start one
    python bench/http_ceiling.py --url http://127.0.0.1:8080 -c 100 -n 20000
    python bench/http_ceiling.py --spawn-stub --stub-latency-ms 20 --clients aiohttp
    # issue 16's transport comparison, against a compiled (Go) server that is not the limit:
    python bench/http_ceiling.py --server go -c 100 -n 30000 --rounds 3 \\
        --clients aiohttp-client,aiohttp-tuned,pyreqwest,pyreqwest-h2,aiosonic,voucherify
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

if not __package__:  # run as a script: make `bench` importable from the repository root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.http_transports import NAMES as TRANSPORTS

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
    """Run ``total`` sends over ``concurrency`` workers; return (wall s, cpu s, status counts).

    CPU is this process's user+system time (all threads: a Rust client's runtime thread counts too).
    """
    remaining = total
    statuses: dict[int, int] = {}

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status = await send()
            statuses[status] = statuses.get(status, 0) + 1

    spun = [0.0]
    done = asyncio.Event()

    async def busy() -> None:
        """Keep the loop busy BUSY_LOOP[0] of the time (5 ms periods), as the engine's own work does:
        an answer that needs the loop waits behind it. Its CPU is not counted as the client's."""
        period = 0.005
        while not done.is_set():
            start, cpu_start = time.perf_counter(), time.thread_time()
            while time.perf_counter() - start < BUSY_LOOP[0] * period:
                pass
            spun[0] += time.thread_time() - cpu_start
            await asyncio.sleep((1 - BUSY_LOOP[0]) * period)

    burner = asyncio.ensure_future(busy()) if BUSY_LOOP[0] > 0 else None
    cpu0, t0, thread0 = _own_cpu_seconds(), time.perf_counter(), time.thread_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    LOOP_THREAD_CPU[0] = time.thread_time() - thread0 - spun[0]
    wall, cpu = time.perf_counter() - t0, _own_cpu_seconds() - cpu0 - spun[0]
    done.set()
    if burner is not None:
        await burner
    return wall, cpu, statuses


BUSY_LOOP = [0.0]  # --busy-loop: the share of time the event loop is kept busy meanwhile


LOOP_THREAD_CPU = [0.0]  # the event loop's own thread (the one holding the GIL) in the last run_loop


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def bench_transport(name: str, base: str, url: str, hdrs: dict[str, str], app_id: str, secret: str,
                          body: bytes, n: int, c: int) -> tuple[float, float, dict]:
    """One of :data:`bench.http_transports.NAMES`: ``send(Delivery) -> DeliveryResult`` as our client does."""
    from processor.voucherify.delivery import Delivery

    from bench.http_transports import open_transport

    delivery = Delivery("bench", "addCustomEvent", url, body)
    transport, close = await open_transport(name, base, hdrs, app_id, secret, c)

    async def send() -> int:
        return (await transport(delivery)).status or 0

    try:
        await run_loop(send, min(n, c * 5), c)  # warm up connections
        return await run_loop(send, n, c)
    finally:
        await close()


async def bench_aiohttp(url: str, hdrs: dict[str, str], body: bytes, n: int, c: int) -> tuple[float, float, dict]:
    """The bare aiohttp loop (no Delivery/DeliveryResult work): the ceiling ``bench/baselines.py`` reports."""
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


GO_SERVER_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "http_server", "main.go")


def build_go_server() -> str:
    """``go build`` bench/http_server once (cached by source mtime); the binary's path.

    Raises SystemExit with a clear message when Go is not installed.
    """
    go = shutil.which("go")
    if go is None:
        raise SystemExit("--server go needs Go (https://go.dev/dl/); use --spawn-stub or --url instead")
    cache = os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "voucherify-processor")
    os.makedirs(cache, exist_ok=True)
    binary = os.path.join(cache, "bench-http-server")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(GO_SERVER_SOURCE):
        print("# building bench/http_server (go build) ...", flush=True)
        subprocess.run([go, "build", "-o", binary, GO_SERVER_SOURCE], check=True)
    return binary


def spawn_go_server(latency_ms: float) -> tuple[subprocess.Popen, str]:
    """The compiled server (HTTP/1.1 and h2c), so the server is not the limit."""
    proc = subprocess.Popen([build_go_server(), "-latency-ms", str(latency_ms), "-h2c"],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "listening on http://127.0.0.1:PORT"
    return proc, line.split()[-1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8080")
    p.add_argument("-c", "--concurrency", type=int, default=100)
    p.add_argument("-n", "--requests", type=int, default=20_000)
    p.add_argument("--body-bytes", type=int, default=1024)
    p.add_argument("--clients", default="aiohttp,voucherify,httpx,httpx2",
                   help="comma list of aiohttp (bare loop), httpx, httpx2, and the transports with our "
                        "client's work around them: " + ", ".join(TRANSPORTS))
    p.add_argument("--rounds", type=int, default=1, help="run the client list this many times, alternating")
    p.add_argument("--application-id", default=DEFAULT_APPLICATION_ID)
    p.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    p.add_argument("--no-uvloop", action="store_true", help="client loop: plain asyncio")
    p.add_argument("--spawn-stub", action="store_true", help="start `python -m dev.stub` for the run")
    p.add_argument("--server", choices=("go",), help="go: build and start bench/http_server (compiled, "
                   "HTTP/1.1 + h2c) so the server is not the limit")
    p.add_argument("--stub-latency-ms", type=float, default=0.0, help="server latency (stub or go)")
    p.add_argument("--stub-args", default="", help="extra flags for the spawned stub")
    p.add_argument("--busy-loop", type=float, default=0.0, metavar="SHARE",
                   help="keep the client's event loop busy this share of the time (0-0.95), as the engine does; "
                        "a transport that needs the loop for every answer waits behind it")
    args = p.parse_args(argv)
    if not 0.0 <= args.busy_loop <= 0.95:
        p.error("--busy-loop must be between 0 and 0.95")
    BUSY_LOOP[0] = args.busy_loop

    server = None
    url = args.url
    if args.server == "go":
        server, url = spawn_go_server(args.stub_latency_ms)
    elif args.spawn_stub:
        server, url = spawn_stub(args.stub_latency_ms, args.stub_args.split())
    loop_factory = None
    if not args.no_uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop

    hdrs = headers(args.application_id, args.secret_key)
    body = make_body(args.body_bytes)
    target = url.rstrip("/") + PATH
    print(f"# {target}  server={args.server or ('stub' if args.spawn_stub else 'url')}  "
          f"latency={args.stub_latency_ms:g} ms  C={args.concurrency}  N={args.requests}  body={len(body)} B  "
          f"loop={'uvloop' if loop_factory else 'asyncio'}  busy loop={args.busy_loop:g}  cores={os.cpu_count()}")
    results: dict[str, list[tuple[float, float, float]]] = {}
    try:
        for _ in range(args.rounds):
            for name in args.clients.split(","):
                if name == "aiohttp":
                    coro = bench_aiohttp(target, hdrs, body, args.requests, args.concurrency)
                elif name in TRANSPORTS:
                    coro = bench_transport(name, url, target, hdrs, args.application_id, args.secret_key, body,
                                           args.requests, args.concurrency)
                else:
                    try:
                        module = __import__(name)
                    except ImportError:
                        print(f"{name:14s}  not installed")
                        continue
                    coro = bench_httpx(module, target, hdrs, body, args.requests, args.concurrency)
                server_cpu0 = _proc_cpu_seconds(server.pid) if server else 0.0
                with asyncio.Runner(loop_factory=loop_factory) as runner:
                    wall, cpu, statuses = runner.run(coro)
                rate, cpu_ms = args.requests / wall, cpu * 1000 / args.requests
                loop_ms = LOOP_THREAD_CPU[0] * 1000 / args.requests
                line = (f"{name:14s}  {rate:9,.0f} req/s  client CPU {cpu_ms:.3f} ms/req (loop thread {loop_ms:.3f})"
                        f"  statuses={statuses}  load={os.getloadavg()[0]:.2f}")
                if server:
                    server_cpu = _proc_cpu_seconds(server.pid) - server_cpu0
                    line += f"  server CPU {server_cpu * 1000 / args.requests:.3f} ms/req (incl. warm-up)"
                print(line, flush=True)
                results.setdefault(name, []).append((cpu_ms, rate, loop_ms))
    finally:
        if server:
            server.terminate()
            server.wait()
    if args.rounds > 1:
        print("# summary (min-max over rounds): client CPU ms/req | loop thread CPU ms/req | req/s")
        for name, runs in results.items():
            cpus, rates, loops = [r[0] for r in runs], [r[1] for r in runs], [r[2] for r in runs]
            print(f"{name:14s}  {min(cpus):.3f}-{max(cpus):.3f} ms  |  {min(loops):.3f}-{max(loops):.3f} ms  |  "
                  f"{min(rates):,.0f}-{max(rates):,.0f} req/s")


if __name__ == "__main__":
    main()
