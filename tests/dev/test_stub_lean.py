"""The stub's benchmark mode (``python -m dev.stub --lean``) over real sockets: auth, recording,
latency, keep-alive and the control API subset the benchmark reads."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from dev.stub import DEFAULT_APPLICATION_ID, DEFAULT_SECRET_KEY, StubControl

EVENT = "/segmentio/event-processing"
CUSTOMER = "/segmentio/customer-processing"
GROUP = "/segmentio/group-processing"
TEST_AUTH = "/segmentio/test-authentication"


def auth(app_id: str = DEFAULT_APPLICATION_ID, secret: str = DEFAULT_SECRET_KEY) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(app_id.encode()).decode(),
            "secret-key": base64.b64encode(secret.encode()).decode(), "content-type": "application/json"}


def start(*flags: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "dev.stub", "--lean", "--port", "0", *flags],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert "listening on" in line, line + proc.stderr.read()
    return proc, line.strip().rsplit(" ", 1)[1]


@pytest.fixture
def lean() -> Iterator[str]:
    proc, url = start()
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("path", [EVENT, CUSTOMER, GROUP, TEST_AUTH])
def test_segment_endpoints_answer_200_json_with_right_credentials(lean: str, path: str) -> None:
    r = httpx.post(lean + path, content=b'{"a":1}', headers=auth())
    assert (r.status_code, r.headers["content-type"], r.json()) == (200, "application/json", {})


@pytest.mark.parametrize("headers", [{}, auth(app_id="wrong"), auth(secret="wrong"),
                                     {"authorization": auth()["authorization"]}],
                         ids=["missing", "wrong-app-id", "wrong-secret", "no-secret-header"])
def test_wrong_or_missing_credentials_get_401_and_are_recorded(lean: str, headers: dict[str, str]) -> None:
    r = httpx.post(lean + EVENT, content=b"{}", headers=headers)
    assert r.status_code == 401
    assert r.json()["key"] == "unauthorized"
    ctl = StubControl(lean)
    assert ctl.stats() == {"total": 1, "by_path": {EVENT: {"401": 1}}}
    assert ctl.requests()[0].status == 401


def test_header_names_are_case_insensitive(lean: str) -> None:
    headers = {k.upper(): v for k, v in auth().items()}
    assert httpx.post(lean + EVENT, content=b"{}", headers=headers).status_code == 200


def test_records_method_path_raw_body_json_status_and_time_in_order(lean: str) -> None:
    before = time.time()
    with httpx.Client(base_url=lean, headers=auth()) as http:
        http.post(EVENT, content=b'{"i": 1}')
        http.post(CUSTOMER, content=b"not json")
        http.get(TEST_AUTH)
    ctl = StubControl(lean)
    got = ctl.requests()
    assert [(r.index, r.method, r.path, r.body, r.json, r.status) for r in got] == [
        (0, "POST", EVENT, b'{"i": 1}', {"i": 1}, 200),
        (1, "POST", CUSTOMER, b"not json", None, 200),
        (2, "GET", TEST_AUTH, b"", None, 200),
    ]
    assert before <= got[0].time <= got[2].time <= time.time()
    assert [r.path for r in ctl.requests(since=1, limit=1)] == [CUSTOMER]
    assert [r.index for r in ctl.requests(path=EVENT)] == [0]


def test_large_and_chunked_bodies_are_recorded_whole(lean: str) -> None:
    big = b'{"x":"' + b"a" * 300_000 + b'"}'
    assert httpx.post(lean + GROUP, content=big, headers=auth()).status_code == 200
    chunks = [b'{"part":', b' "one"', b"}"]
    assert httpx.post(lean + GROUP, content=iter(chunks), headers=auth()).status_code == 200  # chunked
    got = StubControl(lean).requests()
    assert got[0].body == big
    assert got[1].json == {"part": "one"}


def test_keep_alive_serves_many_requests_on_one_connection(lean: str) -> None:
    host, port = lean.removeprefix("http://").split(":")
    request = (f"POST {EVENT} HTTP/1.1\r\nhost: x\r\nauthorization: {auth()['authorization']}\r\n"
               f"secret-key: {auth()['secret-key']}\r\ncontent-length: 2\r\n\r\n{{}}").encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        answers = b""
        for _ in range(3):
            sock.sendall(request)
            while answers.count(b"HTTP/1.1 200 OK") < _ + 1 or not answers.endswith(b"{}"):
                answers += sock.recv(65536)
    assert answers.count(b"HTTP/1.1 200 OK") == 3
    assert StubControl(lean).count() == 3


def test_reset_stats_and_latency_config(lean: str) -> None:
    ctl = StubControl(lean)
    with httpx.Client(base_url=lean, headers=auth()) as http:
        http.post(EVENT, content=b"{}")
        assert ctl.count() == 1
        ctl.reset()
        assert ctl.stats() == {"total": 0, "by_path": {}}
        assert ctl.configure(latency_ms=150)["latency_ms"] == 150
        t0 = time.perf_counter()
        assert http.post(EVENT, content=b"{}").status_code == 200
        assert time.perf_counter() - t0 >= 0.14  # answered after the latency, not before
        ctl.reset(config=True)
        assert ctl.config() == {"lean": True, "latency_ms": 0.0, "record_bodies": True, "auth": True}


def test_credentials_and_body_recording_can_be_changed(lean: str) -> None:
    ctl = StubControl(lean)
    ctl.configure(credentials={"application_id": "other", "secret_key": "s"}, record_bodies=False)
    assert httpx.post(lean + EVENT, content=b"{}", headers=auth()).status_code == 401
    assert httpx.post(lean + EVENT, content=b"{}", headers=auth("other", "s")).status_code == 200
    assert [r.body for r in ctl.requests()] == [b"", b""]
    ctl.configure(credentials=None)
    assert httpx.post(lean + EVENT, content=b"{}").status_code == 200


def test_a_fault_setting_is_refused_with_its_name(lean: str) -> None:
    r = httpx.post(lean + "/_stub/config", json={"rate_429": 0.5})
    assert r.status_code == 400
    assert "rate_429" in r.json()["error"] and "full stub" in r.json()["error"]
    assert httpx.get(lean + "/_stub/outage").status_code == 405
    assert httpx.get(lean + "/nowhere").status_code == 404


def test_cli_refuses_a_fault_flag_with_lean() -> None:
    done = subprocess.run([sys.executable, "-m", "dev.stub", "--lean", "--port", "0", "--error-rate-5xx", "0.1"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--lean (benchmark mode) injects no faults: drop --error-rate-5xx" in done.stderr


def test_cli_flags_apply_in_lean_mode() -> None:
    proc, url = start("--application-id", "a-id", "--secret-key", "s-key", "--latency-ms", "5", "--no-record-bodies")
    try:
        assert httpx.post(url + EVENT, content=b"{}", headers=auth("a-id", "s-key")).status_code == 200
        assert StubControl(url).config() == {"lean": True, "latency_ms": 5.0, "record_bodies": False, "auth": True}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
