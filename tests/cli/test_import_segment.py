"""``import-segment``: Segment's Public API export -> our config, per-subscription report, no secrets.

The fixtures in ``tests/importer/segment_export/`` are the Public API's shapes: the destination
(with its credentials in ``settings``), three pages of subscriptions (cursors, ``totalEntries``),
a disabled subscription, a repeated name, a subscription of another destination (Slack's
``postToChannel``), an odd trigger and an unknown Liquid filter.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from argparse import Namespace
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest
import yaml

from dev.sample_events import sample_events
from processor.cli import dry_run, import_segment
from processor.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXPORT = ROOT / "tests" / "importer" / "segment_export"
FILES = [str(EXPORT / n) for n in ("subscriptions-page-2.json", "destination.json", "subscriptions-page-3.json", "subscriptions-page-1.json")]
DESTINATION = orjson.loads((EXPORT / "destination.json").read_bytes())["data"]["destination"]
APP_ID = DESTINATION["settings"]["apiKey"]
SECRET = DESTINATION["settings"]["secretKey"]


def secret_forms() -> list[str]:
    return [s for v in (APP_ID, SECRET) for s in (v, base64.b64encode(v.encode()).decode())]


def args(files: list[str], **kw: Any) -> Namespace:
    defaults = dict(output=None, into=None, custom_url=None, destination_id=None,
                    token_env="SEGMENT_PUBLIC_API_TOKEN", api_url="https://api.segmentapis.com")
    return Namespace(files=files, **{**defaults, **kw})


def run_import(capsys: pytest.CaptureFixture[str], files: list[str], stdin: bytes = b"", **kw: Any) -> tuple[int, str, str]:
    stdout = io.StringIO()
    code = import_segment.run(args(files, **kw), stdin=io.BytesIO(stdin), stdout=stdout)
    return code, stdout.getvalue(), capsys.readouterr().err


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VOUCHERIFY_APPLICATION_ID", "VOUCHERIFY_SECRET_KEY", "SEGMENT_PUBLIC_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def report_lines(err: str) -> dict[str, str]:
    """subscription name -> its status column (``  <status>  '<name>'  <action>`` lines)."""
    statuses = "imported with warnings|imported|refused"
    lines = (re.match(rf"^  ((?:{statuses})(?: \(disabled\))?) +'(.+?)' +\S+$", line) for line in err.splitlines())
    return {m[2]: m[1] for m in lines if m}


def test_export_becomes_config_in_segment_order(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, FILES)
    assert code == 1  # written, but one subscription was refused: the exit code says so
    config = yaml.safe_load(out)
    assert config["destination"] == {"custom_url": "https://us1.segmentio.voucherify.io"}
    subs = config["subscriptions"]
    assert [s["name"] for s in subs] == [
        "Order Completed to Voucherify", "Identify Calls", "Page Views", "Identify Calls (2)",
        "Coupons", "Group Calls", "Screen Views",
    ]
    first = subs[0]
    assert first["subscribe"] == 'type = "track" and event = "Order Completed"'
    assert first["action"] == "addCustomEvent"
    assert first["mapping"]["metadata"]["order_id"] == {"@path": "$.properties.order_id"}
    assert "enabled" not in first
    assert subs[2]["enabled"] is False  # disabled in Segment: stays disabled
    assert report_lines(err) == {
        "Order Completed to Voucherify": "imported",
        "Identify Calls": "imported",
        "Page Views": "imported (disabled)",
        "Identify Calls (2)": "imported with warnings",
        "Coupons": "imported with warnings",
        "Post big orders to #sales": "refused",
        "Group Calls": "imported",
        "Screen Views": "imported",
    }
    assert "renamed from 'Identify Calls': another subscription already has that name" in err
    assert "`and` and `or` are mixed without parentheses" in err
    assert 'mapping /metadata/coupon/@liquid: filter "upcse" is not a Liquid filter' in err
    assert ("action 'postToChannel' is not an action of Voucherify (Actions) (addCustomEvent, upsertCustomer, "
            "assignCustomerToGroup): this subscription belongs to another destination's export") in err
    assert "check: ok" in err
    assert "7 of 8 subscription(s) (5 imported, 2 with warnings, 1 refused)" in err


def test_secrets_are_never_written_and_named_masked(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "my.yaml"
    code, out, err = run_import(capsys, FILES, output=str(target))
    written = target.read_text()
    for form in secret_forms():
        assert form not in written and form not in err and form not in out
    assert "VOUCHERIFY_APPLICATION_ID=********" in err
    assert "VOUCHERIFY_SECRET_KEY=********" in err
    assert err.count("VOUCHERIFY_SECRET_KEY=") == 1  # printed once
    assert "set VOUCHERIFY_APPLICATION_ID and VOUCHERIFY_SECRET_KEY" in written  # the file names them too
    assert "Not imported: 'Post big orders to #sales'" in written


@pytest.fixture
def imported(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixtures imported into a file; the secrets set in the environment, as the report asks."""
    target = tmp_path / "imported.yaml"
    run_import(capsys, FILES, output=str(target))
    monkeypatch.setenv("VOUCHERIFY_APPLICATION_ID", APP_ID)
    monkeypatch.setenv("VOUCHERIFY_SECRET_KEY", SECRET)
    return target


