"""The README and docs work when pasted (issue 12 item 12): prerequisites first, a container
configuration that can work in a container, variable names a shell accepts, figures that match."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from processor.config import load_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_prerequisites_come_before_the_two_commands() -> None:
    first_command = README.index("./dev/demo")
    before = README[:first_command]
    for needed in ("Python 3.11", "Java 17", "Maven"):
        assert needed in before, f"{needed} is not stated before ./dev/demo"


def test_the_container_configuration_can_work_in_a_container() -> None:
    path = ROOT / "config" / "container.yaml"
    cfg = load_config(path, environ={"VOUCHERIFY_APPLICATION_ID": "id", "VOUCHERIFY_SECRET_KEY": "key"})
    assert cfg.ops.http_host == "0.0.0.0"
    for text in (cfg.kafka.bootstrap_servers, cfg.destination.custom_url, cfg.ops.http_host):
        assert "127.0.0.1" not in text and "localhost" not in text
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY config/container.yaml /etc/voucherify-processor/config.yaml" in dockerfile
    assert 'CMD ["run", "--config", "/etc/voucherify-processor/config.yaml"]' in dockerfile
    for text in (README, dockerfile):
        for block in re.findall(r"docker run[^\n]*(?:\\\n[^\n]*)*", text):
            assert "local.yaml" not in block, block
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert "local.yaml" not in str(compose["services"]["processor"])


def test_every_documented_variable_can_be_exported_from_a_shell() -> None:
    names = set(re.findall(r"\b(?:VP__|VOUCHERIFY_)[A-Za-z0-9_.]*", README))
    assert "VP__KAFKA__SASL_PASSWORD" in names
    bad = sorted(n for n in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", n))
    assert bad == [], f"not valid shell variable names: {bad}"


def test_reliability_doc_quotes_the_current_test_count() -> None:
    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    quoted = re.search(r"`pytest -m reliability tests/reliability` = (\d+) tests", doc)
    assert quoted, "docs/reliability.md no longer quotes the suite's size"
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "reliability", "tests/reliability"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    count = re.search(r"(\d+)(?:/\d+)? tests? collected", collected.stdout)
    assert count, collected.stdout[-2000:]
    assert int(quoted.group(1)) == int(count.group(1))


def test_metrics_ports_of_run_processes_are_documented() -> None:
    """Issue 12 item 11: ``run --processes 2`` serves metrics on 9108 and 9109."""
    from processor.cli.main import build_parser

    assert "`ops.http_port + i` (9108, 9109, ...)" in README
    run_help = build_parser()._subparsers._group_actions[0].choices["run"].format_help()  # type: ignore[union-attr]
    assert "ops.http_port + i" in " ".join(run_help.split())
