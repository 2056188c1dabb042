"""RTP media packets of call content (pure, sans-I/O): IP / UDP / RTP headers, RFC 4733
telephone events and RFC 3389 comfort noise.

SPEC: RFC 791 (IPv4: IHL, fragments), RFC 8200 (IPv6 and extension headers hop-by-hop 0,
routing 43, fragment 44, destination options 60; RFC 4302 AH 51), RFC 768 (UDP), RFC 3550
section 5.1 (RTP fixed header: version 2, padding, extension, CSRC count, marker, payload
type, sequence number, timestamp, SSRC; section 5.3.1 header extension), RFC 4733 section
2.3 (telephone-event payload: event, E bit, volume, duration) and section 3.2 (events
0-15 are the DTMF digits 0-9 * # A-D), RFC 3389 section 3 (comfort-noise payload: noise
level in -dBov, then optional reflection coefficients; static payload type 13, RFC 3551).

Every parser takes bytes and returns a frozen value, or raises `MalformedMedia` (the
peer's bytes are not what they claim: the one error of this module) -- nothing else.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

UDP = 17
_V6_SKIP = {0, 43, 60}  # extension headers with (length + 1) * 8 octets
_V6_AH, _V6_FRAGMENT = 51, 44
_MAX_V6_HEADERS = 8
PT_COMFORT_NOISE = 13  # RFC 3551 table 4: CN, 8 kHz
DTMF = "0123456789*#ABCD"


class MalformedMedia(ValueError):
    """A packet that is not the IP / UDP / RTP / payload it should be.  `reason` is a short
    stable code (for counters), the message says what was wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __repr__(self) -> str:
        return f"MalformedMedia({self.reason!r}, {str(self)!r})"


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    marker: bool
    payload: bytes
    csrc: tuple[int, ...] = ()
    extension_profile: int | None = None  # RFC 3550 5.3.1 "defined by profile"
    extension: bytes = b""
    padding: int = 0  # octets of padding removed from the payload


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    ip_version: int
    src: str
    dst: str
    src_port: int
    dst_port: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class MediaPacket:
    udp: UdpDatagram | None  # None when the carrier delivered the RTP packet alone (rtpFrame)
    rtp: RtpPacket


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # 0..63, -dBm0
    duration: int  # in timestamp units (samples at 8 kHz) since the event's timestamp

    @property
    def digit(self) -> str | None:
        """The DTMF digit of events 0-15 (RFC 4733 section 3.2), else None."""
        return DTMF[self.event] if self.event < 16 else None


@dataclass(frozen=True, slots=True)
class ComfortNoise:
    level: int  # noise level, -dBov (0..127)
    coefficients: bytes  # quantised reflection coefficients (spectral shape), may be empty


def parse_rtp(data: bytes) -> RtpPacket:
    """RFC 3550 section 5.1 fixed header, CSRC list, header extension and padding."""
    if len(data) < 12:
        raise MalformedMedia("rtp-short", f"RTP packet of {len(data)} octets (the fixed header is 12)")
    first, second, seq, ts, ssrc = struct.unpack_from(">BBHII", data)
    if first >> 6 != 2:
        raise MalformedMedia("rtp-version", f"RTP version {first >> 6} (expected 2)")
    pos = 12 + 4 * (first & 0x0F)
    if len(data) < pos:
        raise MalformedMedia("rtp-csrc", "RTP packet shorter than its CSRC list")
    csrc = struct.unpack_from(f">{first & 0x0F}I", data, 12)
    profile, extension = None, b""
    if first & 0x10:
        if len(data) < pos + 4:
            raise MalformedMedia("rtp-extension", "RTP header extension cut short")
        profile, words = struct.unpack_from(">HH", data, pos)
        end = pos + 4 + 4 * words
        if len(data) < end:
            raise MalformedMedia("rtp-extension", "RTP header extension longer than the packet")
        extension = bytes(data[pos + 4:end])
        pos = end
    stop, padding = len(data), 0
    if first & 0x20:
        padding = data[-1] if len(data) > pos else 0
        if padding == 0 or pos + padding > len(data):
            raise MalformedMedia("rtp-padding", f"RTP padding count {padding} does not fit the packet")
        stop -= padding
    return RtpPacket(second & 0x7F, seq, ts, ssrc, bool(second & 0x80), bytes(data[pos:stop]),
                     tuple(csrc), profile, extension, padding)


