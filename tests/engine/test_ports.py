"""The engine stands on its own ports: it loads no Kafka or HTTP client, nor do its unit tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from processor.engine import headers as h
from processor.engine.ports import MSG_SIZE_TOO_LARGE, ProduceError


def test_the_engine_imports_neither_kafka_nor_voucherify():
    code = (
        "import sys\n"
        "import processor.engine.pipeline, processor.engine.handoff, processor.engine.headers\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('confluent_kafka', 'aiohttp', 'httpx', 'pyreqwest', 'httptools')\n"
        "             or m.startswith(('processor.kafka', 'processor.voucherify')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_produce_error_knows_a_record_too_large_for_the_broker():
    assert ProduceError("t: Message size too large", MSG_SIZE_TOO_LARGE).too_large
    assert not ProduceError("t: timed out", 7).too_large
    assert not ProduceError("t: unknown").too_large


def test_headers_decode_tolerates_what_other_tools_write():
    assert h.decode_headers(None) == {}
    assert h.decode_headers([("a", None), ("b", "text"), ("c", b"\xff"), ("a", b"last")]) == {
        "a": "last", "b": "text", "c": "\ufffd"}
    assert h.encode_headers({"x": None, "y": 3}) == [("x", b""), ("y", b"3")]


def test_the_engine_unit_tests_run_without_a_kafka_client():
    """``pytest tests/engine`` with confluent-kafka made unimportable: fakes stand in for every port."""
    me = "tests/engine/test_ports.py::test_the_engine_unit_tests_run_without_a_kafka_client"
    code = (
        "import sys\n"
        "sys.modules['confluent_kafka'] = None  # any import of it now raises ImportError\n"
        "import pytest\n"
        f"sys.exit(pytest.main(['tests/engine', '-q', '-p', 'no:cacheprovider', '--deselect', {me!r}]))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, cwd=root)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert " passed" in out.stdout
