"""Rules with one owner: the vp.subscriptions codec (engine/headers.py) and the producer's durability settings."""

from __future__ import annotations

import pytest

from processor.engine import headers as h
from processor.kafka.producer import DURABILITY_SETTINGS, durable_producer_settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, None),
        ("", None),
        ("not json", None),
        ('{"a": 1}', None),
        ('["a", 2]', ("a", "2")),
        ("[]", ()),
    ],
)
def test_subscriptions_header_is_read_tolerantly(text: str | None, expected: tuple[str, ...] | None) -> None:
    assert h.decode_subscriptions(text) == expected


def test_subscriptions_header_round_trips() -> None:
    assert h.decode_subscriptions(h.encode_subscriptions(["Add Custom Event", "ü"])) == ("Add Custom Event", "ü")


def test_user_passthrough_cannot_weaken_durability() -> None:
    conf = durable_producer_settings({"acks": "1", "enable.idempotence": False, "linger.ms": 7})
    assert conf == {**DURABILITY_SETTINGS, "linger.ms": 7}
