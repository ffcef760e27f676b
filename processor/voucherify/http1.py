"""HTTP/1.1 keep-alive connections on the event loop's own transports; answers parsed by httptools.

Why this and not an HTTP client library (issue 16): the client's CPU per request is most of the
processor's. Measured with ``python bench/http_ceiling.py --server go`` (a compiled server that
is not the limit; uvloop; ~1 KB POSTs; keep-alive; our client's work around each transport),
2-core machine, CPU per request of the whole process, 256 concurrent at 20 ms::

    this module (asyncio protocol + httptools)   0.019 ms   11,800-11,900 req/s
    pyreqwest 0.15.1 (Rust; a tokio thread)      0.054 ms   10,400-10,500 req/s
    aiosonic 1.3.3 (pure Python)                 0.101 ms    9,600 req/s
    aiohttp 3.14 (tuned)                         0.104-0.124 ms

pyreqwest does the HTTP work outside the GIL, but every answer then crosses back to the loop's
thread (a wake-up and a GIL hand-off per request), and under the engine's load that hand-off
cost more than the whole request costs here. The parsing, where HTTP's subtleties are, is not
ours: httptools wraps llhttp, the parser Node.js itself uses (so the answers are read as
Segment's runtime reads them). What is ours is the framing of one kind of request (a POST or GET
with a fixed header block and a ``content-length`` body) and a pool of connections to one
origin.

Semantics (what the former clients did, kept): no redirects followed, no proxies, no cookies;
``accept-encoding: gzip,deflate`` (a compressed body is decoded when read, see
:meth:`Response.text_body`); TLS 1.2+ verified against the system's trust store (OpenSSL's
default paths, ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` honoured) unless ``verify_tls`` is off.

Errors, all :class:`HttpError` (never carrying a header, so never a secret):

- :class:`ConnectFailed`: TCP, DNS or TLS set-up failed (``cannot connect to host:port: why``);
- :class:`Timeout`: the connect (TCP + TLS) took longer than ``connect_timeout``, or no complete
  answer came within ``read_timeout`` of the request being written (checked every
  ``read_timeout / 4``, at most every second, so it fires up to that much late);
- :class:`ConnectionClosed`: the connection ended before the answer's head arrived (on a
  kept-alive connection with no byte of the answer yet, the request is first sent once more on
  a fresh connection: :class:`StaleConnection`); an answer whose head arrived counts as
  answered with that status even if the connection ends before its body does (the server has
  decided; the body is only read for error messages);
- :class:`MalformedAnswer`: the bytes are not an HTTP/1.1 answer, or more than
  :data:`MAX_HEAD_BYTES` came before its final head was complete.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import time
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

import httptools

from processor.errors import InternalSignal

__all__ = [
    "ConnectionPool",
    "Response",
    "HttpError",
    "ConnectFailed",
    "Timeout",
    "ConnectionClosed",
    "StaleConnection",
    "MalformedAnswer",
    "tls_context",
]

#: Bytes of an answer's body kept (the rest is read and dropped): error messages need the start.
MAX_BODY_BYTES = 64 * 1024


class HttpError(InternalSignal):
    """A request got no HTTP answer. The message names host and port at most: never a header.

    Never leaves :mod:`processor.voucherify`: the client turns it into a failed ``DeliveryResult``
    (or a ``ProbeError``)."""


class ConnectFailed(HttpError):
    pass


class Timeout(HttpError):
    pass


class ConnectionClosed(HttpError):
    pass


class StaleConnection(ConnectionClosed):
    """A kept-alive connection ended before any byte of the answer: the server had closed it
    while idle (a server that closes after each answer without saying ``connection: close``),
    so the request never reached it. :meth:`ConnectionPool.request` sends it again, once, on a
    fresh connection, as Go's ``net/http`` does for a server-closed idle connection."""


class MalformedAnswer(HttpError):
    pass


