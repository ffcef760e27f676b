"""``voucherify-processor run``: the processor itself.

``--processes N`` starts N members of the same consumer group from one command (Python runs
one core per process; Kafka spreads the partitions over the members). Signals are forwarded so
each member drains and commits before the command exits, and SIGHUP reloads every member's
configuration (processor/reload.py); ``--watch-config`` reloads it when the file changes.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import time

from processor.config import load_config
from processor.errors import ConfigError

log = logging.getLogger("processor.cli.run")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="consume Segment events from Kafka and deliver them to Voucherify")
    p.add_argument("--config", required=True, help="YAML or JSON configuration file")
    p.add_argument("--processes", type=int, default=1, metavar="N",
                   help="run N consumers of the group from this command (one per core is a good start)")
    p.add_argument("--watch-config", action="store_true",
                   help="reload the configuration when the file changes (SIGHUP always reloads it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from processor.ops.logging import configure_logging

    # SIGHUP means "reload" here; until the processor's handler is installed a SIGHUP must not
    # kill it (the default action), and the configuration is being read right now anyway.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(cfg.ops.log_level, cfg.ops.log_format, cfg.secrets())
    if args.processes > 1:
        return _run_members(args, cfg.ops.http_port)
    from processor.app import ReloadOptions, run_blocking

    try:
        run_blocking(cfg, reload=ReloadOptions(args.config, watch=args.watch_config))
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the message is logged, the exit code says "restart me"
        log.error("processor stopped: %s", exc, exc_info=True)
        return 1
    return 0


def _run_members(args: argparse.Namespace, base_port: int) -> int:
    """Start N single-process members; each gets its own ops port (base, base+1, ...)."""
    members: list[subprocess.Popen[bytes]] = []
    for i in range(args.processes):
        env = dict(os.environ)
        if base_port:
            env["VP__OPS__HTTP_PORT"] = str(base_port + i)
        cmd = [sys.executable, "-m", "processor", "run", "--config", args.config]
        if args.watch_config:
            cmd.append("--watch-config")
        members.append(subprocess.Popen(cmd, env=env))

    def forward(signum: int, _frame: object) -> None:
        for m in members:
            if m.poll() is None:
                m.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)  # every member reloads its configuration; this command stays
    codes = []
    for m in members:
        while m.poll() is None:
            time.sleep(0.2)
        codes.append(m.returncode)
    return max(codes, key=abs) if codes else 0
