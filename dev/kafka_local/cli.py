"""``dev/kafka``: fetch, start, stop and inspect a local broker.

Exit codes: 0 on success (also "already running" / "already stopped"),
1 on a :class:`LocalKafkaError` (message on stderr, no traceback), 3 for
``status`` when the broker is not running (like ``systemctl status``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from .broker import LocalKafka
from .errors import LocalKafkaError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dev/kafka", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in [
        ("fetch", "download the Kafka jars into the cache (no-op when cached)"),
        ("start", "start the broker in the background and wait until it answers"),
        ("stop", "stop the broker (SIGTERM, then SIGKILL after --timeout)"),
        ("status", "say whether the broker runs; exit 3 if not"),
        ("logs", "print the broker log (-f to follow)"),
    ]:
        s = sub.add_parser(name, help=help_)
        s.add_argument("--port", type=int, default=9092, help="PLAINTEXT port on 127.0.0.1 (default 9092)")
        s.add_argument("--data-dir", type=Path, help="default: .cache/kafka/data/<port>")
        s.add_argument("--sasl", action="store_true", help="also a SASL_PLAINTEXT SCRAM-SHA-256 listener on port+1")
        s.add_argument("--sasl-port", type=int, help="port of the SASL listener (default port+1)")
        if name == "start":
            s.add_argument("--reset", action="store_true", help="wipe the data dir first (stops a running broker)")
            s.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the broker to answer")
            s.add_argument("--heap", default="512m", help="JVM -Xmx (default 512m)")
        if name == "stop":
            s.add_argument("--timeout", type=float, default=30.0, help="seconds to wait after SIGTERM")
        if name == "logs":
            s.add_argument("-f", "--follow", action="store_true")
            s.add_argument("-n", "--lines", type=int, default=100)
        if name == "fetch":
            s.add_argument("maven_args", nargs="*", help="extra Maven arguments, e.g. -Dmaven.repo.local=/tmp/m2")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    kafka = LocalKafka(
        args.port,
        args.data_dir,
        sasl=args.sasl,
        sasl_port=args.sasl_port,
        heap=getattr(args, "heap", "512m"),
        start_timeout=getattr(args, "timeout", 90.0),
    )
    try:
        return _COMMANDS[args.command](kafka, args)
    except LocalKafkaError as e:
        print(f"dev/kafka: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _fetch(kafka: LocalKafka, args: argparse.Namespace) -> int:
    started = time.monotonic()
    libs = kafka.fetch(args.maven_args)
    print(f"Kafka {kafka.version} jars in {libs} ({time.monotonic() - started:.1f}s)")
    return 0


def _start(kafka: LocalKafka, args: argparse.Namespace) -> int:
    if args.reset:
        kafka.stop()
        import shutil

        shutil.rmtree(kafka.data_dir, ignore_errors=True)
    if kafka.is_running():
        kafka.start()  # waits until it answers
        print(f"Kafka already running (pid {kafka.pid()}) on {kafka.bootstrap}")
        return 0
    started = time.monotonic()
    kafka.start()
    print(f"Kafka {kafka.version} started (pid {kafka.pid()}) in {time.monotonic() - started:.1f}s")
    _print_endpoints(kafka)
    return 0


def _print_endpoints(kafka: LocalKafka) -> None:
    print(f"  bootstrap.servers={kafka.bootstrap}")
    if kafka.sasl_bootstrap:
        u = kafka.scram_user
        print(f"  SASL_PLAINTEXT SCRAM-SHA-256 on {kafka.sasl_bootstrap} user={u.name} password={u.password}")
    print(f"  data dir {kafka.data_dir}, log {kafka.log_path}")


def _stop(kafka: LocalKafka, args: argparse.Namespace) -> int:
    print("Kafka stopped" if kafka.stop(args.timeout) else "Kafka was not running")
    return 0


def _status(kafka: LocalKafka, args: argparse.Namespace) -> int:
    pid = kafka.pid()
    if pid is None:
        print(f"Kafka not running (data dir {kafka.data_dir})")
        return 3
    state = "answering" if kafka.answers() else "NOT answering yet"
    print(f"Kafka running (pid {pid}), {state} on {kafka.bootstrap}")
    return 0


def _logs(kafka: LocalKafka, args: argparse.Namespace) -> int:
    if not kafka.log_path.exists():
        raise LocalKafkaError(f"no log at {kafka.log_path}")
    cmd = ["tail", "-n", str(args.lines)] + (["-F"] if args.follow else []) + [str(kafka.log_path)]
    return subprocess.call(cmd)


_COMMANDS = {"fetch": _fetch, "start": _start, "stop": _stop, "status": _status, "logs": _logs}

if __name__ == "__main__":
    sys.exit(main())