class Response:
    """An answer: ``status``; ``headers`` (lower-case name -> value, both ``str``) and ``body``
    (at most :data:`MAX_BODY_BYTES`, as sent: maybe compressed) are kept for non-2xx answers only,
    since a success needs neither (``{}`` and ``b""`` then)."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def text_body(self) -> bytes:
        """The body decoded per ``content-encoding`` (gzip or deflate; up to :data:`MAX_BODY_BYTES`),
        or as sent when it cannot be decoded (a cut-off stream decodes as far as it goes)."""
        encoding = self.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("gzip", "deflate", "x-gzip") or not self.body:
            return self.body
        # wbits 47 reads gzip or zlib; -15 is the raw deflate some servers send for "deflate".
        for wbits in ((47,) if encoding != "deflate" else (47, -15)):
            try:
                return zlib.decompressobj(wbits).decompress(self.body, MAX_BODY_BYTES)
            except zlib.error:
                continue
        return self.body


_EMPTY: dict[str, str] = {}
_KEEP_ALL = float("inf")
#: The most bytes an answer may send before its final head is complete (interim answers
#: included); beyond it the answer is malformed. Node's parser, Segment's, stops at 16 KiB of
#: headers; without a bound, a misbehaving endpoint's endless interim answers all stayed in memory.
MAX_HEAD_BYTES = 1024 * 1024
_SUCCESSES: dict[int, Response] = {}  # 2xx answers carry only their status: one object each


class _Callback:
    """A connection's waiter that calls a function instead of waking a task (the part of the
    ``asyncio.Future`` interface :class:`_Connection` uses): :meth:`ConnectionPool.try_request`."""

    __slots__ = ("_fn",)

    def __init__(self, fn: Callable[[Any], None]) -> None:
        self._fn: Callable[[Any], None] | None = fn

    def done(self) -> bool:
        return self._fn is None

    def set_result(self, response: Response) -> None:
        fn, self._fn = self._fn, None
        if fn is not None:
            fn(response)

    def set_exception(self, error: HttpError) -> None:
        fn, self._fn = self._fn, None
        if fn is not None:
            fn(error)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time (no pipelining).

    Protocol per request: 1. the pool hands it a waiter and the request bytes (:meth:`send`);
    2. the answer's bytes go through httptools, and are kept as they came: all of them up to the
    end of the final answer's head (interim answers included), then :data:`MAX_BODY_BYTES` more
    for a non-2xx answer's body, none for a 2xx; 3. at the end of the message the waiter gets the :class:`Response`
    and the connection goes back to the pool, or is closed when the answer says ``connection:
    close``; 4. if the connection ends, or the bytes are not HTTP, first, the waiter gets the
    error and the pool forgets the connection.

    Headers and body are read only from a non-2xx answer, and then from the kept bytes
    (:func:`_headers_and_body`): this parser has no header or body callback, since each header
    would be a Python call per answer (Voucherify sends about ten) that a success never needs.
    """

    __slots__ = ("_pool", "_transport", "_parser", "_waiter", "_kept", "_kept_len", "_keep_until", "_status",
                 "_head_done", "_answering", "closed", "deadline", "idle_since", "reused")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[Response] | _Callback | None = None
        self._kept: list[bytes] = []  # the answer's bytes so far (with any interim answer before it)
        self._kept_len = 0
        self._keep_until: float = _KEEP_ALL  # _kept_len from which bytes are no longer kept
        self._status = 0  # the current answer's, from its head
        self._head_done = False
        self._answering = False  # a byte of the current request's answer has arrived
        self.reused = False  # it served a request before this one
        self.closed = False
        self.deadline = 0.0  # monotonic s by which the answer must be complete; 0 = idle
        self.idle_since = 0.0

    # -- the pool's side ---------------------------------------------------------------------

    def send(self, data: bytes, waiter: asyncio.Future[Response] | _Callback, deadline: float) -> None:
        self._waiter = waiter
        self.deadline = deadline
        assert self._transport is not None
        self._transport.write(data)

    def abort(self, error: HttpError) -> None:
        """Give up on this connection (a timeout, the pool closing): its waiter gets ``error``."""
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()

    # -- asyncio.Protocol --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._answering = True
        if self._waiter is None:  # bytes nobody asked for: the connection's state is unknown
            self.abort(MalformedAnswer("data on an idle connection"))
            return
        if self._kept_len < self._keep_until:
            self._kept.append(data)
            self._kept_len += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.abort(MalformedAnswer(f"malformed answer: {exc}"))
            return
        if self._kept_len > MAX_HEAD_BYTES and self._keep_until == _KEEP_ALL:  # no final head yet
            self.abort(MalformedAnswer(f"no complete answer head within {MAX_HEAD_BYTES} bytes"))

    def eof_received(self) -> bool:
        # An answer framed by the end of the connection (no length, not chunked) ends here.
        if self._head_done and self._waiter is not None:
            self.on_message_complete()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection closed before the answer ({exc})" if exc else "connection closed before the answer"
        stale = self.reused and not self._answering
        self._fail(StaleConnection(reason) if stale else ConnectionClosed(reason))

    # -- httptools callbacks -----------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._head_done = True
        self._status = status = self._parser.get_status_code()  # read once per answer
        if status >= 200:  # the final answer's head is kept whole; of its body, what an error message needs
            self._keep_until = self._kept_len + MAX_BODY_BYTES if status >= 300 else 0

    def on_message_complete(self) -> None:
        parser = self._parser
        status = self._status  # (a message completes only after its head did)
        self._head_done = False
        if status < 200:  # an interim answer (100 Continue, 103 Early Hints): the real one follows
            return  # (its bytes stay kept: the real answer's may have come in the same read)
        waiter, self._waiter = self._waiter, None
        self.deadline = 0.0
        self._answering = False
        self.reused = True
        kept = self._kept
        self._kept_len = 0
        self._keep_until = _KEEP_ALL
        if 200 <= status < 300:  # neither headers nor body are read: one shared answer per status
            kept.clear()
            response = _SUCCESSES.get(status) or _SUCCESSES.setdefault(status, Response(status, _EMPTY, b""))
        else:
            self._kept = []
            response = Response(status, *_headers_and_body(b"".join(kept)))
        if parser.should_keep_alive() and not self.closed:
            self._pool._check_in(self)
        else:
            self._close()
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    # -- internals ---------------------------------------------------------------------------

    def _fail(self, error: HttpError) -> None:
        waiter, self._waiter = self._waiter, None
        self.deadline = 0.0
        if not self.closed:
            self._close()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _close(self) -> None:
        self.closed = True
        self._pool._forget(self)
        if self._transport is not None:
            self._transport.close()