def test_written_config_passes_the_full_loader_with_secrets_from_env(imported: Path) -> None:
    from processor.config import load_config
    from processor.voucherify.destination import Destination

    cfg = load_config(imported)
    destination = Destination.from_config(cfg)
    assert "Page Views" not in destination.subscription_names  # disabled
    assert len(destination.subscription_names) == 6


def dry_run_output(config: Path, events: bytes) -> list[dict]:
    stdout = io.BytesIO()
    # 8: examples/events.ndjson holds lines run dead-letters (not JSON, rejected), as dry-run reports
    assert dry_run.run(Namespace(config=str(config), events="-"), stdin=io.BytesIO(events), stdout=stdout) == 8
    return [orjson.loads(line) for line in stdout.getvalue().splitlines()]


def test_round_trip_dry_run_matches_the_subscriptions_pasted_by_hand(imported: Path) -> None:
    events = b"\n".join(orjson.dumps(e) for e in sample_events(400)) + b"\n" + (ROOT / "examples" / "events.ndjson").read_bytes()
    from_import = dry_run_output(imported, events)
    by_hand = dry_run_output(EXPORT / "pasted-by-hand.yaml", events)
    assert from_import == by_hand
    sent = {r["subscription"] for line in from_import for r in line.get("results", []) if r["outcome"] == "send"}
    # every enabled subscription whose trigger can match did send something: the comparison is not vacuous
    assert sent >= {"Order Completed to Voucherify", "Identify Calls", "Identify Calls (2)", "Group Calls", "Screen Views"}
    assert "Page Views" not in sent


