"""``voucherify-processor dlq list|show|redrive``: inspect and re-drive dead-lettered records.

``list`` prints one line per record (``--pending``: only those that still need attention);
``show`` prints records in full (headers, and the value as pretty JSON when it is JSON);
``redrive`` re-publishes matching records into the first retry tier, so the running processor
delivers them again with fresh retry state; ``resolve`` marks matching records as handled.

``redrive`` is safe to re-run: records already re-driven, or marked handled, are skipped. By
default it takes only the error classes a second try can get through (retryable, permanent,
auth) and says what it skipped and why; ``decode`` and ``validation`` records are re-driven only
when asked for by ``--error-class`` or ``--any-class`` (after fixing the input or the mapping).

Header values are printed through the configured secrets' redactor: records dead-lettered by an
older version may hold part of an echoed secret in ``vp.error.message``.

Records with the same origin (topic, partition, offset) and subscriptions are one failure
dead-lettered several times (a crash re-processed the event): every command treats them as one
entry (filters select an entry when they select any of its copies), showing the newest copy and
how many there are; ``redrive`` publishes it once and ``resolve`` marks every copy.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

import orjson

from processor.app import dlq_settings
from processor.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_KAFKA,
    EXIT_OK,
    add_config_argument,
    err,
    kafka_unreachable,
    load_config_or_none,
)
from processor.cli.replay import parse_datetime
from processor.config import AppConfig
from processor.engine import headers as h
from processor.errors import KafkaUnavailable, LedgerFull
from processor.kafka.admin import QUIET
from processor.kafka.dlq import (
    ERROR_CLASSES,
    FAILS_AGAIN,
    REDRIVE_BY_DEFAULT,
    DlqEntry,
    DlqFilter,
    DlqRecord,
    DlqSettings,
    RedriveLedger,
    by_origin,
    handled_group_id,
    load_ledgers,
    mark_handled,
    redrive,
    scan_dlq,
)
from processor.redaction import Redactor

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="list, show and re-drive dead-lettered records")
    actions = parser.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)
    helps = {
        "list": "one line per record",
        "show": "records in full (headers and value)",
        "redrive": "re-publish matching records into the first retry tier (by default only retryable, permanent, auth)",
        "resolve": "mark matching records as handled (dlq list --pending no longer shows them)",
    }
    for name, text in helps.items():
        sub = actions.add_parser(name, help=text)
        add_config_argument(sub)
        sub.add_argument("--error-class", choices=ERROR_CLASSES, metavar="CLASS", help=" | ".join(ERROR_CLASSES))
        sub.add_argument("--subscription", metavar="NAME", help="records still owed to this subscription")
        sub.add_argument("--since", metavar="ISO", help="dead-lettered at or after (UTC if no zone)")
        sub.add_argument("--until", metavar="ISO", help="dead-lettered before (UTC if no zone)")
        sub.add_argument("--at", metavar="P:O", help="exactly the record at partition P, offset O")
        sub.add_argument("--limit", type=int, default=1 if name == "show" else None, help="at most N records")
        sub.add_argument("--timeout", type=float, default=10.0, help="seconds for each Kafka request")
        if name == "list":
            sub.add_argument("--pending", action="store_true", help="only records neither re-driven nor marked handled")
        if name == "redrive":
            sub.add_argument("--any-class", action="store_true",
                             help="also decode and validation records (they fail again unless the input or mapping changed)")
        if name == "resolve":
            sub.add_argument("--all", action="store_true", help="every matching record, even with no filter given")
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


def _status(entry: DlqEntry, redriven: dict[int, RedriveLedger], handled: dict[int, RedriveLedger]) -> str:
    """``dead`` while any copy is neither re-driven nor handled; else what became of the newest."""
    if entry.pending(redriven, handled):
        return "dead"
    newest = entry.record
    return "redriven" if newest.offset in redriven.get(newest.partition, RedriveLedger()) else "handled"


def _shown(entry: DlqEntry, flt: DlqFilter) -> DlqRecord:
    """The copy to print: the newest one the filter selects (``--at`` names an exact copy)."""
    return max((r for r in entry.copies if flt.matches(r)), key=lambda r: (r.timestamp_ms, r.partition, r.offset))


def _print_list(rows: list[tuple[str, ...]]) -> None:
    """Columns as wide as their widest cell, two spaces apart; MESSAGE last (one line, cut at 120)."""
    header = ("PARTITION:OFFSET", "DEAD-LETTERED AT", "CLASS", "STATUS", "COPIES", "SUBSCRIPTIONS", "MESSAGE")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])


def _row(r: DlqRecord, status: str, copies: int, redactor: Redactor) -> tuple[str, ...]:
    return (f"{r.partition}:{r.offset}", r.time.isoformat(timespec="seconds"), r.error_class or "-", status,
            str(copies), ",".join(r.subscriptions) or "-", _one_line(redactor.redact(r.headers.get(h.ERROR_MESSAGE, ""))))


def _print_full(entries: list[DlqEntry], status: dict[int, str], flt: DlqFilter, redactor: Redactor) -> None:
    for i, e in enumerate(entries):
        r = _shown(e, flt)
        if i:
            print()
        print(f"record {r.partition}:{r.offset}  ({status[id(e)]})")
        if len(e.copies) > 1:
            others = ", ".join(f"{c.partition}:{c.offset}" for c in e.copies if c is not r)
            print(f"  dead-lettered {len(e.copies)} times (same origin and subscriptions); other copies: {others}")
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


def _existing(scanned: list[DlqRecord]) -> dict[int, list[int]]:
    existing: dict[int, list[int]] = {}
    for r in scanned:
        existing.setdefault(r.partition, []).append(r.offset)
    return existing


def _redrive(
    args: argparse.Namespace, cfg: AppConfig, scanned: list[DlqRecord], matched: list[DlqEntry],
    ledgers: dict[int, RedriveLedger], handled_ledgers: dict[int, RedriveLedger], status: dict[int, str],
    flt: DlqFilter,
) -> int:
    """Re-drive what can succeed, each entry once; say what was left out and why."""
    explicit = args.any_class or args.error_class is not None
    fails_again: dict[str, int] = {}
    handled = 0
    todo: list[DlqEntry] = []
    for e in matched:
        cls = _shown(e, flt).error_class
        if status[id(e)] == "handled":
            handled += 1
        elif not explicit and cls not in REDRIVE_BY_DEFAULT:
            fails_again[cls or "(none)"] = fails_again.get(cls or "(none)", 0) + 1
        else:
            # copies marked handled stay out: only the ones nobody dealt with are re-driven
            copies = e.pending(handled_ledgers)
            todo.append(DlqEntry(tuple(copies)) if copies else e)
    result = redrive(_quiet(dlq_settings(cfg)), todo, ledgers, _existing(scanned), progress=_Progress(), timeout=args.timeout)
    err(
        f"redriven {result.redriven} record(s) into {cfg.kafka.retry_topic}.0; "
        f"{result.skipped} already redriven earlier; "
        + (f"{result.copies} duplicate copies (same origin) recorded with them; " if result.copies else "")
        + f"{result.failed} failed"
    )
    if handled:
        err(f"skipped {handled} record(s) marked as handled (dlq resolve)")
    if fails_again:
        why = "; ".join(f"{n} {cls}: {FAILS_AGAIN.get(cls, 'not a class a second try gets through')}"
                        for cls, n in sorted(fails_again.items()))
        err(f"skipped {sum(fails_again.values())} record(s) that would only fail again ({why}); "
            "after fixing the input or the configuration, re-drive them with --any-class or --error-class CLASS, "
            "or mark them handled with dlq resolve")
    return EXIT_FAILED if result.failed else EXIT_OK


def _resolve(args: argparse.Namespace, cfg: AppConfig, scanned: list[DlqRecord], matched: list[DlqEntry],
             handled: dict[int, RedriveLedger]) -> int:
    if not args.all and not any((args.error_class, args.subscription, args.since, args.until, args.at)):
        err("dlq resolve marks every matching record: give a filter (--at, --error-class, ...) or --all")
        return EXIT_CONFIG
    new = sum(1 for e in matched if e.pending(handled))  # entries with a copy not marked yet
    mark_handled(_quiet(dlq_settings(cfg)), [r for e in matched for r in e.copies], handled, _existing(scanned))
    err(f"marked {new} record(s) as handled; {len(matched) - new} already were")
    return EXIT_OK


def _quiet(settings: DlqSettings) -> DlqSettings:
    """The clients without librdkafka's own connect-failure lines (a dead broker printed ~190 of
    them); an unreachable broker still surfaces as ``KafkaUnavailable``, reported in one line."""
    return replace(settings, consumer={**settings.consumer, **QUIET}, producer={**settings.producer, **QUIET})


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
        settings = _quiet(dlq_settings(cfg))
        redriven = load_ledgers(settings, timeout=args.timeout)
        handled = load_ledgers(settings, timeout=args.timeout, group=handled_group_id(settings))
        scanned = list(scan_dlq(settings, timeout=args.timeout))
        entries = by_origin(scanned)
        status = {id(e): _status(e, redriven, handled) for e in entries}
        # Group first, then filter: a filter that selects one copy selects its whole entry,
        # so re-driving or resolving it also records the other copies.
        matched = [e for e in entries if any(flt.matches(r) for r in e.copies)]
        if getattr(args, "pending", False):
            matched = [e for e in matched if status[id(e)] == "dead"]
        if args.limit is not None:
            matched = matched[: args.limit]
        if args.dlq_action == "list":
            redactor = Redactor(cfg.secrets())
            _print_list([_row(_shown(e, flt), status[id(e)], len(e.copies), redactor) for e in matched])
            pending = sum(1 for e in matched if status[id(e)] == "dead")
            err(f"{len(matched)} record(s); {pending} still need attention (neither re-driven nor handled)")
            return EXIT_OK
        if args.dlq_action == "show":
            if not matched:
                err("no matching record")
                return EXIT_FAILED
            _print_full(matched, status, flt, Redactor(cfg.secrets()))
            return EXIT_OK
        if args.dlq_action == "resolve":
            return _resolve(args, cfg, scanned, matched, handled)
        return _redrive(args, cfg, scanned, matched, redriven, handled, status, flt)
    except KafkaUnavailable as exc:
        if "does not exist" in str(exc):
            err(f"Kafka: {exc}")
        else:
            kafka_unreachable(cfg, exc)
        return EXIT_KAFKA
    except LedgerFull as exc:
        err(str(exc))
        return EXIT_FAILED
