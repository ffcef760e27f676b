"""The Voucherify stub over real sockets: auth, recording, every fault, the control API."""

from __future__ import annotations

import base64
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from dev.stub import DEFAULT_APPLICATION_ID, DEFAULT_SECRET_KEY, StubControl, StubServer

EVENT = "/segmentio/event-processing"
CUSTOMER = "/segmentio/customer-processing"


def auth(app_id: str = DEFAULT_APPLICATION_ID, secret: str = DEFAULT_SECRET_KEY) -> dict[str, str]:
    return {
        "authorization": "Basic " + base64.b64encode(app_id.encode()).decode(),
        "secret-key": base64.b64encode(secret.encode()).decode(),
        "content-type": "application/json",
    }


@pytest.fixture
def stub() -> Iterator[StubServer]:
    with StubServer() as server:
        yield server


@pytest.fixture
def http(stub: StubServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stub.url, headers=auth(), timeout=5.0) as client:
        yield client


def post(http: httpx.Client, path: str = EVENT, body: bytes = b'{"event":"x"}') -> httpx.Response:
    return http.post(path, content=body)


# -- auth and endpoints ----------------------------------------------------------------


@pytest.mark.parametrize("path", [EVENT, CUSTOMER, "/segmentio/group-processing", "/segmentio/test-authentication"])
def test_segment_endpoints_answer_200_json_with_right_credentials(http: httpx.Client, path: str) -> None:
    r = post(http, path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {}


def test_test_authentication_accepts_get(http: httpx.Client) -> None:
    assert http.get("/segmentio/test-authentication").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        auth(app_id="wrong"),
        auth(secret="wrong"),
        {"authorization": auth()["authorization"]},
        {"secret-key": auth()["secret-key"]},
    ],
    ids=["missing", "wrong-app-id", "wrong-secret", "no-secret-header", "no-authorization"],
)
def test_wrong_or_missing_credentials_get_401_json(stub: StubServer, headers: dict[str, str]) -> None:
    r = httpx.post(stub.url + EVENT, content=b"{}", headers=headers)
    assert r.status_code == 401
    assert r.json()["code"] == 401
    assert stub.requests[0].status == 401


def test_auth_can_be_disabled() -> None:
    with StubServer(auth=False) as stub:
        assert httpx.post(stub.url + EVENT, content=b"{}").status_code == 200


