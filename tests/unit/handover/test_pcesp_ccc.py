"""PCESP call-content channel: `CCC id (4 octets, big-endian) + intercepted packet`."""

from __future__ import annotations

import ipaddress
import struct
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calea.handover import pcesp
from calea.handover.errors import CodecUsageError, MalformedRecord
from calea.handover.model import Channel, ContentKind, RecordKind
from calea.handover.pcesp_ccc import ccc_id_value, packet_fields, rtp_packet

RECEIVED = datetime(2026, 11, 27, 12, 0, 1, tzinfo=timezone.utc)
MAP = {0x1A2B3C4D: "CASE-1"}


def test_rtp_over_ipv4() -> None:
    packet = rtp_packet("192.0.2.1", "198.51.100.2", 16384, 20000, 7, 160, 0xDEADBEEF, b"\xd5" * 160,
                        payload_type=8, marker=True)
    d = pcesp.decode_ccc(pcesp.encode_ccc(0x1A2B3C4D, packet), MAP, RECEIVED)
    assert (d.format, d.channel, d.kind, d.liid, d.cin) == ("pcesp-ccc", Channel.HI3, RecordKind.CC, "CASE-1",
                                                            "1A2B3C4D")
    assert d.intercepted_at == RECEIVED and d.fields["time_source"] == "received"
    assert d.fields["ccc_id"] == 0x1A2B3C4D
    assert (d.fields["src"], d.fields["dst"], d.fields["src_port"], d.fields["dst_port"]) == (
        "192.0.2.1", "198.51.100.2", 16384, 20000)
    assert d.fields["rtp"] == {"payload_type": 8, "marker": True, "sequence": 7, "timestamp": 160,
                               "ssrc": 0xDEADBEEF}
    (part,) = d.content
    assert part.kind is ContentKind.AUDIO and part.data == packet
    assert d.raw == bytes.fromhex("1A2B3C4D") + packet
    # the IPv4 header checksum of the simulator's packet verifies
    assert sum(struct.unpack(">10H", packet[:20])) % 0xFFFF == 0


def test_ipv6_and_bare_rtp_and_unknown() -> None:
    header = struct.pack(">IHBB16s16s", 0x60000000, 20, 17, 64, ipaddress.IPv6Address("2001:db8::1").packed,
                         ipaddress.IPv6Address("2001:db8::2").packed)
    rtp = bytes.fromhex("8000000100000002000000ff")
    packet = header + struct.pack(">HHHH", 5004, 5006, 20, 0) + rtp
    fields = packet_fields(packet)
    assert (fields["payload"], fields["src"], fields["dst_port"], fields["rtp"]["sequence"]) == (
        "ipv6", "2001:db8::1", 5006, 1)
    assert packet_fields(rtp)["payload"] == "rtp"
    assert packet_fields(b"\x00\x01")["payload"] == "unknown"
    assert packet_fields(b"")["payload"] == "empty"


def test_unmapped_ccc_is_a_delivery_no_authority_covers() -> None:
    d = pcesp.decode_ccc(pcesp.encode_ccc(7, b"\x80" * 12), MAP, RECEIVED)
    assert d.liid == "" and d.fields["unmapped_ccc"] is True and d.cin == "00000007"


def test_errors() -> None:
    with pytest.raises(MalformedRecord) as err:
        pcesp.decode_ccc(b"\x00\x01\x02", MAP, RECEIVED)
    assert err.value.reason == "pcesp-ccc-truncated"
    with pytest.raises(CodecUsageError):
        pcesp.decode_ccc(b"\x00" * 8, MAP, RECEIVED.replace(tzinfo=None))
    with pytest.raises(CodecUsageError):
        pcesp.encode_ccc(1 << 32, b"")


def test_ccc_id_text_forms() -> None:
    assert ccc_id_value("1A2B3C4D") == 0x1A2B3C4D
    assert ccc_id_value("zz") is None
    assert ccc_id_value("1FFFFFFFF") is None


@given(st.binary(max_size=120), st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_any_datagram_decodes(packet: bytes, ccc: int) -> None:
    d = pcesp.decode_ccc(pcesp.encode_ccc(ccc, packet), {ccc: "L"}, RECEIVED)
    assert d.content[0].data == packet and d.fields["ccc_id"] == ccc and d.liid == "L"