class ConnectionPool:
    """Up to ``max_connections`` keep-alive connections to one origin (``host``, ``port``, TLS or not).

    ``await pool.request(data)`` sends ``data`` (a complete request: head and body) on an idle
    connection, or a new one, or waits for one to free up (that wait is not timed: the engine
    bounds how many requests are in flight), and returns the :class:`Response`; raises an
    :class:`HttpError` otherwise. Idle connections are reused most-recent first and closed after
    ``keepalive_timeout`` s. Timeouts are in seconds. One event loop; :meth:`close` when done.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None,
        max_connections: int,
        connect_timeout: float,
        read_timeout: float,
        keepalive_timeout: float,
    ) -> None:
        self.host = host
        self.port = port
        self._tls = tls
        self._max = max_connections
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._keepalive = keepalive_timeout
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()  # every live connection, idle or busy
        self._connecting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_every = max(0.01, min(1.0, read_timeout / 4))
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    async def request(self, data: bytes) -> Response:
        # The loop is looked up once: asyncio.get_running_loop() costs a getpid() system call on
        # CPython 3.11 (its fork check), ~4 % of the processor's CPU when done per request.
        loop = self._loop
        if loop is None or loop.is_closed():
            loop = self._loop = asyncio.get_running_loop()
        conn = self._take_idle()
        if conn is None:
            conn = await self._new_connection(loop)
        try:
            return await self._send(loop, conn, data)
        except StaleConnection:
            pass  # the server had closed it while idle: the request never reached it
        return await self._send(loop, await self._new_connection(loop), data)

    def try_request(self, data: bytes, on_answer: Callable[[Response | HttpError], None]) -> bool:
        """Send ``data`` on an idle connection now, without a future or a task: True, and
        ``on_answer`` is called once, later, with the :class:`Response` or the :class:`HttpError`
        (a :class:`StaleConnection` is not sent again here: that is the caller's to do, e.g.
        with :meth:`request`). False: no connection is idle, nothing was sent.

        ``on_answer`` runs inside the connection's protocol callback, after the connection went
        back to the pool: it may send on it again at once. It must not raise (what it raises is
        lost: the connection is aborted as unreadable).
        """
        conn = self._take_idle()
        if conn is None:
            return False
        conn.send(data, _Callback(on_answer), time.monotonic() + self._read_timeout)
        if self._sweeper is None:
            self._sweeper = self._loop.call_later(self._sweep_every, self._sweep)  # type: ignore[union-attr]
        return True

    def _send(self, loop: asyncio.AbstractEventLoop, conn: _Connection, data: bytes) -> asyncio.Future[Response]:
        """Write ``data`` on ``conn``; the future of its answer (the sweep bounds the wait)."""
        waiter: asyncio.Future[Response] = loop.create_future()
        conn.send(data, waiter, time.monotonic() + self._read_timeout)
        if self._sweeper is None:
            self._sweeper = loop.call_later(self._sweep_every, self._sweep)
        return waiter

    async def close(self) -> None:
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for conn in list(self._open):
            conn.abort(ConnectionClosed("the client was closed"))
        self._idle.clear()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionClosed("the client was closed"))
        self._waiters.clear()

    # -- connections -------------------------------------------------------------------------

    def _take_idle(self) -> _Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if time.monotonic() - conn.idle_since > self._keepalive:
                conn.abort(ConnectionClosed("idle too long"))
                continue
            return conn
        return None

    async def _new_connection(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        while len(self._open) + self._connecting >= self._max:
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            try:
                await waiter  # a connection was checked in or closed: look again
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled before it ran: the next waiter looks
                else:
                    try:
                        self._waiters.remove(waiter)
                    except ValueError:
                        pass
                raise
            conn = self._take_idle()
            if conn is not None:
                return conn
        if self._closed:
            raise ConnectionClosed("the client was closed")
        self._connecting += 1
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Connection(self), self.host, self.port, ssl=self._tls,
                    server_hostname=self.host if self._tls is not None else None,
                    ssl_handshake_timeout=self._connect_timeout if self._tls is not None else None,
                ),
                self._connect_timeout,
            )
        except asyncio.TimeoutError:
            raise Timeout(f"connecting to {self.host}:{self.port} timed out after {self._connect_timeout:g} s "
                          "(TCP and TLS)") from None
        except ssl.SSLCertVerificationError as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc.verify_message or exc.reason}") from None
        except ssl.SSLError as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: TLS: {exc.reason or exc}") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {_os_reason(exc)}") from None
        finally:
            self._connecting -= 1
            self._wake_one()  # a failed connect frees its place for a waiter
        self._open.add(conn)
        return conn

    def _check_in(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        self._wake_one()

    def _forget(self, conn: _Connection) -> None:
        self._open.discard(conn)
        self._wake_one()

    def _wake_one(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Every ``read_timeout / 4`` while connections are open: abort the requests past their deadline."""
        self._sweeper = None
        now = time.monotonic()
        busy = False
        for conn in list(self._open):
            if conn.deadline:
                if now > conn.deadline:
                    conn.abort(Timeout(f"no answer from {self.host}:{self.port} within {self._read_timeout:g} s"))
                else:
                    busy = True
        if busy and not self._closed:
            self._sweeper = self._loop.call_later(self._sweep_every, self._sweep)  # type: ignore[union-attr]


