"""A CC chunk read back from its segment splits into the records that were framed into it,
however large the chunk (a batch of 20,000 big packets is larger than the listener's
buffer limit), and stops at damage."""

from __future__ import annotations

from calea.handover.ber import DEFAULT_MAX_RECORD_SIZE
from calea.handover.etsi102232 import IPMMCC, PSHeader, encode_ps_pdu
from calea.store.leafsource import frame, split_chunk


def _record(seq: int, size: int) -> bytes:
    return encode_ps_pdu(PSHeader(liid="LI-1", sequence=seq, cin=7, operator_id="OP", timestamp_us=1_764_201_600_000_000),
                         IPMMCC("fromTarget", bytes(size)))


def test_a_chunk_larger_than_a_listener_buffer_splits_whole() -> None:
    records = [_record(i, 1400) for i in range(8)]
    count = 8 * DEFAULT_MAX_RECORD_SIZE // 1400 // 8 + 2  # repeats of the 8 records: past 8 x the record limit
    chunk = b"".join(frame(r, "etsi-102232") for r in records) * count
    assert len(chunk) > 8 * DEFAULT_MAX_RECORD_SIZE
    got = split_chunk(chunk, "etsi-102232")
    assert len(got) == 8 * count and got[:8] == records and got[-1] == records[-1]


def test_datagram_chunks_and_damage() -> None:
    datagrams = [b"\x00\x00\x00\x07" + bytes([i]) * 20 for i in range(5)]
    chunk = b"".join(frame(d, "pcesp-ccc") for d in datagrams)
    assert split_chunk(chunk, "pcesp-ccc") == datagrams
    assert split_chunk(chunk[:-3], "pcesp-ccc") == datagrams[:4]  # a cut datagram is not returned
    ber = b"".join(_record(i, 100) for i in range(3))
    damaged = ber[: len(ber) // 3 * 2] + b"\x1f\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01" + ber
    assert split_chunk(damaged, "etsi-102232")[:1] == [_record(0, 100)]  # what precedes the damage
