"""The shipped configuration files stay valid as the model evolves."""

from __future__ import annotations

from pathlib import Path

import pytest

from processor.config import load_config

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"


@pytest.mark.parametrize("name", ["example.yaml", "local.yaml"])
def test_shipped_config_is_valid(name: str) -> None:
    env = {"VOUCHERIFY_APPLICATION_ID": "id", "VOUCHERIFY_SECRET_KEY": "key"} if name == "example.yaml" else {}
    cfg = load_config(CONFIG_DIR / name, environ=env)
    assert cfg.kafka.bootstrap_servers == "127.0.0.1:9092"
