"""Which offsets above a committed offset are already finished, as a commit-metadata string.

Why: the committed offset of a partition is its lowest unfinished offset, so one slow key (a
retrying event, a busy user) holds back the commit of every finished event behind it; after a
crash or a rebalance all of those were sent again (issue 13: up to 12,901 repeats per kill).
Like Confluent's Parallel Consumer, the engine commits, with each offset, the set of finished
offsets above it, and the next owner skips them without sending anything.

The string (Kafka's offset-commit ``metadata``, at most :data:`MAX_METADATA_CHARS`)::

    vp1:<base>:<kind>:<payload>

* ``vp1``: encoding version. Another version, or anything not starting with ``vp``, is foreign.
* ``<base>``: the committed offset this set belongs to (decimal). A commit made by another
  tool (``replay``, ``kafka-consumer-groups --reset-offsets``) moves the offset and drops or
  keeps the metadata; either way the base no longer matches and the set is ignored.
* ``<kind>``: ``r`` (run lengths) or ``b`` (bitmap), whichever is shorter for this set.
* ``<payload>``: URL-safe base64 (no padding) of zlib-compressed bytes.
  ``r``: unsigned LEB128 varints, alternating run lengths of unfinished and finished offsets
  starting at ``base + 1`` with an unfinished run (possibly 0), ending with a finished run.
  ``b``: varint bit count ``n``, then ``ceil(n / 8)`` bytes; bit ``i`` (LSB first) set means
  ``base + 1 + i`` is finished.

Fallback when the set does not fit: the highest finished offsets are left out until it does
(:func:`encode` reports how many); those are sent again after a crash, as they were before
this encoding existed. Nothing is ever claimed finished that was not.

Decoding is paranoid: anything that does not parse, another version, a base that is not the
committed offset, a payload that decompresses to more than :data:`MAX_DECODED_BYTES`, or
offsets outside ``(base, base + MAX_SPAN]`` decodes to "nothing finished" (a duplicate, never
a loss) with a WARNING naming the reason. The empty string is the normal "nothing finished".
"""

from __future__ import annotations

import base64
import binascii
import bisect
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from processor.errors import InternalSignal

log = logging.getLogger(__name__)

VERSION = "vp1"
#: Kafka's broker default ``offset.metadata.max.bytes`` is 4096; a longer string fails the
#: partition's whole commit (OFFSET_METADATA_TOO_LARGE), so stay below it with room to spare.
MAX_METADATA_CHARS = 4000
#: A decoded payload larger than this is not ours (or is a decompression bomb).
MAX_DECODED_BYTES = 1 << 20
#: Finished offsets further than this above the base are not believed.
MAX_SPAN = 1 << 31


class MetadataError(InternalSignal, ValueError):
    """A commit-metadata string that is not a valid finished-offsets set for this offset.

    Never leaves this module's :func:`decode` (it becomes "nothing finished" and a WARNING)."""


@dataclass(frozen=True, slots=True)
class Encoded:
    text: str  # the metadata string ("" when nothing above the base is finished)
    left_out: int  # finished offsets that did not fit (highest first); 0 normally


# ----------------------------------------------------------------------------------- encode
def encode(base: int, finished: Sequence[int], *, limit: int = MAX_METADATA_CHARS) -> Encoded:
    """The metadata string for committed offset ``base`` and ``finished`` (ascending, all > base).

    Raises ValueError if ``finished`` is not strictly ascending above ``base``. When the full
    set does not fit in ``limit`` characters, the longest prefix that does is encoded.
    """
    if not finished:
        return Encoded("", 0)
    if finished[0] <= base:
        raise ValueError(f"finished offset {finished[0]} is not above the committed offset {base}")
    if finished[-1] - base > MAX_SPAN:  # never written what decode would not believe
        finished = finished[:bisect.bisect_right(finished, base + MAX_SPAN)]
    text = _encode(base, finished)
    if text is not None and len(text) <= limit:
        return Encoded(text, 0)
    lo, hi = 0, len(finished)  # invariant: the prefix of lo fits, the prefix of hi does not
    best = ""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        candidate = _encode(base, finished[:mid])
        if candidate is not None and len(candidate) <= limit:
            lo, best = mid, candidate
        else:
            hi = mid
    return Encoded(best, len(finished) - lo)


def _encode(base: int, finished: Sequence[int]) -> str | None:
    """The shorter of both kinds; None if neither decodes within MAX_DECODED_BYTES."""
    choices = []
    raw_runs = _varints(_runs(base, finished))
    if len(raw_runs) <= MAX_DECODED_BYTES:
        choices.append(("r", zlib.compress(raw_runs, 9)))
    span = finished[-1] - base
    # A bitmap far larger than the runs (long runs) compresses worse too: not worth building.
    if (span + 7) // 8 + 10 <= min(MAX_DECODED_BYTES, 8 * len(raw_runs) + 64):
        choices.append(("b", zlib.compress(_varints([span]) + _bitmap(base, finished, span), 9)))
    if not choices:
        return None
    kind, payload = min(choices, key=lambda c: len(c[1]))
    return f"{VERSION}:{base}:{kind}:{base64.urlsafe_b64encode(payload).rstrip(b'=').decode('ascii')}"


def _runs(base: int, finished: Sequence[int]) -> list[int]:
    runs: list[int] = []
    expect = base + 1  # first offset after the previous finished run
    it = iter(finished)
    start = prev = next(it)
    for o in it:
        if o <= prev:
            raise ValueError(f"finished offsets not strictly ascending at {o}")
        if o != prev + 1:
            runs += (start - expect, prev - start + 1)
            expect = prev + 1
            start = o
        prev = o
    runs += (start - expect, prev - start + 1)
    return runs


