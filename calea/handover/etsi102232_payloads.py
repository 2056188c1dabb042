"""TS 102 232-3 / -5 IRI and CC payloads (iPIRI, iPMMIRI, iPCC, iPMMCC) into fields and
content parts, for `etsi102232_decode` (rule A6: packets and non-SDP SIP bodies are
content; addresses, ports, SIP signalling and RTP header facts are fields).

SPEC: ETSI TS 102 232-1 IRIPayload / CCPayload and IPAddress; TS 102 232-3 IPIRIContents,
IPCCContents; TS 102 232-5 IPMMIRIContents (sIPMessage, originalIPMMMessage), IPMMCC.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from calea.handover import etsi102232_sip as _sip
from calea.handover import native as _native
from calea.handover.ber import (
    decode_enumerated,
    decode_generalized_time,
    decode_integer,
    decode_relative_oid,
    decode_text,
    read_tlv,
    split_key,
    to_epoch_us,
)
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232_packets import ip_facts, ip_text, rtp_facts, transport_facts
from calea.handover.etsi102232_sip import parse_sip
from calea.handover.etsi102232_types import (
    DIRECTIONS, FRAME_TYPES, IP_ASSIGNMENTS, IP_TYPES, IPIRI_FIELDS, IRI_TYPES,
    MMCC_PROTOCOLS, TIMESTAMP_QUALIFIERS, iso, iso_us, name_of,
)
from calea.handover.model import ContentKind, ContentPart

Fields = dict[str, Any]
Parts = list[ContentPart]


def payload_stamp(rec: bytes, key: int, q: int, e: int, out: Fields) -> int | None:
    """Payload-level timeStamp [1] / microSecondTimeStamp [3] / qualifier [4]."""
    if key == 0x81:
        stamp = decode_generalized_time(rec[q:e])
        out["timestamp"] = iso(stamp)
        return to_epoch_us(stamp)
    if key == 0xA3:
        secs = micros = None
        pos = q
        while pos < e:
            t, vq, ve = read_tlv(rec, pos, e)
            if t == 0x80:
                secs = decode_integer(rec[vq:ve], 9)
            elif t == 0x81:
                micros = decode_integer(rec[vq:ve], 9)
            pos = ve
        if secs is None or micros is None or not 0 <= micros < 1_000_000 or not 0 <= secs < 253402300800:
            raise MalformedRecord("bad-timestamp", "bad microSecondTimeStamp in payload", q)
        out["timestamp"] = iso_us(secs * 1_000_000 + micros)
        return secs * 1_000_000 + micros
    if key == 0x84:
        out["timestamp_qualifier"] = name_of(TIMESTAMP_QUALIFIERS, decode_enumerated(rec[q:e]))
    return None


def choice(rec: bytes, q: int, e: int, what: str) -> tuple[int, int, int]:
    """The one alternative inside an explicitly tagged CHOICE."""
    if q >= e:
        raise MalformedRecord("empty-choice", f"{what} is empty", q)
    return read_tlv(rec, q, e)


# Decoded IPAddress values by their encoding: a mediator sends the same few addresses
# (its own, the SIP proxies', the targets') again and again.  Bounded; a hit is a copy.
_ADDRESS_CACHE_SIZE = 1024
_ADDRESS_KEY_MAX = 96
_addresses: dict[bytes, Fields] = {}


def ip_address(rec: bytes, q: int, e: int) -> Fields:
    """TS 102 232-1 IPAddress: iP-type [1], iP-value [2] {binary [1] | text [2]},
    iP-assignment [3], iPv6PrefixLength [4], iPv4SubnetMask [5]."""
    if e - q > _ADDRESS_KEY_MAX:
        return _ip_address(rec, q, e)
    key = rec[q:e]
    known = _addresses.get(key)
    if known is not None:
        return known.copy()
    out = _ip_address(rec, q, e)
    if len(_addresses) >= _ADDRESS_CACHE_SIZE:
        _addresses.clear()
    _addresses[key] = out.copy()
    return out


def _ip_address(rec: bytes, q: int, e: int) -> Fields:
    out: Fields = {}
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x81:
            out["type"] = name_of(IP_TYPES, decode_enumerated(rec[vq:ve]))
        elif t == 0xA2:
            vt, aq, ae = choice(rec, vq, ve, "iP-value")
            raw = rec[aq:ae]
            out["address"] = (ip_text(raw) or raw.hex()) if vt == 0x81 else decode_text(raw)
        elif t == 0x83:
            out["assignment"] = name_of(IP_ASSIGNMENTS, decode_enumerated(rec[vq:ve]))
        elif t == 0x84:
            out["prefix_length"] = decode_integer(rec[vq:ve])
        elif t == 0x85:
            out["subnet_mask"] = ip_text(rec[vq:ve]) or rec[vq:ve].hex()
        pos = ve
    return out


def _undecoded(rec: bytes, q: int, e: int, name: str, parts: Parts) -> None:
    parts.append(ContentPart(ContentKind.IP_PAYLOAD, rec[q:e], "application/octet-stream", name))


_IRI_TYPE_NAMES = {bytes((value,)): name for value, name in IRI_TYPES.items()}


def _sip_iri_py(rec: bytes, q: int, e: int, parts: Parts) -> Fields | None:  # noqa: C901
    """Fast path of the iRIPayloadSequence value `rec[q:e]` in the layout OpenLI (and most
    mediators) write for SIP signalling: one IRIPayload { iRIType, iRIContents iPMMIRI {
    iPMMIRIObjId, iPMMIRIContents sIPMessage { ipSourceAddress, ipDestinationAddress,
    sIPContent } } }, definite lengths of up to two octets, nothing else.

    Returns the payload fields -- exactly what `iri_payload` gives -- or None for anything
    else, including anything malformed: the generic path then decodes it (and reports
    the error).  Straight-line code: no TLV reader calls, each container checked to end
    where its last element ends.

    The reference: `sip_iri` is this function, or its C version for the usual record."""
    try:
        if rec[q] != 0x30:  # IRIPayload
            return None
        n = rec[q + 1]
        if n < 0x80:
            p = q + 2
        elif n == 0x82:
            n, p = (rec[q + 2] << 8) | rec[q + 3], q + 4
        elif n == 0x81:
            n, p = rec[q + 2], q + 3
        else:
            return None
        if p + n != e or rec[p] != 0x80 or rec[p + 1] != 1:  # one item; iRIType [0]
            return None
        iri_type = _IRI_TYPE_NAMES.get(rec[p + 2 : p + 3])
        if iri_type is None or rec[p + 3] != 0xA2:  # iRIContents [2]
            return None
        # iRIContents [2] > iPMMIRI [11]: each the last element of its parent, ending at e
        p += 3
        for tag in (0xA2, 0xAB):
            if rec[p] != tag:
                return None
            n = rec[p + 1]
            if n < 0x80:
                p += 2
            elif n == 0x82:
                n, p = (rec[p + 2] << 8) | rec[p + 3], p + 4
            elif n == 0x81:
                n, p = rec[p + 2], p + 3
            else:
                return None
            if p + n != e:
                return None
        n = rec[p + 1]
        if rec[p] != 0x80 or n >= 0x80:  # iPMMIRIObjId [0]
            return None
        object_id = decode_relative_oid(rec[p + 2 : p + 2 + n])
        p += 2 + n
        # iPMMIRIContents [1] > sIPMessage [1]
        for tag in (0xA1, 0xA1):
            if rec[p] != tag:
                return None
            n = rec[p + 1]
            if n < 0x80:
                p += 2
            elif n == 0x82:
                n, p = (rec[p + 2] << 8) | rec[p + 3], p + 4
            elif n == 0x81:
                n, p = rec[p + 2], p + 3
            else:
                return None
            if p + n != e:
                return None
        if rec[p] != 0xA0 or rec[p + 1] >= 0x80:  # ipSourceAddress [0]
            return None
        src_q = p + 2
        src_e = p = src_q + rec[p + 1]
        if rec[p] != 0xA1 or rec[p + 1] >= 0x80:  # ipDestinationAddress [1]
            return None
        dst_q = p + 2
        dst_e = p = dst_q + rec[p + 1]
        if rec[p] != 0x82:  # sIPContent [2]
            return None
        n = rec[p + 1]
        if n < 0x80:
            p += 2
        elif n == 0x82:
            n, p = (rec[p + 2] << 8) | rec[p + 3], p + 4
        elif n == 0x81:
            n, p = rec[p + 2], p + 3
        else:
            return None
        if p + n != e:
            return None
        source = ip_address(rec, src_q, src_e)
        destination = ip_address(rec, dst_q, dst_e)
    except (IndexError, MalformedRecord):
        return None
    sip, sip_parts = parse_sip(rec[p:e])
    if sip_parts:
        parts.extend(sip_parts)
    return {
        "iri": {"type": iri_type, "contents": "iPMMIRI", "object_id": object_id, "message": "sIPMessage",
                "source_address": source, "destination_address": destination},
        "sip": sip,
        "ip": {"src": source.get("address"), "dst": destination.get("address")},
    }


# The C version (calea/handover/_speedups.c) answers the usual record exactly as the function
# above does (same dicts, key order and value types; the SIP content parts as a tuple), and
# None for anything else, which the function above then decides
# (tests/unit/handover/test_sip_iri_speedups.py compares the two).  The enumeration tables
# and the SIP parsers are passed in from here, so there is one list of names.  It is given
# this module's `parse_sip` on every call, as the function above uses it.
_SipIriFacts = tuple[Fields, tuple[ContentPart, ...]]


def _c_first_sip_iri(
    c_sip_iri: Callable[[bytes, int, int, Callable[[bytes], Any]], _SipIriFacts | None],
) -> Callable[[bytes, int, int, Parts], Fields | None]:
    def sip_iri(rec: bytes, q: int, e: int, parts: Parts) -> Fields | None:
        """The payload fields of the usual SIP IRI `rec[q:e]` (see `_sip_iri_py`), or None."""
        found = c_sip_iri(rec, q, e, parse_sip)
        if found is None:  # not the usual record
            return _sip_iri_py(rec, q, e, parts)
        fields, sip_parts = found
        if sip_parts:
            parts.extend(sip_parts)
        return fields

    return sip_iri


_fast = _native.speedups if _native.speedups is not None and hasattr(_native.speedups, "sip_iri") else None
sip_iri = _sip_iri_py
if _fast is not None:
    _fast.configure_iri(IRI_TYPES, IP_TYPES, IP_ASSIGNMENTS, _sip.parse_sip, _sip._parse_sip_py)
    sip_iri = _c_first_sip_iri(_fast.sip_iri)


def iri_payload(rec: bytes, q: int, e: int, parts: Parts) -> tuple[Fields, int | None]:
    iri: Fields = {}
    out: Fields = {"iri": iri}
    stamp: int | None = None
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x80:
            iri["type"] = name_of(IRI_TYPES, decode_enumerated(rec[vq:ve]))
        elif t == 0xA2:  # iRIContents
            ct, cq, ce = choice(rec, vq, ve, "iRIContents")
            if ct == 0xAB:
                iri["contents"] = "iPMMIRI"
                _ipmmiri(rec, cq, ce, out, parts)
            elif ct == 0xA2:
                iri["contents"] = "iPIRI"
                _ipiri(rec, cq, ce, out)
            else:
                iri["contents"] = f"[{split_key(ct)[2]}]"
                _undecoded(rec, cq, ce, f"iRIContents {iri['contents']}", parts)
        else:
            found = payload_stamp(rec, t, vq, ve, iri)
            stamp = stamp if found is None else found
        pos = ve
    if "type" not in iri:
        raise MalformedRecord("missing-iri-type", "IRIPayload without iRIType", q)
    return out, stamp


def _ipmmiri(rec: bytes, q: int, e: int, out: Fields, parts: Parts) -> None:
    iri = out["iri"]
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x80:
            iri["object_id"] = decode_relative_oid(rec[vq:ve])
        elif t == 0xA1:  # iPMMIRIContents
            ct, cq, ce = choice(rec, vq, ve, "iPMMIRIContents")
            if ct == 0xA1:  # sIPMessage
                iri["message"] = "sIPMessage"
                ip: Fields = {}
                sip_pos = cq
                while sip_pos < ce:
                    st, sq, se = read_tlv(rec, sip_pos, ce)
                    if st == 0xA0:
                        iri["source_address"] = ip_address(rec, sq, se)
                        ip["src"] = iri["source_address"].get("address")
                    elif st == 0xA1:
                        iri["destination_address"] = ip_address(rec, sq, se)
                        ip["dst"] = iri["destination_address"].get("address")
                    elif st == 0x82:
                        out["sip"], sip_parts = parse_sip(rec[sq:se])
                        parts.extend(sip_parts)
                    sip_pos = se
                out["ip"] = ip
            elif ct == 0x80:  # originalIPMMMessage: the IP packet that carried the SIP
                iri["message"] = "originalIPMMMessage"
                facts, payload = ip_facts(rec[cq:ce])
                out["ip"] = facts
                if payload:
                    out["sip"], sip_parts = parse_sip(payload)
                    parts.extend(sip_parts)
            else:
                iri["message"] = f"[{split_key(ct)[2]}]"
                _undecoded(rec, cq, ce, f"iPMMIRIContents {iri['message']}", parts)
        pos = ve


def _ipiri(rec: bytes, q: int, e: int, out: Fields) -> None:
    iri = out["iri"]
    access: Fields = {}
    out["ip_access"] = access
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x80:
            iri["object_id"] = decode_relative_oid(rec[vq:ve])
        elif t == 0xA1:  # iPIRIContents
            cpos = vq
            while cpos < ve:
                ft, fq, fe = read_tlv(rec, cpos, ve)
                _ipiri_field(rec, ft, fq, fe, access)
                cpos = fe
        pos = ve


def _ipiri_field(rec: bytes, tag: int, q: int, e: int, access: Fields) -> None:
    number = split_key(tag)[2]
    spec = IPIRI_FIELDS.get(number)
    if spec is None:
        access[f"[{number}]"] = rec[q:e].hex()
        return
    name, codec, table = spec
    value = rec[q:e]
    if codec == "enum" and table is not None:
        access[name] = name_of(table, decode_enumerated(value))
    elif codec == "text":
        access[name] = decode_text(value)
    elif codec == "int":
        access[name] = decode_integer(value)
    elif codec == "time":
        access[name] = iso(decode_generalized_time(value))
    elif codec == "ip":
        access[name] = ip_address(rec, q, e)
    elif codec == "popid":  # IPIRIIDType: printableIDType [0] | macAddressType [1] | ipAddressType [2]
        ct, cq, ce = choice(rec, q, e, name)
        if ct == 0x80:
            access[name] = {"printableIDType": decode_text(rec[cq:ce])}
        elif ct == 0x81:
            access[name] = {"macAddressType": rec[cq:ce].hex()}
        else:
            access[name] = {"ipAddressType": ip_address(rec, cq, ce)}
    else:
        access[name] = value.hex()


def cc_payload(rec: bytes, q: int, e: int, parts: Parts) -> tuple[Fields, int | None]:
    cc: Fields = {}
    out: Fields = {"cc": cc}
    stamp: int | None = None
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x80:
            cc["direction"] = name_of(DIRECTIONS, decode_enumerated(rec[vq:ve]))
        elif t == 0xA2:  # cCContents
            ct, cq, ce = choice(rec, vq, ve, "cCContents")
            if ct == 0xAC:
                cc["contents"] = "iPMMCC"
                _ipmmcc(rec, cq, ce, out, parts)
            elif ct == 0xA2:
                cc["contents"] = "iPCC"
                _ipcc(rec, cq, ce, out, parts)
            else:
                cc["contents"] = f"[{split_key(ct)[2]}]"
                _undecoded(rec, cq, ce, f"cCContents {cc['contents']}", parts)
        else:
            found = payload_stamp(rec, t, vq, ve, cc)
            stamp = stamp if found is None else found
        pos = ve
    return out, stamp


def _ipcc(rec: bytes, q: int, e: int, out: Fields, parts: Parts) -> None:
    cc = out["cc"]
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x80:
            cc["object_id"] = decode_relative_oid(rec[vq:ve])
        elif t == 0xA1:  # iPCCContents CHOICE { iPPackets [0] }
            ct, cq, ce = choice(rec, vq, ve, "iPCCContents")
            packet = rec[cq:ce]
            if ct == 0x80:
                out["ip"] = ip_facts(packet)[0]
                parts.append(ContentPart(ContentKind.IP_PAYLOAD, packet, "application/octet-stream", "iPPackets"))
            else:
                _undecoded(rec, cq, ce, f"iPCCContents [{split_key(ct)[2]}]", parts)
        pos = ve


def _ipmmcc(rec: bytes, q: int, e: int, out: Fields, parts: Parts) -> None:
    cc = out["cc"]
    frame: bytes | None = None
    pos = q
    while pos < e:
        t, vq, ve = read_tlv(rec, pos, e)
        if t == 0x80:
            cc["object_id"] = decode_relative_oid(rec[vq:ve])
        elif t == 0x81:
            frame = rec[vq:ve]
        elif t == 0x82:
            cc["frame_type"] = name_of(FRAME_TYPES, decode_enumerated(rec[vq:ve]))
        elif t == 0x83:
            cc["stream_identifier"] = decode_text(rec[vq:ve])
        elif t == 0x84:
            cc["protocol"] = name_of(MMCC_PROTOCOLS, decode_enumerated(rec[vq:ve]))
        pos = ve
    if frame is None:
        raise MalformedRecord("missing-mmcc-contents", "iPMMCC without mMCCContents", q)
    frame_type = cc.get("frame_type", "ipFrame")
    payload: bytes | None = None
    if frame_type == "ipFrame":
        out["ip"], payload = ip_facts(frame)
    elif frame_type in ("udpFrame", "tcpFrame"):
        out["ip"] = {"length": len(frame)}
        payload = transport_facts(17 if frame_type == "udpFrame" else 6, frame, out["ip"])
    elif frame_type in ("rtpFrame", "artificialRtpFrame"):
        payload = frame
    if payload is not None and cc.get("protocol", "rTP") == "rTP":
        rtp = rtp_facts(payload)
        if rtp is not None:
            out["rtp"] = rtp
    kind = ContentKind.MESSAGE_BODY if cc.get("protocol") == "mSRP" else ContentKind.AUDIO
    parts.append(ContentPart(kind, frame, "application/octet-stream", "mMCCContents"))
