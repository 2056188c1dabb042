"""calea.handover.framing.RecordSplitter: records by outer length, wherever reads fall."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.framing import EOF, NEED_DATA, RecordSplitter

from .conftest import split_stream


def drain(splitter: RecordSplitter) -> list[bytes]:
    out = []
    while (record := splitter.next_record()) is not NEED_DATA:
        assert isinstance(record, bytes)
        out.append(record)
    return out


def feed_in_chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    splitter = RecordSplitter()
    records: list[bytes] = []
    pos, i = 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)] if sizes else len(data)
        splitter.receive_data(data[pos : pos + size])
        pos += size
        i += 1
        records.extend(drain(splitter))
    splitter.receive_eof()
    assert splitter.next_record() is EOF
    return records


@pytest.mark.parametrize("stream", ["hi2_stream", "hi3_stream"])
def test_whole_and_byte_at_a_time_give_the_same_records(stream: str, request: pytest.FixtureRequest) -> None:
    data: bytes = request.getfixturevalue(stream)
    whole = [r for _, r in split_stream(data)]
    assert b"".join(whole) == data
    assert len(whole) == {"hi2_stream": 40, "hi3_stream": 741}[stream]
    started = time.perf_counter()
    one_by_one = feed_in_chunks(data, [1])
    elapsed = time.perf_counter() - started
    assert one_by_one == whole
    assert elapsed < 10  # linear: 243 kB one byte at a time takes well under a second


@given(st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=30))
@settings(max_examples=60, deadline=None)
def test_any_read_sizes_give_the_same_records(hi2_stream: bytes, sizes: list[int]) -> None:
    assert feed_in_chunks(hi2_stream, sizes) == [r for _, r in split_stream(hi2_stream)]


def test_offsets_follow_the_stream(hi3_records: list[tuple[int, bytes]]) -> None:
    offsets = [offset for offset, _ in hi3_records]
    assert offsets[:3] == [0, 90, 180]
    assert all(b == a + len(r) for (a, r), b in zip(hi3_records, offsets[1:]))


def test_non_minimal_outer_length_is_accepted() -> None:
    splitter = RecordSplitter()
    splitter.receive_data(b"\x30\x82\x00\x02\x05\x00" + b"\x30\x02\x05\x00")
    assert drain(splitter) == [b"\x30\x82\x00\x02\x05\x00", b"\x30\x02\x05\x00"]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x04\x02ab", "bad-outer-tag"),
        (b"\x30\x80\x05\x00\x00\x00", "ber-indefinite-length"),
        (b"\x30\x85\x00\x00\x00\x00\x01", "ber-length-octets"),
        (b"\x30\xff", "ber-reserved-length"),
        (b"\x30\x84\x00\x20\x00\x00", "record-too-large"),
    ],
)
def test_bad_outer_header_fails_for_good(data: bytes, why: str) -> None:
    splitter = RecordSplitter()
    splitter.receive_data(b"\x30\x02\x05\x00" + data)
    assert splitter.next_record() == b"\x30\x02\x05\x00"
    with pytest.raises(MalformedRecord) as excinfo:
        splitter.next_record()
    assert excinfo.value.reason == why and excinfo.value.offset == 4
    with pytest.raises(MalformedRecord) as again:  # no resynchronisation: drop the connection
        splitter.next_record()
    assert again.value is excinfo.value


def test_oversize_is_rejected_from_the_header_alone() -> None:
    splitter = RecordSplitter(max_record_size=1000)
    splitter.receive_data(b"\x30\x82\x03\xe8")  # 1004 bytes with its header
    with pytest.raises(MalformedRecord, match="record-too-large"):
        splitter.next_record()


def test_other_outer_tags_when_asked() -> None:
    splitter = RecordSplitter(outer_tags=None)
    splitter.receive_data(b"\xa1\x02\x05\x00\x04\x00")
    assert splitter.next_record() == b"\xa1\x02\x05\x00"
    with pytest.raises(MalformedRecord, match="bad-outer-tag"):
        splitter.next_record()  # primitive outer tag
    multi = RecordSplitter(outer_tags=frozenset({0xBF}))
    multi.receive_data(b"\xbf\x81\x00\x00")
    assert multi.next_record() == b"\xbf\x81\x00\x00"


def test_eof_inside_a_record() -> None:
    splitter = RecordSplitter()
    splitter.receive_data(b"\x30\x05\x05\x00")
    assert splitter.next_record() is NEED_DATA
    splitter.receive_eof()
    with pytest.raises(MalformedRecord) as excinfo:
        splitter.next_record()
    assert excinfo.value.reason == "truncated-record" and excinfo.value.offset == 0
    with pytest.raises(CodecUsageError):
        splitter.receive_data(b"x")


def test_eof_inside_a_header() -> None:
    splitter = RecordSplitter()
    splitter.receive_data(b"\x30\x82\x01")
    assert splitter.next_record() is NEED_DATA
    splitter.receive_eof()
    with pytest.raises(MalformedRecord, match="truncated-record"):
        splitter.next_record()


def test_buffer_is_bounded_and_compacted() -> None:
    record = b"\x30\x82\x03\xfc" + b"\x04\x82\x03\xf8" + b"z" * 1016  # 1024 bytes
    splitter = RecordSplitter(max_record_size=4096, max_buffer_size=8192)
    with pytest.raises(CodecUsageError):
        splitter.receive_data(record * 9)
    for _ in range(500):
        splitter.receive_data(record * 3)
        assert drain(splitter) == [record] * 3
        assert splitter.buffered == 0
    assert splitter.records == 1500 and splitter.offset == 1500 * 1024
    # a partial record stays buffered; compaction keeps the buffer near one record
    splitter.receive_data(record[:10])
    for _ in range(200):
        splitter.receive_data(record[10:] + record[:10])
        assert drain(splitter) == [record]
    assert splitter.buffered == 10


def test_empty_and_memoryview_input() -> None:
    splitter = RecordSplitter()
    splitter.receive_data(b"")
    assert splitter.next_record() is NEED_DATA
    splitter.receive_data(memoryview(b"\x30\x00"))
    assert splitter.next_record() == b"\x30\x00"
    assert repr(NEED_DATA) == "NEED_DATA"


@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
@settings(max_examples=300, deadline=None)
def test_random_bytes_give_records_or_malformed(data: bytes, chunk: int) -> None:
    splitter = RecordSplitter(max_record_size=300)
    got = b""
    try:
        for pos in range(0, len(data), chunk):
            splitter.receive_data(data[pos : pos + chunk])
            got += b"".join(drain(splitter))
        splitter.receive_eof()
        assert splitter.next_record() is EOF
        assert got == data
    except MalformedRecord as exc:
        assert exc.offset is not None and data.startswith(got)
