"""``voucherify-processor dlq list|show|redrive``: inspect and re-drive dead-lettered records.

``list`` prints one line per record; ``show`` prints records in full (headers, and the value
as pretty JSON when it is JSON); ``redrive`` re-publishes matching records into the first
retry tier, so the running processor delivers them again with fresh retry state. ``redrive``
is safe to re-run: records already re-driven are skipped (see ``processor.kafka.dlq``).

Header values are printed through the configured secrets' redactor: records dead-lettered by an
older version may hold part of an echoed secret in ``vp.error.message``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from processor.app import dlq_settings
from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_KAFKA, EXIT_OK, add_config_argument, err, load_config_or_none
from processor.cli.replay import parse_datetime
from processor.config import AppConfig
from processor.engine import headers as h
from processor.errors import KafkaUnavailable, LedgerFull
from processor.kafka.dlq import DlqFilter, DlqRecord, RedriveLedger, load_ledgers, redrive, scan_dlq
from processor.redaction import Redactor

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="list, show and re-drive dead-lettered records")
    actions = parser.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)
    helps = {
        "list": "one line per record",
        "show": "records in full (headers and value)",
        "redrive": "re-publish matching records into the first retry tier",
    }
    for name, text in helps.items():
        sub = actions.add_parser(name, help=text)
        add_config_argument(sub)
        sub.add_argument("--error-class", help="retryable | permanent | auth | decode | validation")
        sub.add_argument("--subscription", metavar="NAME", help="records still owed to this subscription")
        sub.add_argument("--since", metavar="ISO", help="dead-lettered at or after (UTC if no zone)")
        sub.add_argument("--until", metavar="ISO", help="dead-lettered before (UTC if no zone)")
        sub.add_argument("--at", metavar="P:O", help="exactly the record at partition P, offset O")
        sub.add_argument("--limit", type=int, default=1 if name == "show" else None, help="at most N records")
        sub.add_argument("--timeout", type=float, default=10.0, help="seconds for each Kafka request")
        sub.set_defaults(func=run)


def _filter(args: argparse.Namespace) -> DlqFilter:
    partition = offset = None
    if args.at:
        p, sep, o = args.at.partition(":")
        if not sep or not p.isdigit() or not o.isdigit():
            raise ValueError(f"--at wants PARTITION:OFFSET, got {args.at!r}")
        partition, offset = int(p), int(o)
    to_ms = lambda text: int(parse_datetime(text).timestamp() * 1000) if text else None  # noqa: E731
    return DlqFilter(args.error_class, args.subscription, to_ms(args.since), to_ms(args.until), partition, offset)


def _one_line(text: str, width: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _status(record: DlqRecord, ledgers: dict[int, RedriveLedger]) -> str:
    return "redriven" if record.offset in ledgers.get(record.partition, RedriveLedger()) else "dead"


def _print_list(records: list[DlqRecord], ledgers: dict[int, RedriveLedger], redactor: Redactor) -> None:
    print("PARTITION:OFFSET  DEAD-LETTERED AT          CLASS       STATUS    SUBSCRIPTIONS  MESSAGE")
    for r in records:
        subs = ",".join(r.subscriptions) or "-"
        print(
            f"{r.partition}:{r.offset:<15} {r.time.isoformat(timespec='seconds'):<25} {r.error_class or '-':<11} "
            f"{_status(r, ledgers):<9} {subs:<14} {_one_line(redactor.redact(r.headers.get(h.ERROR_MESSAGE, '')))}"
        )


def _print_full(records: list[DlqRecord], ledgers: dict[int, RedriveLedger], redactor: Redactor) -> None:
    for i, r in enumerate(records):
        if i:
            print()
        print(f"record {r.partition}:{r.offset}  ({_status(r, ledgers)})")
        print(f"  dead-lettered at: {r.time.isoformat()}")
        print(f"  key: {r.key.decode('utf-8', errors='replace') if r.key is not None else '(none)'}")
        print("  headers:")
        for name, value in r.headers.items():
            print(f"    {name}: {redactor.redact(value)}")
        print("  value:")
        print(_pretty(r.value))


def _pretty(value: bytes | None) -> str:
    if value is None:
        return "    (null)"
    try:
        text = orjson.dumps(orjson.loads(value), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        text = value.decode("utf-8", errors="replace")
    return "\n".join("    " + line for line in text.splitlines())


class _Progress:
    """``[#####.....] 120/400`` redrawn in place on a terminal; one final line otherwise."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self._tty:
            return
        filled = 30 * done // max(total, 1)
        if filled == self._last and done != total:
            return
        self._last = filled
        sys.stderr.write(f"\rredrive [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _redrive(cfg: AppConfig, scanned: list[DlqRecord], matched: list[DlqRecord], ledgers: dict[int, RedriveLedger], timeout: float) -> int:
    existing: dict[int, list[int]] = {}
    for r in scanned:
        existing.setdefault(r.partition, []).append(r.offset)
    result = redrive(dlq_settings(cfg), matched, ledgers, existing, progress=_Progress(), timeout=timeout)
    err(
        f"redriven {result.redriven} record(s) into {cfg.kafka.retry_topic}.0; "
        f"{result.skipped} already redriven earlier; {result.failed} failed"
    )
    return EXIT_FAILED if result.failed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    cfg = load_config_or_none(args.config)
    if cfg is None:
        return EXIT_CONFIG
    try:
        flt = _filter(args)
    except ValueError as exc:
        err(str(exc))
        return EXIT_CONFIG
    try:
        ledgers = load_ledgers(dlq_settings(cfg), timeout=args.timeout)
        scanned = list(scan_dlq(dlq_settings(cfg), timeout=args.timeout))
        matched = [r for r in scanned if flt.matches(r)]
        if args.limit is not None:
            matched = matched[: args.limit]
        if args.dlq_action == "list":
            _print_list(matched, ledgers, Redactor(cfg.secrets()))
            err(f"{len(matched)} record(s)")
            return EXIT_OK
        if args.dlq_action == "show":
            if not matched:
                err("no matching record")
                return EXIT_FAILED
            _print_full(matched, ledgers, Redactor(cfg.secrets()))
            return EXIT_OK
        return _redrive(cfg, scanned, matched, ledgers, args.timeout)
    except KafkaUnavailable as exc:
        err(f"Kafka: {exc}")
        return EXIT_KAFKA
    except LedgerFull as exc:
        err(str(exc))
        return EXIT_FAILED
