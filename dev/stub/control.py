"""A small synchronous client for a stub running in another process (``/_stub/...``)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from .recording import RecordedRequest

__all__ = ["StubControl"]


class StubControl:
    """Mirror of :class:`~dev.stub.server.StubServer`'s test API, over HTTP.

    >>> ctl = StubControl("http://127.0.0.1:8080")
    >>> ctl.configure(rate_429=0.1, retry_after=2, seed=1)
    >>> ctl.stats()["by_path"]
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> StubControl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        response = self._http.request(method, path, **kw)
        response.raise_for_status()
        return response.json()

    def configure(self, **changes: Any) -> dict[str, Any]:
        return self._json("POST", "/_stub/config", json=changes)

    def config(self) -> dict[str, Any]:
        return self._json("GET", "/_stub/config")

    def reset(self, config: bool = False) -> None:
        self._json("POST", "/_stub/reset", params={"config": "1"} if config else None)

    def stats(self) -> dict[str, Any]:
        return self._json("GET", "/_stub/stats")

    def outage(self, mode: str, seconds: float) -> dict[str, Any]:
        """Start an outage (``refuse`` | ``reset`` | ``503``) that ends by itself after ``seconds``.

        During a ``refuse`` outage this control API is unreachable too (same port).
        """
        return self._json("POST", "/_stub/outage", json={"mode": mode, "seconds": seconds})

    def end_outage(self) -> None:
        """End a ``reset`` / ``503`` outage early (a ``refuse`` one cannot be reached to end)."""
        self._json("DELETE", "/_stub/outage")

    def requests(self, since: int = 0, limit: int = 10_000, path: str | None = None) -> list[RecordedRequest]:
        params: dict[str, Any] = {"since": since, "limit": limit}
        if path is not None:
            params["path"] = path
        data = self._json("GET", "/_stub/requests", params=params)
        return [RecordedRequest.from_dict(d) for d in data["requests"]]

    def count(self) -> int:
        return int(self.stats()["total"])

    def wait_for(self, n: int, timeout: float = 5.0, interval: float = 0.05) -> int:
        """Poll until the stub recorded at least ``n`` requests; return the count."""
        deadline = time.monotonic() + timeout
        while True:
            total = self.count()
            if total >= n:
                return total
            if time.monotonic() > deadline:
                raise TimeoutError(f"stub saw {total} requests, expected {n}")
            time.sleep(interval)
