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


# -- finished offsets inherited from the previous owner (issue 13 item 1) -----------------------
from processor.engine.finished_offsets import FinishedRuns, decode, encode  # noqa: E402


def _inherited(base: int, finished: list[int]) -> FinishedRuns:
    return decode(encode(base, finished).text, base)


def test_inherited_offsets_are_skipped_and_count_as_finished():
    po = PartitionOffsets(_inherited(100, [101, 102, 105]))
    assert [po.track(o) for o in range(100, 107)] == [True, False, False, True, True, False, True]
    assert po.in_flight == 4
    assert po.commit_point() == (100, [101, 102, 105])
    po.finish(100)
    assert po.commit_point() == (103, [105])
    for o in (103, 104, 106):
        po.finish(o)
    assert po.commit_point() == (107, [])


def test_inherited_offsets_not_reached_yet_are_still_committed():
    """A second crash before the consumer reaches them must not forget them."""
    po = PartitionOffsets(_inherited(100, [102, 103, 200, 201]))
    assert po.track(100) and po.track(101)
    assert po.commit_point() == (100, [102, 103, 200, 201])
    po.finish(100)
    po.finish(101)
    assert po.commit_point() == (104, [200, 201])  # 102-103 finished by the previous owner
    assert po.track(102) is False and po.track(104)
    assert po.commit_point() == (104, [200, 201])


def test_inherited_set_of_a_moved_position_is_dropped(caplog):
    po = PartitionOffsets(_inherited(100, [101, 102]))
    assert po.track(0) is True  # the stream starts below the committed offset: not what was stored
    assert po.track(101) is True
    assert po.commit_point() == (0, [])
    assert "no longer apply" in caplog.text


@given(st.lists(st.booleans(), min_size=1, max_size=60), st.data())
def test_commit_point_never_claims_an_unfinished_offset(done_before, data):
    """Whatever the previous owner finished and this one finishes, in any order: safe and complete."""
    base = 1000
    prev_finished = [base + 1 + i for i, d in enumerate(done_before) if d]
    po = PartitionOffsets(_inherited(base, prev_finished))
    truth = set(prev_finished)
    offsets = list(range(base, base + len(done_before) + 1 + data.draw(st.integers(0, 5))))
    upto = data.draw(st.integers(0, len(offsets)))
    delivered = [o for o in offsets[:upto] if po.track(o)]
    assert not set(delivered) & truth
    order = data.draw(st.permutations(delivered))
    for o in order[: data.draw(st.integers(0, len(order)))]:
        po.finish(o)
        truth.add(o)
    point = po.commit_point()
    if point is None:
        return
    committable, above = point
    assert all(o in truth for o in range(base, committable) if o in offsets[:upto] or o in prev_finished)
    assert set(above) <= truth and all(o > committable for o in above)
    # nothing finished is forgotten: every finished offset is below the commit or listed above it
    assert {o for o in truth if o >= committable} == set(above)