class _FullAnswer:
    """httptools callbacks that collect the last answer's headers and body (see :func:`_headers_and_body`)."""

    __slots__ = ("headers", "body", "body_len")

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.body: list[bytes] = []
        self.body_len = 0

    def on_message_begin(self) -> None:  # an interim answer came first: start again
        self.headers = {}
        self.body = []
        self.body_len = 0

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        if self.body_len < MAX_BODY_BYTES:
            self.body.append(body)
            self.body_len += len(body)


def _headers_and_body(data: bytes) -> tuple[dict[str, str], bytes]:
    """The headers (lower-case name -> value; the last of a repeated name) and the body (up to
    :data:`MAX_BODY_BYTES`, as sent) of the last answer in ``data``: the bytes a connection kept of
    an answer its own parser already read. Parsed again by httptools; the kept bytes may stop
    part-way through a long body, which is all that is needed of it."""
    answer = _FullAnswer()
    try:
        httptools.HttpResponseParser(answer).feed_data(data)
    except httptools.HttpParserError:
        pass  # cannot happen for bytes the connection's parser took; what was read stands
    return answer.headers, b"".join(answer.body)[:MAX_BODY_BYTES]


def _os_reason(exc: OSError) -> str:
    """The OS's words for a connect failure (``Connection refused``); a DNS failure's own text."""
    if exc.errno and not isinstance(exc, socket.gaierror):  # asyncio's strerror is "Connect call failed (...)"
        return os.strerror(exc.errno)
    return exc.strerror or str(exc) or type(exc).__name__


def tls_context(verify: bool) -> ssl.SSLContext:
    """TLS 1.2+ with ALPN ``http/1.1``; verified against the system's trust store unless ``verify``
    is False (then no certificate or host-name check at all)."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def request_head(method: str, target: str, host_header: str, headers: Any) -> bytes:
    """The request's head up to (not including) ``content-length``'s value: ``METHOD target
    HTTP/1.1``, ``host``, then ``headers`` (name -> value, written lower-case, in order)."""
    lines = [f"{method} {target} HTTP/1.1", f"host: {host_header}"]
    lines += [f"{name.lower()}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\ncontent-length: ").encode("latin-1")
