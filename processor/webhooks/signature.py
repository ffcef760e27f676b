"""Voucherify's webhook signature: ``x-voucherify-signature``, HMAC-SHA256 with the webhook secret.

What Voucherify documents (docs.voucherify.io, "Introduction to webhooks" > Authentication, for
the v2024-01-01 webhooks): every delivery carries the ``x-voucherify-signature`` header; validate it
by reconstructing it with HMAC built on SHA-256 and the secret key generated in Project settings >
Webhooks, and comparing the two.

What the documentation leaves open, and what we chose (say so to anyone debugging a 401):

- **What is signed.** The page does not name the message. We sign the raw request body, byte for
  byte as received (re-serialising parsed JSON could change bytes and break a genuine signature;
  the integrations we found in public code do the same or sign the compact JSON, which is the body
  Voucherify sends).
- **How the digest is written.** The page does not say hex or base64. We accept the lowercase or
  uppercase hex digest (what public integrations compare against) and the standard base64 digest.
  Both encode the same 32-byte MAC, so accepting either does not weaken the check.

Comparison is constant-time (:func:`hmac.compare_digest`). The secret never leaves this module in
any message: errors say *missing* or *invalid*, never what was expected.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["HEADER", "sign", "verify"]

#: The header Voucherify puts the signature in (HTTP header names are case-insensitive).
HEADER = "x-voucherify-signature"


def sign(body: bytes, secret: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``body`` under ``secret``: what a delivery's header holds."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(body: bytes, header_value: str | None, secret: bytes) -> bool:
    """Whether ``header_value`` is the HMAC-SHA256 of ``body`` under ``secret`` (hex or base64).

    ``None`` or an empty value never verifies; neither does an empty secret.
    """
    if not header_value or not secret:
        return False
    given = _decode(header_value.strip())
    if given is None:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(given, expected)


def _decode(value: str) -> bytes | None:
    """The 32 MAC bytes a header value encodes, or ``None`` when it is neither hex nor base64 of 32 bytes."""
    if len(value) == 64:
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    if len(value) == 44:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return None
        return raw if len(raw) == 32 else None
    return None
