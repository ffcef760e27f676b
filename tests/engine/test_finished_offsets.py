"""The finished-offsets commit metadata: round trip, bounded size, and paranoid decoding.

The safety property throughout: decoding never claims an offset finished that the encoder was
not given as finished. Anything doubtful decodes to "nothing finished" (duplicates, never loss).
"""

from __future__ import annotations

import logging
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processor.engine.finished_offsets import (
    MAX_METADATA_CHARS,
    VERSION,
    FinishedRuns,
    MetadataError,
    decode,
    encode,
    parse,
)

BASES = st.integers(min_value=0, max_value=2**40)


@st.composite
def finished_sets(draw: st.DrawFn) -> tuple[int, list[int]]:
    base = draw(BASES)
    gaps = draw(st.lists(st.integers(min_value=1, max_value=draw(st.sampled_from([1, 3, 50, 100_000]))),
                         max_size=draw(st.sampled_from([5, 200, 3000]))))
    out, at = [], base
    for g in gaps:
        at += g
        out.append(at)
    return base, out


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(finished_sets())
def test_round_trip_returns_exactly_what_fitted(case: tuple[int, list[int]]) -> None:
    base, finished = case
    enc = encode(base, finished)
    assert len(enc.text) <= MAX_METADATA_CHARS
    kept = finished[: len(finished) - enc.left_out]
    assert parse(enc.text, base).offsets() == kept


@settings(max_examples=200, deadline=None)
@given(finished_sets(), st.integers(min_value=40, max_value=400))
def test_a_set_too_large_keeps_its_lowest_offsets(case: tuple[int, list[int]], limit: int) -> None:
    base, finished = case
    enc = encode(base, finished, limit=limit)
    assert len(enc.text) <= limit
    kept = parse(enc.text, base).offsets()
    assert kept == finished[: len(kept)] and len(kept) + enc.left_out == len(finished)


def test_five_thousand_in_flight_fits() -> None:
    """A partition at max_in_flight_per_partition (5,000) in the worst common shapes fits whole."""
    rnd = random.Random(5)
    base = 123_456_789
    # every other offset finished; random half of 10,000; a slow key every 300th offset
    shapes = {
        "alternate": list(range(base + 2, base + 10_001, 2)),
        "random half": sorted(rnd.sample(range(base + 1, base + 10_001), 5000)),
        "slow key": [o for o in range(base + 1, base + 100_001) if (o - base) % 300],
    }
    for name, finished in shapes.items():
        enc = encode(base, finished)
        assert enc.left_out == 0, name
        assert parse(enc.text, base).offsets() == finished, name


@pytest.mark.parametrize("text", [
    "12-40,45",  # the dlq-redrive ledger's format
    '{"finished": [1, 2]}',
    "some other tool",
    "vp2:100:r:eNpjZGZljGQEAADlAGU",  # a future version
    "vp1:100:r",
    "vp1:100:r:eNpjZGZljGQEAADlAGU:extra",
    "vp1:-5:r:eNpjZGZljGQEAADlAGU",
    "vp1:100:x:eNpjZGZljGQEAADlAGU",
    "vp1:100:r:!!!!",
    "vp1:100:r:" + "A" * 50,
    "vp1:100:b:eNpjZGZljGQEAADlAGU",  # a run payload read as a bitmap
])
def test_foreign_or_corrupt_metadata_means_nothing_finished(text: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert decode(text, 100) == FinishedRuns(100)
    assert "delivered again" in caplog.text


def test_a_moved_offset_invalidates_the_set(caplog: pytest.LogCaptureFixture) -> None:
    """``replay`` / ``kafka-consumer-groups --reset-offsets`` moved the offset but kept the string."""
    text = encode(100, [102, 103]).text
    assert 102 in decode(text, 100)
    with caplog.at_level(logging.WARNING):
        assert len(decode(text, 50)) == 0 and len(decode(text, 101)) == 0
    assert "moved" in caplog.text


def test_empty_means_nothing_finished_quietly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert decode("", 7) == FinishedRuns(7) and decode(None, 7) == FinishedRuns(7)
    assert caplog.text == ""


def test_a_decompression_bomb_is_refused() -> None:
    import base64
    import zlib

    bomb = base64.urlsafe_b64encode(zlib.compress(b"\x01" * (8 << 20), 9)).decode().rstrip("=")
    with pytest.raises(MetadataError):
        parse(f"{VERSION}:100:r:{bomb}", 100)


@settings(max_examples=500, deadline=None)
@given(finished_sets(), st.data())
def test_a_corrupted_string_decodes_to_the_truth_or_to_nothing(case: tuple[int, list[int]], data: st.DataObject) -> None:
    base, finished = case
    text = encode(base, finished).text
    if not text:
        return
    truth = parse(text, base).offsets()
    how = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    i = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    c = data.draw(st.characters(codec="ascii"))
    mutated = {"flip": text[:i] + c + text[i + 1:], "cut": text[:i], "insert": text[:i] + c + text[i:]}[how]
    got = decode(mutated, base).offsets()
    assert got in ([], truth)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.integers(min_value=0, max_value=2**40))
def test_decoding_any_text_never_raises(text: str, committed: int) -> None:
    result = decode(text, committed)
    assert all(first > committed for first, _ in result.runs)


def test_encode_refuses_offsets_not_above_the_base() -> None:
    with pytest.raises(ValueError):
        encode(10, [10, 11])
    with pytest.raises(ValueError):
        encode(10, [12, 11])
