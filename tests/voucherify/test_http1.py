"""The HTTP/1.1 transport over real sockets: keep-alive, connection limits, framing, failures.

Each test runs an asyncio server in the test's own loop whose ``answer(n, request)`` decides the
bytes sent back for the n-th request of a connection (``None``: close without answering).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable

import pytest

from processor.voucherify.http1 import (
    MAX_BODY_BYTES,
    MAX_HEAD_BYTES,
    ConnectionClosed,
    ConnectionPool,
    MalformedAnswer,
    StaleConnection,
    Timeout,
    request_head,
)

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
Answer = Callable[[int, bytes], bytes | list[bytes] | None]


class Server:
    def __init__(self, answer: Answer, *, delay: float = 0.0, close_after_answer: bool = False) -> None:
        self.answer = answer
        self.delay = delay
        self.close_after_answer = close_after_answer
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.requests: list[bytes] = []

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        n = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if self.delay:
                    await asyncio.sleep(self.delay)
                reply = self.answer(n, request)
                n += 1
                if reply is None:
                    return
                for piece in reply if isinstance(reply, list) else [reply]:  # a list: one write each, apart
                    writer.write(piece)
                    await writer.drain()
                    if isinstance(reply, list):
                        await asyncio.sleep(0.02)
                if self.close_after_answer or b"connection: close" in b"".join(reply if isinstance(reply, list) else [reply]).lower():
                    return
        finally:
            self.open -= 1
            writer.close()

    async def stop(self) -> None:
        self._server.close()


def post(body: bytes = b"{}") -> bytes:
    head = request_head("POST", "/segmentio/event-processing", "example", {"content-type": "application/json"})
    return b"%s%d\r\n\r\n%s" % (head, len(body), body)


async def with_pool(answer: Answer, go: Callable[[ConnectionPool, Server], object], *, delay: float = 0.0,
                    close_after_answer: bool = False, **options: float) -> Server:
    server = Server(answer, delay=delay, close_after_answer=close_after_answer)
    await server.start()
    settings = {"max_connections": 4, "connect_timeout": 2.0, "read_timeout": 5.0, "keepalive_timeout": 30.0,
                **options}
    pool = ConnectionPool("127.0.0.1", server.port, tls=None, **settings)  # type: ignore[arg-type]
    try:
        await go(pool, server)  # type: ignore[misc]
    finally:
        await pool.close()
        await server.stop()
    return server


def run(coro: object) -> Server:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_the_request_is_written_as_prepared() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(post(b'{"a":1}'))).status == 200

    server = run(with_pool(lambda n, r: OK, go))
    assert server.requests == [b"POST /segmentio/event-processing HTTP/1.1\r\nhost: example\r\n"
                               b"content-type: application/json\r\ncontent-length: 7\r\n\r\n{\"a\":1}"]


def test_one_connection_serves_sequential_requests() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        for _ in range(5):
            assert (await pool.request(post())).status == 200

    assert run(with_pool(lambda n, r: OK, go)).connections == 1


def test_concurrent_requests_never_open_more_than_max_connections() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        answers = await asyncio.gather(*(pool.request(post()) for _ in range(40)))
        assert [a.status for a in answers] == [200] * 40

    server = run(with_pool(lambda n, r: OK, go, delay=0.01, max_connections=3))
    assert server.max_open <= 3 and len(server.requests) == 40


def test_an_answer_saying_connection_close_is_not_reused() -> None:
    close = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

    async def go(pool: ConnectionPool, server: Server) -> None:
        for _ in range(3):
            assert (await pool.request(post())).status == 200

    assert run(with_pool(lambda n, r: close, go)).connections == 3


def test_an_idle_connection_the_server_closed_is_replaced() -> None:
    """The server closes after each answer without saying so: the next request must not use the
    dead connection (it is noticed when the close arrives, before the request)."""

    async def go(pool: ConnectionPool, server: Server) -> None:
        for _ in range(3):
            assert (await pool.request(post())).status == 200
            await asyncio.sleep(0.05)  # the server's FIN arrives

    server = run(with_pool(lambda n, r: OK, go, close_after_answer=True))
    assert server.connections == 3


def test_idle_connections_older_than_keepalive_timeout_are_not_reused() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        await pool.request(post())
        await asyncio.sleep(0.2)
        await pool.request(post())

    assert run(with_pool(lambda n, r: OK, go, keepalive_timeout=0.1)).connections == 2


def test_an_error_answer_keeps_headers_and_body_and_the_connection() -> None:
    chunked = (b"HTTP/1.1 400 Bad Request\r\nRetry-After: 3\r\ntransfer-encoding: chunked\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")

    async def go(pool: ConnectionPool, server: Server) -> None:
        answer = await pool.request(post())
        assert (answer.status, answer.headers["retry-after"], answer.body) == (400, "3", b"hello world")
        assert (await pool.request(post())).status == 400

    assert run(with_pool(lambda n, r: chunked, go)).connections == 1


def test_an_interim_answer_is_skipped() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(post())).status == 200

    run(with_pool(lambda n, r: b"HTTP/1.1 100 Continue\r\n\r\n" + OK, go))


def test_an_error_answer_after_an_interim_one_has_its_own_headers_only() -> None:
    interim_then_429 = (b"HTTP/1.1 103 Early Hints\r\nlink: </a>\r\nretry-after: 99\r\n\r\n"
                        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\ncontent-length: 4\r\n\r\nslow")

    async def go(pool: ConnectionPool, server: Server) -> None:
        answer = await pool.request(post())
        assert (answer.status, answer.headers, answer.body) == (429, {"retry-after": "7", "content-length": "4"}, b"slow")

    run(with_pool(lambda n, r: interim_then_429, go))


def test_an_error_answer_in_pieces_after_successes_keeps_its_own_headers_and_body() -> None:
    """Headers and body are read again from the bytes the connection kept of the answer: over
    several reads, and nothing of the successes before it on the same connection."""
    ok = b"HTTP/1.1 200 OK\r\nx-request-id: a\r\nretry-after: 99\r\ncontent-length: 2\r\n\r\n{}"
    error = [b"HTTP/1.1 400 Bad Req", b"uest\r\nX-Rate-Limit-Retry: 5\r\ncontent-", b"length: 11\r\n\r\nhello", b" world"]

    async def go(pool: ConnectionPool, server: Server) -> None:
        for _ in range(3):
            assert (await pool.request(post())).status == 200
        answer = await pool.request(post())
        assert (answer.status, answer.headers, answer.body) == (
            400, {"x-rate-limit-retry": "5", "content-length": "11"}, b"hello world")
        assert (await pool.request(post())).status == 200

    server = run(with_pool(lambda n, r: error if n == 3 else ok, go))
    assert server.connections == 1


def _pieces(data: bytes, size: int = 16 * 1024) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("before_head", ["long head", "interim answers"])
def test_a_long_head_over_many_reads_keeps_every_header_of_the_error_answer(before_head: str) -> None:
    """A newcomer's finding: the bytes were kept up to a fixed size, so more than 128 KiB in front
    of the final answer's last header (a long head, or interim answers) over several reads lost
    its Retry-After and body. The final answer's head is now kept whole."""
    if before_head == "long head":
        padding = b"".join(b"x-pad-%d: %s\r\n" % (i, b"p" * 1000) for i in range(140))
        reply = b"HTTP/1.1 429 Too Many Requests\r\n" + padding + b"Retry-After: 5\r\ncontent-length: 2\r\n\r\n{}"
    else:
        interim = b"HTTP/1.1 103 Early Hints\r\nlink: <%s>\r\n\r\n" % (b"l" * 8000)
        reply = interim * 20 + b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\ncontent-length: 2\r\n\r\n{}"

    async def go(pool: ConnectionPool, server: Server) -> None:
        answer = await pool.request(post())
        assert (answer.status, answer.headers["retry-after"], answer.body) == (429, "5", b"{}")
        assert "link" not in answer.headers

    run(with_pool(lambda n, r: _pieces(reply), go))


