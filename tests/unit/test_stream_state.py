"""A stream's sequence state, pure (D1): new records, duplicates after a resend, gaps with their
ranges, gaps filled by late records, and the gaps opened since the intake last looked."""

from __future__ import annotations

from calea.store.streams import MAX_GAP_RANGES, StreamState


def test_records_in_order_then_a_resend_are_duplicates() -> None:
    st = StreamState()
    assert [st.observe(s) for s in range(5)] == [True] * 5
    assert [st.observe(s) for s in (2, 3, 4)] == [False] * 3  # the carrier resent after reconnecting
    assert (st.max_seq, st.received, st.duplicates, st.gaps, st.missing) == (4, 5, 3, [], 0)
    assert st.take_opened() == []


def test_a_gap_is_kept_with_its_range_and_filled_by_late_records() -> None:
    st = StreamState()
    for s in (0, 1, 6, 7, 12):
        st.observe(s)
    assert st.gaps == [[2, 5], [8, 11]] and st.missing == 8
    assert st.row()["missing"] == 8
    assert st.take_opened() == [[2, 5], [8, 11]] and st.take_opened() == []  # taken once
    assert st.observe(3) and st.gaps == [[2, 2], [4, 5], [8, 11]]  # inside: the range splits
    assert st.observe(2) and st.observe(5) and st.gaps == [[4, 4], [8, 11]]  # at the ends: it shrinks
    assert st.observe(4) and st.gaps == [[8, 11]]  # the last of it: gone
    assert not st.observe(4) and st.duplicates == 1
    assert st.missing_in(0, 100) == [[8, 11]] and st.missing_in(9, 10) == [[9, 10]] and st.missing_in(2, 5) == []
    st.observe(9)
    assert st.missing_in(7, 12) == [[8, 8], [10, 11]]
    assert st.take_opened() == []  # filling opens nothing


def test_the_ranges_kept_are_bounded() -> None:
    st = StreamState()
    for i in range(MAX_GAP_RANGES + 10):
        st.observe(2 * i)
    assert len(st.gaps) == MAX_GAP_RANGES and st.gaps[0] == [19, 19]  # the oldest nine went
    assert len(st.take_opened()) == MAX_GAP_RANGES
