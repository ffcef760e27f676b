"""VoucherifyClient: a pool of keep-alive connections that turns a Delivery into a DeliveryResult.

The client never raises for a delivery: every outcome (2xx, HTTP error, timeout, reset)
becomes a :class:`DeliveryResult` classified by Segment's rules (see
:mod:`processor.voucherify.http_status`), so the engine has one code path. Messages
name the action and the status, never the URL's credentials, the application id, the
secret key or the auth headers; anything echoed from the server is scrubbed too.

The transport is :mod:`processor.voucherify.http1` (asyncio protocols + httptools; why, with the
figures of the libraries it was measured against: that module's docstring). Each request is a
prepared byte string: the head for its URL is built once (method, target, ``host``, the auth
headers, ``content-type``, ``accept``, ``user-agent``, ``accept-encoding``), only
``content-length`` and the body change. Header names go out lower-case, as Segment's runtime
sends them; redirects are not followed (a 3xx is a permanent failure, as in Segment); proxies
named in the environment are ignored; a message names the standard reason phrase for the status
(Voucherify's own words are in the body, which is kept).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from http import HTTPStatus
from urllib.parse import quote, urlsplit

from processor import __version__
from processor.engine.ports import PERMANENT, RETRYABLE
from processor.errors import ProbeError
from processor.redaction import Redactor

from .delivery import Delivery, DeliveryResult
from .http1 import ConnectionPool, HttpError, Response, StaleConnection, Timeout, request_head, tls_context
from .http_status import OUTAGE_STATUSES, THROTTLE_STATUSES, classify_status, retry_after_seconds
from .settings import auth_headers

__all__ = ["VoucherifyClient", "ProbeError", "USER_AGENT", "auth_headers"]

log = logging.getLogger(__name__)

USER_AGENT = f"voucherify-processor/{__version__}"
TEST_AUTHENTICATION_PATH = "/segmentio/test-authentication"
_ERROR_BODY_CHARS = 300  # enough to show Voucherify's error key/message, bounded for Kafka headers
_ERROR_BODY_SCAN_BYTES = 64 * 1024  # redacted before the cut; longer bodies are not read further
_URL_SAFE = "/%?=&:@!$'()*+,;~-._"  # characters of a request target written as they are
_ROUTE_CACHE = 64  # URLs whose prepared head is kept (the three endpoints, in practice)


class VoucherifyClient:
    """POSTs prepared bodies to Voucherify over a keep-alive connection pool.

    ``connect_timeout`` bounds the TCP+TLS handshake; ``read_timeout`` bounds the wait for the
    complete answer once the request is written (Segment's own request timeout is 10 s); both in
    seconds. Time spent waiting for a free connection is not a timeout: the engine bounds
    in-flight requests, so keep its concurrency <= ``max_connections`` (at most that many
    connections are open; idle ones are closed after ``keepalive_timeout`` s).

    Pacing is not done here: the engine's adaptive rate (``processor.engine.rate``) decides when
    each request may go, from what the results say: ``throttled`` (a 429) and ``unavailable``
    (a connection failure, a timeout, or 500/502/503/504: see ``http_status.OUTAGE_STATUSES``).

    Create and use it inside one running event loop; call :meth:`close` when done
    (or ``async with VoucherifyClient(...)``).
    """

    def __init__(
        self,
        custom_url: str,
        application_id: str,
        secret_key: str,
        *,
        max_connections: int = 100,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        keepalive_timeout: float = 30.0,
        verify_tls: bool = True,
    ) -> None:
        self.base_url = custom_url.rstrip("/")
        self.max_connections = max_connections
        self._headers = {
            **auth_headers(application_id, secret_key),
            "content-type": "application/json",
            "accept": "*/*",
            "user-agent": USER_AGENT,
            "accept-encoding": "gzip,deflate",
        }
        self._redactor = Redactor((application_id, secret_key), placeholder="[redacted]")
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._keepalive_timeout = keepalive_timeout
        self._verify_tls = verify_tls
        if not verify_tls:
            log.warning("TLS certificate verification is DISABLED for %s (verify_tls=False)", self.base_url)
        self._pools: dict[tuple[str, str, int], ConnectionPool] = {}
        self._routes: dict[tuple[str, str], tuple[ConnectionPool, bytes]] = {}
        self._ok: dict[int, DeliveryResult] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # start()'s sends in a task (kept referenced)

    # -- lifecycle -----------------------------------------------------------------------

    async def close(self) -> None:
        pools, self._pools = self._pools, {}
        self._routes.clear()
        for pool in pools.values():
            await pool.close()
        tasks, self._tasks = self._tasks, set()
        for task in tasks:  # start()'s sends waiting for a connection: nobody waits for them now
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> VoucherifyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _route(self, method: str, url: str) -> tuple[ConnectionPool, bytes]:
        """The pool for ``url``'s origin and the request head for it; ``ValueError``: not an
        http(s) URL with a host."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("invalid URL")
        port = parts.port or (443 if scheme == "https" else 80)  # ValueError for a bad port
        origin = (scheme, parts.hostname, port)
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = ConnectionPool(
                parts.hostname, port,
                tls=tls_context(self._verify_tls) if scheme == "https" else None,
                max_connections=self.max_connections, connect_timeout=self._connect_timeout,
                read_timeout=self._read_timeout, keepalive_timeout=self._keepalive_timeout,
            )
        # Spaces and non-ASCII in the path or query are percent-encoded as UTF-8 (as a browser or
        # reqwest does); what is already encoded, and URL punctuation, stay as written.
        target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), safe=_URL_SAFE)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 in brackets
        if (scheme, port) not in (("http", 80), ("https", 443)):
            host += f":{port}"
        if len(self._routes) >= _ROUTE_CACHE:
            self._routes.clear()
        route = self._routes[(method, url)] = (pool, request_head(method, target, host, self._headers))
        return route

    # -- hot path ------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> DeliveryResult:
        """POST ``delivery.body`` to ``delivery.url``; never raises for HTTP or network errors."""
        try:
            pool, data = self._request(delivery)
        except ValueError:
            return DeliveryResult(False, None, PERMANENT, f"{delivery.action}: invalid URL", None)
        try:
            answer: Response | HttpError = await pool.request(data)
        except HttpError as exc:
            answer = exc
        return self._result(delivery, answer)

    def start(self, delivery: Delivery, on_result: Callable[[DeliveryResult | BaseException], None]) -> None:
        """:meth:`send` without a task when a connection is idle (the engine's ``Sender.start``).

        ``on_result`` is called once, never before this returns: with the :class:`DeliveryResult`,
        or with the exception if sending raised (a defect: :meth:`send` raises for nothing else).
        On a connection the server had closed while idle, and when no connection is idle, the
        request goes through :meth:`send` in a task instead (which opens a connection or waits).
        """
        route = self._routes.get(("POST", delivery.url))
        if route is not None:
            pool, head = route
            data = _request_bytes(head, delivery.body)

            def answered(answer: Response | HttpError) -> None:
                if type(answer) is StaleConnection:  # never reached the server: send it afresh
                    self._in_task(delivery, on_result)
                else:
                    on_result(self._result(delivery, answer))

            if pool.try_request(data, answered):
                return
        self._in_task(delivery, on_result)

    def _in_task(self, delivery: Delivery, on_result: Callable[[DeliveryResult | BaseException], None]) -> None:
        async def send_then() -> None:
            try:
                result: DeliveryResult | BaseException = await self.send(delivery)
            except Exception as exc:  # noqa: BLE001 - handed to the caller, who stops the engine
                result = exc
            on_result(result)

        loop = self._loop
        if loop is None or loop.is_closed():  # looked up once: see ConnectionPool.request
            loop = self._loop = asyncio.get_running_loop()
        task = loop.create_task(send_then())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _request(self, delivery: Delivery) -> tuple[ConnectionPool, bytes]:
        """The pool and the complete request bytes for ``delivery``; ``ValueError``: invalid URL."""
        url = delivery.url
        route = self._routes.get(("POST", url))
        if route is None:
            route = self._route("POST", url)
        pool, head = route
        return pool, _request_bytes(head, delivery.body)

    def _result(self, delivery: Delivery, answer: Response | HttpError) -> DeliveryResult:
        """What ``answer`` means for ``delivery``: Segment's classification (``http_status``)."""
        if type(answer) is Response:
            status = answer.status
            if 200 <= status < 300:
                result = self._ok.get(status)
                if result is None:
                    result = self._ok[status] = DeliveryResult(True, status, None, "", None)
                return result
            return self._failure(delivery, answer)
        if isinstance(answer, Timeout):
            return DeliveryResult(False, None, RETRYABLE, f"{delivery.action}: timed out waiting for Voucherify",
                                  None, unavailable=True)
        reason = self._scrub(str(answer))
        return DeliveryResult(False, None, RETRYABLE, f"{delivery.action}: connection error ({reason})",
                              None, unavailable=True)

    def _failure(self, delivery: Delivery, response: Response) -> DeliveryResult:
        status = response.status
        error_class = classify_status(status)
        headers = response.headers
        retry_after = retry_after_seconds(headers.get("retry-after"), headers.get("x-rate-limit-retry"))
        throttled = status in THROTTLE_STATUSES
        message = failure_message(delivery.action, status, _reason(status), response.text_body(), self._redactor)
        return DeliveryResult(False, status, error_class, message, retry_after, throttled, status in OUTAGE_STATUSES)

    def _scrub(self, text: str) -> str:
        return self._redactor.redact(text)

    # -- auth probe ----------------------------------------------------------------------

    async def probe_auth(self) -> bool:
        """True if Voucherify accepts the credentials, False on 401/403.

        Raises :class:`ProbeError` when it cannot tell (invalid URL, network error, timeout, other status).
        """
        url = self.base_url + TEST_AUTHENTICATION_PATH
        try:
            pool, head = self._route("GET", url)
        except ValueError:
            raise ProbeError("test-authentication failed: invalid URL") from None
        try:
            response = await pool.request(head + b"0\r\n\r\n")
        except Timeout as exc:
            raise ProbeError(f"test-authentication failed: timed out: {exc}") from None
        except HttpError as exc:
            raise ProbeError(self._scrub(f"test-authentication failed: {exc}")) from None
        status = response.status
        if 200 <= status < 300:
            return True
        if status in (401, 403):
            return False
        raise ProbeError(f"test-authentication answered {status}")

    def __repr__(self) -> str:  # never shows credentials
        return f"<VoucherifyClient {self.base_url} max_connections={self.max_connections}>"


