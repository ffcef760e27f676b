"""``voucherify-processor dry-run``: what would be sent for these events, without sending it.

::

    voucherify-processor dry-run --config FILE [EVENTS.ndjson | -]

Reads newline-delimited Segment events (a file, or stdin for ``-`` or no argument) and writes,
for every non-blank input line, one JSON line in input order::

    {"line": 3, "results": [
        {"subscription": "...", "action": "addCustomEvent", "outcome": "send",
         "request": {"method": "POST", "url": "https://.../segmentio/event-processing", "json": {...}}},
        {"subscription": "...", "action": "upsertCustomer", "outcome": "invalid",
         "error": "Customer Object is missing the required field 'source_id'."}]}

Each line goes the way ``run`` takes a message value: the same decoder (so ``{"userId":"u"}``
is ``missing 'type'`` here exactly as ``run`` dead-letters it), then the same destination plan.
Subscriptions the event does not trigger are left out (``"results": []`` when none does). A
line ``run`` would dead-letter as undecodable gives
``{"line": N, "outcome": "dead-letter", "error_class": "decode", "error": "<reason>"}``. Blank
(whitespace-only) lines produce no output but still count, so ``line`` is always the 1-based
line number in the input.

At the end a summary goes to stderr (lines, requests, rejections, undecodable, not triggered)
and the exit code says whether every line went through cleanly, so a CI job can gate on it:

- 0  every line decoded and every triggered subscription produced a request;
- 8  at least one line is undecodable or a subscription rejected it (``run`` dead-letters those);
- 2  the configuration is invalid (the message names the field);
- 1  the events file cannot be read.

Only the ``destination``, ``subscriptions`` and ``input`` sections of the configuration are
read (after environment overrides), so a configuration for another environment's Kafka works
here, and no network connection is made. Nothing is sent, so no secret is needed: a missing
application id or secret key (or an unreadable ``*_file``) is replaced by a placeholder.
Secrets never appear: the auth headers are not printed and credentials embedded in the custom
URL are masked.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, EXIT_REJECTED, add_config_argument, err
from processor.config import (
    ConfigFileError,
    DestinationConfig,
    InputConfig,
    SubscriptionConfig,
    apply_environment,
    format_validation_error,
    read_document,
)
from processor.errors import ConfigError, DecodeError
from processor.kafka.decoders import JsonDecoder
from processor.voucherify.delivery import Delivery
from processor.voucherify.destination import Destination

__all__ = ["register", "run", "load_destination", "dry_run_lines", "Summary", "PLACEHOLDER"]

#: Stands in for a credential dry-run does not need (it sends nothing).
PLACEHOLDER = "dry-run-placeholder"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dry-run",
        help="show the requests events would produce (no Kafka, no network)",
        description="For each NDJSON event, print the requests (or Segment's rejection) each subscription would produce.",
    )
    add_config_argument(parser)
    parser.add_argument("events", nargs="?", default="-", metavar="EVENTS", help="NDJSON file of Segment events; - or omitted = stdin")
    parser.set_defaults(func=run)


class _DryRunConfig(BaseModel):
    """The sections dry-run needs; the others are ignored (not validated)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    destination: DestinationConfig
    subscriptions: list[SubscriptionConfig] | None = None
    input: InputConfig = InputConfig()


def load_destination(path: str, *, environ: dict[str, str] | None = None) -> Destination:
    """Read the configuration's destination and subscriptions and build the destination.

    Raises :class:`ConfigError` (:class:`ConfigFileError` for the file itself); the message names the field.
    """
    return _load(path, environ)[0]


