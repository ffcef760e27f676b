"""Running the stub: in a background thread for tests, or in the foreground for the CLI."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiohttp import web

from .app import Credentials, Listener, StubState, build_app
from .faults import FaultConfig
from .recording import RecordedRequest

__all__ = ["StubServer", "serve"]

T = TypeVar("T")

DEFAULT_APPLICATION_ID = "stub-application-id"
DEFAULT_SECRET_KEY = "stub-secret-key"


class _SiteListener(Listener):
    """The runner's TCP site, closed and re-opened on the same port for a ``refuse`` outage.

    Closing the listening socket leaves open keep-alive connections alone; the handler resets
    requests arriving on them while the outage lasts.
    """

    def __init__(self, runner: web.AppRunner, host: str, port: int, reuse_port: bool) -> None:
        self._runner = runner
        self._host = host
        self.port = port
        self._reuse_port = reuse_port
        self._site: web.TCPSite | None = None

    async def open(self) -> None:
        site = web.TCPSite(self._runner, self._host, self.port, reuse_port=self._reuse_port or None, backlog=1024)
        await site.start()
        self._site = site
        self.port = self._runner.addresses[0][1]  # port 0: keep the one picked, for re-opening

    async def close(self) -> None:
        if self._site is not None:
            site, self._site = self._site, None
            await site.stop()

    async def reopen(self) -> None:
        if self._site is None:
            await self.open()


async def _start(state: StubState, host: str, port: int, reuse_port: bool = False) -> tuple[web.AppRunner, int]:
    """Set up the app and start listening; returns the runner and the bound port."""
    # access_log=None: formatting a log line per request would cost more than the handler.
    runner = web.AppRunner(build_app(state), access_log=None, handle_signals=False)
    await runner.setup()
    listener = _SiteListener(runner, host, port, reuse_port)
    await listener.open()
    state.listener = listener
    return runner, listener.port


class StubServer:
    """The stub on its own event loop in a daemon thread; use as a context manager.

    >>> with StubServer(latency_ms=5) as stub:
    ...     client_url = stub.url            # e.g. http://127.0.0.1:54321
    ...     stub.configure(script=[{"status": 503, "count": 2}])
    ...     stub.wait_for(3, timeout=5)
    ...     stub.requests[0].json

    ``application_id``/``secret_key`` default to :data:`DEFAULT_APPLICATION_ID` /
    :data:`DEFAULT_SECRET_KEY`; pass ``auth=False`` to accept anything. Other keyword
    arguments are :class:`FaultConfig` fields.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        application_id: str = DEFAULT_APPLICATION_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        auth: bool = True,
        **faults: Any,
    ) -> None:
        self.host = host
        self.port = port
        self.application_id = application_id
        self.secret_key = secret_key
        creds = Credentials(application_id, secret_key) if auth else None
        self.state = StubState(FaultConfig().updated(faults), creds)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> StubServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._runner, self.port = loop.run_until_complete(_start(self.state, self.host, self.port))
            except BaseException as exc:  # surfaced to the caller of start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="voucherify-stub", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop = None
            self._thread = None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test API ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server loop so state is never mutated mid-request."""
        if self._loop is None:
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=10)

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change faults at run time (same keys as ``POST /_stub/config``)."""
        self._call(lambda: self.state.configure(changes))
        return self._call(self.state.config_view)

    def reset(self, config: bool = False) -> None:
        """Forget recorded requests, counters and the script (``config=True``: start-up settings)."""
        self._call(lambda: self.state.reset(config=config))

    def outage(self, mode: str, seconds: float) -> dict[str, Any]:
        """Be unavailable for ``seconds``: ``refuse`` connections, ``reset`` them, or answer ``503``."""
        return self._call(lambda: self.state.start_outage({"mode": mode, "seconds": seconds})).as_dict()

    def end_outage(self) -> None:
        """End the outage now (also re-opens the port after ``refuse``)."""
        self._call(self.state.end_outage)

    @property
    def requests(self) -> list[RecordedRequest]:
        records = list(self.state.records)
        return [RecordedRequest.from_raw(i, raw) for i, raw in enumerate(records)]

    def stats(self) -> dict[str, Any]:
        return self._call(self.state.stats)

    @property
    def count(self) -> int:
        return len(self.state.records)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests were recorded; raise TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while len(self.state.records) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"stub saw {len(self.state.records)} requests, expected {n}")
            time.sleep(0.005)
        return self.requests


def serve(
    host: str,
    port: int,
    state: StubState,
    *,
    use_uvloop: bool = True,
    reuse_port: bool = False,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Run in the foreground until interrupted (the CLI and each ``--workers`` process)."""

    async def main() -> None:
        runner, bound = await _start(state, host, port, reuse_port=reuse_port)
        if on_ready is not None:
            on_ready(bound)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    run_foreground(main, use_uvloop)


def run_foreground(main: Callable[[], Coroutine[Any, Any, None]], use_uvloop: bool = True) -> None:
    """Run ``main()`` on a new loop (uvloop when asked and installed) until it ends or Ctrl-C."""
    loop_factory = None
    if use_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(main())
    except KeyboardInterrupt:
        pass