def test_endless_interim_answers_are_a_malformed_answer_not_memory() -> None:
    """A newcomer's finding: with the final head kept whole, 300 MB of interim answers took
    635 MB of RSS. More than MAX_HEAD_BYTES before the final head is a malformed answer."""
    interim = b"HTTP/1.1 103 Early Hints\r\nlink: <%s>\r\n\r\n" % (b"l" * 8000)
    reply = interim * (2 * MAX_HEAD_BYTES // len(interim)) + OK

    async def go(pool: ConnectionPool, server: Server) -> None:
        with pytest.raises(MalformedAnswer, match="no complete answer head within"):
            await pool.request(post())

    run(with_pool(lambda n, r: _pieces(reply, 256 * 1024), go))


def test_a_long_error_body_over_many_reads_is_cut_after_the_head() -> None:
    big = b"y" * (MAX_BODY_BYTES * 2)
    reply = b"HTTP/1.1 502 Bad Gateway\r\nretry-after: 1\r\ncontent-length: %d\r\n\r\n%s" % (len(big), big)

    async def go(pool: ConnectionPool, server: Server) -> None:
        answer = await pool.request(post())
        assert (answer.status, answer.headers["retry-after"], answer.body) == (502, "1", b"y" * MAX_BODY_BYTES)
        assert (await pool.request(post())).status == 502

    assert run(with_pool(lambda n, r: _pieces(reply, 64 * 1024), go)).connections == 1


def test_an_error_answer_framed_by_the_connection_end_is_read_whole() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        answer = await pool.request(post())
        assert (answer.status, answer.headers["retry-after"], answer.body) == (503, "2", b"down for now")

    run(with_pool(lambda n, r: b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 2\r\n\r\ndown for now", go,
                  close_after_answer=True))


def test_a_long_body_is_cut_and_the_connection_stays_usable() -> None:
    big = b"x" * (MAX_BODY_BYTES * 3)
    reply = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: %d\r\n\r\n%s" % (len(big), big)

    async def go(pool: ConnectionPool, server: Server) -> None:
        answer = await pool.request(post())
        assert answer.status == 500 and len(answer.body) == MAX_BODY_BYTES
        assert (await pool.request(post())).status == 500

    assert run(with_pool(lambda n, r: reply, go)).connections == 1


@pytest.mark.parametrize("encoding,compress", [
    ("gzip", lambda b: zlib.compress(b, wbits=31)),
    ("deflate", zlib.compress),
    ("deflate", lambda b: zlib.compress(b, wbits=-15)),  # raw deflate, as some servers send it
])
def test_compressed_error_bodies_are_decoded(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    body = compress(b'{"message":"why"}')
    reply = b"HTTP/1.1 400 Bad Request\r\ncontent-encoding: %s\r\ncontent-length: %d\r\n\r\n%s" % (
        encoding.encode(), len(body), body)

    async def go(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(post())).text_body() == b'{"message":"why"}'

    run(with_pool(lambda n, r: reply, go))


def test_a_connection_closed_before_the_answer_is_connection_closed() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        with pytest.raises(ConnectionClosed):
            await pool.request(post())

    run(with_pool(lambda n, r: None, go))


def test_bytes_that_are_not_http_are_a_malformed_answer() -> None:
    answers = iter([b"garbage\r\n\r\n", OK])

    async def go(pool: ConnectionPool, server: Server) -> None:
        with pytest.raises(MalformedAnswer):
            await pool.request(post())
        assert (await pool.request(post())).status == 200  # on a fresh connection

    assert run(with_pool(lambda n, r: next(answers), go)).connections == 2


def test_no_answer_within_the_read_timeout_is_a_timeout_and_the_connection_is_dropped() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        with pytest.raises(Timeout):
            await pool.request(post())

    run(with_pool(lambda n, r: OK, go, delay=2.0, read_timeout=0.2))


def test_close_fails_the_requests_in_flight() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        pending = asyncio.ensure_future(pool.request(post()))
        await asyncio.sleep(0.1)
        await pool.close()
        with pytest.raises(ConnectionClosed):
            await pending

    run(with_pool(lambda n, r: OK, go, delay=1.0))


def test_a_server_that_closes_after_every_answer_without_saying_so_loses_no_request() -> None:
    """A newcomer's finding: such a server made a third to half of the requests fail (the pool
    reused the connection before the close arrived). A request that meets a kept-alive
    connection's end before any byte of its answer is sent again, once, on a fresh connection."""
    async def go(pool: ConnectionPool, server: Server) -> None:
        for _ in range(30):
            assert (await pool.request(post())).status == 200

    server = run(with_pool(lambda n, r: OK, go, close_after_answer=True))
    assert server.connections >= 30 and all(r.startswith(b"POST ") for r in server.requests)


def test_a_kept_alive_connection_that_ends_after_the_request_was_read_is_tried_once_more() -> None:
    """The second request on a connection meets its end with no answer: once more on a fresh one
    (the server's first request there is answered)."""
    async def go(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(post())).status == 200
        assert (await pool.request(post())).status == 200

    server = run(with_pool(lambda n, r: OK if n == 0 else None, go))
    assert server.connections == 2 and len(server.requests) == 3


def test_a_waiter_woken_then_cancelled_passes_the_connection_on() -> None:
    """A newcomer's finding: with every connection busy, a waiter woken by a check-in and then
    cancelled before it ran left the free connection idle and the next waiter waiting forever."""
    async def go(pool: ConnectionPool, server: Server) -> None:
        first = asyncio.ensure_future(pool.request(post()))
        await asyncio.sleep(0.05)  # first holds the only connection
        second = asyncio.ensure_future(pool.request(post()))
        third = asyncio.ensure_future(pool.request(post()))
        await asyncio.sleep(0.05)  # both wait for a connection
        check_in = pool._check_in

        def check_in_then_cancel(conn: object) -> None:
            check_in(conn)  # wakes `second` ...
            second.cancel()  # ... which is cancelled before it runs

        pool._check_in = check_in_then_cancel  # type: ignore[method-assign]
        await first
        assert (await asyncio.wait_for(third, 5)).status == 200
        with pytest.raises(asyncio.CancelledError):
            await second

    run(with_pool(lambda n, r: OK, go, delay=0.2, max_connections=1))


# -- try_request: an answer by callback, no future or task (the engine's fast path) ---------------


def test_try_request_needs_an_idle_connection_and_calls_back_once_with_the_answer() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        answers: list[object] = []
        assert not pool.try_request(post(), answers.append)  # nothing idle yet: nothing sent
        assert server.requests == []
        assert (await pool.request(post())).status == 200  # opens the connection; idle after
        assert pool.try_request(post(b'{"n":2}'), answers.append)
        assert answers == []  # never before try_request returns
        while not answers:
            await asyncio.sleep(0.01)
        (answer,) = answers
        assert getattr(answer, "status", None) == 200
        assert pool.try_request(post(), answers.append)  # the same connection, back in the pool
        while len(answers) < 2:
            await asyncio.sleep(0.01)

    server = run(with_pool(lambda n, r: OK, go))
    assert server.connections == 1 and len(server.requests) == 3 and server.requests[1].endswith(b'{"n":2}')


def test_try_request_reports_a_stale_connection_instead_of_resending() -> None:
    """The callback gets the StaleConnection (the caller resends: VoucherifyClient.start does)."""
    async def go(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(post())).status == 200
        answers: list[object] = []
        assert pool.try_request(post(), answers.append)
        while not answers:
            await asyncio.sleep(0.01)
        assert type(answers[0]) is StaleConnection

    run(with_pool(lambda n, r: OK if n == 0 else None, go))


def test_try_request_calls_back_with_the_timeout() -> None:
    async def go(pool: ConnectionPool, server: Server) -> None:
        assert (await pool.request(post())).status == 200
        answers: list[object] = []
        assert pool.try_request(post(), answers.append)
        while not answers:
            await asyncio.sleep(0.02)
        assert isinstance(answers[0], Timeout)

    run(with_pool(lambda n, r: OK if n == 0 else b"", go, read_timeout=0.2))