def _load(path: str, environ: dict[str, str] | None = None) -> tuple[Destination, JsonDecoder]:
    raw = read_document(path)
    origins = apply_environment(raw, os.environ if environ is None else environ)
    _placeholder_credentials(raw)
    try:
        config = _DryRunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(format_validation_error(exc, str(path), origins, _DryRunConfig)) from None
    seen: set[str] = set()
    for index, sub in enumerate(config.subscriptions or ()):
        if sub.name in seen:
            raise ConfigFileError(f"{path}: subscriptions[{index}].name: subscription names must be unique; {sub.name!r} repeats")
        seen.add(sub.name)
    return Destination.from_config(config), JsonDecoder(config.input.max_value_bytes)


def _placeholder_credentials(raw: dict[str, Any]) -> None:
    """Credentials that are absent, or only named by an unreadable file, become placeholders.

    A credential that is given is still validated (Segment's rules), so a bad one is reported.
    """
    dest = raw.get("destination")
    if not isinstance(dest, dict):
        return
    for name in ("application_id", "secret_key"):
        if dest.get(name) is not None:
            continue
        file = dest.get(f"{name}_file")
        if file is not None:
            try:
                with open(file, encoding="utf-8"):
                    continue  # readable: used as run would use it
            except (OSError, TypeError):
                dest.pop(f"{name}_file")
        dest[name] = PLACEHOLDER


def _masked(url: str) -> str:
    """The URL without credentials (``https://user:pass@host`` -> ``https://***@host``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class Summary:
    """Counts for the closing line: what ``run`` would do with these lines."""

    __slots__ = ("lines", "requests", "rejections", "undecodable", "not_triggered")

    def __init__(self) -> None:
        self.lines = self.requests = self.rejections = self.undecodable = self.not_triggered = 0

    @property
    def clean(self) -> bool:
        return not self.rejections and not self.undecodable

    def __str__(self) -> str:
        return (f"dry-run: {self.lines} line(s): {self.requests} request(s), {self.rejections} rejection(s), "
                f"{self.undecodable} undecodable, {self.not_triggered} triggered nothing")


def dry_run_lines(
    destination: Destination, lines: Iterable[bytes], decoder: JsonDecoder | None = None, summary: Summary | None = None
) -> Iterator[bytes]:
    """One output line (without the newline) per non-blank input line; counts into ``summary``."""
    decoder = decoder or JsonDecoder()
    summary = summary if summary is not None else Summary()
    urls: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        try:
            event = decoder.decode(line.rstrip(b"\r\n"), "dry-run")  # as run decodes a message value
        except DecodeError as exc:
            summary.undecodable += 1
            yield orjson.dumps({"line": number, "outcome": "dead-letter", "error_class": "decode", "error": exc.reason})
            continue
        results = []
        for planned in destination.plan(event):
            if isinstance(planned, Delivery):
                summary.requests += 1
                url = urls.get(planned.url)
                if url is None:
                    url = urls[planned.url] = _masked(planned.url)
                results.append(
                    {
                        "subscription": planned.subscription,
                        "action": planned.action,
                        "outcome": "send",
                        "request": {"method": "POST", "url": url, "json": orjson.Fragment(planned.body)},
                    }
                )
            else:
                summary.rejections += 1
                results.append(
                    {"subscription": planned.subscription, "action": planned.action, "outcome": "invalid", "error": planned.message}
                )
        if not results:
            summary.not_triggered += 1
        yield orjson.dumps({"line": number, "results": results})


def run(args: Any, *, stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> int:
    try:
        destination, decoder = _load(args.config)
    except ConfigError as exc:
        err(str(exc))
        return EXIT_CONFIG
    for warning in destination.warnings:
        err(f"warning: {warning}")
    out = stdout if stdout is not None else sys.stdout.buffer
    try:
        source = (stdin if stdin is not None else sys.stdin.buffer) if args.events == "-" else open(args.events, "rb")
    except OSError as exc:
        err(f"{args.events}: cannot read: {exc.strerror}")
        return EXIT_FAILED
    summary = Summary()
    with source:
        for output in dry_run_lines(destination, source, decoder, summary):
            out.write(output + b"\n")
    out.flush()
    err(str(summary))
    return EXIT_OK if summary.clean else EXIT_REJECTED
