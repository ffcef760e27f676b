"""VoucherifyClient against the stub over real sockets: headers, classification, limits."""

from __future__ import annotations

import asyncio
import base64
import gzip
import logging
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from email.utils import formatdate
from typing import TypeVar

import pytest

from dev.stub import DEFAULT_APPLICATION_ID, DEFAULT_SECRET_KEY, StubServer
from processor import __version__
from processor.voucherify.client import ProbeError, VoucherifyClient
from processor.voucherify.delivery import Delivery, DeliveryResult
from processor.voucherify.http_status import classify_status, retry_after_seconds

T = TypeVar("T")
EVENT = "/segmentio/event-processing"
APP_ID = "app-id-SENSITIVE"
SECRET = "secret-key-SENSITIVE"


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer(application_id=APP_ID, secret_key=SECRET) as server:
        yield server


def delivery(stub: StubServer, body: bytes = b'{"event":"e"}', path: str = EVENT) -> Delivery:
    return Delivery("sub-1", "addCustomEvent", stub.url + path, body)


async def send_once(stub: StubServer, **options: object) -> DeliveryResult:
    async with VoucherifyClient(stub.url, APP_ID, SECRET, **options) as client:  # type: ignore[arg-type]
        return await client.send(delivery(stub))


def assert_no_secrets(text: str) -> None:
    for s in (APP_ID, SECRET, base64.b64encode(APP_ID.encode()).decode(), base64.b64encode(SECRET.encode()).decode()):
        assert s not in text
    assert "SENSITIVE" not in text


# -- the request itself ----------------------------------------------------------------


def test_sends_body_verbatim_with_exact_headers(stub: StubServer) -> None:
    result = run(send_once(stub))
    assert result == DeliveryResult(True, 200, None, "", None)
    (rec,) = stub.requests
    assert rec.method == "POST" and rec.path == EVENT
    assert rec.body == b'{"event":"e"}'
    h = rec.headers
    assert h["authorization"] == "Basic " + base64.b64encode(APP_ID.encode()).decode()
    assert h["secret-key"] == base64.b64encode(SECRET.encode()).decode()
    assert h["content-type"] == "application/json"
    assert h["user-agent"] == f"voucherify-processor/{__version__}"


def test_reuses_keep_alive_connections(stub: StubServer) -> None:
    async def go() -> list[DeliveryResult]:
        async with VoucherifyClient(stub.url, APP_ID, SECRET, max_connections=4) as client:
            return await asyncio.gather(*(client.send(delivery(stub)) for _ in range(50)))

    assert all(r.ok for r in run(go()))
    assert len(stub.requests) == 50


def test_probe_auth(stub: StubServer) -> None:
    async def probe(app_id: str, secret: str) -> bool:
        async with VoucherifyClient(stub.url, app_id, secret) as client:
            return await client.probe_auth()

    assert run(probe(APP_ID, SECRET)) is True
    assert run(probe(APP_ID, "wrong")) is False
    assert stub.requests[0].path == "/segmentio/test-authentication"
    stub.configure(script=[{"status": 500}])
    with pytest.raises(ProbeError) as info:
        run(probe(APP_ID, SECRET))
    assert_no_secrets(str(info.value))


def test_probe_auth_unreachable_raises_probe_error() -> None:
    async def probe() -> bool:
        async with VoucherifyClient("http://127.0.0.1:9", APP_ID, SECRET, connect_timeout=1) as client:
            return await client.probe_auth()

    with pytest.raises(ProbeError) as info:
        run(probe())
    # issue 12 item 11: aiohttp's text said "ssl:default" for a plain-HTTP URL
    assert str(info.value) == "test-authentication failed: cannot connect to 127.0.0.1:9: Connection refused"


def test_unreachable_plain_http_delivery_names_the_address_not_ssl() -> None:
    from processor.voucherify.delivery import Delivery

    async def send():
        async with VoucherifyClient("http://127.0.0.1:9", APP_ID, SECRET, connect_timeout=1) as client:
            return await client.send(Delivery("S", "addCustomEvent", "http://127.0.0.1:9/segmentio/event-processing", b"{}"))

    result = run(send())
    assert not result.ok and result.error_class == "retryable"
    assert result.message == "addCustomEvent: connection error (cannot connect to 127.0.0.1:9: Connection refused)"


