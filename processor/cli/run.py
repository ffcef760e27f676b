"""``voucherify-processor run``: the processor itself.

``--processes N`` starts N members of the same consumer group from one command (Python runs
one core per process; Kafka spreads the partitions over the members). Signals are forwarded so
each member drains and commits before the command exits, and SIGHUP reloads every member's
configuration (processor/reload.py); ``--watch-config`` reloads it when the file changes. The
command runs all N members or none: when one stops on its own, the others are stopped (SIGTERM:
they drain) and the command exits non-zero (:func:`_exit_code`).

The members die with the command: each asks the kernel (Linux ``prctl(PR_SET_PDEATHSIG)``) for
SIGKILL when its parent dies, so a SIGKILLed or crashed command leaves no orphan consuming and
holding its metrics port (a second start would fail with "address already in use"). SIGKILL, not
SIGTERM: the parent died without draining, so the whole command is a crash (uncommitted work is
redelivered, bounded as for any crash), and the ports are free at once for the next start.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_KAFKA, EXIT_KAFKA_AUTH, EXIT_OK
from processor.config import load_config
from processor.errors import ConfigError

log = logging.getLogger("processor.cli.run")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("run", help="consume Segment events from Kafka and deliver them to Voucherify")
    p.add_argument("--config", required=True, help="YAML or JSON configuration file")
    p.add_argument("--processes", type=int, default=1, metavar="N",
                   help="run N consumers of the group from this command (one per core is a good start); "
                        "member i serves metrics and health on ops.http_port + i (9108, 9109, ...)")
    p.add_argument("--watch-config", action="store_true",
                   help="reload the configuration when the file changes (SIGHUP always reloads it)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Exit codes (see processor.cli.common): 0 stopped by a signal after draining; 2 configuration
    invalid (also Kafka settings librdkafka refuses); 4 Kafka unreachable at start; 7 Kafka
    rejected the credentials; 1 anything else (logged with its traceback: a bug or a lost broker
    mid-hand-off; restarting redelivers the uncommitted events). Expected failures are one line.
    """
    from processor.errors import KafkaAuthFailed, KafkaUnavailable
    from processor.kafka.logs import KAFKA_LOGGER
    from processor.ops.logging import configure_logging

    # SIGHUP means "reload" here; until the processor's handler is installed a SIGHUP must not
    # kill it (the default action), and the configuration is being read right now anyway.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(cfg.ops.log_level, cfg.ops.log_format, cfg.secrets(), repeat_limited=(KAFKA_LOGGER,))
    if args.processes > 1:
        return _run_members(args, cfg.ops.http_port)
    from processor.app import ReloadOptions, run_blocking

    try:
        run_blocking(cfg, reload=ReloadOptions(args.config, watch=args.watch_config))
    except ConfigError as exc:  # includes KafkaSettingsError: librdkafka refused the settings
        log.error("configuration error: %s", exc)  # once: the log is on stderr already
        return EXIT_CONFIG
    except KafkaAuthFailed as exc:
        log.error("Kafka at %s rejected the credentials (%s); check kafka.client sasl.*/ssl.* settings",
                  cfg.kafka.bootstrap_servers, exc)
        return EXIT_KAFKA_AUTH
    except KafkaUnavailable as exc:
        log.error("Kafka unreachable at %s (%s); is kafka.bootstrap_servers right and the broker up?",
                  cfg.kafka.bootstrap_servers, exc)
        return EXIT_KAFKA
    except Exception as exc:  # noqa: BLE001 - the message is logged, the exit code says "restart me"
        log.error("processor stopped: %s", exc, exc_info=True)
        return EXIT_FAILED
    return EXIT_OK


def _run_members(args: argparse.Namespace, base_port: int) -> int:
    """Start N single-process members; each gets its own ops port (base, base+1, ...)."""
    from processor.reload import MEMBER_ENV

    members: list[subprocess.Popen[bytes]] = []
    for i in range(args.processes):
        env = dict(os.environ)
        if base_port:
            env["VP__OPS__HTTP_PORT"] = str(base_port + i)
        env[MEMBER_ENV] = f"{i + 1}/{args.processes}"  # named in the member's reload log lines
        cmd = [sys.executable, "-m", "processor", "run", "--config", args.config]
        if args.watch_config:
            cmd.append("--watch-config")
        members.append(subprocess.Popen(cmd, env=env, preexec_fn=die_with_parent()))

    stopping = False

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        if signum != signal.SIGHUP:
            stopping = True
        for m in members:
            if m.poll() is None:
                m.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)  # every member reloads its configuration; this command stays
    failed: tuple[int, int] | None = None  # (member, exit code) of the first to stop on its own
    while [m.poll() for m in members].count(None):  # poll() every member (any() would stop at the first)
        if failed is None and not stopping:
            for i, m in enumerate(members):
                if m.returncode is not None:
                    failed = (i + 1, _exit_code(m.returncode))
                    # The command runs N members or none: carrying on with fewer left the pod Ready
                    # at a fraction of its capacity, silently (a newcomer's finding). Exiting lets
                    # the supervisor (systemd, Kubernetes) start the whole command again.
                    how = (f"killed by signal {-m.returncode}" if m.returncode < 0
                           else f"exit code {m.returncode}")
                    log.error("member %d/%d stopped while the command was not stopping (%s; its own log lines "
                              "above say why); stopping the others, which drain and commit, and exiting "
                              "with code %d so the command can be started again",
                              i + 1, len(members), how, failed[1])
                    forward(signal.SIGTERM, None)
                    break
        time.sleep(0.2)
    if failed is not None:
        return failed[1]
    codes = [m.returncode for m in members]
    return max(codes, key=abs) if codes else 0


def _exit_code(returncode: int) -> int:
    """The command's exit code for a member that stopped on its own: the member's code, 128 + N
    if a signal N killed it (as a shell reports it), and 1 if it exited cleanly (it was stopped
    from outside the command: the command still did not run as asked)."""
    if returncode < 0:
        return 128 - returncode
    return returncode or EXIT_FAILED


#: ``prctl`` option: signal to deliver to this process when its parent thread dies (linux/prctl.h).
PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child receive ``sig`` when this process dies (Linux).

    Runs in the forked child before exec; the setting survives exec. Race: if the parent died
    between fork and ``prctl``, the child was already re-parented, so it checks ``getppid()``
    afterwards and kills itself. Elsewhere (no ``prctl``) returns None and logs once: members are
    then only stopped by the forwarded signals, as before.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        log.warning("this platform has no prctl(PR_SET_PDEATHSIG): members outlive a killed parent")
        return None
    parent = os.getpid()

    def preexec() -> None:
        if prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            os.write(2, b"run: prctl(PR_SET_PDEATHSIG) failed; this member may outlive its parent\n")
        if os.getppid() != parent:
            os.kill(os.getpid(), sig)

    return preexec
