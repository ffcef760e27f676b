"""The aiohttp application: Voucherify's Segment endpoints plus the ``/_stub`` control API.

Hot path (``/segmentio/*``): read the body, check for an outage, consult the script queue, check
the two auth headers against precomputed strings, take a rate-limit token (when a limit is set),
draw random faults, sleep if asked, append one tuple, answer. Everything else (JSON views of
records, stats) is computed when asked for.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import Counter
from typing import Any

import orjson
from aiohttp import web

from .faults import FaultConfig, FaultEngine, Outcome
from .limits import RateLimits
from .outage import Outage
from .recording import RawRecord, RecordedRequest

__all__ = ["SEGMENT_PATHS", "Credentials", "StubState", "build_app"]

SEGMENT_PATHS = (
    "/segmentio/test-authentication",
    "/segmentio/event-processing",
    "/segmentio/customer-processing",
    "/segmentio/group-processing",
)

_JSON = "application/json"
_OK_BODY = b"{}"
_UNAUTHORIZED = orjson.dumps(
    {"code": 401, "message": "Unauthorized", "details": "Invalid credentials", "key": "unauthorized"}
)
# Voucherify's error shape; the status text is its documented one for 429 ("API limit reached").
_TOO_MANY = {"code": 429, "message": "API limit reached", "key": "too_many_requests"}
_UNAVAILABLE = orjson.dumps({"code": 503, "message": "Service Unavailable", "key": "service_unavailable"})


class Listener:
    """What the ``refuse`` outage needs from the server: stop and resume accepting connections."""

    async def close(self) -> None: ...

    async def reopen(self) -> None: ...


class Credentials:
    """The accepted application id / secret key, kept as the exact header values expected."""

    __slots__ = ("application_id", "secret_key", "authorization", "secret_header", "authorization_bytes",
                 "secret_bytes")

    def __init__(self, application_id: str, secret_key: str) -> None:
        self.application_id = application_id
        self.secret_key = secret_key
        self.authorization = "Basic " + base64.b64encode(application_id.encode()).decode()
        self.secret_header = base64.b64encode(secret_key.encode()).decode()
        # the same values as raw header bytes, for the lean stub's parser (dev/stub/lean.py)
        self.authorization_bytes = self.authorization.encode()
        self.secret_bytes = self.secret_header.encode()


class StubState:
    """Everything mutable: faults, credentials, records, counters. One per server process."""

    def __init__(self, config: FaultConfig | None = None, credentials: Credentials | None = None) -> None:
        self.initial_config = config or FaultConfig()
        self.initial_credentials = credentials
        self.faults = FaultEngine(self.initial_config)
        self.credentials = credentials  # None: accept any (or no) credentials
        self.records: list[RawRecord] = []
        self.counts: Counter[tuple[str, int]] = Counter()
        self.limits: RateLimits | None = None
        self._limits_for: tuple[float | None, float | None] = (None, None)
        self._sync_limits()
        self.outage: Outage | None = None
        self._outage_timer: asyncio.TimerHandle | None = None
        self.listener: Listener | None = None  # set by the server (the refuse outage needs it)

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply a partial update; ``credentials`` is ``{application_id, secret_key}`` or null."""
        changes = dict(changes)
        if "credentials" in changes:
            creds = changes.pop("credentials")
            self.credentials = None if creds is None else Credentials(creds["application_id"], creds["secret_key"])
        self.faults.configure(changes)
        self._sync_limits()

    def _sync_limits(self) -> None:
        """A new limit or burst starts full buckets; other changes keep the buckets' state."""
        c = self.faults.config
        wanted = (c.rate_limit_per_minute, c.rate_limit_burst)
        if wanted != self._limits_for or (self.limits is None and c.rate_limit_per_minute):
            self._limits_for = wanted
            self.limits = RateLimits(c.rate_limit_per_minute, c.rate_limit_burst) if c.rate_limit_per_minute else None

    def start_outage(self, data: dict[str, Any]) -> Outage:
        """Start (or replace) an outage; runs on the server loop. ValueError for a bad request."""
        outage = Outage.parse(data, time.time())
        loop = asyncio.get_running_loop()
        previous = self.outage
        self.end_outage(reopen=False)
        self.outage = outage
        self._outage_timer = loop.call_later(outage.ends - outage.started, self.end_outage)
        listener = self.listener
        if listener is not None:
            if outage.mode == "refuse" and (previous is None or previous.mode != "refuse"):
                # after this control request's answer is on its way
                loop.call_later(0.05, lambda: loop.create_task(listener.close()))
            elif outage.mode != "refuse" and previous is not None and previous.mode == "refuse":
                loop.create_task(listener.reopen())
        return outage

    def end_outage(self, reopen: bool = True) -> None:
        """End the outage in force, if any (idempotent); runs on the server loop."""
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        outage, self.outage = self.outage, None
        if reopen and outage is not None and outage.mode == "refuse" and self.listener is not None:
            asyncio.get_running_loop().create_task(self.listener.reopen())

    def reset(self, config: bool = False) -> None:
        """Drop records, counters, the script and rate-limit buckets; with ``config`` also end any
        outage and restore start-up settings."""
        self.records = []
        self.counts = Counter()
        if config:
            self.credentials = self.initial_credentials
            self.faults.reset(self.initial_config)
            self.end_outage()
        else:
            self.faults.reset()
        self._limits_for = (None, None)
        self.limits = None
        self._sync_limits()

    def stats(self) -> dict[str, Any]:
        return stats_view(len(self.records), self.counts)

    def config_view(self) -> dict[str, Any]:
        view = self.faults.config.as_dict()
        view["script"] = [
            {"status": s.status, "count": s.count, "path": s.path, "reset": s.reset} for s in self.faults.script
        ]
        view["auth"] = self.credentials is not None
        view["outage"] = self.outage.as_dict() if self.outage is not None else None
        return view


