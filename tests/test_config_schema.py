"""The committed JSON Schema of the config file matches the pydantic model."""

from __future__ import annotations

from dev.gen_config_schema import SCHEMA_PATH, render


def test_committed_config_schema_is_up_to_date() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run: python -m dev.gen_config_schema"