def parse_udp(packet: bytes) -> UdpDatagram:
    """An IPv4 or IPv6 packet carrying UDP (first fragment or whole)."""
    if not packet:
        raise MalformedMedia("ip-empty", "empty packet")
    version = packet[0] >> 4
    if version == 4:
        if len(packet) < 20:
            raise MalformedMedia("ip-short", "IPv4 header cut short")
        header = (packet[0] & 0x0F) * 4
        total = int.from_bytes(packet[2:4], "big")
        if header < 20 or len(packet) < header:
            raise MalformedMedia("ip-header", f"IPv4 header length {header}")
        if int.from_bytes(packet[6:8], "big") & 0x1FFF:
            raise MalformedMedia("ip-fragment", "a non-first IPv4 fragment (no UDP header)")
        proto, src, dst = packet[9], str(ipaddress.IPv4Address(packet[12:16])), str(ipaddress.IPv4Address(packet[16:20]))
        end = min(len(packet), total) if total >= header else len(packet)
    elif version == 6:
        if len(packet) < 40:
            raise MalformedMedia("ip-short", "IPv6 header cut short")
        proto, header = packet[6], 40
        src, dst = str(ipaddress.IPv6Address(packet[8:24])), str(ipaddress.IPv6Address(packet[24:40]))
        end = min(len(packet), 40 + int.from_bytes(packet[4:6], "big"))
        for _ in range(_MAX_V6_HEADERS):
            if proto not in _V6_SKIP and proto not in (_V6_AH, _V6_FRAGMENT):
                break
            if len(packet) < header + 8:
                raise MalformedMedia("ip-extension", "IPv6 extension header cut short")
            nxt = packet[header]
            if proto == _V6_FRAGMENT:
                if int.from_bytes(packet[header + 2:header + 4], "big") >> 3:
                    raise MalformedMedia("ip-fragment", "a non-first IPv6 fragment (no UDP header)")
                size = 8
            elif proto == _V6_AH:
                size = (packet[header + 1] + 2) * 4
            else:
                size = (packet[header + 1] + 1) * 8
            proto, header = nxt, header + size
        else:
            raise MalformedMedia("ip-extension", "too many IPv6 extension headers")
    else:
        raise MalformedMedia("ip-version", f"IP version {version}")
    if proto != UDP:
        raise MalformedMedia("not-udp", f"IP protocol {proto} (expected UDP)")
    if end < header + 8:
        raise MalformedMedia("udp-short", "UDP header cut short")
    sport, dport, length = struct.unpack_from(">HHH", packet, header)
    stop = min(end, header + length) if length >= 8 else end
    return UdpDatagram(version, src, dst, sport, dport, bytes(packet[header + 8:stop]))


def parse_media(packet: bytes, *, frame: str = "ip") -> MediaPacket:
    """An intercepted media packet: `frame` "ip" (IPv4/IPv6 + UDP + RTP, ETSI ipFrame and
    PacketCable CCC), "udp" (UDP header + RTP, ETSI udpFrame) or "rtp" (RTP alone)."""
    if frame == "rtp":
        return MediaPacket(None, parse_rtp(packet))
    if frame == "udp":
        if len(packet) < 8:
            raise MalformedMedia("udp-short", "UDP header cut short")
        sport, dport = struct.unpack_from(">HH", packet)
        udp = UdpDatagram(0, "", "", sport, dport, bytes(packet[8:]))
    else:
        udp = parse_udp(packet)
    return MediaPacket(udp, parse_rtp(udp.payload))


def parse_telephone_event(payload: bytes) -> TelephoneEvent:
    """RFC 4733 section 2.3: one event block (redundant blocks, RFC 4733 2.5.1.5, are not
    used for DTMF by the carriers seen so far; the first block is the current event)."""
    if len(payload) < 4:
        raise MalformedMedia("event-short", f"telephone-event payload of {len(payload)} octets (expected 4)")
    event, flags, duration = struct.unpack_from(">BBH", payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


def parse_comfort_noise(payload: bytes) -> ComfortNoise:
    """RFC 3389 section 3: the noise level (-dBov, 0..127) and reflection coefficients."""
    if not payload:
        raise MalformedMedia("cn-short", "comfort-noise payload without its noise level")
    if payload[0] > 127:
        raise MalformedMedia("cn-level", f"comfort-noise level {payload[0]} (0..127)")
    return ComfortNoise(payload[0], bytes(payload[1:]))
