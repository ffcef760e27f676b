"""The same documents the user could save by hand, fetched from Segment's Public API.

Two calls, as Segment documents them (Public API v1, token in ``Authorization: Bearer``):

1. ``GET {api}/destinations/{destinationId}`` -> the destination and its settings;
2. ``GET {api}/destinations/{destinationId}/subscriptions?pagination.count=N[&pagination.cursor=C]``
   -> one page per call, following ``pagination.next`` until there is none.

The documents are returned unchanged, so :func:`~.segment_export.read_export` reads them exactly
as it reads saved files. The token is only sent in the header; messages never contain it.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from processor.errors import FetchError

__all__ = ["FetchError", "fetch_documents", "DEFAULT_API_URL", "TOKEN_ENV"]

#: Segment's Public API (EU workspaces: https://eu1.api.segmentapis.com).
DEFAULT_API_URL = "https://api.segmentapis.com"
#: Where the import looks for the token unless told another variable.
TOKEN_ENV = "SEGMENT_PUBLIC_API_TOKEN"
#: Page size asked for (the API's maximum is 200).
PAGE_SIZE = 200
#: A bound on pages followed, so a server that keeps returning ``next`` cannot loop us forever.
MAX_PAGES = 1000


def _get(client: httpx.Client, path: str, params: dict[str, Any]) -> Any:
    try:
        response = client.get(path, params=params)
    except httpx.HTTPError as exc:
        raise FetchError(f"GET {path}: {type(exc).__name__}: {exc}") from None
    if response.status_code in (401, 403):
        raise FetchError(f"GET {path}: {response.status_code}: the token was rejected (it needs read access to the destination)")
    if response.status_code == 404:
        raise FetchError(f"GET {path}: 404: no such destination in the token's workspace")
    if response.status_code >= 400:
        raise FetchError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise FetchError(f"GET {path}: the answer is not JSON: {exc}") from None


def fetch_documents(
    destination_id: str,
    token: str,
    *,
    api_url: str = DEFAULT_API_URL,
    timeout_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> list[tuple[str, Any]]:
    """``[(source, document), ...]``: the destination, then every page of its subscriptions."""
    headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
    base = f"/destinations/{destination_id}"
    with httpx.Client(base_url=api_url, headers=headers, timeout=timeout_s, transport=transport) as client:
        documents: list[tuple[str, Any]] = [(f"GET {base}", _get(client, base, {}))]
        cursor: str | None = None
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, Any] = {"pagination.count": PAGE_SIZE}
            if cursor:
                params["pagination.cursor"] = cursor
            doc = _get(client, f"{base}/subscriptions", params)
            documents.append((f"GET {base}/subscriptions (page {page})", doc))
            pagination = doc.get("data", {}).get("pagination", {}) if isinstance(doc, dict) else {}
            cursor = pagination.get("next") if isinstance(pagination, dict) else None
            if not cursor:
                return documents
    raise FetchError(f"GET {base}/subscriptions: more than {MAX_PAGES} pages; stopped")
