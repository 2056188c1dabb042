"""Which channel of a stereo recording an RTP stream belongs on (pure).

The target is on the **left** channel, the other party on the **right**.  The carrier's
direction label (ETSI TS 102 232-5 `fromTarget` / `toTarget`) is not reliable: OpenLI
1.1.20 inverts it for incoming calls (shared/vectors/openli-1.1.20-voip-ip/README.md).  So a
stream is placed by the media addresses each party announced in SDP:

1. SIP (TS 102 232-5 IRI, `fields["sip"]`): the SDP of a message *sent by the target* (a
   request whose From / P-Asserted-Identity is the target, a response whose To is the
   target) names the target's media address; the SDP of a message sent *to* the target
   names the other party's.  PacketCable CCOpen carries both: `sdp_subject` is the target's
   (PKT-SP-ES-DCI), `sdp_associate` the other party's.
2. A stream whose source (address, port) is the target's comes from the target: left; one
   whose destination is the target's goes to the target: right (and the mirror rules for
   the other party's address).  Then the same by address alone (symmetric RTP behind NAT
   changes ports), where the address belongs to one party only.
3. Else the carrier's label (`fromTarget` -> left, `toTarget` -> right).
4. Else a guess, said as such: the first stream seen is taken as the target's.

SPEC: RFC 3261 section 8.1.1 (From / To of requests and responses), RFC 3264 (offer /
answer: each SDP gives where its sender receives media; with symmetric RTP, RFC 4961, also
where it sends from), RFC 3325 (P-Asserted-Identity), RFC 4566 (c= and m= lines).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from calea.handover.etsi102232_sip import parse_sdp
from calea.sessions.call_parties import TargetIdentity
from calea.sessions.rtp import UdpDatagram

LEFT, RIGHT = 0, 1  # the target, the other party
BY_SDP, BY_LABEL, GUESSED = "sdp", "label", "guessed"
Endpoint = tuple[str, int]


@dataclass
class MediaMap:
    """What the call's signalling said about its media."""

    target: set[Endpoint] = field(default_factory=set)
    peer: set[Endpoint] = field(default_factory=set)
    payload_types: dict[int, str] = field(default_factory=dict)  # dynamic PT -> encoding name (upper case)

    def learn_sdp(self, sdp: Mapping[str, Any], of_target: bool) -> None:
        session_addr = (sdp.get("connection") or {}).get("address")
        for m in sdp.get("media") or ():
            if m.get("media") != "audio":
                continue
            for pt, encoding in (m.get("rtpmap") or {}).items():
                if str(pt).isdigit():
                    self.payload_types[int(pt)] = str(encoding).split("/", 1)[0].upper()
            addr = (m.get("connection") or {}).get("address") or session_addr
            port = m.get("port")
            if addr and isinstance(port, int) and port > 0 and addr not in ("0.0.0.0", "::"):
                (self.target if of_target else self.peer).add((str(addr), port))

    @property
    def known(self) -> bool:
        return bool(self.target or self.peer)


def learn_from_sip(media: MediaMap, sip: Mapping[str, Any], target: TargetIdentity) -> bool:
    """Take the SDP of one SIP message (TS 102 232-5 IRI `fields["sip"]`) as the target's or
    the other party's by who sent the message.  False when it cannot be told (no SDP, or
    neither party is the target)."""
    sdp = sip.get("sdp")
    if not sdp:
        return False
    frm = (sip.get("from") or {}).get("uri")
    to = (sip.get("to") or {}).get("uri")
    asserted = list(sip.get("p_asserted_identity") or ())
    if sip.get("method"):  # a request is sent by its From party
        sender, receiver = [frm, *asserted], [to, sip.get("request_uri")]
    else:  # a response by its To party
        sender, receiver = [to, *asserted], [frm]
    if target.matches(*sender):
        media.learn_sdp(sdp, of_target=True)
    elif target.matches(*receiver):
        media.learn_sdp(sdp, of_target=False)
    else:
        return False
    return True


def learn_from_ccopen(media: MediaMap, fields: Mapping[str, Any]) -> bool:
    """PacketCable CCOpen: `sdp_subject` is the target's SDP, `sdp_associate` the other's."""
    found = False
    for name, of_target in (("sdp_subject", True), ("sdp_associate", False)):
        text = fields.get(name)
        if isinstance(text, str) and text.strip():
            media.learn_sdp(parse_sdp(text.encode("utf-8", "replace")), of_target)
            found = True
    return found


def side_by_sdp(media: MediaMap, udp: UdpDatagram | None) -> int | None:
    if udp is None or not media.known:
        return None
    src, dst = (udp.src, udp.src_port), (udp.dst, udp.dst_port)
    for table, mine, theirs in ((media.target, LEFT, RIGHT), (media.peer, RIGHT, LEFT)):
        if src in table:
            return mine
        if dst in table:
            return theirs
    target_ips = {a for a, _ in media.target}
    peer_ips = {a for a, _ in media.peer}
    only_target, only_peer = target_ips - peer_ips, peer_ips - target_ips
    if udp.src in only_target or udp.dst in only_peer:
        return LEFT
    if udp.dst in only_target or udp.src in only_peer:
        return RIGHT
    return None


def side_by_label(label: str | None) -> int | None:
    return {"fromTarget": LEFT, "toTarget": RIGHT}.get(label or "")


def place(media: MediaMap, udp: UdpDatagram | None, label: str | None,
          placed: list[tuple[UdpDatagram | None, int]]) -> tuple[int, str]:
    """The channel of a new stream and how it was chosen (BY_SDP, BY_LABEL, GUESSED).
    `placed`: the streams of the call already placed, with their channel."""
    side = side_by_sdp(media, udp)
    if side is not None:
        return side, BY_SDP
    side = side_by_label(label)
    if side is not None:
        return side, BY_LABEL
    for other, other_side in placed:
        if udp is not None and other is not None:
            if udp.src == other.src:
                return other_side, GUESSED
            if udp.src == other.dst:
                return 1 - other_side, GUESSED
    return (LEFT if not placed else RIGHT), GUESSED
