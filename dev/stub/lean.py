"""The stub's benchmark mode (``python -m dev.stub --lean``): Voucherify's Segment endpoints on a
bare asyncio Protocol with httptools' HTTP/1.1 parser, so the stub is not the benchmark's limit.

Why: the full stub (aiohttp.web) used 0.45-0.9 of a core at benchmark rates (issue 16), a large
share of a 2-core machine whose other core the processor needs. Per request this path does only
what the benchmark relies on:

1. parse the request (httptools, C; keep-alive as the client asks);
2. check ``authorization`` / ``secret-key`` against the precomputed header values (401 if wrong);
3. append one tuple ``(time.time(), method, path, raw body, status)`` and bump a per-(path, status)
   counter - no header copy, no JSON parsing;
4. answer ``200 {}`` after ``latency_ms``: queued on one delay line per server (the latency is
   the same for every request, so answers fall due in arrival order and one timer serves them
   all; no task, no coroutine, no timer per request).

JSON views are built only when ``/_stub/requests`` is read (same shape as the full stub's, with
``headers`` left empty: they are not recorded here). The control API is the subset the benchmark
uses: ``GET /_stub/requests``, ``GET /_stub/stats``, ``POST /_stub/reset``, ``GET|POST
/_stub/config`` (``latency_ms``, ``record_bodies``, ``credentials`` only: asking for a fault answers
400 naming the key). Fault injection, 429/5xx, outages and the token bucket stay in the full stub,
the default for tests and the demo (docs/stub.md).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httptools
import orjson

from .app import SEGMENT_PATHS, Credentials, stats_view
from .recording import RecordedRequest
from .server import run_foreground

__all__ = ["LEAN_SETTINGS", "LeanState", "serve_lean"]

LEAN_SETTINGS = ("latency_ms", "record_bodies", "credentials")

# (arrival time.time(), method, path, raw body, status)
LeanRecord = tuple[float, str, str, bytes, int]

_PATHS = {p.encode(): p for p in SEGMENT_PATHS}
_TEST_AUTH = b"/segmentio/test-authentication"


def _response(status: int, reason: str, body: bytes, keep_alive: bool = True) -> bytes:
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\n")
    if not keep_alive:
        head += "connection: close\r\n"
    return head.encode() + b"\r\n" + body


_OK = _response(200, "OK", b"{}")
_OK_CLOSE = _response(200, "OK", b"{}", keep_alive=False)
_UNAUTHORIZED_BODY = orjson.dumps(
    {"code": 401, "message": "Unauthorized", "details": "Invalid credentials", "key": "unauthorized"})
_UNAUTHORIZED = _response(401, "Unauthorized", _UNAUTHORIZED_BODY)
_UNAUTHORIZED_CLOSE = _response(401, "Unauthorized", _UNAUTHORIZED_BODY, keep_alive=False)


class LeanState:
    """Settings, records and counters of one lean stub process."""

    def __init__(self, latency_ms: float = 0.0, credentials: Credentials | None = None,
                 record_bodies: bool = True) -> None:
        self._initial = (latency_ms, credentials, record_bodies)
        self.latency_s = latency_ms / 1000.0
        self.credentials = credentials
        self.record_bodies = record_bodies
        self.records: list[LeanRecord] = []
        self.counts: Counter[tuple[str, int]] = Counter()

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; ValueError naming a key the lean stub does not support."""
        unknown = sorted(set(changes) - set(LEAN_SETTINGS))
        if unknown:
            raise ValueError(f"the lean stub (benchmark mode) supports only {', '.join(LEAN_SETTINGS)}; "
                             f"not {', '.join(unknown)}: run the full stub (without --lean) for faults")
        if "latency_ms" in changes:
            latency = float(changes["latency_ms"])
            if latency < 0:
                raise ValueError("latency_ms must be >= 0")
            self.latency_s = latency / 1000.0
        if "record_bodies" in changes:
            self.record_bodies = bool(changes["record_bodies"])
        if "credentials" in changes:
            creds = changes["credentials"]
            self.credentials = None if creds is None else Credentials(creds["application_id"], creds["secret_key"])

    def reset(self, config: bool = False) -> None:
        """Forget records and counters; with ``config`` also restore the start-up settings."""
        self.records = []
        self.counts = Counter()
        if config:
            latency_ms, self.credentials, self.record_bodies = self._initial
            self.latency_s = latency_ms / 1000.0

    def stats(self) -> dict[str, Any]:
        return stats_view(len(self.records), self.counts)

    def config_view(self) -> dict[str, Any]:
        return {"lean": True, "latency_ms": self.latency_s * 1000.0, "record_bodies": self.record_bodies,
                "auth": self.credentials is not None}

    def requests_view(self, since: int, limit: int, only: str | None) -> dict[str, Any]:
        """The records as the full stub's ``/_stub/requests`` shows them (``headers`` empty)."""
        out = []
        records = self.records
        for i in range(max(since, 0), len(records)):
            t, method, path, body, status = records[i]
            if only is not None and path != only:
                continue
            out.append(RecordedRequest(i, t, method, path, {}, body, status).to_dict())
            if len(out) >= limit:
                break
        return {"total": len(records), "requests": out}