def test_into_keeps_the_other_sections_and_comments(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mine = tmp_path / "my.yaml"
    mine.write_text(
        "# production settings\n"
        "destination:\n"
        "  custom_url: https://old.example.com  # replaced by the export's\n"
        "  read_timeout_s: 7\n"
        "subscriptions:\n"
        "  - {name: Old, subscribe: 'type = \"track\"', action: addCustomEvent}\n"
        "kafka:\n"
        "  bootstrap_servers: broker-1:9094   # our cluster\n"
        "  source_topic: prod.segment\n"
        "engine:\n"
        "  max_in_flight: 1234\n",
        encoding="utf-8",
    )
    code, out, err = run_import(capsys, FILES, into=str(mine))
    assert out == ""  # --into without -o updates the file itself
    text = mine.read_text()
    config = yaml.safe_load(text)
    assert config["kafka"] == {"bootstrap_servers": "broker-1:9094", "source_topic": "prod.segment"}
    assert config["engine"] == {"max_in_flight": 1234}
    assert config["destination"] == {"custom_url": "https://us1.segmentio.voucherify.io", "read_timeout_s": 7}
    assert [s["name"] for s in config["subscriptions"]][:2] == ["Order Completed to Voucherify", "Identify Calls"]
    assert "Old" not in [s["name"] for s in config["subscriptions"]]
    assert "# production settings" in text and "# our cluster" in text
    assert f"wrote {mine}" in err


def test_stdin_list_and_custom_url(capsys: pytest.CaptureFixture[str]) -> None:
    page = orjson.loads((EXPORT / "subscriptions-page-3.json").read_bytes())["data"]["subscriptions"]
    code, out, err = run_import(capsys, ["-"], stdin=orjson.dumps(page), custom_url="https://eu1.segmentio.voucherify.io")
    assert code == 0, err
    config = yaml.safe_load(out)
    assert config["destination"]["custom_url"] == "https://eu1.segmentio.voucherify.io"
    assert [s["name"] for s in config["subscriptions"]] == ["Group Calls", "Screen Views"]
    assert "your Application ID; the inputs hold none" in err


def test_without_destination_or_url_the_check_names_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, [str(EXPORT / "subscriptions-page-3.json")])
    assert code == 1
    assert "set destination.custom_url" in err
    assert "check: FAIL" in err and "destination.custom_url" in err


def test_what_the_processor_would_refuse_at_start_up_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    subs = [
        {"name": "Disabled filter", "actionSlug": "addCustomEvent", "trigger": 'type = "track"',
         "settings": {"event": {"@liquid": "{{ properties.items | map: 'sku' }}"}}},
        {"name": "Broken trigger", "actionSlug": "addCustomEvent", "trigger": '(type = "track"', "settings": {}},
        {"name": "No action", "trigger": 'type = "track"', "settings": {}},
        {"name": "Fine", "actionSlug": "upsertCustomer", "trigger": 'type = "identify"', "settings": {}},
    ]
    code, out, err = run_import(capsys, ["-"], stdin=orjson.dumps(subs), custom_url="https://us1.segmentio.voucherify.io")
    assert code == 1
    assert [s["name"] for s in yaml.safe_load(out)["subscriptions"]] == ["Fine"]
    assert report_lines(err) == {"Disabled filter": "refused", "Broken trigger": "refused",
                                 "No action": "refused", "Fine": "imported with warnings"}
    assert 'mapping /event/@liquid: filter "map" is disabled, line:1, col:1' in err
    assert "subscribe: unclosed `(`" in err and "it names no action (actionSlug)" in err
    assert "the mapping is empty" in err


def test_json_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "my.json"
    run_import(capsys, FILES, output=str(target))
    config = json.loads(target.read_text())
    assert len(config["subscriptions"]) == 7


@pytest.mark.parametrize(
    "content, message",
    [(b"not json", "stdin: not JSON"), (b'{"data": {"workspace": {}}}', "not a Segment Public API")],
)
def test_bad_input_writes_nothing_exit_2(capsys: pytest.CaptureFixture[str], content: bytes, message: str) -> None:
    code, out, err = run_import(capsys, ["-"], stdin=content)
    assert code == 2 and out == "" and message in err


def test_registered_as_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-segment"]) == 2
    assert "--destination-id" in capsys.readouterr().err


class _FakePublicApi(BaseHTTPRequestHandler):
    """Segment's Public API for one destination: bearer token, cursor pagination, 2 per page."""

    token = "sgp_test_token_123456"
    pages = {None: "subscriptions-page-1.json", "Mw==": "subscriptions-page-2.json", "Ng==": "subscriptions-page-3.json"}
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        url = urlsplit(self.path)
        self.seen.append(self.path)
        if self.headers.get("authorization") != f"Bearer {self.token}":
            return self._send(401, {"errors": [{"type": "unauthorized", "message": "Unauthorized"}]})
        if url.path == "/destinations/64b7c2d0e8f1a93c5d2e4f17":
            return self._send(200, orjson.loads((EXPORT / "destination.json").read_bytes()))
        if url.path == "/destinations/64b7c2d0e8f1a93c5d2e4f17/subscriptions":
            cursor = parse_qs(url.query).get("pagination.cursor", [None])[0]
            return self._send(200, orjson.loads((EXPORT / self.pages[cursor]).read_bytes()))
        return self._send(404, {"errors": [{"type": "not-found", "message": "Not Found"}]})

    def _send(self, status: int, body: Any) -> None:
        data = orjson.dumps(body)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a: Any) -> None:
        pass