def stats_view(total: int, counts: Counter[tuple[str, int]]) -> dict[str, Any]:
    """``/_stub/stats``: ``{"total", "by_path": {path: {status: count}}}`` (status as a string)."""
    by_path: dict[str, dict[str, int]] = {}
    for (path, status), n in counts.items():
        by_path.setdefault(path, {})[str(status)] = n
    return {"total": total, "by_path": by_path}


def _authorized(state: StubState, headers: Any) -> bool:
    creds = state.credentials
    if creds is None:
        return True
    return headers.get("authorization") == creds.authorization and headers.get("secret-key") == creds.secret_header


def _respond(outcome: Outcome) -> web.Response:
    if outcome.body is not None:
        body = orjson.dumps(outcome.body)
    elif outcome.status < 300:
        body = _OK_BODY
    else:
        body = orjson.dumps({"code": outcome.status, "message": "Stub fault", "key": "stub_fault"})
    return web.Response(status=outcome.status, body=body, content_type=_JSON, headers=outcome.headers)


def _abort(request: web.Request) -> web.Response:
    transport = request.transport
    if transport is not None:
        transport.abort()
    # Nothing reaches the client: the connection is gone. aiohttp discards this response.
    return web.Response(status=500)


def _rate_limited(state: StubState, headers: Any, now_epoch: float) -> Outcome:
    """Take a token for this application id: a 429 when none is left, else the random faults."""
    assert state.limits is not None
    c = state.faults.config
    decision = state.limits.check(headers.get("authorization", ""), time.monotonic())
    limit_headers = decision.headers(now_epoch, c.rate_limit_retry_after)
    if not decision.allowed:
        return Outcome(429, c.latency_ms / 1000.0, limit_headers, _TOO_MANY)
    outcome = state.faults.decide()
    if outcome.status == 0:
        return outcome
    return Outcome(outcome.status, outcome.delay, {**limit_headers, **(outcome.headers or {})}, outcome.body)


