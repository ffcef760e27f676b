"""Entry point of ``voucherify-processor``.

Each subcommand lives in its own module exposing ``register(subparsers)``; the module sets
``func`` on its parser, which receives the parsed ``argparse.Namespace`` and returns the exit code.
"""

from __future__ import annotations

import signal
import sys


def _ignore_hangup_while_starting(argv: list[str]) -> None:
    """``run``: SIGHUP means "reload", so it must never kill a starting processor.

    Its default action ends the process (exit 129, nothing logged); the reload handler is
    installed only once the heavy imports below and the configuration are done (seconds). So
    ignore it first thing, before those imports; the handler replaces this (processor/app.py).
    """
    if argv[1:2] == ["run"]:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


_ignore_hangup_while_starting(sys.argv)

import argparse  # noqa: E402 - after the SIGHUP guard above, on purpose
import os  # noqa: E402
from types import ModuleType  # noqa: E402

from processor import __version__  # noqa: E402
from processor.cli import check_config, dlq, dry_run, import_segment, replay, run, topics, webhooks
from processor.cli.common import EXIT_CONFIG  # noqa: E402
from processor.errors import ConfigError  # noqa: E402

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS: tuple[ModuleType, ...] = (run, dry_run, check_config, import_segment, topics, replay, dlq, webhooks)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voucherify-processor",
        description="Segment events from Kafka to Voucherify, as Segment's Voucherify (Actions) destination does.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
    except ConfigError as exc:
        # What a command did not turn into its own message: a setting refused deep down (a
        # librdkafka property under kafka.consumer, met by `dlq` or `replay`) is still exit 2 and
        # one line, never a traceback (a newcomer's finding).
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except BrokenPipeError:
        # The reader went away (``dlq list | head -2``): what it read is all it wanted. Point
        # stdout at /dev/null so the interpreter's final flush does not raise again at exit.
        # Exit as a Unix tool killed by SIGPIPE would (128 + 13), without a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


def entry() -> None:
    """The console script and ``python -m processor``: :func:`main`, then end the process at once.

    Why not return to the interpreter's normal exit: librdkafka runs native threads (and the HTTP
    client of issue 16's first session, pyreqwest, ran a runtime thread). When the interpreter finalizes while such a
    thread still releases a Python object, CPython aborts ("Fatal Python error: PyGILState_Release
    ... Python runtime state: finalizing", exit 134): seen in about a third of ``check-config |
    head -1`` runs on a loaded machine. Everything the command had to do is done when ``main``
    returns, so the output is flushed, logging is shut down (its handlers flushed), and the process
    ends with ``os._exit``, which leaves those threads alone. ``main`` itself stays an ordinary
    function for callers in the same process (tests).
    """
    import logging

    code = main()
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):  # the reader went away, or stdout is closed
        pass
    try:
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    logging.shutdown()
    os._exit(code)

