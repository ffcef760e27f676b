"""VoucherifyClient: one pooled pyreqwest client that turns a Delivery into a DeliveryResult.

The client never raises for a delivery: every outcome (2xx, HTTP error, timeout, reset)
becomes a :class:`DeliveryResult` classified by Segment's rules (see
:mod:`processor.voucherify.http_status`), so the engine has one code path. Messages
name the action and the status, never the URL's credentials, the application id, the
secret key or the auth headers; anything echoed from the server is scrubbed too.

Why pyreqwest (0.15, Rust reqwest 0.13 + hyper + tokio + rustls; issue 16): the HTTP work runs
on a tokio thread outside the GIL, so the process spends 1.4-2x less CPU per request than with
aiohttp, and the one Python thread that runs the engine 4-6x less. Measured with
``python bench/http_ceiling.py --server go`` (a compiled server that is not the limit; uvloop;
~1 KB POSTs; keep-alive; our Delivery/DeliveryResult work around every transport;
bench/http_transports.py), client CPU per request (whole process, all threads), 2-core machine
under load, min-max of alternating runs (docs/benchmark.md has the table with req/s)::

    transport                           100 concurrent, 0 ms    256 concurrent, 20 ms
    aiohttp 3.14, as this client had it 0.069-0.071 ms          0.105-0.113 ms
    aiohttp tuned (no cookie jar, ...)  0.069-0.083 ms          0.104-0.124 ms
    pyreqwest 0.15.1, HTTP/1.1          0.039-0.052 ms          0.049-0.055 ms
    pyreqwest 0.15.1, h2c               0.052-0.058 ms          0.050-0.056 ms
    this client (pyreqwest, HTTP/1.1)   0.040-0.052 ms          0.049-0.069 ms

Of that, the event loop's thread (which holds the GIL and runs the engine) spends 0.013-0.023 ms
with pyreqwest against all of it (0.07-0.12 ms) with aiohttp.

HTTP/1.1 only: pyreqwest also speaks HTTP/2, but whether Voucherify's Segment endpoints do
could not be verified (no route to them from where this was measured), and over h2c it cost more
CPU per request, on the client and on the server, than HTTP/1.1 keep-alive.
Where reqwest's defaults differ from what the aiohttp client did, the aiohttp behaviour is kept
(tests/voucherify/test_client.py checks each): redirects are not followed; proxies named in the
environment (``HTTPS_PROXY`` ...) are ignored; header names go out lower-case, as written here;
``Accept-Encoding`` offers gzip and deflate only, and gzip'd (error) bodies are decoded;
certificates are verified against the system's trust store (rustls-platform-verifier: on Linux
the OpenSSL locations, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured), TLS 1.2 and 1.3. One
difference remains: a message names the standard reason phrase for the status (hyper does not
expose a server's own phrase); Voucherify's words are in the body, which is kept.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlsplit

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import ConnectError, PyreqwestError, RequestTimeoutError
from pyreqwest.http import HeaderMap
from pyreqwest.response import Response

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
_OS_ERROR = re.compile(r"\(os error (\d+)\)$")


class VoucherifyClient:
    """POSTs prepared bodies to Voucherify over a keep-alive connection pool.

    ``connect_timeout`` bounds the TCP+TLS handshake; ``read_timeout`` bounds each wait
    for response bytes (Segment's own request timeout is 10 s). Time spent waiting for a
    free pooled connection is not a timeout: the engine bounds in-flight requests, so
    keep its concurrency <= ``max_connections`` (at most that many requests are in flight,
    over HTTP/1.1 as many connections; as many idle ones are kept for ``keepalive_timeout`` s).
    Redirects are not followed (a 3xx is a permanent failure, as in Segment).

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
        self._headers = HeaderMap()
        for name, value in auth_headers(application_id, secret_key).items():
            self._headers.insert(name, value, is_sensitive=True)  # masked in pyreqwest's reprs and logs
        self._headers.insert("content-type", "application/json")
        self._redactor = Redactor((application_id, secret_key), placeholder="[redacted]")
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._keepalive_timeout = keepalive_timeout
        self._verify_tls = verify_tls
        if not verify_tls:
            log.warning("TLS certificate verification is DISABLED for %s (verify_tls=False)", self.base_url)
        self._client: Client | None = None
        self._ok: dict[int, DeliveryResult] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def _open(self) -> Client:
        self._client = (
            ClientBuilder()
            .http1_only()
            .http1_lower_case_headers()  # as written here and as Segment's runtime sends them
            .default_headers(self._headers)
            .user_agent(USER_AGENT)
            .max_connections(self.max_connections)
            .pool_max_idle_per_host(self.max_connections)
            .pool_idle_timeout(timedelta(seconds=self._keepalive_timeout))
            .connect_timeout(timedelta(seconds=self._connect_timeout))
            .read_timeout(timedelta(seconds=self._read_timeout))
            .follow_redirects(False)
            .referer(False)
            .no_proxy()
            .gzip(True)
            .deflate(True)
            .brotli(False)
            .zstd(False)
            .danger_accept_invalid_certs(not self._verify_tls)
            .build()
        )
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    async def __aenter__(self) -> VoucherifyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- hot path ------------------------------------------------------------------------

    async def send(self, delivery: Delivery) -> DeliveryResult:
        """POST ``delivery.body`` to ``delivery.url``; never raises for HTTP or network errors."""
        client = self._client or self._open()
        try:
            response = await client.post(delivery.url).body_bytes(delivery.body).build().send()
            status = response.status
            if 200 <= status < 300:
                # build() read the whole body before send() returned (pyreqwest ConsumedRequest), so
                # the connection is already back in the pool; awaiting response.bytes() only added an
                # await per request. (bench/http_ceiling.py --busy-loop 0.5, 256 concurrent, 20 ms:
                # within noise on a loaded machine, 7,488-7,884 vs 7,532-8,055 requests/s.)
                result = self._ok.get(status)
                if result is None:
                    result = self._ok[status] = DeliveryResult(True, status, None, "", None)
                return result
            return await self._failure(delivery, response)
        except RequestTimeoutError:
            return DeliveryResult(False, None, RETRYABLE, f"{delivery.action}: timed out waiting for Voucherify",
                                  None, unavailable=True)
        except ValueError:  # a URL pyreqwest cannot parse (post) or send to (send: BuilderError, htp://...)
            return DeliveryResult(False, None, PERMANENT, f"{delivery.action}: invalid URL", None)
        except PyreqwestError as exc:
            reason = self._scrub(_network_error(exc, delivery.url))
            return DeliveryResult(False, None, RETRYABLE, f"{delivery.action}: connection error ({reason})",
                                  None, unavailable=True)

    async def _failure(self, delivery: Delivery, response: Response) -> DeliveryResult:
        status = response.status
        error_class = classify_status(status)
        retry_after = retry_after_seconds(response.get_header("Retry-After"), response.get_header("X-Rate-Limit-Retry"))
        throttled = status in THROTTLE_STATUSES
        try:
            body = bytes(await response.bytes())
        except PyreqwestError:
            body = b""
        message = failure_message(delivery.action, status, _reason(status), body, self._redactor)
        return DeliveryResult(False, status, error_class, message, retry_after, throttled, status in OUTAGE_STATUSES)

    def _scrub(self, text: str) -> str:
        return self._redactor.redact(text)

    # -- auth probe ----------------------------------------------------------------------

    async def probe_auth(self) -> bool:
        """True if Voucherify accepts the credentials, False on 401/403.

        Raises :class:`ProbeError` when it cannot tell (invalid URL, network error, timeout, other status).
        """
        client = self._client or self._open()
        url = self.base_url + TEST_AUTHENTICATION_PATH
        try:
            response = await client.get(url).build().send()
            await response.bytes()
            status = response.status
        except RequestTimeoutError:
            raise ProbeError("test-authentication failed: timed out") from None
        except ValueError:  # an invalid URL, as in send
            raise ProbeError("test-authentication failed: invalid URL") from None
        except PyreqwestError as exc:
            raise ProbeError(self._scrub(f"test-authentication failed: {_network_error(exc, url)}")) from None
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


def _reason(status: int) -> str:
    """The standard reason phrase (``Bad Request``), or "" for a status HTTP does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _network_error(exc: PyreqwestError, url: str) -> str:
    """A network failure in words: ``cannot connect to host:port: Connection refused``.

    pyreqwest's own text is a chain of causes whose first names the whole URL. A failed connect
    (TCP, DNS or TLS: ``invalid peer certificate: UnknownIssuer``) names host:port and the OS's
    words for its error, as the client said it before; other failures (a reset, a malformed
    answer) keep the exception's name and the causes after the first.
    """
    causes = [c["message"] for c in (getattr(exc, "details", None) or {}).get("causes") or ()]
    if isinstance(exc, ConnectError):
        parts = urlsplit(url)
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            port = "?"
        match = _OS_ERROR.search(causes[-1]) if causes else None
        if match:
            why = os.strerror(int(match.group(1)))
        else:
            why = ": ".join(c for c in causes[1:] if c != "client error (Connect)") or str(exc)
        return f"cannot connect to {parts.hostname}:{port}: {why}"
    detail = ": ".join(causes[1:]) or str(exc)
    return f"{type(exc).__name__}: {detail}"
