"""``voucherify-processor import-segment``: a Segment set-up as this processor's configuration.

::

    voucherify-processor import-segment FILE... [-o OUT | --into my.yaml] [--custom-url URL]
    voucherify-processor import-segment --destination-id ID [-o OUT | --into my.yaml]

``FILE``: JSON saved from Segment's Public API (``GET /destinations/{id}``, every page of
``GET /destinations/{id}/subscriptions``, or a list of subscriptions), ``-`` for stdin. With
``--destination-id`` the two calls are made with the token in ``$SEGMENT_PUBLIC_API_TOKEN``
(or the variable ``--token-env`` names).

The configuration goes to stdout, to ``-o FILE``, or with ``--into F`` into F itself (its
other sections and comments kept, its ``subscriptions`` replaced; ``-o`` writes the merged
result elsewhere). The report goes to stderr: one line per subscription (imported / imported
with warnings / refused, and why), the environment variables the secrets go in (values masked:
secrets are never written), and the offline ``check-config`` verdict of the result.

Exit codes: 0 written and every subscription imported (warnings allowed); 1 written, but a
subscription was refused, an input page is missing, or the result does not pass the check;
2 nothing written (unreadable input, not a Segment export, the Public API failed, no
subscription in the inputs or none importable, the written text would not read back as meant).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Any

import orjson
import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.representer import RoundTripRepresenter

from processor.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, err
from processor.config import ConfigFileError, parse_document
from processor.importer.fetch import DEFAULT_API_URL, TOKEN_ENV, FetchError, fetch_documents
from processor.importer.segment_export import ExportError, read_export
from processor.importer.translate import SECRET_ENV, ImportResult, translate
from processor.ops.logging import RedactingFilter

__all__ = ["register", "run"]

_STATUS = {"imported": "imported", "warnings": "imported with warnings", "refused": "refused"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import-segment",
        help="turn Segment's Public API export of a Voucherify (Actions) destination into a config",
        description="Translate a Segment Voucherify (Actions) destination and its subscriptions (Public API JSON) into this processor's configuration.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="JSON saved from Segment's Public API; - = stdin")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("-o", "--output", metavar="OUT", help="write the configuration here (default: stdout, or the --into file)")
    parser.add_argument("--into", metavar="CONFIG", help="merge into this configuration (keeps its other sections and comments)")
    parser.add_argument("--custom-url", metavar="URL", help="destination.custom_url when no destination export is given")
    parser.add_argument("--destination-id", metavar="ID", help="fetch the export from Segment's Public API instead of files")
    parser.add_argument("--token-env", default=TOKEN_ENV, metavar="VAR", help=f"environment variable holding the Public API token (default {TOKEN_ENV})")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, metavar="URL", help=f"Public API base URL (default {DEFAULT_API_URL}; EU: https://eu1.api.segmentapis.com)")
    parser.set_defaults(func=run)


#: PyYAML's (YAML 1.1) resolver: the one the processor reads its file with.
_PROCESSOR_RESOLVER = pyyaml.resolver.Resolver()
_STR_TAG = "tag:yaml.org,2002:str"
#: characters that make a plain scalar mean something else (or not parse) for a YAML 1.1 reader
_NEEDS_QUOTES = frozenset("-?:,[]{}#&*!|>'\"%@`\t\n\r")


def _ambiguous(value: str) -> bool:
    """Would ``value`` written plain read back as something other than this string in YAML 1.1?

    ruamel writes YAML 1.2, where ``no``, ``on``, ``0o7``, ``1:20`` or ``:x`` are plain strings;
    PyYAML (the processor's loader, YAML 1.1) reads them as booleans, numbers or not at all.
    """
    if not value or value != value.strip() or any(c in _NEEDS_QUOTES for c in value):
        return True
    return _PROCESSOR_RESOLVER.resolve(pyyaml.ScalarNode, value, (True, False)) != _STR_TAG


def _represent_str(representer: RoundTripRepresenter, data: str) -> Any:
    if _ambiguous(data):
        return representer.represent_scalar(_STR_TAG, data, style='"' if "\n" in data else "'")
    return representer.represent_str(data)


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, quoting strings as :func:`_ambiguous` says."""


_Representer.add_representer(str, _represent_str)


def _yaml(*, load_as_processor: bool = False) -> YAML:
    """ruamel, round-trip (keeps an --into file's comments and key order).

    Loading with ``load_as_processor`` reads YAML 1.1 like the processor does (``enabled: no``
    is false); dumping quotes every string a YAML 1.1 reader would take for something else.
    """
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never fold a trigger or a template over lines
    if load_as_processor:
        yaml.version = (1, 1)
    yaml.Representer = _Representer
    return yaml


def _read_inputs(files: list[str], stdin: IO[bytes]) -> list[tuple[str, Any]]:
    documents = []
    for name in files:
        source = "stdin" if name == "-" else name
        try:
            data = stdin.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise ExportError(f"{name}: cannot read: {exc.strerror}") from None
        data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM (Windows editors, PowerShell's Out-File)
        try:
            documents.append((source, orjson.loads(data)))
        except orjson.JSONDecodeError as exc:
            raise ExportError(f"{source}: not JSON: {exc}") from None
    return documents


def _styled(value: Any, *, top: bool = False) -> Any:
    """Plain data -> ruamel nodes; directive objects such as ``{"@path": "$.userId"}`` on one line."""
    if isinstance(value, dict):
        node = CommentedMap((k, _styled(v)) for k, v in value.items())
        if not top and value and all(isinstance(k, str) and k.startswith("@") for k in value) and all(
            not isinstance(v, (dict, list)) for v in value.values()
        ):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        return CommentedSeq(_styled(v) for v in value)
    return value


def _header(result: ImportResult) -> str:
    lines = [_IMPORTED_FROM
             + (f" (destination {result.destination_label})" if result.destination_label else "") + "."]
    envs = " and ".join(env for env, _ in SECRET_ENV.values())
    lines.append(f"Secrets are not in this file: set {envs} (or destination.*_file) where the processor runs.")
    for report in result.refused:
        lines.append(f"{_NOT_IMPORTED}{report.segment_name!r}: {report.messages[0].splitlines()[0]}")
    return "\n".join(lines)


#: The lines :func:`_header` writes start so; an --into file's old ones are dropped, not piled up.
_IMPORTED_FROM = "Imported from Segment by `voucherify-processor import-segment`"
_NOT_IMPORTED = "Not imported: "
_OUR_COMMENTS = (_IMPORTED_FROM, "Secrets are not in this file: set ", _NOT_IMPORTED, "Add your kafka: section (see config/example.yaml)")


def _without_our_header(text: str) -> str:
    """``text`` without the comment lines a previous import wrote (each import writes its own)."""
    kept = [line for line in text.splitlines(keepends=True)
            if not (line.startswith("# ") and line[2:].startswith(_OUR_COMMENTS))]
    return "".join(kept)


def _render(result: ImportResult, merged: bool, as_json: bool) -> str:
    if as_json:
        return orjson.dumps(_plain(result.document), option=orjson.OPT_INDENT_2).decode() + "\n"
    doc = result.document
    if not isinstance(doc, CommentedMap):
        doc = _styled(doc, top=True)
    else:
        doc["subscriptions"] = _styled(doc["subscriptions"])
    header = _header(result)
    if merged:
        doc.yaml_set_comment_before_after_key("subscriptions", before=header)
    else:
        doc.yaml_set_start_comment(header + "\nAdd your kafka: section (see config/example.yaml), or import with --into my.yaml.")
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    """ruamel's nodes (CommentedMap, ScalarFloat...) -> plain Python values, for comparison."""
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if type(value) in (bool, int, float, str):
        return value
    for kind in (bool, int, float, str):  # ruamel's ScalarBoolean, ScalarInt, ScalarFloat, ScalarString
        if isinstance(value, kind):
            return kind(value)
    return value


def _first_difference(meant: Any, read: Any, where: str = "") -> str:
    if isinstance(meant, dict) and isinstance(read, dict):
        for key in [*meant, *(k for k in read if k not in meant)]:
            if key not in read or key not in meant:
                return f"{where}.{key}" if where else str(key)
            found = _first_difference(meant[key], read[key], f"{where}.{key}" if where else str(key))
            if found:
                return found
        return ""
    if isinstance(meant, list) and isinstance(read, list) and len(meant) == len(read):
        for i, (m, r) in enumerate(zip(meant, read)):
            found = _first_difference(m, r, f"{where}[{i}]")
            if found:
                return found
        return ""
    if type(meant) is not type(read) or meant != read:
        return f"{where or 'the document'}: meant {meant!r}, reads {read!r}"
    return ""


def _reread_difference(text: str, document: Any, *, as_json: bool) -> str:
    """Read ``text`` with the processor's own loader; '' when it equals ``document``, else where not."""
    try:
        read = parse_document(text, source="the written configuration", as_json=as_json)
    except ConfigFileError as exc:
        return str(exc)
    return _first_difference(_plain(document), read)


def _write(path: str, text: str) -> None:
    """Replace ``path`` atomically: a crash never leaves a half-written configuration."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if target.exists():
            os.chmod(tmp, target.stat().st_mode & 0o777)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _report(result: ImportResult, say: Any) -> None:
    width = max((len(repr(r.name)) for r in result.reports), default=10)
    for r in result.reports:
        status = _STATUS[r.status] + ("" if r.enabled or r.status == "refused" else " (disabled)")
        say(f"  {status:<33} {r.name!r:<{width}}  {r.action or '-'}")
        for message in r.messages:
            say("\n".join(f"      {line}" for line in message.splitlines()))
    for note in result.notes:
        say(f"note: {note}")
    say("secrets: never written to the file; set them where the processor runs:")
    for hint in result.secrets:
        if hint.masked_in_export:
            origin = f"Segment's export shows it masked: copy the {hint.label} from Voucherify's dashboard"
        elif hint.in_export:
            origin = f"the {hint.label}: settings.{hint.setting} of the exported destination"
        else:
            origin = f"your {hint.label}; the inputs hold none"
        done = "; already set here" if hint.set_in_environment else ""
        say(f"  {hint.env}=********  ({origin}{done})")


def run(args: argparse.Namespace, *, stdin: IO[bytes] | None = None, stdout: IO[str] | None = None) -> int:
    out = stdout if stdout is not None else sys.stdout
    if not args.files and not args.destination_id:
        err("import-segment: give the exported JSON files (or - for stdin), or --destination-id to fetch them")
        return EXIT_CONFIG
    try:
        documents = _read_inputs(args.files, stdin if stdin is not None else sys.stdin.buffer)
        if args.destination_id:
            token = os.environ.get(args.token_env, "")
            if not token:
                err(f"import-segment: --destination-id needs a Segment Public API token in ${args.token_env}")
                return EXIT_CONFIG
            documents += fetch_documents(args.destination_id, token, api_url=args.api_url)
        export = read_export(documents)
    except (ExportError, FetchError) as exc:
        err(f"import-segment: {exc}")
        return EXIT_CONFIG
    if not export.subscriptions:  # e.g. only the destination export: never write (or merge) an empty list
        err("import-segment: the inputs hold no subscriptions (save every page of GET /destinations/{id}/subscriptions "
            "too); nothing written" + (f", {args.into}'s subscriptions kept" if args.into else ""))
        return EXIT_CONFIG

    base = None
    if args.into:
        try:
            text = Path(args.into).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            err(f"import-segment: {args.into}: cannot read: {getattr(exc, 'strerror', None) or exc}")
            return EXIT_CONFIG
        try:
            if args.into.endswith(".json"):  # JSON has no comments to keep: read it as the processor does
                base = parse_document(text, source=args.into, as_json=True)
            else:
                base = _yaml(load_as_processor=True).load(_without_our_header(text)) or CommentedMap()
        except ConfigFileError as exc:
            err(f"import-segment: {exc}")
            return EXIT_CONFIG
        except Exception as exc:  # ruamel raises several types for bad YAML
            err(f"import-segment: {args.into}: not valid YAML: {exc}")
            return EXIT_CONFIG
        if not isinstance(base, dict):
            err(f"import-segment: {args.into}: the top level must be a mapping")
            return EXIT_CONFIG
    target = args.output or args.into
    result = translate(export, base=base, custom_url=args.custom_url, source=target or "imported configuration")

    settings = export.destination.settings if export.destination is not None else {}
    secrets = [str(settings[k]) for k in SECRET_ENV if settings.get(k)]
    redactor = RedactingFilter(secrets)
    as_json = bool(target and target.endswith(".json"))
    text = _render(result, merged=base is not None, as_json=as_json)
    leaked = [s for s in secrets if len(s) >= 4 and s in text]
    if leaked:  # e.g. a key pasted as a @literal in a mapping: refuse rather than write it
        err("import-segment: a secret of the destination appears in a subscription's mapping; nothing written")
        return EXIT_FAILED
    difference = _reread_difference(text, result.document, as_json=as_json)
    if difference:
        err(f"import-segment: the processor would not read back what was meant ({difference}); nothing written")
        return EXIT_CONFIG

    def say(line: str) -> None:
        err(redactor.redact(line))

    counts = {s: sum(r.status == s for r in result.reports) for s in _STATUS}
    say(f"import-segment: {len(result.reports)} subscription(s) from Segment"
        + (f", destination {result.destination_label}" if result.destination_label else ""))
    _report(result, say)
    if result.config_problem:
        say(f"check: FAIL {result.config_problem}")
    else:
        say("check: ok (validated and compiled as check-config does offline)")
    if not result.document.get("subscriptions"):
        say("import-segment: every subscription was refused; nothing written"
            + (f", {args.into}'s subscriptions kept" if args.into else ""))
        return EXIT_CONFIG
    if target:
        try:
            _write(target, text)
        except OSError as exc:
            err(f"import-segment: {target}: cannot write: {exc.strerror}")
            return EXIT_FAILED
    else:
        out.write(text)
        out.flush()
    say(f"{'wrote ' + target if target else 'written to stdout'}: {counts['imported'] + counts['warnings']} of "
        f"{len(result.reports)} subscription(s) ({counts['imported']} imported, {counts['warnings']} with warnings, "
        f"{counts['refused']} refused)")
    incomplete = counts["refused"] or result.config_problem or export.incomplete
    return EXIT_FAILED if incomplete else EXIT_OK