def _bitmap(base: int, finished: Sequence[int], span: int) -> bytes:
    bits = bytearray((span + 7) // 8)
    first = base + 1
    for o in finished:
        i = o - first
        bits[i >> 3] |= 1 << (i & 7)
    return bytes(bits)


def _varints(values: Sequence[int]) -> bytes:
    out = bytearray()
    for v in values:
        if v < 0:
            raise ValueError("negative run length: offsets not ascending")
        while v >= 0x80:
            out.append((v & 0x7F) | 0x80)
            v >>= 7
        out.append(v)
    return bytes(out)


# ----------------------------------------------------------------------------------- decode
@dataclass(frozen=True, slots=True)
class FinishedRuns:
    """Finished offsets as sorted, disjoint, inclusive ``(first, last)`` runs above ``base``."""

    base: int
    runs: tuple[tuple[int, int], ...] = ()

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self.runs, (offset, float("inf"))) - 1
        return i >= 0 and self.runs[i][0] <= offset <= self.runs[i][1]

    def __len__(self) -> int:
        return sum(last - first + 1 for first, last in self.runs)

    def offsets(self) -> list[int]:
        return [o for first, last in self.runs for o in range(first, last + 1)]


def decode(metadata: str | None, committed: int) -> FinishedRuns:
    """The finished offsets above ``committed`` that ``metadata`` records; never raises.

    Anything doubtful means "nothing finished" (every offset is delivered again) and logs a
    WARNING with the reason, because skipping an offset that was not finished would lose it.
    """
    try:
        return parse(metadata, committed)
    except MetadataError as exc:
        log.warning("ignoring the finished offsets stored with committed offset %d (%s): events above it "
                    "are delivered again", committed, exc)
        return FinishedRuns(committed)


def parse(metadata: str | None, committed: int) -> FinishedRuns:
    """Like :func:`decode` but raises :class:`MetadataError` saying why the string is rejected."""
    if not metadata:
        return FinishedRuns(committed)
    if not metadata.startswith("vp"):
        raise MetadataError("not written by this processor")
    parts = metadata.split(":")
    if parts[0] != VERSION:
        raise MetadataError(f"encoding version {parts[0][:10]!r}, this processor reads {VERSION!r}")
    if len(parts) != 4:
        raise MetadataError("malformed")
    _, base_text, kind, payload_text = parts
    if not base_text.isdigit() or len(base_text) > 19:
        raise MetadataError("malformed committed offset")
    if int(base_text) != committed:
        raise MetadataError(f"written for offset {int(base_text)}: the offset was moved since (a reset or replay)")
    try:
        compressed = base64.urlsafe_b64decode(payload_text + "=" * (-len(payload_text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_DECODED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            raise MetadataError("payload truncated, oversized or followed by garbage")
    except (binascii.Error, zlib.error, ValueError) as exc:
        if isinstance(exc, MetadataError):
            raise
        raise MetadataError(f"payload does not decode: {exc}") from None
    if kind == "r":
        runs = _parse_runs(committed, _read_varints(raw))
    elif kind == "b":
        runs = _parse_bitmap(committed, raw)
    else:
        raise MetadataError(f"unknown kind {kind[:10]!r}")
    if runs and runs[-1][1] - committed > MAX_SPAN:
        raise MetadataError("finished offsets implausibly far above the committed offset")
    return FinishedRuns(committed, tuple(runs))


def _read_varints(raw: bytes) -> list[int]:
    values: list[int] = []
    v = shift = 0
    for b in raw:
        v |= (b & 0x7F) << shift
        if b & 0x80:
            shift += 7
            if shift > 63:
                raise MetadataError("varint too long")
        else:
            values.append(v)
            v = shift = 0
    if shift:
        raise MetadataError("truncated varint")
    return values


def _parse_runs(base: int, values: list[int]) -> list[tuple[int, int]]:
    if not values or len(values) % 2:
        raise MetadataError("run lengths do not pair up")
    runs: list[tuple[int, int]] = []
    at = base + 1
    for i in range(0, len(values), 2):
        gap, length = values[i], values[i + 1]
        if length == 0 or (gap == 0 and runs):
            raise MetadataError("empty run")
        first = at + gap
        last = first + length - 1
        if last - base > MAX_SPAN:
            raise MetadataError("finished offsets implausibly far above the committed offset")
        runs.append((first, last))
        at = last + 1
    return runs


def _parse_bitmap(base: int, raw: bytes) -> list[tuple[int, int]]:
    i = 0
    for i, b in enumerate(raw):  # the leading varint: the bit count
        if not b & 0x80:
            break
    else:
        raise MetadataError("truncated bitmap")
    (span,) = _read_varints(raw[: i + 1])
    bits = raw[i + 1:]
    if span == 0 or len(bits) != (span + 7) // 8:
        raise MetadataError("bitmap length does not match its bit count")
    if bits[-1] >> ((span - 1) & 7) != 1:
        raise MetadataError("bitmap does not end exactly at its last finished offset")
    runs: list[tuple[int, int]] = []
    first = base + 1
    start: int | None = None  # first offset of the finished run being read
    for byte_index, b in enumerate(bits):
        at = first + byte_index * 8
        if b == 0 or b == 0xFF:  # whole byte unfinished / finished: the common cases
            if (b == 0) == (start is not None):
                if start is None:
                    start = at
                else:
                    runs.append((start, at - 1))
                    start = None
            continue
        for bit in range(8):
            if (b >> bit) & 1:
                if start is None:
                    start = at + bit
            elif start is not None:
                runs.append((start, at + bit - 1))
                start = None
    if start is not None:  # a run reaching the last byte's last bit
        runs.append((start, first + len(bits) * 8 - 1))
    return runs
