"""What we compare the processor with, measured on the same broker, topic and stub.

- :func:`sequential`: the plain consumer people write first (and what a naive sink does): poll one
  message, decode and plan it with the same destination code, one blocking keep-alive HTTP call
  per request, synchronous commit. Run on a small sample; its rate is latency-bound, so the
  sample extrapolates linearly.
- :func:`bare_http`: the fastest bare loop on the client's transport (VoucherifyClient's own) against the stub
  (``bench/http_ceiling.py``'s loop, ~256 concurrent keep-alive requests): no Kafka, no
  semantics. The processor cannot beat it.
- the consume-only ceiling lives in :mod:`bench.kafka_io` (``consume_ceiling``).
"""

from __future__ import annotations

import asyncio
import http.client
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import orjson
from confluent_kafka import Consumer

from processor.config import parse_config
from processor.voucherify.client import USER_AGENT, auth_headers
from processor.voucherify.destination import Destination

APP_ID = "stub-application-id"
SECRET = "stub-secret-key"


def sequential(bootstrap: str, topic: str, stub_url: str, n: int = 500) -> dict[str, Any]:
    """Rate of the one-at-a-time consumer over ``n`` events (events/s, requests made)."""
    cfg = parse_config({"destination": {"application_id": APP_ID, "secret_key": SECRET, "custom_url": stub_url}})
    destination = Destination.from_config(cfg)
    headers = {**auth_headers(APP_ID, SECRET), "content-type": "application/json", "user-agent": USER_AGENT}
    url = urlsplit(stub_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-seq-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    done = requests = 0
    started = 0.0
    try:
        while done < n:
            msg = consumer.poll(1.0)
            if msg is None or msg.error() is not None:
                continue
            if done == 0:
                started = time.perf_counter()
            for item in destination.plan(orjson.loads(msg.value())):
                body = getattr(item, "body", None)
                if body is None:
                    continue
                conn.request("POST", urlsplit(item.url).path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                requests += 1
            consumer.commit(message=msg, asynchronous=False)
            done += 1
        elapsed = time.perf_counter() - started
    finally:
        consumer.close()
        conn.close()
    return {"events": done, "requests": requests, "seconds": elapsed, "events_per_s": done / elapsed}


def bare_http(stub_url: str, n: int = 20_000, concurrency: int = 256) -> dict[str, Any]:
    """Requests/s of bench/http_ceiling.py's loop (uvloop) on the client's transport against the stub.

    The transport is :class:`~processor.voucherify.client.VoucherifyClient` itself (its own
    HTTP/1.1 pool since issue 16) (the ceiling must use the processor's own transport, or the processor beats it).
    """
    import uvloop

    from bench.http_ceiling import PATH, bench_transport, headers, make_body

    coro = bench_transport("voucherify", stub_url, stub_url.rstrip("/") + PATH, headers(APP_ID, SECRET), APP_ID, SECRET,
                           make_body(1024), n, concurrency)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        wall, cpu, statuses = runner.run(coro)
    return {"requests": n, "concurrency": concurrency, "seconds": wall, "requests_per_s": n / wall,
            "cpu_s_per_1k": cpu / n * 1000, "statuses": {str(k): v for k, v in statuses.items()}}
