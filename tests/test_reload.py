"""Reload: what changes live, what is refused by name, invalid files keep the running configuration,
requests coalesce, and --watch-config notices a changed file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from processor.app import build_destination
from processor.config import load_config
from processor.reload import ReloadService, Reloader, changed_settings, config_hash, effective_config

ENV = {"VOUCHERIFY_APPLICATION_ID": "app-id-secret", "VOUCHERIFY_SECRET_KEY": "secret-key-value"}


def doc(version: str = "v1", **sections: Any) -> dict[str, Any]:
    d: dict[str, Any] = {
        "destination": {"custom_url": "https://us1.segmentio.voucherify.io"},
        "kafka": {"bootstrap_servers": "127.0.0.1:9092"},
        "subscriptions": [
            {"name": "A", "subscribe": 'type = "track"', "action": "addCustomEvent",
             "mapping": {"customer": {"source_id": {"@path": "$.userId"}}, "event": {"@template": version}}},
            {"name": "B", "subscribe": 'type = "identify"', "action": "upsertCustomer"},
        ],
    }
    for name, values in sections.items():
        d.setdefault(name, {}).update(values)
    return d


def write(path: Path, d: dict[str, Any] | str) -> Path:
    path.write_text(d if isinstance(d, str) else yaml.safe_dump(d), encoding="utf-8")
    return path


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return write(tmp_path / "config.yaml", doc())


def reloader(path: Path) -> Reloader:
    return Reloader(path, load_config(path, environ=ENV), build=build_destination, environ=ENV)


def test_hash_is_of_the_configuration_without_secrets(config_file: Path) -> None:
    cfg = load_config(config_file, environ=ENV)
    other_secret = load_config(config_file, environ={**ENV, "VOUCHERIFY_SECRET_KEY": "rotated"})
    assert len(config_hash(cfg)) == 12
    assert config_hash(cfg) == config_hash(other_secret)  # the hash reveals nothing about secrets
    assert changed_settings(cfg, other_secret) == ["destination.secret_key"]  # ...but a change is seen


def test_members_with_their_own_ops_port_share_the_hash(config_file: Path) -> None:
    """``run --processes 2`` gives each member its own ops port (VP__OPS__HTTP_PORT): same file, same hash."""
    first = load_config(config_file, environ={**ENV, "VP__OPS__HTTP_PORT": "9108"})
    second = load_config(config_file, environ={**ENV, "VP__OPS__HTTP_PORT": "9109"})
    assert first.ops.http_port != second.ops.http_port
    assert config_hash(first) == config_hash(second)
    other = load_config(config_file, environ={**ENV, "VP__OPS__LOG_LEVEL": "DEBUG"})
    assert config_hash(other) != config_hash(first)  # shared settings still count


def test_reload_log_lines_name_the_member(config_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    r = Reloader(config_file, load_config(config_file, environ=ENV), build=build_destination, environ=ENV,
                 member="2/2")
    applied: list[Any] = []
    service = ReloadService(r, apply=lambda g, c: applied.append(g), record=lambda res, _: None)
    write(config_file, "")
    with caplog.at_level("INFO", logger="processor.reload"):
        service._finish(r.prepare(), 0.0)
        write(config_file, doc("v2"))
        service._finish(r.prepare(), 0.0)
    messages = [rec.getMessage() for rec in caplog.records]
    assert any(m.startswith("configuration reload refused, still running generation 1") and m.endswith("; member 2/2")
               for m in messages), messages
    assert any(m.startswith("configuration reloaded: generation 1 -> 2") and m.endswith("; member 2/2")
               for m in messages), messages


def test_live_and_refused_settings(config_file: Path, tmp_path: Path) -> None:
    running = load_config(config_file, environ=ENV)
    new_doc = doc("v2", destination={"requests_per_minute": 600, "custom_url": "https://eu1.segmentio.voucherify.io"},
                  kafka={"bootstrap_servers": "other:9092"}, engine={"max_in_flight": 10},
                  ops={"log_level": "DEBUG", "http_port": 9999})
    new = load_config(write(tmp_path / "new.yaml", new_doc), environ=ENV)
    effective, live, refused = effective_config(running, new)
    assert live == ["destination.requests_per_minute", "subscriptions", "ops.log_level"]
    assert refused == ["destination.custom_url", "kafka.bootstrap_servers", "engine.max_in_flight", "ops.http_port"]
    assert effective.subscriptions == new.subscriptions
    assert effective.destination.requests_per_minute == 600 and effective.ops.log_level == "DEBUG"
    assert effective.destination.custom_url == running.destination.custom_url  # refused: the running value
    assert effective.kafka == running.kafka and effective.engine == running.engine
    assert effective.ops.http_port == running.ops.http_port


@pytest.mark.parametrize(
    "change, result",
    [
        (doc("v2"), "applied"),
        (doc("v2", kafka={"group_id": "other"}), "partial"),
        (doc("v1", kafka={"group_id": "other"}), "refused"),
        (doc("v1"), "unchanged"),
    ],
)
def test_prepare_and_commit(config_file: Path, change: dict, result: str) -> None:
    r = reloader(config_file)
    first_hash = r.hash
    write(config_file, change)
    prepared = r.prepare()
    assert prepared.result == result
    generation = r.commit(prepared)
    if result in ("applied", "partial"):
        assert generation is not None and generation.number == 2 == r.generation
        assert generation.hash == r.hash != first_hash
        assert r.running.kafka.group_id == "voucherify-processor"  # never the refused value
    else:
        assert generation is None and r.generation == 1 and r.hash == first_hash


@pytest.mark.parametrize(
    "content, message",
    [
        ("subscriptions: [", "not valid YAML"),
        (doc(engine={"max_in_flight": 0}), "engine.max_in_flight"),
        ({**doc(), "subscriptions": [{"name": "A", "subscribe": '(type = "track"', "action": "addCustomEvent"}]},
         "subscriptions[0] 'A' subscribe: unclosed `(`"),
        ({**doc(), "subscriptions": [{"name": "A", "subscribe": 'type = "track"', "action": "addCustomEvent",
                                      "mapping": {"event": {"@path": 3}}}]}, "subscriptions[0] 'A' mapping /event/@path"),
    ],
)
def test_an_invalid_file_keeps_the_running_configuration(config_file: Path, content: Any, message: str) -> None:
    r = reloader(config_file)
    running, first_hash = r.running, r.hash
    write(config_file, content)
    prepared = r.prepare()
    assert prepared.result == "invalid" and message in prepared.error
    assert r.commit(prepared) is None
    assert r.running is running and r.hash == first_hash and r.generation == 1


@pytest.mark.parametrize("content", ["", "   \n\n", "# everything commented out\n# kafka: ...\n"])
def test_an_empty_file_on_reload_is_invalid_not_the_presets(config_file: Path, content: str) -> None:
    """At start-up an empty file means Segment's presets; on reload it is a truncated save: refused."""
    r = reloader(config_file)
    running, first_hash = r.running, r.hash
    write(config_file, content)
    prepared = r.prepare()
    assert prepared.result == "invalid"
    assert prepared.error == f"{config_file}: empty configuration file; keeping generation 1"
    assert r.commit(prepared) is None
    assert r.running is running and r.hash == first_hash and r.generation == 1