@pytest.fixture
def public_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakePublicApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_fetch_with_a_token_from_the_environment(
    capsys: pytest.CaptureFixture[str], public_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENT_PUBLIC_API_TOKEN", _FakePublicApi.token)
    code, out, err = run_import(capsys, [], destination_id="64b7c2d0e8f1a93c5d2e4f17", api_url=public_api)
    assert code == 1, err  # the foreign subscription is refused, as from files
    assert len(yaml.safe_load(out)["subscriptions"]) == 7
    assert any("pagination.cursor=Ng%3D%3D" in p for p in _FakePublicApi.seen)
    assert _FakePublicApi.token not in err + out


def test_fetch_errors_name_the_cause_not_the_token(
    capsys: pytest.CaptureFixture[str], public_api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_import(capsys, [], destination_id="x", api_url=public_api)
    assert code == 2 and "needs a Segment Public API token in $SEGMENT_PUBLIC_API_TOKEN" in err
    monkeypatch.setenv("SEGMENT_PUBLIC_API_TOKEN", "wrong-token-value")
    code, out, err = run_import(capsys, [], destination_id="x", api_url=public_api)
    assert code == 2 and "401: the token was rejected" in err and "wrong-token-value" not in err


def test_a_segment_shaped_subscription_in_a_config_points_to_the_import(tmp_path: Path) -> None:
    """The issue's report: pasting the Public API's shape failed with ``action: Field required`` and
    ``partnerAction: Extra inputs are not permitted``; now the message says what to do."""
    from processor.config import ConfigFileError, parse_config

    sub = orjson.loads((EXPORT / "subscriptions-page-1.json").read_bytes())["data"]["subscriptions"][0]
    for shape in (sub, {"name": "x", "subscribe": 'type = "track"', "partnerAction": "addCustomEvent"}):
        with pytest.raises(ConfigFileError) as info:
            parse_config({"destination": {"custom_url": "https://x.io", "application_id": "a", "secret_key": "b"},
                          "subscriptions": [shape]})
        message = str(info.value)
        assert "subscriptions[0]: this is Segment's subscription shape" in message
        assert "voucherify-processor import-segment" in message
        assert "Field required" not in message


YAML11_WORDS = ["no", "NO", "on", "Off", "yes", "null", "~", "123", "1e3", "0x1F", "1_000", "1:20", "2024-01-01", ":x", "#x", "- x", " lead", ""]


def test_strings_read_back_identically_by_the_processors_loader(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """ruamel writes YAML 1.2, the processor reads YAML 1.1: every string must survive the trip."""
    subs = [{"id": f"s{i}", "name": word or "x", "actionSlug": "addCustomEvent", "trigger": 'type = "track"',
             "settings": {"event": word, "customer": {"source_id": {"@path": "$.userId"}},
                          "metadata": {"flag": {"@literal": word}, word or "k": "v"}}}
            for i, word in enumerate(YAML11_WORDS)]
    target = tmp_path / "out.yaml"
    code, _, err = run_import(capsys, ["-"], stdin=orjson.dumps(subs), output=str(target),
                              custom_url="https://us1.segmentio.voucherify.io")
    assert code == 0, err
    from processor.config import read_document
    config = read_document(target)
    for sub, word in zip(config["subscriptions"], YAML11_WORDS):
        assert sub["name"] == (word or "x")
        assert sub["mapping"]["event"] == word
        assert sub["mapping"]["metadata"] == {"flag": {"@literal": word}, word or "k": "v"}


def test_a_subscription_named_yes_passes_check_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    subs = [{"name": "yes", "actionSlug": "upsertCustomer", "trigger": 'type = "identify"',
             "settings": {"source_id": {"@path": "$.userId"}}}]
    target = tmp_path / "out.yaml"
    code, _, err = run_import(capsys, ["-"], stdin=orjson.dumps(subs), output=str(target),
                              custom_url="https://us1.segmentio.voucherify.io")
    assert code == 0, err
    from processor.config import read_document
    from processor.importer.translate import check_document
    document = read_document(target)
    assert [s["name"] for s in document["subscriptions"]] == ["yes"]
    assert check_document(document, environ={}, source=str(target)) is None


def test_written_text_is_reread_and_refused_when_it_differs(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the quoting wrong, the re-read with the processor's loader refuses: nothing written, exit 2."""
    monkeypatch.setattr(import_segment, "_ambiguous", lambda value: False)
    subs = [{"name": "Flag", "actionSlug": "addCustomEvent", "trigger": 'type = "track"',
             "settings": {"event": {"@literal": "no"}}}]
    target = tmp_path / "out.yaml"
    code, out, err = run_import(capsys, ["-"], stdin=orjson.dumps(subs), output=str(target),
                                custom_url="https://us1.segmentio.voucherify.io")
    assert code == 2 and not target.exists()
    assert "would not read back" in err and "meant 'no', reads False" in err


def test_into_a_json_config_with_floats(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mine = tmp_path / "cfg.json"
    mine.write_text(json.dumps({"destination": {"custom_url": "https://old.example.com"},
                                "engine": {"retry_delays_s": [2.0, 10.0], "max_age_s": 600.0}}))
    code, out, err = run_import(capsys, FILES, into=str(mine))
    assert "Traceback" not in err and "wrote" in err, err
    config = json.loads(mine.read_text())
    assert config["engine"] == {"retry_delays_s": [2.0, 10.0], "max_age_s": 600.0}
    assert len(config["subscriptions"]) == 7


def test_into_a_yaml_config_reads_it_as_the_processor_does(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``log_color: no`` in the user's file is false for the processor: it must stay false, not become 'no'."""
    mine = tmp_path / "my.yaml"
    mine.write_text("destination:\n  custom_url: https://old.example.com\nextra_flag: no\n", encoding="utf-8")
    code, out, err = run_import(capsys, FILES, into=str(mine))
    from processor.config import read_document
    assert read_document(mine)["extra_flag"] is False, err


VOUCHERIFY_SUB = {"id": "v1", "name": "Identify", "actionSlug": "upsertCustomer", "destinationId": DESTINATION["id"],
                  "trigger": 'type = "identify"', "settings": {"source_id": {"@path": "$.userId"}}}


def test_a_subscription_of_another_destination_id_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    other = {**VOUCHERIFY_SUB, "id": "v2", "name": "Elsewhere", "destinationId": "dest_OTHER"}
    subs = tmp_path / "subs.json"
    subs.write_bytes(orjson.dumps([VOUCHERIFY_SUB, other]))
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json"), str(subs)])
    assert code == 1
    assert [s["name"] for s in yaml.safe_load(out)["subscriptions"]] == ["Identify"]
    assert report_lines(err)["Elsewhere"] == "refused"
    assert f"it belongs to another destination (destinationId dest_OTHER), not the exported destination {DESTINATION['id']}" in err


def test_subscriptions_with_a_destination_export_of_another_type_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    slack = tmp_path / "slack.json"
    slack.write_bytes(orjson.dumps({"data": {"destination": {
        "id": "dest_SLACK", "name": "Slack", "metadata": {"name": "Slack (Actions)", "slug": "actions-slack"},
        "settings": {"webhookUrl": "https://hooks.slack.com/services/T0/B0/X"}}}}))
    subs = tmp_path / "subs.json"
    subs.write_bytes(orjson.dumps([{k: v for k, v in VOUCHERIFY_SUB.items() if k != "destinationId"}]))
    code, out, err = run_import(capsys, [str(slack), str(subs)], custom_url="https://us1.segmentio.voucherify.io")
    assert code == 2 and out == ""  # nothing importable: nothing written
    assert report_lines(err) == {"Identify": "refused"}
    assert "is a 'actions-slack', not Voucherify (Actions): its subscriptions are not imported" in err


def test_repeated_into_replaces_the_header_instead_of_piling_it_up(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    mine = tmp_path / "my.yaml"
    mine.write_text("# production settings\ndestination:\n  custom_url: https://old.example.com\n", encoding="utf-8")
    run_import(capsys, FILES, into=str(mine))
    first = mine.read_text()
    page = orjson.loads((EXPORT / "subscriptions-page-1.json").read_bytes())["data"]["subscriptions"]
    run_import(capsys, ["-"], stdin=orjson.dumps(page), into=str(mine))
    run_import(capsys, ["-"], stdin=orjson.dumps(page), into=str(mine))
    text = mine.read_text()
    assert text.count("Imported from Segment") == 1 and text.count("Secrets are not in this file") == 1
    assert "Not imported: 'Post big orders to #sales'" in first and "Not imported" not in text  # stale line gone
    assert text.count("# production settings") == 1


def test_no_subscriptions_given_writes_nothing_and_keeps_the_existing_ones(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json")])
    assert code == 2 and out == "" and "the inputs hold no subscriptions" in err
    mine = tmp_path / "my.yaml"
    before = "destination:\n  custom_url: https://old.example.com\nsubscriptions:\n  - {name: Old, subscribe: 'type = \"track\"', action: addCustomEvent}\n"
    mine.write_text(before, encoding="utf-8")
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json")], into=str(mine))
    assert code == 2 and mine.read_text() == before
    assert f"{mine}'s subscriptions kept" in err


def test_enabled_not_a_boolean_is_refused_not_guessed(capsys: pytest.CaptureFixture[str]) -> None:
    subs = [{**VOUCHERIFY_SUB, "id": "v3", "name": "Stringly", "enabled": "false"}, VOUCHERIFY_SUB]
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json"), "-"], stdin=orjson.dumps(subs))
    assert code == 1
    assert [s["name"] for s in yaml.safe_load(out)["subscriptions"]] == ["Identify"]
    assert report_lines(err)["Stringly"] == "refused"
    assert "enabled is 'false' (str), not true or false" in err


def test_an_empty_name_is_renamed_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    subs = [{**VOUCHERIFY_SUB, "id": "s9", "name": "  "}]
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json"), "-"], stdin=orjson.dumps(subs))
    assert code == 0
    assert report_lines(err) == {"Subscription s9": "imported with warnings"}
    assert "Segment's name is '  ': named 'Subscription s9'" in err


def test_null_settings_mean_the_actions_default_mapping_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    subs = [{**VOUCHERIFY_SUB, "settings": None}]
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json"), "-"], stdin=orjson.dumps(subs))
    assert code == 0, err
    (sub,) = yaml.safe_load(out)["subscriptions"]
    assert "mapping" not in sub  # the processor's "the action's default mapping"
    assert report_lines(err) == {"Identify": "imported with warnings"}
    assert "imported with the action's default mapping" in err and "the mapping is empty" not in err


def test_a_utf8_bom_file_is_read(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bom = tmp_path / "subs.json"
    bom.write_bytes(b"\xef\xbb\xbf" + orjson.dumps([VOUCHERIFY_SUB]))
    code, out, err = run_import(capsys, [str(EXPORT / "destination.json"), str(bom)])
    assert code == 0, err
    assert [s["name"] for s in yaml.safe_load(out)["subscriptions"]] == ["Identify"]
