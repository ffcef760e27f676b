"""The destination's settings (application id, secret key, custom URL), checked as Segment does.

Segment checks settings in three places, all reproduced here but run once, at start-up, so a
bad setting stops the processor instead of failing every event:

1. ``validateSettings``: ajv over the authentication fields (all three required strings, with
   ajv's type coercion: a numeric application id becomes its string, an array does not and
   gives "Secret Key must be a string but it was an array.");
2. ``extendRequest``: "The request is missing Application ID or Secret Key." for an empty one,
   then ``validateURL``: the custom URL must pass Segment's URL regular expression;
3. ``getVoucherifyEndpointURL``: "URL not provided." for an empty custom URL.

The auth headers are Segment's: ``authorization: Basic <base64(utf-8 application id)>`` and
``secret-key: <base64(utf-8 secret key)>``. Endpoint URLs are ``customURL`` + path, verbatim
(a trailing slash in the custom URL gives ``//segmentio/...``, as on Segment).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from processor.segment.errors import ConfigError, PayloadValidationError
from processor.segment.js import utf8_bytes
from processor.segment.validation import PayloadSchema, compile_schema

__all__ = ["DestinationSettings", "AUTHENTICATION_FIELDS", "coerce_setting", "auth_headers"]

#: ``authentication.fields`` of Segment's definition (labels appear in error messages).
AUTHENTICATION_FIELDS: Mapping[str, Mapping[str, Any]] = {
    "apiKey": {
        "label": "Application ID",
        "description": "Application ID can be found in [Voucherify dashboard](https://docs.voucherify.io/docs/authentication).",
        "type": "password",
        "required": True,
    },
    "secretKey": {
        "label": "Secret Key",
        "description": "Secret Key can be found in [Voucherify dashboard](https://docs.voucherify.io/docs/authentication).",
        "type": "password",
        "required": True,
    },
    "customURL": {
        "label": "Custom Voucherify URL",
        "description": (
            "Check your API region in [Voucherify dashboard](https://app.voucherify.io/#/login) -> Project "
            "settings -> API endpoint. For example, if you are using a project with a URL: "
            "`https://us1.api.voucherify.io`, your Custom URL will be: `https://us1.segmentio.voucherify.io`. "
            "It also works for dedicated URLs."
        ),
        "type": "string",
        "required": True,
    },
}

#: Segment setting key -> this product's configuration field (for error messages).
CONFIG_FIELD = {
    "apiKey": "destination.application_id",
    "secretKey": "destination.secret_key",
    "customURL": "destination.custom_url",
}
_BY_CONFIG_NAME = {v.rsplit(".", 1)[1]: k for k, v in CONFIG_FIELD.items()}

#: ``validateURL``'s expression (``url-validator.js``); ASCII because JavaScript's ``\b`` is.
_URL_RE = re.compile(
    r"^https?:\/\/(?:www\.)?[-a-zA-Z0-9@:%._\+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b(?:[-a-zA-Z0-9()@:%_\+.~#?&\/=]*)$",
    re.ASCII,
)

_FIELD_SCHEMAS: dict[str, PayloadSchema] = {k: compile_schema({k: f}) for k, f in AUTHENTICATION_FIELDS.items()}


def _b64_utf8(text: str) -> str:
    """``Buffer.from(text).toString('base64')``: lone surrogates become U+FFFD as in Node."""
    return base64.b64encode(utf8_bytes(text)).decode("ascii")


def auth_headers(application_id: str, secret_key: str) -> dict[str, str]:
    """The two credential headers, exactly as Segment's ``extendRequest`` builds them.

    The one owner of this rule: the HTTP client, the benchmark baselines and the conformance
    test all call it. Non-UTF-8-encodable input (a lone surrogate) is sent as Node sends it
    (U+FFFD), never an error: checked against Segment's runtime with the reference harness
    (tests/voucherify/test_settings.py records the outcome).
    """
    return {"authorization": "Basic " + _b64_utf8(application_id), "secret-key": _b64_utf8(secret_key)}


def coerce_setting(name: str, value: Any) -> str:
    """One setting through Segment's settings validation: the coerced string, or ValueError.

    ``name`` is Segment's key (``apiKey``, ``secretKey``, ``customURL``) or this product's
    (``application_id``, ``secret_key``, ``custom_url``). The ValueError's message is
    Segment's ("Secret Key must be a string but it was an array.").
    """
    key = _BY_CONFIG_NAME.get(name, name)
    try:
        result = _FIELD_SCHEMAS[key].validate({key: value})
    except PayloadValidationError as exc:
        raise ValueError(exc.message) from None
    return result[key]


@dataclass(frozen=True, slots=True)
class DestinationSettings:
    """Validated settings; ``repr`` never shows the credentials."""

    application_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    custom_url: str

    @classmethod
    def from_segment(cls, raw: Mapping[str, Any]) -> "DestinationSettings":
        """Check Segment-shaped settings (``apiKey``, ``secretKey``, ``customURL``).

        Raises :class:`ConfigError` whose ``field`` is this product's configuration field.
        """
        values: dict[str, str] = {}
        for key in AUTHENTICATION_FIELDS:
            if key not in raw:
                raise ConfigError(
                    f"The root value is missing the required field '{key}'.", field=CONFIG_FIELD[key]
                )
            try:
                values[key] = coerce_setting(key, raw[key])
            except ValueError as exc:
                raise ConfigError(str(exc), field=CONFIG_FIELD[key]) from None
        for key in ("apiKey", "secretKey"):
            if not values[key]:
                raise ConfigError("The request is missing Application ID or Secret Key.", field=CONFIG_FIELD[key])
        url = values["customURL"]
        if not url:
            raise ConfigError("URL not provided.", field=CONFIG_FIELD["customURL"])
        if not _URL_RE.match(url):
            raise ConfigError(
                f"The Custom URL: {url} is invalid. It probably lacks the HTTP/HTTPS protocol or has an incorrect format.",
                field=CONFIG_FIELD["customURL"],
            )
        return cls(application_id=values["apiKey"], secret_key=values["secretKey"], custom_url=url)

    @classmethod
    def from_config(cls, config: Any) -> "DestinationSettings":
        """From :class:`processor.config.DestinationConfig` (secrets read from files if so configured)."""
        return cls.from_segment(
            {
                "apiKey": config.secret("application_id"),
                "secretKey": config.secret("secret_key"),
                "customURL": config.custom_url,
            }
        )

    @property
    def auth_headers(self) -> dict[str, str]:
        return auth_headers(self.application_id, self.secret_key)

    def url(self, path: str) -> str:
        """``customURL`` + ``path``, verbatim, as Segment builds endpoint URLs."""
        return self.custom_url + path
