"""Security: SASL/SCRAM to Kafka through the passthrough settings, no secret in anything the
processor or its commands write, and TLS verification to Voucherify on by default."""

from __future__ import annotations

import asyncio
import base64
import datetime
import logging
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import orjson
import pytest

from dev.kafka_local import free_port
from dev.stub import StubServer, StubState, build_app
from dev.stub.app import Credentials
from processor.app import build_client
from processor.config import parse_config
from processor.voucherify.delivery import Delivery
from tests.support.kafka_broker import delete_topics
from tests.support.processor import committed_offsets, end_offsets, read_topic, wait_until
from tests.support.reliability import (
    EVENT_PATH,
    REPO,
    ProcessorProcess,
    make_events,
    ok_eids,
    produce,
    subprocess_config,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

APPLICATION_ID = "appid-Q7vK2mZ9xR"
SECRET_KEY = "sk-live-4fT8wLp3Hn6Yc1"


def secret_forms(*secrets: str) -> list[str]:
    forms = set()
    for s in secrets:
        b = s.encode()
        std, url = base64.b64encode(b).decode(), base64.urlsafe_b64encode(b).decode()
        forms |= {s, std, url, std.rstrip("="), url.rstrip("="), f"Basic {std}"}
    return sorted(forms)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "processor", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120)


def test_sasl_scram_delivery_and_no_secret_anywhere(kafka_sasl, kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=2)
    events = make_events(60, users=5, seed=12)
    expected = {e.eid for e in events if e.path is not None}
    sasl = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": kafka_sasl.mechanism,
            "sasl.username": kafka_sasl.username, "sasl.password": kafka_sasl.password}
    port = free_port()
    with StubServer(application_id=APPLICATION_ID, secret_key=SECRET_KEY) as stub:
        stub.configure(script=[{"status": 400, "count": 1, "path": EVENT_PATH}])  # one permanent failure
        doc = subprocess_config(kafka_sasl.bootstrap, stub.url, source, application_id=APPLICATION_ID,
                                secret_key=SECRET_KEY, kafka={"client": sasl},
                                ops={"http_port": port, "http_host": "127.0.0.1", "log_level": "DEBUG"})
        config = write_config(tmp_path / "config.yaml", doc)
        poison = [b"not json", b'{"type":"track","event":"no user","properties":{}}']  # decode / validation
        proc = ProcessorProcess(config, tmp_path / "processor.log")
        try:
            proc.start()
            produce(kafka_bootstrap, source, events)
            from confluent_kafka import Producer

            p = Producer(kafka_sasl.client_config())  # and the SASL listener takes producers too
            for v in poison:
                p.produce(source, value=v)
            assert p.flush(30) == 0
            wait_until(lambda: len(ok_eids(stub.requests)) >= len(expected) - 1, 90,
                       message="delivery over SASL did not work")
            wait_until(lambda: committed_offsets(kafka_bootstrap, doc["kafka"]["group_id"], source, 2)
                       == end_offsets(kafka_bootstrap, source, 2), 60, message="offsets not committed")
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
            assert "voucherify_processor" in metrics
            assert proc.terminate() == 0
        finally:
            proc.ensure_stopped()
        delivered = ok_eids(stub.requests)
        assert len(expected - delivered) == 1  # the one answered 400: dead-lettered, not lost
        dlq = read_topic(kafka_bootstrap, f"{source}.dlq", expect=3, timeout=20)
        assert {r["headers"]["vp.error.class"] for r in dlq} == {"permanent", "decode", "validation"}
        # the commands an operator runs with the same configuration
        ndjson = tmp_path / "events.ndjson"
        ndjson.write_bytes(b"\n".join(e.value() for e in events[:10]) + b"\nnot json\n")
        outputs = {
            "check-config": _cli("check-config", "--config", str(config)),
            "dry-run": _cli("dry-run", "--config", str(config), str(ndjson)),
        }
        from processor.cli.main import build_parser

        if "dlq" in build_parser().format_help():
            outputs["dlq list"] = _cli("dlq", "list", "--config", str(config))
            outputs["dlq show"] = _cli("dlq", "show", "--config", str(config), "--limit", "10")
        assert outputs["check-config"].returncode == 0, outputs["check-config"].stderr
        assert outputs["dry-run"].returncode == 8, outputs["dry-run"].stderr  # the "not json" line is undecodable
        for name in ("dlq list", "dlq show"):
            if name in outputs:
                assert outputs[name].returncode == 0, outputs[name].stderr
    delete_topics(kafka_bootstrap, [f"{source}.retry.{i}" for i in range(3)] + [f"{source}.dlq"])
    log = proc.log_text()
    assert "partitions assigned" in log  # (log_level DEBUG: every debug line is included too)
    everything = {
        "processor stdout+stderr": log,
        "/metrics": metrics,
        "dead-letter records": "\n".join(
            f"{r['key']!r} {r['value']!r} {orjson.dumps(r['headers']).decode()}" for r in dlq),
        **{f"{name} (stdout+stderr)": c.stdout + c.stderr for name, c in outputs.items()},
    }
    leaks = [(where, form) for where, text in everything.items()
             for form in secret_forms(APPLICATION_ID, SECRET_KEY, kafka_sasl.password) if form in text]
    assert leaks == [], leaks
    print({k: len(v) for k, v in everything.items()}, sorted(outputs))


