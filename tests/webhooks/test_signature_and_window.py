"""The signature check and the dedupe window (pure units)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from processor.webhooks import signature
from processor.webhooks.dedupe import SeenIds

BODY = b'{"id":"whs_1","type":"voucher.published"}'
SECRET = b"s3cret-value"


def test_hex_signature_of_the_raw_body_verifies() -> None:
    sig = signature.sign(BODY, SECRET)
    assert sig == hmac.new(SECRET, BODY, hashlib.sha256).hexdigest()
    assert signature.verify(BODY, sig, SECRET)
    assert signature.verify(BODY, sig.upper(), SECRET)
    assert signature.verify(BODY, f" {sig} ", SECRET)


def test_base64_encoding_of_the_same_mac_verifies() -> None:
    mac = hmac.new(SECRET, BODY, hashlib.sha256).digest()
    assert signature.verify(BODY, base64.b64encode(mac).decode(), SECRET)


@pytest.mark.parametrize("header", [None, "", "abc", "0" * 64, "zz" * 32, "A" * 44])
def test_missing_or_wrong_signatures_fail(header) -> None:
    assert not signature.verify(BODY, header, SECRET)


def test_other_secret_or_changed_body_fails() -> None:
    sig = signature.sign(BODY, SECRET)
    assert not signature.verify(BODY, sig, b"other")
    assert not signature.verify(BODY + b" ", sig, SECRET)
    assert not signature.verify(BODY, sig, b"")


def test_window_remembers_and_forgets_by_time_and_count() -> None:
    now = int(time.time() * 1000)
    seen = SeenIds(window_s=60, max_ids=3)
    seen.add("old", now - 61_000)
    assert "old" not in seen
    for i in range(4):
        seen.add(f"id{i}", now)
    assert len(seen) == 3 and "id0" not in seen and "id3" in seen
    seen2 = SeenIds(window_s=1, max_ids=10)
    seen2.add("a", now - 900)
    time.sleep(0.15)
    seen2.add("b")
    assert "a" not in seen2 and "b" in seen2