# -- classification --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, "permanent"),
        (401, "auth"),
        (403, "auth"),
        (404, "permanent"),
        (408, "retryable"),
        (422, "permanent"),
        (429, "retryable"),
        (500, "retryable"),
        (501, "permanent"),
        (503, "retryable"),
        (302, "permanent"),
    ],
)
def test_http_status_classification(stub: StubServer, status: int, error_class: str) -> None:
    stub.configure(script=[{"status": status, "body": {"code": status, "message": "boom", "key": "k"}}])
    result = run(send_once(stub))
    assert (result.ok, result.status, result.error_class) == (False, status, error_class)
    assert str(status) in result.message and "addCustomEvent" in result.message
    assert "boom" in result.message  # the server's reason is kept
    assert_no_secrets(result.message)


def test_real_401_from_wrong_credentials(stub: StubServer) -> None:
    async def go() -> DeliveryResult:
        async with VoucherifyClient(stub.url, APP_ID, "wrong-secret") as client:
            return await client.send(delivery(stub))

    result = run(go())
    assert (result.status, result.error_class) == (401, "auth")
    assert "wrong-secret" not in result.message


def test_429_with_retry_after_seconds(stub: StubServer) -> None:
    stub.configure(script=[{"status": 429, "retry_after": 3}])
    result = run(send_once(stub))
    assert (result.status, result.error_class, result.retry_after) == (429, "retryable", 3.0)
    assert result.throttled and not result.unavailable


def test_429_with_x_rate_limit_retry_epoch(stub: StubServer) -> None:
    stub.configure(script=[{"status": 429, "rate_limit_retry_in": 20}])
    result = run(send_once(stub))
    assert result.error_class == "retryable"
    assert result.retry_after is not None and 17 <= result.retry_after <= 21


def test_a_429_does_not_hold_other_requests(stub: StubServer) -> None:
    """Issue 14: the client no longer pauses everything on a 429 (the engine's adaptive rate decides)."""
    stub.configure(script=[{"status": 429, "retry_after": 30}])

    async def go() -> tuple[DeliveryResult, DeliveryResult]:
        async with VoucherifyClient(stub.url, APP_ID, SECRET) as client:
            first = await client.send(delivery(stub))
            second = await asyncio.wait_for(client.send(delivery(stub)), 10)  # not 30 s later
            return first, second

    first, second = run(go())
    assert (first.status, first.throttled, second.status) == (429, True, 200)


@pytest.mark.parametrize("status,unavailable", [(500, True), (502, True), (503, True), (504, True),
                                                (400, False), (408, False), (401, False), (429, False)])
def test_unavailable_marks_server_failures_not_the_events(stub: StubServer, status: int, unavailable: bool) -> None:
    stub.configure(script=[{"status": status}])
    result = run(send_once(stub))
    assert (result.unavailable, result.throttled) == (unavailable, status == 429)


def test_connection_reset_is_retryable(stub: StubServer) -> None:
    stub.configure(reset_rate=1.0)
    result = run(send_once(stub))
    assert (result.ok, result.status, result.error_class) == (False, None, "retryable")
    assert result.unavailable
    assert "connection" in result.message
    assert_no_secrets(result.message)


def test_timeout_is_retryable(stub: StubServer) -> None:
    stub.configure(slow_response_ms=5_000)
    result = run(send_once(stub, read_timeout=0.3))
    # The stub does answer 200 after 5 s: a result without a status shows the client gave up first.
    assert (result.ok, result.status, result.error_class) == (False, None, "retryable")
    assert "timed out" in result.message


def test_refused_connection_is_retryable() -> None:
    async def go() -> DeliveryResult:
        async with VoucherifyClient("http://127.0.0.1:9", APP_ID, SECRET) as client:
            return await client.send(Delivery("s", "upsertCustomer", "http://127.0.0.1:9" + EVENT, b"{}"))

    result = run(go())
    assert (result.status, result.error_class) == (None, "retryable")
    assert_no_secrets(result.message)