def _outage(state: StubState, request: web.Request, arrived: float, body: bytes) -> web.Response:
    """Answer (or not) during an outage: 503, or a reset for ``reset`` and ``refuse``."""
    assert state.outage is not None
    status = 503 if state.outage.mode == "503" else 0
    path = request.path
    state.records.append(
        (arrived, request.method, path, request.headers, body if state.faults.config.record_bodies else b"", status)
    )
    state.counts[(path, status)] += 1
    if status == 0:
        return _abort(request)
    return web.Response(status=503, body=_UNAVAILABLE, content_type=_JSON)


def build_app(state: StubState) -> web.Application:
    """A fresh application bound to ``state``."""

    async def segment(request: web.Request) -> web.StreamResponse:
        arrived = time.time()
        body = await request.read()
        path = request.path
        headers = request.headers
        faults = state.faults
        if state.outage is not None:
            return _outage(state, request, arrived, body)
        outcome = faults.scripted(path) if faults.script else None
        if outcome is None:
            if not _authorized(state, headers):
                outcome = Outcome(401, body=None)
            elif state.limits is not None:
                outcome = _rate_limited(state, headers, arrived)
            else:
                outcome = faults.decide()
        status = outcome.status
        state.records.append(
            (arrived, request.method, path, headers, body if faults.config.record_bodies else b"", status)
        )
        state.counts[(path, status)] += 1
        if outcome.delay:
            await asyncio.sleep(outcome.delay)
        if status == 0:
            return _abort(request)
        if status == 200 and outcome.body is None and outcome.headers is None:
            return web.Response(body=_OK_BODY, content_type=_JSON)
        if status == 401 and outcome.body is None:
            return web.Response(status=401, body=_UNAUTHORIZED, content_type=_JSON)
        return _respond(outcome)

    async def get_requests(request: web.Request) -> web.Response:
        since = int(request.query.get("since", 0))
        limit = int(request.query.get("limit", 10_000))
        only = request.query.get("path")
        out = []
        records = state.records
        for i in range(since, len(records)):
            raw = records[i]
            if only is not None and raw[2] != only:
                continue
            out.append(RecordedRequest.from_raw(i, raw).to_dict())
            if len(out) >= limit:
                break
        return _json({"total": len(records), "requests": out})

    async def get_stats(request: web.Request) -> web.Response:
        return _json(state.stats())

    async def post_reset(request: web.Request) -> web.Response:
        state.reset(config=request.query.get("config") in ("1", "true"))
        return _json({"ok": True})

    async def get_config(request: web.Request) -> web.Response:
        return _json(state.config_view())

    async def post_config(request: web.Request) -> web.Response:
        try:
            state.configure(orjson.loads(await request.read()))
        except (ValueError, TypeError, KeyError) as exc:
            return _json({"error": str(exc)}, status=400)
        return _json(state.config_view())

    async def post_outage(request: web.Request) -> web.Response:
        try:
            outage = state.start_outage(orjson.loads(await request.read()))
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, status=400)
        return _json({"outage": outage.as_dict()})

    async def delete_outage(request: web.Request) -> web.Response:
        state.end_outage()
        return _json({"outage": None})

    app = web.Application()
    app.router.add_route("GET", "/segmentio/test-authentication", segment)
    for path in SEGMENT_PATHS:
        app.router.add_route("POST", path, segment)
    app.router.add_get("/_stub/requests", get_requests)
    app.router.add_get("/_stub/stats", get_stats)
    app.router.add_post("/_stub/reset", post_reset)
    app.router.add_get("/_stub/config", get_config)
    app.router.add_post("/_stub/config", post_config)
    app.router.add_post("/_stub/outage", post_outage)
    app.router.add_delete("/_stub/outage", delete_outage)
    return app


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type=_JSON)
