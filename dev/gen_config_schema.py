"""Regenerate ``schemas/config.schema.json`` from the pydantic config model.

The schema lets editors (VS Code YAML, JetBrains) validate and complete config files; it is
generated, never hand-edited, and a test fails when the committed file is stale.

    python -m dev.gen_config_schema          # rewrite the file
    python -m dev.gen_config_schema --check  # exit 1 if it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from processor.config import AppConfig

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.json"


def render() -> str:
    """The schema text exactly as committed (stable key order, trailing newline)."""
    schema = AppConfig.model_json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **schema,
        "title": "voucherify-processor configuration",
    }
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail instead of writing when out of date")
    args = parser.parse_args(argv)
    text = render()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else ""
    if args.check:
        if current != text:
            print(f"{SCHEMA_PATH} is out of date; run: python -m dev.gen_config_schema", file=sys.stderr)
            return 1
        return 0
    if current != text:
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
