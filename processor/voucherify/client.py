"""VoucherifyClient: one pooled aiohttp session that turns a Delivery into a DeliveryResult.

The client never raises for a delivery: every outcome (2xx, HTTP error, timeout, reset)
becomes a :class:`DeliveryResult` classified by Segment's rules (see
:mod:`processor.voucherify.http_status`), so the engine has one code path. Messages
name the action and the status, never the URL's credentials, the application id, the
secret key or the auth headers; anything echoed from the server is scrubbed too.

Why aiohttp: bench/http_ceiling.py measured it ~25x httpx's async throughput on this
workload (docs/stub.md).
"""

from __future__ import annotations

import asyncio
import logging
import os

import aiohttp

from processor import __version__
from processor.engine.ports import PERMANENT, RETRYABLE
from processor.errors import ProbeError
from processor.redaction import Redactor

from .delivery import Delivery, DeliveryResult
from .http_status import OUTAGE_STATUSES, THROTTLE_STATUSES, classify_status, retry_after_seconds
from .settings import auth_headers

__all__ = ["VoucherifyClient", "ProbeError", "USER_AGENT", "auth_headers"]

log = logging.getLogger(__name__)

USER_AGENT = f"voucherify-processor/{__version__}"
TEST_AUTHENTICATION_PATH = "/segmentio/test-authentication"
_ERROR_BODY_CHARS = 300  # enough to show Voucherify's error key/message, bounded for Kafka headers
_ERROR_BODY_SCAN_BYTES = 64 * 1024  # redacted before the cut; longer bodies are not read further


class VoucherifyClient:
    """POSTs prepared bodies to Voucherify over a keep-alive connection pool.

    ``connect_timeout`` bounds the TCP+TLS handshake; ``read_timeout`` bounds each wait
    for response bytes (Segment's own request timeout is 10 s). Time spent waiting for a
    free pooled connection is not a timeout: the engine bounds in-flight requests, so
    keep its concurrency <= ``max_connections``.

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
            "user-agent": USER_AGENT,
        }
        self._redactor = Redactor((application_id, secret_key), placeholder="[redacted]")
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._keepalive_timeout = keepalive_timeout
        self._verify_tls = verify_tls
        if not verify_tls:
            log.warning("TLS certificate verification is DISABLED for %s (verify_tls=False)", self.base_url)
        self._session: aiohttp.ClientSession | None = None
        self._ok: dict[int, DeliveryResult] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.max_connections,
            limit_per_host=0,
            keepalive_timeout=self._keepalive_timeout,
            ssl=None if self._verify_tls else False,
            enable_cleanup_closed=False,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=self._headers,
            timeout=self._timeout,
            raise_for_status=False,
            auto_decompress=True,
        )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def __aenter__(self) -> VoucherifyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- hot path ------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> DeliveryResult:
        """POST ``delivery.body`` to ``delivery.url``; never raises for HTTP or network errors."""
        session = self._session or self._open()
        try:
            async with session.post(delivery.url, data=delivery.body, allow_redirects=False) as response:
                status = response.status
                if 200 <= status < 300:
                    await response.read()  # drain so the connection goes back to the pool
                    result = self._ok.get(status)
                    if result is None:
                        result = self._ok[status] = DeliveryResult(True, status, None, "", None)
                    return result
                return await self._failure(delivery, response)
        except asyncio.TimeoutError:
            return DeliveryResult(False, None, RETRYABLE, f"{delivery.action}: timed out waiting for Voucherify",
                                  None, unavailable=True)
        except aiohttp.InvalidURL:
            return DeliveryResult(False, None, PERMANENT, f"{delivery.action}: invalid URL", None)
        except (aiohttp.ClientError, OSError) as exc:
            reason = self._scrub(_network_error(exc))
            return DeliveryResult(False, None, RETRYABLE, f"{delivery.action}: connection error ({reason})",
                                  None, unavailable=True)

    async def _failure(self, delivery: Delivery, response: aiohttp.ClientResponse) -> DeliveryResult:
        status = response.status
        error_class = classify_status(status)
        headers = response.headers
        retry_after = retry_after_seconds(headers.get("Retry-After"), headers.get("X-Rate-Limit-Retry"))
        throttled = status in THROTTLE_STATUSES
        try:
            body = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError):
            body = b""
        message = failure_message(delivery.action, status, response.reason, body, self._redactor)
        return DeliveryResult(False, status, error_class, message, retry_after, throttled, status in OUTAGE_STATUSES)

    def _scrub(self, text: str) -> str:
        return self._redactor.redact(text)

    # -- auth probe ----------------------------------------------------------------------

    async def probe_auth(self) -> bool:
        """True if Voucherify accepts the credentials, False on 401/403.

        Raises :class:`ProbeError` when it cannot tell (network error, timeout, other status).
        """
        session = self._session or self._open()
        url = self.base_url + TEST_AUTHENTICATION_PATH
        try:
            async with session.get(url, allow_redirects=False) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
            raise ProbeError(self._scrub(f"test-authentication failed: {_network_error(exc)}")) from None
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


def _network_error(exc: BaseException) -> str:
    """A network failure in words: ``cannot connect to host:port: Connection refused``.

    aiohttp's own text for a refused connection says ``ssl:default`` even for a plain-HTTP
    URL; TLS failures keep aiohttp's text, which names the certificate problem.
    """
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(exc, aiohttp.ClientSSLError):
        os_error = exc.os_error
        why = os.strerror(os_error.errno) if os_error.errno else str(os_error) or type(os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {why}"
    return f"{type(exc).__name__}: {exc}"
