"""Loopback port helpers and the "does the broker answer?" probe.

The probe prefers a real metadata request through confluent-kafka (what our code
uses); where that package is not importable (``dev/kafka`` run by a bare
``python3`` before ``dev/bootstrap``), it falls back to a hand-built ApiVersions
request, which every Kafka version answers once its listener accepts requests.
"""

from __future__ import annotations

import socket
import struct

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    """A port the OS just handed out as free (another process may still grab it first)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """True if we could bind ``host:port`` right now (same check the broker's bind will make)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def broker_answers(bootstrap: str, timeout: float = 2.0) -> bool:
    """True if the broker at ``bootstrap`` answers a metadata (or ApiVersions) request."""
    try:
        from confluent_kafka.admin import AdminClient
    except ImportError:
        return _api_versions_answers(bootstrap, timeout)
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000), "log_level": 0})
    try:
        metadata = admin.list_topics(timeout=timeout)
    except Exception:  # KafkaException on timeout; anything else also means "not yet"
        return False
    return bool(metadata.brokers)


def _api_versions_answers(bootstrap: str, timeout: float) -> bool:
    host, _, port = bootstrap.rpartition(":")
    # Request header v1: api_key=18 (ApiVersions), api_version=0, correlation_id, client_id.
    client_id = b"local-kafka-probe"
    body = struct.pack(">hhih", 18, 0, 7, len(client_id)) + client_id
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as s:
            s.sendall(struct.pack(">i", len(body)) + body)
            head = _recv_exact(s, 4 + 4 + 2)
    except OSError:
        return False
    if head is None:
        return False
    _size, correlation_id, error_code = struct.unpack(">iih", head)
    return correlation_id == 7 and error_code == 0


def _recv_exact(s: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