class _DelayLine:
    """Answers waiting out the latency, in due order, behind a single loop timer.

    Every answer is due ``latency`` after its request, so due times only grow while the latency
    stays the same; an answer that would fall due before the queue's tail (the latency was just
    lowered) gets a timer of its own instead, so none is held back by an earlier, longer one.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: deque[tuple[float, _Connection, bytes, bool]] = deque()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, delay: float, conn: _Connection, answer: bytes, keep_alive: bool) -> None:
        due = self.loop.time() + delay
        queue = self.queue
        if queue and due < queue[-1][0]:
            self.loop.call_at(due, conn.write, answer, keep_alive)
            return
        queue.append((due, conn, answer, keep_alive))
        if self.timer is None:
            self.timer = self.loop.call_at(due, self.flush)

    def flush(self) -> None:
        self.timer = None
        queue = self.queue
        now = self.loop.time()
        while queue and queue[0][0] <= now + 0.001:  # the loop clock ticks in ms (uvloop)
            _due, conn, answer, keep_alive = queue.popleft()
            conn.write(answer, keep_alive)
        if queue:
            self.timer = self.loop.call_at(queue[0][0], self.flush)


class _Connection(asyncio.Protocol):
    """One client connection: httptools calls the ``on_*`` methods as it parses."""

    def __init__(self, state: LeanState, delays: _DelayLine) -> None:
        self.state = state
        self.delays = delays
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.body: list[bytes] = []
        self.authorization: bytes | None = None
        self.secret: bytes | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(_response(400, "Bad Request", b'{"error":"bad request"}', keep_alive=False))
                self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.url = b""
        self.body = []
        self.authorization = self.secret = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        size = len(name)  # only two names matter: skip lower() for the others
        if size == 13 and name.lower() == b"authorization":
            self.authorization = value
        elif size == 10 and name.lower() == b"secret-key":
            self.secret = value

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        method = self.parser.get_method()
        path = _PATHS.get(self.url)
        if path is not None and (method == b"POST" or (method == b"GET" and self.url == _TEST_AUTH)):
            self._segment(path, method.decode(), body, keep_alive)
        else:
            self._send(self._control(method, self.url, body), keep_alive)

    # -- answers -------------------------------------------------------------------------------

    def _segment(self, path: str, method: str, body: bytes, keep_alive: bool) -> None:
        state = self.state
        creds = state.credentials
        ok = creds is None or (self.authorization == creds.authorization_bytes and self.secret == creds.secret_bytes)
        status = 200 if ok else 401
        state.records.append((time.time(), method, path, body if state.record_bodies else b"", status))
        state.counts[(path, status)] += 1
        if ok:
            answer = _OK if keep_alive else _OK_CLOSE
        else:
            answer = _UNAUTHORIZED if keep_alive else _UNAUTHORIZED_CLOSE
        if state.latency_s > 0:
            self.delays.add(state.latency_s, self, answer, keep_alive)
        else:
            self.write(answer, keep_alive)

    def write(self, answer: bytes, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(answer)
        if not keep_alive:
            transport.close()

    def _send(self, answer: tuple[int, Any], keep_alive: bool) -> None:
        status, data = answer
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}.get(status, "Error")
        self.write(_response(status, reason, orjson.dumps(data), keep_alive), keep_alive)

    def _control(self, method: bytes, url: bytes, body: bytes) -> tuple[int, Any]:
        """The ``/_stub`` control API: (status, JSON document)."""
        parsed = httptools.parse_url(url)
        route = (method, parsed.path)
        query = {k: v[-1] for k, v in parse_qs((parsed.query or b"").decode()).items()}
        state = self.state
        try:
            if route == (b"GET", b"/_stub/requests"):
                return 200, state.requests_view(int(query.get("since", 0)), int(query.get("limit", 10_000)),
                                                query.get("path"))
            if route == (b"GET", b"/_stub/stats"):
                return 200, state.stats()
            if route == (b"POST", b"/_stub/reset"):
                state.reset(config=query.get("config") in ("1", "true"))
                return 200, {"ok": True}
            if route == (b"GET", b"/_stub/config"):
                return 200, state.config_view()
            if route == (b"POST", b"/_stub/config"):
                state.configure(orjson.loads(body) if body else {})
                return 200, state.config_view()
        except (ValueError, TypeError, KeyError) as exc:
            return 400, {"error": str(exc)}
        if parsed.path in _PATHS or parsed.path.startswith(b"/_stub/"):
            return 405, {"error": "method not allowed"}
        return 404, {"error": "not found"}


def serve_lean(host: str, port: int, state: LeanState, *, use_uvloop: bool = True,
               on_ready: Callable[[int], None] | None = None) -> None:
    """Run the lean stub in the foreground until interrupted (SIGINT/SIGTERM end the process)."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        delays = _DelayLine(loop)
        server = await loop.create_server(lambda: _Connection(state, delays), host, port, backlog=1024)
        if on_ready is not None:
            on_ready(server.sockets[0].getsockname()[1])
        async with server:
            await server.serve_forever()

    run_foreground(main, use_uvloop)