def test_credentials_change_at_run_time(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(credentials={"application_id": "new-id", "secret_key": "new-secret"})
    assert post(http).status_code == 401
    assert http.post(EVENT, content=b"{}", headers=auth("new-id", "new-secret")).status_code == 200
    stub.configure(credentials={"application_id": DEFAULT_APPLICATION_ID, "secret_key": DEFAULT_SECRET_KEY})
    assert post(http).status_code == 200


# -- recording -------------------------------------------------------------------------


def test_records_method_path_headers_raw_body_json_and_time(stub: StubServer, http: httpx.Client) -> None:
    before = time.time()
    post(http, CUSTOMER, b'{"customer": {"source_id": "u1"}}')
    (rec,) = stub.wait_for(1)
    assert rec.method == "POST"
    assert rec.path == CUSTOMER
    assert rec.headers["secret-key"] == auth()["secret-key"]
    assert rec.headers["content-type"] == "application/json"
    assert rec.body == b'{"customer": {"source_id": "u1"}}'
    assert rec.json == {"customer": {"source_id": "u1"}}
    assert before - 1 <= rec.time <= time.time() + 1
    assert rec.status == 200


def test_non_json_body_is_recorded_raw(stub: StubServer, http: httpx.Client) -> None:
    post(http, body=b"not json")
    assert stub.requests[0].body == b"not json"
    assert stub.requests[0].json is None


def test_wait_for_times_out(stub: StubServer) -> None:
    with pytest.raises(TimeoutError):
        stub.wait_for(1, timeout=0.05)


def test_reset_forgets_requests_and_script(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(script=[{"status": 500, "count": 5}])
    post(http)
    stub.reset()
    assert stub.requests == []
    assert post(http).status_code == 200


# -- faults ----------------------------------------------------------------------------


def test_latency_delays_responses(stub: StubServer, http: httpx.Client) -> None:
    post(http)  # warm the connection
    stub.configure(latency_ms=150)
    t0 = time.perf_counter()
    assert post(http).status_code == 200
    assert time.perf_counter() - t0 >= 0.14


def test_latency_jitter_stays_within_bounds(stub: StubServer) -> None:
    stub.configure(latency_ms=50, latency_jitter_ms=50, seed=3)
    delays = [stub.state.faults.decide().delay for _ in range(200)]
    assert all(0 <= d <= 0.1 for d in delays)
    assert len(set(delays)) > 100


def test_error_rate_5xx(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(error_rate_5xx=1.0, error_status=503)
    assert post(http).status_code == 503
    stub.configure(error_rate_5xx=0.0)
    assert post(http).status_code == 200


def test_rate_429_with_retry_after_and_x_rate_limit_retry(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(rate_429=1.0, retry_after=7, rate_limit_retry_in=30)
    r = post(http)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "7"
    assert abs(int(r.headers["x-rate-limit-retry"]) - (time.time() + 30)) <= 2


def test_rate_429_without_headers(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(rate_429=1.0)
    r = post(http)
    assert r.status_code == 429
    assert "retry-after" not in r.headers and "x-rate-limit-retry" not in r.headers


def test_slow_response_goes_past_a_client_timeout(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(slow_response_ms=1000)
    with pytest.raises(httpx.ReadTimeout):
        http.post(EVENT, content=b"{}", timeout=httpx.Timeout(5.0, read=0.2))


def test_reset_rate_aborts_the_connection(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(reset_rate=1.0)
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(http)
    assert stub.requests[0].status == 0
    stub.configure(reset_rate=0.0)
    assert post(http).status_code == 200


def test_script_fails_exactly_the_next_n_matching_requests(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(script=[{"status": 500, "count": 3, "path": EVENT}])
    assert post(http, CUSTOMER).status_code == 200  # other path: not consumed
    assert [post(http).status_code for _ in range(4)] == [500, 500, 500, 200]


def test_script_steps_run_in_order_and_can_reset_or_429(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(
        script=[
            {"status": 429, "retry_after": 2},
            {"reset": True},
            {"status": 404, "body": {"code": 404, "key": "not_found"}},
        ]
    )
    r = post(http)
    assert (r.status_code, r.headers["retry-after"]) == (429, "2")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        post(http)
    r = post(http)
    assert (r.status_code, r.json()["key"]) == (404, "not_found")
    assert post(http).status_code == 200


def test_seeded_faults_are_deterministic() -> None:
    def statuses() -> list[int]:
        with StubServer(seed=42, error_rate_5xx=0.3, rate_429=0.3) as stub:
            with httpx.Client(base_url=stub.url, headers=auth()) as http:
                return [post(http).status_code for _ in range(40)]

    first, second = statuses(), statuses()
    assert first == second
    assert {200, 500, 429} <= set(first)


def test_unknown_setting_is_rejected(stub: StubServer) -> None:
    with pytest.raises(ValueError):
        stub.configure(latency=5)
    r = httpx.post(stub.url + "/_stub/config", json={"nope": 1})
    assert r.status_code == 400


# -- control API (another process's view) ---------------------------------------------


def test_control_api_round_trip(stub: StubServer, http: httpx.Client) -> None:
    with StubControl(stub.url) as ctl:
        ctl.configure(script=[{"status": 503, "count": 1}])
        assert ctl.config()["script"][0]["status"] == 503
        post(http, body=b'{"n": 1}')
        post(http, CUSTOMER, body=b'{"n": 2}')
        assert ctl.wait_for(2, timeout=2) == 2
        stats = ctl.stats()
        assert stats["total"] == 2
        assert stats["by_path"] == {EVENT: {"503": 1}, CUSTOMER: {"200": 1}}
        reqs = ctl.requests(since=1)
        assert [(r.index, r.path, r.json, r.status) for r in reqs] == [(1, CUSTOMER, {"n": 2}, 200)]
        assert ctl.requests(path=EVENT)[0].body == b'{"n": 1}'
        ctl.reset()
        assert ctl.count() == 0


def test_reset_with_config_restores_start_up_settings() -> None:
    with StubServer(latency_ms=0) as stub, StubControl(stub.url) as ctl:
        ctl.configure(error_rate_5xx=1.0, credentials=None)
        ctl.reset(config=True)
        cfg = ctl.config()
        assert cfg["error_rate_5xx"] == 0 and cfg["auth"] is True


def test_cli_starts_a_stub_with_flags() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dev.stub", "--port", "0", "--error-rate-5xx", "1", "--error-status", "502",
         "--application-id", "a-id", "--secret-key", "s-key"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        url = line.strip().rsplit(" ", 1)[1]
        r = httpx.post(url + EVENT, content=b"{}", headers=auth("a-id", "s-key"))
        assert r.status_code == 502
        assert StubControl(url).stats()["by_path"][EVENT] == {"502": 1}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- rate limiter and outage switch -----------------------------------------------------


def test_rate_limit_answers_429_with_voucherify_headers_per_application_id(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(rate_limit_per_minute=60, rate_limit_burst=2, credentials=None)  # any app id accepted
    first = post(http)
    assert first.status_code == 200
    assert (first.headers["x-rate-limit-limit"], first.headers["x-rate-limit-remaining"]) == ("60", "1")
    assert post(http).status_code == 200
    r = post(http)
    assert r.status_code == 429
    assert r.json()["code"] == 429
    assert r.headers["x-rate-limit-remaining"] == "0"
    assert r.headers["retry-after"] == "1"
    assert time.time() <= int(r.headers["x-rate-limit-retry"]) <= time.time() + 2
    # another application id has its own bucket
    assert http.post(EVENT, content=b"{}", headers=auth(app_id="other")).status_code == 200
    assert stub.stats()["by_path"][EVENT] == {"200": 3, "429": 1}


def test_rate_limit_can_omit_retry_after_and_be_switched_off(stub: StubServer, http: httpx.Client) -> None:
    stub.configure(rate_limit_per_minute=60, rate_limit_burst=1, rate_limit_retry_after=False)
    post(http)
    r = post(http)
    assert r.status_code == 429 and "retry-after" not in r.headers and "x-rate-limit-retry" in r.headers
    stub.configure(rate_limit_per_minute=None)
    assert post(http).status_code == 200


def test_rate_limit_from_the_control_api(stub: StubServer, http: httpx.Client) -> None:
    with StubControl(stub.url) as ctl:
        cfg = ctl.configure(rate_limit_per_minute=120, rate_limit_burst=1)
        assert cfg["rate_limit_per_minute"] == 120
        assert [post(http).status_code for _ in range(2)] == [200, 429]
        with pytest.raises(httpx.HTTPStatusError):
            ctl.configure(rate_limit_burst=0)


@pytest.mark.parametrize("mode", ["503", "reset"])
def test_outage_fails_every_request_then_ends_by_itself(stub: StubServer, http: httpx.Client, mode: str) -> None:
    with StubControl(stub.url) as ctl:
        ctl.outage(mode, seconds=0.5)
        assert ctl.config()["outage"]["mode"] == mode
        if mode == "503":
            assert post(http).status_code == 503
        else:
            with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
                post(http)
        deadline = time.monotonic() + 5
        while ctl.config()["outage"] is not None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert post(http).status_code == 200
    assert [r.status for r in stub.requests] == [503 if mode == "503" else 0, 200]


def test_outage_can_be_ended_early(stub: StubServer, http: httpx.Client) -> None:
    with StubControl(stub.url) as ctl:
        ctl.outage("503", seconds=60)
        assert post(http).status_code == 503
        ctl.end_outage()
        assert post(http).status_code == 200


def test_refuse_outage_closes_the_port_and_reopens_it(stub: StubServer) -> None:
    with httpx.Client(base_url=stub.url, headers=auth(), timeout=2.0) as kept:
        assert post(kept).status_code == 200  # a keep-alive connection from before the outage
        stub.outage("refuse", seconds=1.0)
        time.sleep(0.3)
        with pytest.raises(httpx.ConnectError):
            httpx.post(stub.url + EVENT, content=b"{}", headers=auth(), timeout=2.0)
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            post(kept)  # the old connection is reset, not answered
        deadline = time.monotonic() + 5
        while True:
            try:
                r = httpx.post(stub.url + EVENT, content=b"{}", headers=auth(), timeout=2.0)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the port was not re-opened"
                time.sleep(0.05)
        assert r.status_code == 200


def test_refuse_outage_ended_early_in_process(stub: StubServer) -> None:
    stub.outage("refuse", seconds=60)
    time.sleep(0.2)
    with pytest.raises(httpx.ConnectError):
        httpx.post(stub.url + EVENT, content=b"{}", headers=auth(), timeout=2.0)
    stub.end_outage()
    time.sleep(0.1)
    assert httpx.post(stub.url + EVENT, content=b"{}", headers=auth(), timeout=2.0).status_code == 200


def test_bad_outage_request_is_400(stub: StubServer) -> None:
    assert httpx.post(stub.url + "/_stub/outage", json={"mode": "gone", "seconds": 1}).status_code == 400
