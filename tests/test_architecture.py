"""The layer contract (pyproject.toml [tool.importlinter], docs/ARCHITECTURE.md) holds.

Run here so CI checks it: a change that makes the engine import Kafka, or Segment semantics
import the destination, fails the suite instead of quietly eroding the design.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"  # import-linter, from the [test] extra
    assert lint_imports.exists(), "import-linter is not installed: run ./dev/bootstrap"
    result = subprocess.run(
        [str(lint_imports), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_no_hidden_imports_in_the_cli() -> None:
    """Subcommands are imported plainly: a missing module is an error, not a silently absent command."""
    for path in (ROOT / "processor" / "cli").glob("*.py"):
        assert "importlib" not in path.read_text(), path.name


def test_adapters_use_only_the_engines_ports() -> None:
    """kafka/, voucherify/, ops/ and webhooks/ implement the engine's ports; they never reach into
    its internals (pipeline, dispatch, ...), so the engine can be reshaped behind its ports."""
    import grimp  # import-linter's graph library

    graph = grimp.build_graph("processor")
    public = {"processor.engine", "processor.engine.ports", "processor.engine.headers"}
    reached = {
        f"{importer} -> {imported}"
        for adapter in ("kafka", "voucherify", "ops", "webhooks")
        for importer in graph.find_children(f"processor.{adapter}") | graph.find_descendants(f"processor.{adapter}")
        for imported in graph.find_modules_directly_imported_by(importer)
        if imported.startswith("processor.engine") and imported not in public
    }
    assert reached == set()