def failure_message(action: str, status: int, reason: str | None, body: bytes, redactor: Redactor) -> str:
    """``<action>: Voucherify answered <status> <reason>: <body, whitespace folded>``, secret-free.

    The body is redacted *before* it is cut to ``_ERROR_BODY_CHARS`` (a server that echoes the
    request headers would otherwise leave a fragment of the encoded secret key at the cut), and
    the whole first ``_ERROR_BODY_SCAN_BYTES`` are redacted, not a window just past the cut:
    redacting shortens the text, so a fragment cut short at such a window (too short to be
    recognised) would slide into the message. A spelling becomes ``[redacted]``, at worst about
    a quarter of its length, so nothing near 64 KiB can reach the first 300 characters.
    """
    scanned = body[:_ERROR_BODY_SCAN_BYTES].decode("utf-8", "replace")
    text = redactor.redact(scanned)[:_ERROR_BODY_CHARS]
    message = f"{action}: Voucherify answered {status} {reason or ''}".rstrip()
    if text:
        message += f": {' '.join(text.split())}"
    return redactor.redact(message)


def _request_bytes(head: bytes, body: bytes) -> bytes:
    """The complete request: the prepared head (up to ``content-length: ``), the length, the body."""
    return b"%s%d\r\n\r\n%s" % (head, len(body), body)


def _reason(status: int) -> str:
    """The standard reason phrase (``Bad Request``), or "" for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