def test_secrets_echoed_by_the_server_are_scrubbed(stub: StubServer) -> None:
    echoed = f"bad key {SECRET} for {APP_ID} / {base64.b64encode(SECRET.encode()).decode()}"
    stub.configure(script=[{"status": 400, "body": {"message": echoed}}])
    result = run(send_once(stub))
    assert_no_secrets(result.message)
    assert "[redacted]" in result.message
    assert_no_secrets(repr(VoucherifyClient(stub.url, APP_ID, SECRET)))


def test_verify_tls_false_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="processor.voucherify.client"):
        VoucherifyClient("https://example.invalid", APP_ID, SECRET, verify_tls=False)
    assert "verification is DISABLED" in caplog.text
    assert_no_secrets(caplog.text)


# -- pure helpers ----------------------------------------------------------------------


def test_classify_status_table() -> None:
    assert classify_status(200) is None and classify_status(204) is None
    assert {s for s in range(100, 600) if classify_status(s) == "retryable"} == {
        408, 423, 429, 500, *range(502, 512), 598, 599,
    }
    assert classify_status(401) == classify_status(403) == "auth"
    assert classify_status(101) == classify_status(301) == classify_status(409) == "permanent"


def test_retry_after_parsing() -> None:
    now = 1_800_000_000.0
    assert retry_after_seconds(None, None, now) is None
    assert retry_after_seconds("5", None, now) == 5.0
    assert retry_after_seconds(formatdate(now + 30, usegmt=True), None, now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(None, str(int(now + 12)), now) == pytest.approx(12, abs=1)
    assert retry_after_seconds(None, "7", now) == 7.0  # a small number is a delay, not an epoch
    assert retry_after_seconds("2", str(int(now + 9)), now) == pytest.approx(9, abs=1)  # longer wins
    assert retry_after_seconds("soon", None, now) is None
    assert retry_after_seconds(formatdate(now - 30, usegmt=True), None, now) == 0.0


@pytest.fixture(autouse=True)
def _defaults_are_not_our_secrets() -> None:
    assert SECRET != DEFAULT_SECRET_KEY and APP_ID != DEFAULT_APPLICATION_ID


def test_echoed_secret_key_crossing_the_cut_leaves_no_fragment(stub: StubServer) -> None:
    """Redact before cutting (issue 13 item 3): the encoded key straddles the 300-character cut."""
    encoded = base64.b64encode(SECRET.encode()).decode()
    for pad in (270, 280, 290):
        stub.configure(script=[{"status": 400, "body": {"message": "x" * pad + f" secret-key: {encoded}"}}])
        result = run(send_once(stub))
        assert_no_secrets(result.message)
        for i in range(len(encoded) - 8 + 1):
            assert encoded[i : i + 8] not in result.message, (pad, result.message)


# -- the transport (processor.voucherify.http1 since issue 16): what it must do as aiohttp did


class RawServer:
    """A socket server that answers every request with fixed bytes, or never answers at all.

    For what the stub cannot do: a gzip'd error body, a custom reason phrase, a redirect with a
    Location, a TLS port that never completes the handshake. ``requests`` holds what arrived.
    """

    def __init__(self, response: bytes | None) -> None:
        self.response = response
        self.requests: list[bytes] = []
        self._held: list[socket.socket] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            if self.response is None:
                self._held.append(conn)  # accept the TCP connection, then say nothing
                continue
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            self.requests.append(data)
            conn.sendall(self.response)
            conn.close()

    def close(self) -> None:
        self._sock.close()
        for conn in self._held:
            conn.close()


@pytest.fixture
def raw() -> Iterator[Callable[[bytes | None], RawServer]]:
    servers: list[RawServer] = []

    def start(response: bytes | None) -> RawServer:
        servers.append(RawServer(response))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def send_to(url: str, **options: object) -> DeliveryResult:
    async def go() -> DeliveryResult:
        async with VoucherifyClient(url, APP_ID, SECRET, **options) as client:  # type: ignore[arg-type]
            return await client.send(Delivery("s", "addCustomEvent", url + EVENT, b"{}"))

    return run(go())


def test_a_gzipped_error_body_is_read(raw: Callable[[bytes | None], RawServer]) -> None:
    body = gzip.compress(b'{"code":400,"message":"gzipped reason","key":"bad"}')
    server = raw(b"HTTP/1.1 400 Bad Request\r\nContent-Encoding: gzip\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    result = send_to(server.url)
    assert (result.status, result.error_class) == (400, "permanent")
    assert result.message == 'addCustomEvent: Voucherify answered 400 Bad Request: {"code":400,"message":"gzipped reason","key":"bad"}'


def test_redirects_are_not_followed(raw: Callable[[bytes | None], RawServer]) -> None:
    server = raw(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: /segmentio/elsewhere\r\nContent-Length: 0\r\n"
                 b"Connection: close\r\n\r\n")
    result = send_to(server.url)
    assert (result.status, result.error_class) == (307, "permanent")
    assert len(server.requests) == 1


def test_reason_phrase_is_the_standard_one(raw: Callable[[bytes | None], RawServer]) -> None:
    """The standard phrase is said, not the server's own (as since pyreqwest; Voucherify's words are in the body)."""
    server = raw(b"HTTP/1.1 422 Nope\r\nContent-Length: 9\r\nConnection: close\r\n\r\nwhy: this")
    assert send_to(server.url).message == "addCustomEvent: Voucherify answered 422 Unprocessable Entity: why: this"
    server = raw(b"HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert send_to(server.url).message == "addCustomEvent: Voucherify answered 599"


def test_wire_headers_are_lower_case_and_ask_only_for_gzip_or_deflate() -> None:
    raw_server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
    try:
        assert send_to(raw_server.url).ok
    finally:
        raw_server.close()
    (request,) = raw_server.requests
    lines = request.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
    names = [line.split(b":", 1)[0] for line in lines]
    assert names == [n.lower() for n in names]
    assert b"authorization" in names and b"secret-key" in names and b"user-agent" in names
    encodings = {v.strip() for line in lines if line.lower().startswith(b"accept-encoding:")
                 for v in line.split(b":", 1)[1].split(b",")}
    assert encodings == {b"gzip", b"deflate"}


def test_proxy_environment_is_ignored_as_before(stub: StubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert run(send_once(stub)).ok
    assert len(stub.requests) == 1


@pytest.mark.parametrize("url", ["htp://127.0.0.1:9", "http://[::1"])
def test_an_invalid_url_is_permanent(url: str) -> None:
    async def go() -> DeliveryResult:
        async with VoucherifyClient("http://127.0.0.1:9", APP_ID, SECRET) as client:
            return await client.send(Delivery("s", "addCustomEvent", url + EVENT, b"{}"))

    result = run(go())
    assert (result.ok, result.status, result.error_class, result.unavailable) == (False, None, "permanent", False)
    assert result.message == "addCustomEvent: invalid URL"


def test_probe_auth_with_an_invalid_url_raises_probe_error() -> None:
    async def probe() -> bool:
        async with VoucherifyClient("htp://127.0.0.1:9", APP_ID, SECRET) as client:
            return await client.probe_auth()

    with pytest.raises(ProbeError, match="invalid URL"):
        run(probe())


def test_connect_timeout_bounds_the_tls_handshake(raw: Callable[[bytes | None], RawServer]) -> None:
    """A TLS port that accepts TCP and never answers the ClientHello: the connect timeout fires, not
    the 60 s read timeout (the 30 s guard only tells the two apart)."""
    server = raw(None)

    async def go() -> DeliveryResult:
        url = f"https://127.0.0.1:{server.port}"
        async with VoucherifyClient(url, APP_ID, SECRET, connect_timeout=0.3, read_timeout=60) as client:
            return await asyncio.wait_for(client.send(Delivery("s", "addCustomEvent", url + EVENT, b"{}")), 30)

    result = run(go())
    assert (result.ok, result.status, result.error_class, result.unavailable) == (False, None, "retryable", True)
    assert result.message == "addCustomEvent: timed out waiting for Voucherify"


def test_read_timeout_bounds_the_wait_for_the_answer(raw: Callable[[bytes | None], RawServer]) -> None:
    server = raw(None)  # plain HTTP: connects at once, never answers
    result = send_to(server.url, connect_timeout=30, read_timeout=0.3)
    assert (result.status, result.error_class, result.unavailable) == (None, "retryable", True)
    assert result.message == "addCustomEvent: timed out waiting for Voucherify"


def test_a_malformed_answer_is_a_retryable_connection_error(raw: Callable[[bytes | None], RawServer]) -> None:
    server = raw(b"garbage\r\n\r\n")
    result = send_to(server.url)
    assert (result.status, result.error_class, result.unavailable) == (None, "retryable", True)
    assert result.message.startswith("addCustomEvent: connection error (")
    assert_no_secrets(result.message)


def test_a_path_with_spaces_or_non_ascii_is_percent_encoded(raw: Callable[[bytes | None], RawServer]) -> None:
    """A custom URL with a path prefix Segment's check accepts but HTTP cannot carry raw: the
    request goes out percent-encoded (UTF-8), not as a malformed request line or an 'invalid URL'."""
    server = raw(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    async def go() -> DeliveryResult:
        url = server.url + "/eu prefix/é%20x"
        async with VoucherifyClient(url, APP_ID, SECRET) as client:
            return await client.send(Delivery("s", "addCustomEvent", url + EVENT, b"{}"))

    assert run(go()).ok
    (request,) = server.requests
    assert request.startswith(b"POST /eu%20prefix/%C3%A9%20x/segmentio/event-processing HTTP/1.1\r\n")


def test_a_probe_that_times_out_says_which_wait_and_where(raw: Callable[[bytes | None], RawServer]) -> None:
    """A newcomer's finding: "test-authentication failed: timed out" did not say connect or read, nor where."""
    server = raw(None)  # accepts, never answers

    async def probe(url: str, **options: float) -> str:
        async with VoucherifyClient(url, APP_ID, SECRET, **options) as client:  # type: ignore[arg-type]
            with pytest.raises(ProbeError) as info:
                await client.probe_auth()
            return str(info.value)

    read = run(probe(server.url, read_timeout=0.3))
    assert read == f"test-authentication failed: timed out: no answer from 127.0.0.1:{server.port} within 0.3 s"
    tls = run(probe(f"https://127.0.0.1:{server.port}", connect_timeout=0.3))
    assert tls == (f"test-authentication failed: timed out: connecting to 127.0.0.1:{server.port} timed out "
                   "after 0.3 s (TCP and TLS)")


# -- start(): the engine's task-free send --------------------------------------------------


def test_start_sends_the_same_request_and_reports_by_callback(stub: StubServer) -> None:
    """The first start has no idle connection (it goes through send in a task), the next ones
    use the kept-alive connection without a task; the bytes on the wire are the same."""
    async def go() -> list[object]:
        results: list[object] = []
        async with VoucherifyClient(stub.url, APP_ID, SECRET, max_connections=1) as client:
            for n in range(3):
                client.start(delivery(stub, b'{"n":%d}' % n), results.append)
                assert len(results) == n  # never before start returns
                while len(results) == n:
                    await asyncio.sleep(0.01)
            assert not client._tasks
        return results

    results = run(go())
    assert results == [DeliveryResult(True, 200, None, "", None)] * 3
    assert [r.body for r in stub.requests] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']
    assert len({tuple(sorted(r.headers.items())) for r in stub.requests}) == 1


def test_start_classifies_failures_as_send_does(stub: StubServer) -> None:
    async def go() -> list[object]:
        results: list[object] = []
        async with VoucherifyClient(stub.url, APP_ID, SECRET) as client:
            await client.send(delivery(stub))  # a connection to reuse
            stub.configure(script=[{"status": 503}])
            client.start(delivery(stub), results.append)
            while not results:
                await asyncio.sleep(0.01)
            return results + [await client.send(delivery(stub))]

    started, sent = run(go())
    assert isinstance(started, DeliveryResult) and started.status == 503 and started.unavailable
    assert sent.ok


def test_close_cancels_starts_still_waiting_for_a_connection() -> None:
    async def go() -> None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts nothing: the connect may hang in the backlog
        port = listener.getsockname()[1]
        client = VoucherifyClient(f"http://127.0.0.1:{port}", APP_ID, SECRET, connect_timeout=30.0)
        client.start(Delivery("s", "addCustomEvent", f"http://127.0.0.1:{port}/segmentio/event-processing", b"{}"),
                     lambda result: None)
        await asyncio.sleep(0.05)
        assert len(client._tasks) == 1
        await client.close()
        assert not client._tasks
        listener.close()

    run(go())
