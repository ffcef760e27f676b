"""The receiver's configuration: the shipped manifest parses, bad fields are named, the secret stays hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from processor.config import ConfigFileError, parse_config
from processor.webhooks.config import load_receiver_config, parse_receiver_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_kubernetes_configmap_is_a_valid_receiver_config(tmp_path) -> None:
    docs = list(yaml.safe_load_all((ROOT / "deploy/k8s/webhooks.yaml").read_text()))
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]["config.yaml"]
    path = tmp_path / "config.yaml"
    path.write_text(config)
    cfg = load_receiver_config(path, environ={"VOUCHERIFY_WEBHOOK_SECRET": "from-env"})
    assert cfg.webhooks.secret_bytes() == b"from-env"
    assert cfg.webhooks.topic == "voucherify-events"


def test_one_file_serves_run_and_webhooks() -> None:
    doc = {
        "destination": {"application_id": "a", "secret_key": "b", "custom_url": "http://x"},
        "engine": {"max_in_flight": 10},
        "webhooks": {"secret": "s3cret", "rename": {"voucher.published": "Coupon Assigned"}},
    }
    assert parse_receiver_config(doc).webhooks.rename == {"voucher.published": "Coupon Assigned"}
    assert parse_config(doc).webhooks is not None


@pytest.mark.parametrize(
    "webhooks, message",
    [
        ({}, "webhooks: secret is required"),
        ({"secret": "x", "secret_file": "/tmp/s"}, "secret and secret_file are both set"),
        ({"secret": "x", "exclude": ["voucher.exploded"]}, "exclude: unknown Voucherify event type(s) voucher.exploded"),
        ({"secret": "x", "rename": {"voucher.published": " "}}, "webhooks.rename: empty Segment event name"),
        ({"secret": "x", "path": "no-slash"}, "webhooks.path"),
        ({"secret": "x", "colour": "blue"}, "webhooks.colour: unknown option; valid here: "),
    ],
)
def test_bad_fields_are_named(webhooks, message) -> None:
    with pytest.raises(ConfigFileError) as info:
        parse_receiver_config({"webhooks": webhooks})
    assert message in str(info.value)


def test_the_secret_never_prints() -> None:
    cfg = parse_receiver_config({"webhooks": {"secret": "very-secret-value"}})
    assert "very-secret-value" not in repr(cfg) and "very-secret-value" not in str(cfg.model_dump())
