"""Logging: JSON shape and secret redaction in every place a secret could appear."""

from __future__ import annotations

import base64
import io
import logging
from collections.abc import Iterator

import orjson
import pytest

from processor.ops.logging import REDACTED, configure_logging

APP_ID = "app-id-1234567"
SECRET = "very-secret-key-abcdef"


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("DEBUG", "json", [APP_ID, SECRET], stream=stream)
    yield stream
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_voucherify_processor", False):
            root.removeHandler(h)


def _lines(stream: io.StringIO) -> list[dict]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines()]


def test_json_shape_and_extra_fields(output: io.StringIO) -> None:
    logging.getLogger("processor.test").info("hello %s", "world", extra={"partition": 3, "topic": "t"})
    [line] = _lines(output)
    assert line["level"] == "INFO" and line["logger"] == "processor.test"
    assert line["message"] == "hello world"
    assert line["partition"] == 3 and line["topic"] == "t"
    assert line["timestamp"].endswith("+00:00")


def test_secrets_and_their_encodings_are_redacted(output: io.StringIO) -> None:
    b64 = base64.b64encode(SECRET.encode()).decode()
    app_b64 = base64.b64encode(APP_ID.encode()).decode()
    log = logging.getLogger("processor.test")
    log.warning("key=%s header=%s", SECRET, b64)
    log.warning("authorization: Basic %s", app_b64)
    log.warning("request", extra={"headers": {"secret-key": b64, "x": [APP_ID]}, "note": f"id {APP_ID}"})
    text = output.getvalue()
    for needle in (SECRET, b64, APP_ID, app_b64, b64.rstrip("=")):
        assert needle not in text
    lines = _lines(output)
    assert lines[0]["message"] == f"key={REDACTED} header={REDACTED}"
    assert lines[1]["message"] == f"authorization: {REDACTED}"
    assert lines[2]["headers"] == {"secret-key": REDACTED, "x": [REDACTED]}


def test_librdkafka_passwords_redacted_even_if_unknown(output: io.StringIO) -> None:
    conf = {"bootstrap.servers": "b:9092", "sasl.password": "hunter2-pw", "ssl.key.password": "kp-999"}
    log = logging.getLogger("processor.kafka")
    log.info("consumer config %s", conf)
    log.info("config", extra={"conf": conf})
    log.info("set sasl.password=plainpw1 ok")
    text = output.getvalue()
    assert "hunter2-pw" not in text and "kp-999" not in text and "plainpw1" not in text
    assert "b:9092" in text
    assert _lines(output)[1]["conf"]["sasl.password"] == REDACTED


def test_exceptions_are_redacted(output: io.StringIO) -> None:
    try:
        raise RuntimeError(f"bad key {SECRET}")
    except RuntimeError:
        logging.getLogger("x").exception("failed")
    [line] = _lines(output)
    assert SECRET not in output.getvalue() and REDACTED in line["exception"]


def test_text_format_redacts_too() -> None:
    stream = io.StringIO()
    configure_logging("INFO", "text", [SECRET], stream=stream)
    try:
        logging.getLogger("t").info("k=%s", SECRET, extra={"k2": SECRET})
        assert SECRET not in stream.getvalue() and "k2=***" in stream.getvalue()
    finally:
        root = logging.getLogger()
        for h in list(root.handlers):
            if getattr(h, "_voucherify_processor", False):
                root.removeHandler(h)


def test_librdkafka_repeats_are_held_back_and_counted():
    """Issue 12 item 2: a broker that is down made librdkafka log the same line ~40 times a second."""
    import logging

    from processor.ops.logging import RepeatFilter

    now = [0.0]
    flt = RepeatFilter(interval_s=60, clock=lambda: now[0])

    def rec(text: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("librdkafka", level, __file__, 1, "%s [%s] %s", ("FAIL", "rdkafka#consumer-1", text), None)

    line = "127.0.0.1:9092/1: Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after {}ms in state CONNECT{})"
    first = rec(line.format(0, ""))
    assert flt.filter(first)
    held = [rec(line.format(i, f", {i} identical error(s) suppressed")) for i in range(1, 200)]
    assert not any(flt.filter(r) for r in held)
    assert flt.filter(rec("another broker line"))  # a different line is not held back
    now[0] = 61.0
    later = rec(line.format(3, ""))
    assert flt.filter(later)
    assert later.getMessage().endswith("(199 similar line(s) held back in the last 60s)")


def test_every_kafka_client_logs_through_python_logging():
    import logging

    from processor.config import KafkaConfig

    for role in ("consumer", "producer", "admin"):
        assert KafkaConfig().librdkafka(role)["logger"] is logging.getLogger("librdkafka")