def test_a_missing_file_is_invalid_not_fatal(config_file: Path) -> None:
    r = reloader(config_file)
    config_file.unlink()
    assert r.prepare().result == "invalid"


def test_service_applies_on_the_loop_and_coalesces_requests(config_file: Path) -> None:
    applied: list[tuple[int, str]] = []
    recorded: list[str] = []

    async def scenario() -> None:
        stop = asyncio.Event()
        r = reloader(config_file)
        service = ReloadService(r, apply=lambda gen, cfg: applied.append((gen.number, cfg.subscriptions[0].mapping["event"]["@template"])),
                                record=lambda result, _: recorded.append(result))
        task = asyncio.create_task(service.run(stop))
        write(config_file, doc("v2"))
        service.request()
        service.request()  # before the first one started: one reload
        while service.reloads < 1:
            await asyncio.sleep(0.01)
        write(config_file, "not: [valid")
        service.request()
        while service.reloads < 2:
            await asyncio.sleep(0.01)
        write(config_file, doc("v3"))
        service.request()
        while service.reloads < 3:
            await asyncio.sleep(0.01)
        stop.set()
        task.cancel()

    asyncio.run(scenario())
    assert applied == [(2, "v2"), (3, "v3")]
    assert recorded == ["applied", "invalid", "applied"]


def test_watch_requests_a_reload_when_the_content_changes(config_file: Path) -> None:
    async def scenario() -> int:
        stop = asyncio.Event()
        r = reloader(config_file)
        service = ReloadService(r, apply=lambda gen, cfg: None, record=lambda result, _: None)
        runner = asyncio.create_task(service.run(stop))
        watcher = asyncio.create_task(service.watch(stop, interval_s=0.02))
        await asyncio.sleep(0.1)
        assert service.reloads == 0  # unchanged file: no reload
        write(config_file, doc("v2"))
        while service.reloads < 1:
            await asyncio.sleep(0.01)
        stop.set()
        await watcher
        runner.cancel()
        return r.generation

    assert asyncio.run(scenario()) == 2
