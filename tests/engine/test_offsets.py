import pytest
from hypothesis import given, strategies as st

from processor.engine.offsets import OffsetOrderError, PartitionOffsets, UnknownOffsetError


def test_nothing_tracked_has_nothing_to_commit():
    assert PartitionOffsets().committable() is None


def test_commit_stays_behind_the_lowest_unfinished_offset():
    po = PartitionOffsets()
    for o in (10, 11, 12, 13):
        po.track(o)
    po.finish(12)
    po.finish(13)
    assert po.committable() == 10
    po.finish(10)
    assert po.committable() == 11
    po.finish(11)
    assert po.committable() == 14
    assert po.in_flight == 0


def test_gaps_in_offsets_are_fine():
    po = PartitionOffsets()
    po.track(5)
    po.track(9)
    po.finish(9)
    assert po.committable() == 5
    po.finish(5)
    assert po.committable() == 10


def test_offsets_going_backwards_is_an_invariant_violation():
    po = PartitionOffsets()
    po.track(5)
    with pytest.raises(OffsetOrderError):
        po.track(5)


def test_finishing_an_unknown_or_finished_offset_is_an_invariant_violation():
    po = PartitionOffsets()
    po.track(1)
    po.track(2)
    po.finish(2)
    with pytest.raises(UnknownOffsetError):
        po.finish(2)
    with pytest.raises(UnknownOffsetError):
        po.finish(7)


@given(st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=200), st.randoms())
def test_committable_never_passes_an_unfinished_offset(gaps, rnd):
    po = PartitionOffsets()
    offsets, o = [], 0
    for g in gaps:
        o += g
        offsets.append(o)
        po.track(o)
    order = offsets[:]
    rnd.shuffle(order)
    finished = set()
    for off in order:
        po.finish(off)
        finished.add(off)
        c = po.committable()
        unfinished = [x for x in offsets if x not in finished]
        if unfinished:
            assert c == min(unfinished)
        else:
            assert c == offsets[-1] + 1
