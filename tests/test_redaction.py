"""processor/redaction.py: every spelling of a secret, and long fragments of them, are redacted."""

from __future__ import annotations

import base64

import pytest

from processor.redaction import MIN_FRAGMENT_CHARS, MIN_RAW_FRAGMENT_CHARS, REDACTED, Redactor
from processor.voucherify.client import _ERROR_BODY_CHARS, failure_message
from processor.voucherify.settings import auth_headers

# Shaped like real credentials: a UUID-like application id and a 24-byte key (32 base64 chars).
APP_ID = "c70a6f00-cf91-4756-9df5-47628850002b"
SECRET = "sk_8f2Kq9Lw3Zp7Xv1Ym4Nb6Rt"
SECRET_B64 = base64.b64encode(SECRET.encode()).decode()


def _forms(secret: str) -> list[str]:
    raw = secret.encode()
    std = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return [secret, std, std.rstrip("="), url, url.rstrip("="), f"Basic {std}"]


def _fragments(secret: str) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {MIN_RAW_FRAGMENT_CHARS: set(), MIN_FRAGMENT_CHARS: set()}
    for form in _forms(secret):
        size = MIN_RAW_FRAGMENT_CHARS if form == secret else MIN_FRAGMENT_CHARS
        core = form.removeprefix("Basic ").rstrip("=")
        out[size].update(core[i : i + size] for i in range(len(core) - size + 1))
    return out


_FRAGMENTS = {s: _fragments(s) for s in (APP_ID, SECRET)}


def _leaks(text: str, secret: str) -> list[str]:
    """Substrings of ``text`` that are long fragments of any spelling of ``secret``."""
    return [
        text[i : i + size]
        for size, fragments in _FRAGMENTS[secret].items()
        for i in range(len(text) - size + 1)
        if text[i : i + size] in fragments
    ]


@pytest.mark.parametrize("form", _forms(SECRET) + _forms(APP_ID))
def test_every_whole_spelling_is_redacted(form: str) -> None:
    redactor = Redactor([APP_ID, SECRET])
    out = redactor.redact(f"before {form} after")
    assert out == f"before {REDACTED} after"


def test_basic_prefix_goes_with_the_encoded_value() -> None:
    header = auth_headers(APP_ID, SECRET)["authorization"]
    assert Redactor([APP_ID]).redact(f"authorization: {header}") == f"authorization: {REDACTED}"
    # a fragment of the encoded id right after "Basic " takes "Basic " with it
    assert Redactor([APP_ID]).redact(f"authorization: {header[:20]}") == f"authorization: {REDACTED}"


@pytest.mark.parametrize("size", range(MIN_FRAGMENT_CHARS, len(SECRET_B64)))
def test_fragments_of_the_encoded_key_are_redacted_at_every_offset(size: int) -> None:
    redactor = Redactor([SECRET])
    for start in range(len(SECRET_B64) - size + 1):
        fragment = SECRET_B64[start : start + size]
        out = redactor.redact(f'{{"secret-key":"{fragment}"}}')
        assert _leaks(out, SECRET) == [], (start, size, out)


def test_long_raw_fragments_are_redacted_short_words_are_not() -> None:
    redactor = Redactor(["stub-secret-key"])
    assert "secret" in redactor.redact("the secret-key header")  # an ordinary word stays readable
    assert redactor.redact("key=stub-secret-k") == f"key={REDACTED}"


def test_lone_surrogate_secret_does_not_break_redaction() -> None:
    secret = "app\ud800identifier"
    header = auth_headers(secret, "s" * 8)["authorization"]
    assert Redactor([secret]).redact(header) == REDACTED


def test_kafka_password_settings_are_redacted_by_key() -> None:
    redactor = Redactor()
    assert redactor.redact("{'sasl.password': 'hunter2'}") == f"{{'sasl.password': '{REDACTED}'}}"
    assert redactor.redact_value({"sasl.password": "x", "a": ["y"]}) == {"sasl.password": REDACTED, "a": ["y"]}


def test_short_secrets_are_not_redacted() -> None:
    assert Redactor(["abc"]).redact("abc def") == "abc def"


def test_error_body_echoing_the_headers_leaks_nothing_at_any_offset_or_cut() -> None:
    """Issue 13 item 3: a server echoes the request headers and may cut its own body anywhere;
    our message is cut again at _ERROR_BODY_CHARS. No cut may leave a long fragment."""
    headers = auth_headers(APP_ID, SECRET)
    redactor = Redactor([APP_ID, SECRET], placeholder="[redacted]")
    echo = f'"headers":{{"authorization":"{headers["authorization"]}","secret-key":"{headers["secret-key"]}"}}'

    def check(body: bytes) -> None:
        message = failure_message("addCustomEvent", 400, "Bad Request", body, redactor)
        assert _leaks(message, SECRET) == [] and _leaks(message, APP_ID) == [], (len(body), message)

    # the server cuts its body at every length inside the echo
    for offset in range(4):
        body = ("x" * offset + echo + "}").encode()
        for cut in range(offset, len(body) + 1):
            check(body[:cut])
    # our own cut crosses the echo at every position
    for offset in range(_ERROR_BODY_CHARS - len(echo) - 2, _ERROR_BODY_CHARS + 2):
        check(("x" * offset + echo + "}" + "y" * 50).encode())
    # both at once, around our cut
    for offset in range(_ERROR_BODY_CHARS - 60, _ERROR_BODY_CHARS - 40):
        body = ("x" * offset + echo).encode()
        for cut in range(offset, len(body) + 1, 7):
            check(body[:cut])


def test_redaction_that_shortens_the_text_cannot_pull_a_cut_fragment_into_the_message() -> None:
    """A newcomer's finding: the body was cut at _ERROR_BODY_CHARS + the longest spelling *before*
    redacting; redacting the long echoes early in the body then shortened the text, and a 16-char
    piece of the key, cut to 11 characters (below the fragment threshold) at that scan boundary,
    slid inside the final cut. The message must be a prefix of the *whole* body redacted."""
    headers = auth_headers(APP_ID, SECRET)
    redactor = Redactor([APP_ID, SECRET], placeholder="[redacted]")
    echoes = "".join(f'"e{i}":"{headers["secret-key"]}","a{i}":"{headers["authorization"]}",' for i in range(2))
    for pad in range(0, 200):
        text = '{' + echoes + '"pad":"' + "p" * pad + '","substr":"' + SECRET[3:19] + '"}'
        message = failure_message("addCustomEvent", 400, "Bad Request", text.encode(), redactor)
        shown = message.split("Bad Request: ", 1)[1]
        whole = " ".join(redactor.redact(text).split())
        assert whole.startswith(shown), (pad, shown)
