"""Every record OpenLI 1.1.20 delivered decodes to what libwandder listed and dumped.

Ground truth: ../shared/vectors/openli-1.1.20-voip-ip/{hi2,hi3}-NYPD.{listing,dump}.txt,
field for field.  Also: keep-alive responses equal what OpenLI accepted, and re-encoding
every decoded record reproduces OpenLI's bytes exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from calea.handover import etsi102232 as etsi
from calea.handover.ber import encode_generalized_time
from calea.handover.etsi102232_types import parse_iso
from calea.handover.model import Channel, ContentKind, Delivery, RecordKind

from .conftest import parse_dump, parse_listing

STREAMS = ["hi2", "hi3"]
_IRI_TYPE = {"begin": "IRI-Begin", "end": "IRI-End", "continue": "IRI-Continue", "report": "IRI-Report"}
_ASSIGNMENT = {"static": "Static", "dynamic": "Dynamic", "notKnown": "Not Known"}
_ACCESS_TYPE = {"fiber": "Fiber", "xDSL": "xDSL", "dialUp": "dialUp", "cableModem": "cableModem"}
_IP_VERSION = {"iPV4": "IPv4", "iPV6": "IPv6"}


def _records(request: pytest.FixtureRequest, stream: str) -> list[tuple[int, bytes]]:
    records: list[tuple[int, bytes]] = request.getfixturevalue(f"{stream}_records")
    return records


def _channel(stream: str) -> Channel:
    return Channel.HI2 if stream == "hi2" else Channel.HI3


@pytest.mark.parametrize("stream", STREAMS)
def test_listing_field_for_field(stream: str, request: pytest.FixtureRequest, openli_dir: Path) -> None:
    """index, offset, length, LIID, CIN, seq, timestamp, kind, IRI type, direction and the
    payload summary of every record (A8: the timestamp is the carrier's stamp)."""
    records = _records(request, stream)
    listing = parse_listing(openli_dir / f"{stream}-NYPD.listing.txt")
    assert len(records) == len(listing)
    for index, ((offset, record), line) in enumerate(zip(records, listing)):
        header = etsi.read_header(record)
        delivery = etsi.decode(record, _channel(stream))
        assert (line.index, line.offset, line.length) == (index, offset, len(record))
        assert (header.liid, header.cin, header.sequence) == (line.liid, line.cin, line.seq)
        assert delivery.liid == line.liid and delivery.cin == str(line.cin) and delivery.sequence == line.seq
        assert header.timestamp is not None
        assert header.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ") == line.ts
        assert delivery.fields["header"]["timestamp"] == line.ts
        assert delivery.intercepted_at == header.timestamp  # no payload-level stamps here
        assert delivery.channel is _channel(stream)
        assert header.kind is delivery.kind
        _check_listing_rest(line.kind, line.rest, delivery)


def _check_listing_rest(kind: str, rest: str, d: Delivery) -> None:
    f = d.fields
    if kind == "KEEPALIVE":
        assert d.kind is RecordKind.KEEPALIVE and rest == "" and f["tri"] == {"type": "keep-alive"}
        assert d.content == ()
        return
    if kind in ("IRI", "IRI/OTHER"):
        assert d.kind is RecordKind.IRI
        assert rest.startswith(f"iritype={_IRI_TYPE[f['iri']['type']]} ")
        if kind == "IRI/OTHER":  # libwandder extracts nothing from IP-access IRI
            assert f["iri"]["contents"] == "iPIRI" and rest.endswith("(no CC/IRI contents extracted)")
            assert d.content == ()
            return
        m = re.fullmatch(r'iritype=\S+ content=SIP field=sIPContent len=(\d+) "(.*)"', rest)
        assert m, rest
        assert f["iri"]["contents"] == "iPMMIRI" and f["iri"]["message"] == "sIPMessage"
        assert f["sip"]["length"] == int(m.group(1))
        assert f["sip"]["start_line"] == m.group(2)
        return
    assert kind == "CC" and d.kind is RecordKind.CC
    m = re.fullmatch(
        r"dir=(\S+) fmt=IP field=(\S+) len=(\d+) ([\d.]+):(\d+) > ([\d.]+):(\d+) proto=(\d+)", rest
    )
    assert m, rest
    direction, field, length, src, sport, dst, dport, proto = m.groups()
    cc, ip = f["cc"], f["ip"]
    assert cc["direction"] == direction
    assert cc["contents"] == {"iPPackets": "iPCC", "mMCCContents": "iPMMCC"}[field]
    (part,) = d.content
    assert part.name == field and len(part.data) == ip["length"] == int(length)
    assert part.kind is (ContentKind.IP_PAYLOAD if field == "iPPackets" else ContentKind.AUDIO)
    assert (ip["src"], ip["dst"], ip["protocol"]) == (src, dst, int(proto))
    if ip["protocol"] == 1:  # libwandder prints ICMP type/code and checksum as "ports"
        ihl = (part.data[0] & 0x0F) * 4
        checksum = int.from_bytes(part.data[ihl + 2 : ihl + 4], "big")
        assert (ip["icmp_type"] << 8 | ip["icmp_code"], checksum) == (int(sport), int(dport))
    else:
        assert (ip["src_port"], ip["dst_port"]) == (int(sport), int(dport))


def _address_leaves(prefix: tuple[str, ...], address: dict[str, Any]) -> dict[tuple[str, ...], str]:
    out = {prefix + ("iP-type",): address["type"], prefix + ("iP-value", "iPBinaryAddress"): address["address"],
           prefix + ("iP-assignment",): _ASSIGNMENT[address["assignment"]]}
    if "subnet_mask" in address:
        out[prefix + ("iPv4SubnetMask",)] = address["subnet_mask"]
    return out


def libwandder_leaves(d: Delivery) -> dict[tuple[str, ...], str]:
    """Our decode rendered the way libwandder dumps it (the fields libwandder shows)."""
    f, h = d.fields, d.fields["header"]
    header = etsi.read_header(d.raw)
    assert header.timestamp_us is not None
    secs, micros = divmod(header.timestamp_us, 1_000_000)
    out = {
        ("PSHeader", "li-psDomainId"): h["li_ps_domain_id"],
        ("PSHeader", "lawfulInterceptionIdentifier"): h["liid"],
        ("PSHeader", "authorizationCountryCode"): h["authorization_country_code"],
        ("PSHeader", "communicationIdentifier", "networkIdentifier", "operatorIdentifier"): h["operator_id"],
        ("PSHeader", "communicationIdentifier", "networkIdentifier", "networkElementIdentifier"):
            h["network_element_id"],
        ("PSHeader", "communicationIdentifier", "communicationIdentityNumber"): str(h["cin"]),
        ("PSHeader", "communicationIdentifier", "deliveryCountryCode"): h["delivery_country_code"],
        ("PSHeader", "sequenceNumber"): str(h["sequence"]),
        ("PSHeader", "microSecondTimeStamp", "seconds"): str(secs),
        ("PSHeader", "microSecondTimeStamp", "microSeconds"): str(micros),
        ("PSHeader", "timeStampQualifier"): h["timestamp_qualifier"],
    }
    if h["interception_point_id"] is not None:
        out[("PSHeader", "interceptionPointID")] = h["interception_point_id"]
    if "tri" in f:
        out[("Payload", "tRIPayload", f["tri"]["type"])] = ""
    elif "iri" in f:
        base = ("Payload", "iRIPayloadSequence", "IRIPayload")
        out[base + ("iRIType",)] = _IRI_TYPE[f["iri"]["type"]]
        if f["iri"]["contents"] == "iPMMIRI":
            mm = base + ("iRIContents", "iPMMIRI")
            out[mm + ("iPMMIRIObjId",)] = "." + f["iri"]["object_id"]
            sip = mm + ("iPMMIRIContents", "sIPMessage")
            out.update(_address_leaves(sip + ("ipSourceAddress",), f["iri"]["source_address"]))
            out.update(_address_leaves(sip + ("ipDestinationAddress",), f["iri"]["destination_address"]))
        else:
            ipiri = base + ("iRIContents", "iPIRI")
            out[ipiri + ("iPIRIObjId",)] = "." + f["iri"]["object_id"]
            for name, value in f["ip_access"].items():
                path = ipiri + ("iPIRIContents", name)
                if isinstance(value, dict):
                    out.update(_address_leaves(path, value))
                elif name in ("startTime", "endTime"):
                    out[path] = encode_generalized_time(parse_iso(value)).decode()
                else:
                    table = {"internetAccessType": _ACCESS_TYPE, "iPVersion": _IP_VERSION}.get(name, {})
                    out[path] = table.get(value, str(value))
    else:
        base = ("Payload", "cCPayloadSequence", "CCPayload")
        out[base + ("payloadDirection",)] = f["cc"]["direction"]
        contents = base + ("cCContents", f["cc"]["contents"])
        out[contents + (f["cc"]["contents"] + "ObjId",)] = "." + f["cc"]["object_id"]
        if f["cc"]["contents"] == "iPMMCC":
            out[contents + ("frameType",)] = f["cc"]["frame_type"]
            out[contents + ("mMCCprotocol",)] = f["cc"]["protocol"]
    return out


@pytest.mark.parametrize("stream", STREAMS)
def test_dump_field_for_field(stream: str, request: pytest.FixtureRequest, openli_dir: Path) -> None:
    records = _records(request, stream)
    dump = parse_dump(openli_dir / f"{stream}-NYPD.dump.txt")
    assert len(dump) == len(records)
    for (offset, record), pdu in zip(records, dump):
        assert (pdu.offset, pdu.length) == (offset, len(record))
        assert libwandder_leaves(etsi.decode(record)) == pdu.leaves, f"PDU {pdu.index}"


def test_sip_and_ip_facts(hi2_records: list[tuple[int, bytes]]) -> None:
    """SIP Call-ID / method / parties and the SDP media of call 1; IP-access facts."""
    d = {i: etsi.decode(r) for i, (_, r) in enumerate(hi2_records)}
    invite = d[10].fields
    assert invite["sip"]["method"] == "INVITE" and invite["sip"]["call_id"] == "c1-7f3a9b2e@203.0.113.10"
    assert invite["sip"]["from"] == {"display_name": "Alice", "uri": "sip:+12125550199@example.net", "tag": "a1f00d"}
    assert invite["sip"]["to"] == {"uri": "sip:+12125550100@example.net"}
    assert invite["sip"]["cseq"] == {"number": 1, "method": "INVITE"}
    assert invite["sip"]["p_asserted_identity"] == ["sip:+12125550199@example.net"]
    assert invite["ip"] == {"src": "203.0.113.10", "dst": "198.51.100.20"}
    (media,) = invite["sip"]["sdp"]["media"]
    assert (media["port"], media["formats"], media["rtpmap"]["0"]) == (50000, ["0", "101"], "PCMU/8000")
    assert invite["sip"]["sdp"]["connection"]["address"] == "203.0.113.50"
    assert d[10].content == ()  # SDP is signalling
    call2 = d[17].fields["sip"]
    assert "Proxy-Authorization" in call2["header_names"]
    assert "Proxy-Authorization" not in call2["headers"]  # credentials are not copied
    assert d[33].fields["sip"]["status_code"] == 487
    access = d[35].fields["ip_access"]
    assert access["accessEventType"] == "accessEnd" and access["endReason"] == "regularLogOff"
    assert access["targetIPAddress"]["address"] == "198.51.100.77"
    assert access["startTime"] == "2025-06-02T14:00:16.049000Z" and access["endTime"] == "2025-06-02T14:00:45.000000Z"
    assert (access["octetsReceived"], access["octetsTransmitted"]) == (6100, 2900)
    assert d[7].fields["ip_access"]["targetIPAddress"]["assignment"] == "dynamic"


def test_message_body_is_content_not_field(hi2_records: list[tuple[int, bytes]]) -> None:
    """Rule A6: the SIP MESSAGE text is content; fields keep only its type and length."""
    d = etsi.decode(hi2_records[25][1])
    (part,) = d.content
    assert part.kind is ContentKind.MESSAGE_BODY and part.media_type == "text/plain"
    assert part.data == b"Meet me at the usual place at 5pm."
    text = json.dumps(d.fields)
    assert "Meet me" not in text and "usual place" not in text
    assert d.fields["sip"]["body_length"] == 34 and d.fields["sip"]["method"] == "MESSAGE"


def test_rtp_facts_of_call_1(hi3_records: list[tuple[int, bytes]]) -> None:
    voip = [etsi.decode(r) for _, r in hi3_records if b"NYPD-VOIP" in r]
    assert len(voip) == 700
    first = voip[0].fields
    assert first["rtp"]["payload_type"] == 0 and first["ip"]["src_port"] == 50000
    assert first["cc"]["frame_type"] == "ipFrame" and first["cc"]["protocol"] == "rTP"
    assert all(v.content[0].kind is ContentKind.AUDIO for v in voip)
    assert len({v.fields["rtp"]["ssrc"] for v in voip}) == 4  # two streams per call


@pytest.mark.parametrize("stream", STREAMS)
def test_fields_are_json(stream: str, request: pytest.FixtureRequest) -> None:
    for _, record in _records(request, stream):
        d = etsi.decode(record)
        assert json.loads(json.dumps(d.fields)) == d.fields
        assert d.raw == record and d.format == "etsi-102232"


@pytest.mark.parametrize("stream", STREAMS)
def test_keepalive_responses_equal_what_openli_accepted(
    stream: str, request: pytest.FixtureRequest, openli_dir: Path
) -> None:
    responses = [
        etsi.keepalive_response(record)
        for _, record in _records(request, stream)
        if etsi.read_header(record).kind is RecordKind.KEEPALIVE
    ]
    assert len(responses) == {"hi2": 11, "hi3": 13}[stream]
    assert b"".join(responses) == (openli_dir / f"{stream}-NYPD.ka-responses.ber").read_bytes()
    for response in responses:
        assert etsi.read_header(response).kind is RecordKind.KEEPALIVE_RESPONSE


def _payload_of(d: Delivery) -> etsi.Payload:
    f = d.fields
    if "tri" in f:
        return etsi.KeepAlive()
    if "iri" in f and f["iri"]["contents"] == "iPIRI":
        return etsi.IPIRI(f["iri"]["type"], f["ip_access"])
    if "iri" in f:
        start = d.raw.index(f["sip"]["start_line"].encode())
        sip = d.raw[start : start + f["sip"]["length"]]
        return etsi.IPMMIRI(f["iri"]["type"], sip, f["ip"]["src"], f["ip"]["dst"])
    data = d.content[0].data
    if f["cc"]["contents"] == "iPCC":
        return etsi.IPCC(f["cc"]["direction"], data)
    return etsi.IPMMCC(f["cc"]["direction"], data, f["cc"]["frame_type"], f["cc"]["protocol"])


def test_reencoding_reproduces_openli_bytes(all_records: list[bytes]) -> None:
    """encode(decode(r)) == r for all 781 records (OpenLI writes lengths >= 128 in two
    octets; `lengths="openli"` does the same)."""
    for record in all_records:
        d = etsi.decode(record)
        again = etsi.encode_ps_pdu(etsi.read_header(record), _payload_of(d), lengths="openli")
        assert again == record
        minimal = etsi.encode_ps_pdu(etsi.read_header(record), _payload_of(d))
        assert len(minimal) <= len(record) and etsi.decode(minimal).fields == d.fields


@pytest.mark.parametrize("stream", STREAMS)
def test_decode_after_the_header_was_scanned_is_the_same_decode(request: pytest.FixtureRequest, stream: str) -> None:
    """The intake scans the PSHeader first and hands the scan to `decode` (`scanned=`): the
    same delivery, for every record OpenLI wrote."""
    from calea.handover.etsi102232_header import scan

    for _, record in _records(request, stream):
        assert etsi.decode(record, _channel(stream), scanned=scan(record)) == etsi.decode(record, _channel(stream))
