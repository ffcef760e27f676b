"""The destination's auth headers: one owner (settings.auth_headers), as Segment's runtime sends them."""

from __future__ import annotations

import asyncio

from processor.voucherify.client import VoucherifyClient
from processor.voucherify.settings import auth_headers

# Recorded from Segment's own runtime (node oracle.js with the reference harness, settings
# {"apiKey": "app\ud800id", "secretKey": "sec\udfffkey"} and {"apiKey": "appé", "secretKey": "s€c"}):
# Node's Buffer.from turns a lone surrogate into U+FFFD before base64.
SEGMENT_SENT = {
    ("app\ud800id", "sec\udfffkey"): {"authorization": "Basic YXBw77+9aWQ=", "secret-key": "c2Vj77+9a2V5"},
    ("appé", "s€c"): {"authorization": "Basic YXBww6k=", "secret-key": "c+KCrGM="},
}


def test_auth_headers_match_segments_runtime() -> None:
    for (application_id, secret_key), expected in SEGMENT_SENT.items():
        assert auth_headers(application_id, secret_key) == expected


def test_the_client_sends_the_one_owners_headers_even_for_a_lone_surrogate() -> None:
    """Observed on the wire (the stub records them): the transport's own header objects are private."""
    from dev.stub import StubServer
    from processor.voucherify.delivery import Delivery

    async def send(url: str) -> None:
        async with VoucherifyClient(url, "app\ud800id", "sec\udfffkey") as client:
            await client.send(Delivery("s", "addCustomEvent", url + "/segmentio/event-processing", b"{}"))

    with StubServer() as stub:
        asyncio.run(send(stub.url))
        (request,) = stub.requests
    sent = {k: v for k, v in request.headers.items() if k in ("authorization", "secret-key")}
    assert sent == SEGMENT_SENT[("app\ud800id", "sec\udfffkey")]


def test_action_ids_have_one_owner() -> None:
    from typing import get_args

    from processor.config import SubscriptionConfig
    from processor.voucherify.actions import ACTION_IDS, ACTIONS, ActionId

    assert ACTION_IDS == get_args(ActionId) == tuple(ACTIONS)
    assert SubscriptionConfig.model_fields["action"].annotation is ActionId
