"""``python -m dev.stub``: run the Voucherify stub in the foreground.

Every :class:`~dev.stub.faults.FaultConfig` field is a flag (``--latency-ms 20``,
``--rate-429 0.1 --retry-after 2``, ``--seed 7``, ``--rate-limit-per-minute 30000`` ...); the
same settings can be changed later through ``POST /_stub/config``; outages are started with
``POST /_stub/outage``.

``--lean``: benchmark mode (dev/stub/lean.py): auth, latency, recording and the control API the
benchmark reads, on a leaner request path; only ``--latency-ms`` and ``--no-record-bodies`` of the
fault flags apply, any other one set is an error.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields

from .app import Credentials, StubState
from .faults import FaultConfig
from .server import DEFAULT_APPLICATION_ID, DEFAULT_SECRET_KEY, serve


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m dev.stub", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--application-id", default=DEFAULT_APPLICATION_ID)
    p.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    p.add_argument("--no-auth", action="store_true", help="accept any (or no) credentials")
    p.add_argument("--no-uvloop", action="store_true")
    p.add_argument("--lean", action="store_true",
                   help="benchmark mode: a leaner request path (auth, latency, recording; no faults)")
    for f in fields(FaultConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.name == "record_bodies":
            p.add_argument("--no-record-bodies", dest="record_bodies", action="store_false", default=True)
        elif f.name == "rate_limit_retry_after":
            p.add_argument("--no-rate-limit-retry-after", dest="rate_limit_retry_after", action="store_false",
                           default=True, help="rate-limit 429s carry only X-Rate-Limit-Retry")
        elif f.name == "seed" or f.name == "error_status":
            p.add_argument(flag, type=int, default=f.default)
        else:
            p.add_argument(flag, type=float, default=f.default)
    return p


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    config = FaultConfig(**{f.name: getattr(args, f.name) for f in fields(FaultConfig)})
    creds = None if args.no_auth else Credentials(args.application_id, args.secret_key)

    def ready(port: int) -> None:
        print(f"voucherify stub listening on http://{args.host}:{port}", file=sys.stderr, flush=True)

    if args.lean:
        from .lean import LEAN_SETTINGS, LeanState, serve_lean

        extra = [f"--{f.name.replace('_', '-')}" for f in fields(FaultConfig)
                 if f.name not in LEAN_SETTINGS and getattr(args, f.name) != f.default]
        if extra:
            _parser().error(f"--lean (benchmark mode) injects no faults: drop {', '.join(extra)} or drop --lean")
        serve_lean(args.host, args.port, LeanState(args.latency_ms, creds, args.record_bodies),
                   use_uvloop=not args.no_uvloop, on_ready=ready)
        return
    state = StubState(config, creds)
    serve(args.host, args.port, state, use_uvloop=not args.no_uvloop, on_ready=ready)


if __name__ == "__main__":
    main()