# ---------------------------------------------------------------------------------- TLS
def _self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    import ipaddress

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsStub:
    """The stub's aiohttp app served over HTTPS with a self-signed certificate (own thread)."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ctx.load_cert_chain(cert, key)
        self.state = StubState(credentials=Credentials(APPLICATION_ID, SECRET_KEY))
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> "TlsStub":
        from aiohttp import web

        self._thread.start()

        async def start() -> web.AppRunner:
            runner = web.AppRunner(build_app(self.state), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=self.ctx).start()
            return runner

        self._runner = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def _send_one(cfg) -> tuple[object, bool | Exception]:
    async def go():
        client = build_client(cfg)  # exactly how `run` builds it from the configuration
        try:
            delivery = Delivery("E", "addCustomEvent", cfg.destination.custom_url + EVENT_PATH,
                                b'{"customer":{"source_id":"u"},"event":"x","type":"track"}')
            result = await client.send(delivery)
            try:
                probe: bool | Exception = await client.probe_auth()
            except Exception as exc:  # noqa: BLE001
                probe = exc
            return result, probe
        finally:
            await client.close()

    return asyncio.run(go())


def _cfg(url: str, **dest) -> object:
    return parse_config({"destination": {"application_id": APPLICATION_ID, "secret_key": SECRET_KEY,
                                         "custom_url": url, **dest}})


def test_tls_to_voucherify_is_verified_by_default_and_verify_tls_false_warns(tmp_path, caplog):
    cert, key = _self_signed(tmp_path)
    with TlsStub(cert, key) as stub:
        cfg = _cfg(stub.url)
        assert cfg.destination.verify_tls is True
        with caplog.at_level(logging.WARNING):
            result, probe = _send_one(cfg)
        assert not result.ok and result.status is None
        assert "certificate" in result.message.lower() or "CERTIFICATE_VERIFY_FAILED" in result.message, result.message
        assert isinstance(probe, Exception) and "certificate" in str(probe).lower(), probe
        assert stub.state.records == []  # nothing was sent over the unverified connection
        assert not any("verification is DISABLED" in r.getMessage() for r in caplog.records)

        caplog.clear()
        with caplog.at_level(logging.WARNING):
            result, probe = _send_one(_cfg(stub.url, verify_tls=False))
        assert result.ok and result.status == 200 and probe is True
        assert len(stub.state.records) == 2
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "DISABLED" in r.getMessage()]
        assert warnings and stub.url in warnings[0].getMessage()


def test_a_private_ca_named_by_ssl_cert_file_is_trusted(tmp_path, monkeypatch):
    """The trust store is the system's, with OpenSSL's SSL_CERT_FILE override (as Python's ssl
    default context had it with aiohttp, with pyreqwest's platform verifier, and with the
    ssl module again since the transport moved to http1.py, issue 16): a company CA
    installed that way verifies, with verify_tls left on."""
    cert, key = _self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with TlsStub(cert, key) as stub:
        result, probe = _send_one(_cfg(stub.url))
        assert result.ok and result.status == 200 and probe is True, result.message
        assert len(stub.state.records) == 2
