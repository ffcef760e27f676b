"""The HTTP transports compared for ``VoucherifyClient`` (issue 16), each with our client's work around it.

Every factory returns ``(send, close)`` where ``send(delivery) -> DeliveryResult`` does what
``VoucherifyClient.send`` does on its hot path: POST the prepared body with our headers over a
keep-alive pool of ``c`` connections, read the body so the connection goes back to the pool, and
turn a 2xx into the shared cached ``DeliveryResult`` (anything else into a failure result). So the
figures compare transports, not our classification (which is the same for all).

- ``aiohttp-client``: aiohttp configured exactly as the client was before issue 16 (session headers,
  auto-decompress, default cookie jar, a URL string per request).
- ``aiohttp-tuned``: the same with what we do not need removed: no cookie jar (DummyCookieJar),
  no auto headers, the target parsed into a ``yarl.URL`` once, no auto-decompression.
- ``pyreqwest`` / ``pyreqwest-h2``: pyreqwest (Rust reqwest + hyper + tokio, the HTTP work off the
  GIL) over HTTP/1.1, or HTTP/2 with prior knowledge (h2c; needs a server that speaks it).
- ``aiosonic``: aiosonic (a pure-Python asyncio client with its own pool), default settings.
- ``voucherify``: the production ``VoucherifyClient`` itself (whatever transport it uses).
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable

from processor.engine.ports import RETRYABLE
from processor.voucherify.delivery import Delivery, DeliveryResult

Send = Callable[[Delivery], Awaitable[DeliveryResult]]
Close = Callable[[], Awaitable[None]]

OK = DeliveryResult(True, 200, None, "", None)
NAMES = ("aiohttp-client", "aiohttp-tuned", "pyreqwest", "pyreqwest-h2", "aiosonic", "voucherify")


def _result(status: int) -> DeliveryResult:
    if 200 <= status < 300:
        return OK
    return DeliveryResult(False, status, RETRYABLE, f"answered {status}", None)


async def aiohttp_transport(headers: dict[str, str], c: int, *, tuned: bool) -> tuple[Send, Close]:
    import aiohttp
    import yarl

    connector = aiohttp.TCPConnector(limit=c, limit_per_host=0, keepalive_timeout=30.0, enable_cleanup_closed=False)
    timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=5.0, sock_read=10.0)
    if tuned:
        session = aiohttp.ClientSession(
            connector=connector, headers=headers, timeout=timeout, raise_for_status=False,
            auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=("Accept-Encoding", "Accept"),
        )
        urls: dict[str, yarl.URL] = {}

        async def send(delivery: Delivery) -> DeliveryResult:
            url = urls.get(delivery.url)
            if url is None:
                url = urls[delivery.url] = yarl.URL(delivery.url, encoded=True)
            async with session.post(url, data=delivery.body, allow_redirects=False) as response:
                await response.read()
                return _result(response.status)
    else:
        session = aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout,
                                        raise_for_status=False, auto_decompress=True)

        async def send(delivery: Delivery) -> DeliveryResult:
            async with session.post(delivery.url, data=delivery.body, allow_redirects=False) as response:
                await response.read()
                return _result(response.status)

    return send, session.close


async def pyreqwest_transport(headers: dict[str, str], c: int, *, http2: bool) -> tuple[Send, Close]:
    from pyreqwest.client import ClientBuilder

    builder = (ClientBuilder().default_headers(headers).max_connections(c).pool_max_idle_per_host(c)
               .pool_idle_timeout(datetime.timedelta(seconds=30)).connect_timeout(datetime.timedelta(seconds=5))
               .read_timeout(datetime.timedelta(seconds=10)).follow_redirects(False).referer(False))
    client = (builder.http2_prior_knowledge() if http2 else builder.http1_only()).build()

    async def send(delivery: Delivery) -> DeliveryResult:
        response = await client.post(delivery.url).body_bytes(delivery.body).build().send()
        await response.bytes()
        return _result(response.status)

    return send, client.close


async def aiosonic_transport(headers: dict[str, str], c: int) -> tuple[Send, Close]:
    import aiosonic
    from aiosonic.connectors import TCPConnector
    from aiosonic.pools import PoolConfig

    client = aiosonic.HTTPClient(connector=TCPConnector(pool_configs={":default": PoolConfig(size=c)}))

    async def send(delivery: Delivery) -> DeliveryResult:
        response = await client.post(delivery.url, data=delivery.body, headers=headers)
        await response.content()
        return _result(response.status_code)

    async def close() -> None:
        await client.aclose()

    return send, close


async def voucherify_transport(base_url: str, app_id: str, secret: str, c: int) -> tuple[Send, Close]:
    from processor.voucherify.client import VoucherifyClient

    client = VoucherifyClient(base_url, app_id, secret, max_connections=c)
    return client.send, client.close


async def open_transport(name: str, base_url: str, headers: dict[str, str], app_id: str, secret: str,
                         c: int) -> tuple[Send, Close]:
    """``(send, close)`` of the named transport (one of :data:`NAMES`); call inside the running loop."""
    if name in ("aiohttp-client", "aiohttp-tuned"):
        return await aiohttp_transport(headers, c, tuned=name == "aiohttp-tuned")
    if name in ("pyreqwest", "pyreqwest-h2"):
        return await pyreqwest_transport(headers, c, http2=name == "pyreqwest-h2")
    if name == "aiosonic":
        return await aiosonic_transport(headers, c)
    if name == "voucherify":
        return await voucherify_transport(base_url, app_id, secret, c)
    raise ValueError(f"unknown transport {name!r}; one of {', '.join(NAMES)}")
