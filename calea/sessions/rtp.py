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

`rtp_view` is the recorder's hot path (one call per packet of every recorded call): the
same fields as `parse_media` as one flat tuple, read straight from the bytes of the usual
packet (IPv4 without options, unfragmented UDP, RTP without CSRC, extension or padding);
any other packet goes through `parse_media`, so the answer is always the parser's.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import NamedTuple

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


# --- the recorder's flat view ---------------------------------------------------------------

_RTP_HEAD = struct.Struct(">BBHII")
_PORTS = struct.Struct(">HH")


class RtpView(NamedTuple):
    """What the recorder reads of one RTP packet, without the header objects of
    `MediaPacket`.  `flow` names the UDP flow canonically (`flow_key`); `source` is the
    packet as received (parsed in full, `udp_of`, when a new stream needs its addresses),
    or the `MediaPacket` the view was made from."""

    flow: bytes
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    source: bytes | MediaPacket
    frame: str = "ip"


_new_view = tuple.__new__  # RtpView(...) without its Python-level __new__ (the recorder makes one per packet)


def flow_key(udp: UdpDatagram | None) -> bytes:
    """The UDP flow as it is on the wire: source and destination addresses (4 or 16 octets
    each; none for a udpFrame), then both ports; b"" for RTP delivered alone."""
    if udp is None:
        return b""
    ports = _PORTS.pack(udp.src_port, udp.dst_port)
    if udp.ip_version == 0:
        return ports
    return ipaddress.ip_address(udp.src).packed + ipaddress.ip_address(udp.dst).packed + ports


def view_of(packet: MediaPacket) -> RtpView:
    rtp = packet.rtp
    return RtpView(flow_key(packet.udp), rtp.payload_type, rtp.sequence, rtp.timestamp, rtp.ssrc, rtp.payload, packet)


def udp_of(view: RtpView) -> UdpDatagram | None:
    """The UDP datagram (addresses, ports) of the packet a view was read from."""
    if isinstance(view.source, MediaPacket):
        return view.source.udp
    return parse_media(view.source, frame=view.frame).udp


def rtp_view(packet: bytes, frame: str = "ip") -> RtpView:
    """`parse_media` as a flat `RtpView` (same fields, same `MalformedMedia`)."""
    n = len(packet)
    if frame == "ip":
        # IPv4, IHL 5, not a fragment (offset 0, MF clear or set: first fragments parse too), UDP
        if n >= 40 and packet[0] == 0x45 and packet[9] == 17 and not (packet[6] & 0x1F or packet[7]):
            total = (packet[2] << 8) | packet[3]
            end = total if 20 <= total < n else n
            length = (packet[24] << 8) | packet[25]
            stop = (20 + length if 20 + length < end else end) if length >= 8 else end
            if stop >= 40 and packet[28] == 0x80:  # RTP version 2 without padding, extension, CSRC
                _, second, seq, ts, ssrc = _RTP_HEAD.unpack_from(packet, 28)
                return _new_view(RtpView, (packet[12:24], second & 0x7F, seq, ts, ssrc, packet[40:stop], packet, frame))
    elif frame == "udp":
        if n >= 20 and packet[8] == 0x80:
            _, second, seq, ts, ssrc = _RTP_HEAD.unpack_from(packet, 8)
            return _new_view(RtpView, (packet[:4], second & 0x7F, seq, ts, ssrc, packet[20:], packet, frame))
    elif frame == "rtp":
        if n >= 12 and packet[0] == 0x80:
            _, second, seq, ts, ssrc = _RTP_HEAD.unpack_from(packet)
            return _new_view(RtpView, (b"", second & 0x7F, seq, ts, ssrc, packet[12:], packet, frame))
    media = parse_media(packet, frame=frame)
    rtp = media.rtp
    return RtpView(flow_key(media.udp), rtp.payload_type, rtp.sequence, rtp.timestamp, rtp.ssrc, rtp.payload, packet, frame)
