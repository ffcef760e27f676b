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

Subscriptions the event does not trigger are left out (``"results": []`` when none does). A
line that is not a JSON object gives ``{"line": N, "error": "..."}``. Blank (whitespace-only)
lines produce no output but still count, so ``line`` is always the 1-based line number in
the input. The exit code is 0 once the input has been read, whatever the events gave.

Only the ``destination`` and ``subscriptions`` sections of the configuration are read (after
environment overrides), so a configuration for another environment's Kafka works here; no
network connection is made. A configuration error goes to stderr naming the field, exit 2.
Secrets never appear: the auth headers are not printed and credentials embedded in the
custom URL are masked.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any, Iterable, Iterator
from urllib.parse import urlsplit, urlunsplit

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, add_config_argument, err
from processor.config import (
    ConfigFileError,
    DestinationConfig,
    SubscriptionConfig,
    apply_environment,
    format_validation_error,
    read_document,
)
from processor.errors import ConfigError
from processor.voucherify.delivery import Delivery
from processor.voucherify.destination import Destination

__all__ = ["register", "run", "load_destination", "dry_run_lines"]


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
    """The two sections dry-run needs; the others are ignored (not validated)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    destination: DestinationConfig
    subscriptions: list[SubscriptionConfig] | None = None


def load_destination(path: str, *, environ: dict[str, str] | None = None) -> Destination:
    """Read the configuration's destination and subscriptions and build the destination.

    Raises :class:`ConfigError` (:class:`ConfigFileError` for the file itself); the message names the field.
    """
    raw = read_document(path)
    origins = apply_environment(raw, os.environ if environ is None else environ)
    try:
        config = _DryRunConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigFileError(format_validation_error(exc, str(path), origins, _DryRunConfig)) from None
    seen: set[str] = set()
    for index, sub in enumerate(config.subscriptions or ()):
        if sub.name in seen:
            raise ConfigFileError(f"{path}: subscriptions[{index}].name: subscription names must be unique; {sub.name!r} repeats")
        seen.add(sub.name)
    return Destination.from_config(config)


def _masked(url: str) -> str:
    """The URL without credentials (``https://user:pass@host`` -> ``https://***@host``)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def dry_run_lines(destination: Destination, lines: Iterable[bytes]) -> Iterator[bytes]:
    """One output line (without the newline) per non-blank input line."""
    urls: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield orjson.dumps({"line": number, "error": f"not valid JSON: {exc}"})
            continue
        if type(event) is not dict:
            yield orjson.dumps({"line": number, "error": f"not a JSON object (got {_json_type(event)})"})
            continue
        results = []
        for planned in destination.plan(event):
            if isinstance(planned, Delivery):
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
                results.append(
                    {"subscription": planned.subscription, "action": planned.action, "outcome": "invalid", "error": planned.message}
                )
        yield orjson.dumps({"line": number, "results": results})


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array"}.get(type(value), "value")


def run(args: Any, *, stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> int:
    try:
        destination = load_destination(args.config)
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
    try:
        with source:
            for output in dry_run_lines(destination, source):
                out.write(output + b"\n")
        out.flush()
    except BrokenPipeError:  # the reader went away (``| head``): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK
