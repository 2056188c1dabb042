"""SMS and MMS: the TS 33.108 MMS codec, threads per counterparty, parts with their media
types (A2), and under a PRTT order no body, part or IP payload anywhere in the store (A6)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from calea.db.schema import content_items, iri_records, store_events
from calea.errors import AccessDenied
from calea.handover import mms, mms_encode
from calea.handover.errors import MalformedRecord
from calea.handover.mms_pdu import MmsFormatError, MmsPart, MmsPdu, build_pdu, parse_pdu
from calea.handover.model import Channel
from calea.intake.pipeline import Intake
from calea.services import messages
from calea.sessions.pcap import CapturedPacket, write_pcap
from calea.sim.packets import TcpFlow
from calea.store.verify import verify_store
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.traffic_helpers import (
    IP_TARGET, PURPOSE, VOIP, WEB, demo_plan, feed, feed_deliveries, investigator, needs_tshark, tshark,
)

AT = datetime(2026, 11, 27, 11, 58, tzinfo=timezone.utc)
IMAGE = bytes(random.Random(4).getrandbits(8) for _ in range(3000))
SMS_TEXT = b"Boat is in at pier 4."  # demo.toml
MMS_TEXT = "Meet at the north pier, bring the list."


def _pdu(subject: str = "north pier") -> MmsPdu:
    return MmsPdu("m-send-req", transaction_id="T-77", date=AT, sender="insert-address",
                  to=("+12125550199/TYPE=PLMN",), cc=("+13105550123/TYPE=PLMN",), subject=subject,
                  content_type="application/vnd.wap.multipart.related",
                  parts=(MmsPart("application/smil", b"<smil><body><par><img src=\"pier.jpg\"/></par></body></smil>", "pres.smil", "smil"),
                         MmsPart("text/plain", MMS_TEXT.encode(), "text.txt", charset="utf-8"),
                         MmsPart("image/jpeg", IMAGE, "pier.jpg"),
                         MmsPart("audio/amr", b"#!AMR\n" + bytes(40), "voice.amr"),
                         MmsPart("video/3gpp", bytes(64), "clip.3gp"),
                         MmsPart("text/x-vcard", b"BEGIN:VCARD\r\nFN:Dock\r\nEND:VCARD\r\n", "dock.vcf")))


def _mms_records(liid: str = "DEMO-VOIP-0001") -> tuple[bytes, bytes]:
    pdu = build_pdu(_pdu())
    iri = mms_encode.encode_iri(mms_encode.MmsIri(liid, AT, b"\x0a\x0b", event="send", target="+12125550100",
                                                  sender="+12125550100/TYPE=PLMN", to=("+12125550199/TYPE=PLMN",),
                                                  cc=("+13105550123/TYPE=PLMN",), transaction_id="T-77",
                                                  content_type="application/vnd.wap.multipart.related", message_size=len(pdu)))
    cc = mms_encode.encode_cc(mms_encode.MmsCc(liid, AT + timedelta(milliseconds=5), b"\x0a\x0b", "from-target", "T-77"), pdu)
    return iri, cc


def test_mms_codec_separates_addressing_from_parts() -> None:
    iri, cc = _mms_records()
    [report] = mms.decode(iri, Channel.HI2)
    assert report.content == () and report.cin == "0a0b" and report.intercepted_at == AT
    assert report.fields["mms"]["to"] == ["+12125550199/TYPE=PLMN"] and report.fields["event"] == "mms-send"
    [pdu] = mms.decode(cc, Channel.HI3)
    assert pdu.liid == "DEMO-VOIP-0001" and pdu.cin == "0a0b" and pdu.fields["mms"]["direction"] == "from-target"
    assert "north pier" not in repr(pdu.fields) and MMS_TEXT not in repr(pdu.fields)  # A6: subject and text are content
    parts = {p.name: p for p in pdu.content}
    assert parts["pier.jpg"].data == IMAGE and parts["pier.jpg"].media_type == "image/jpeg"
    assert parts["text.txt"].media_type == "text/plain; charset=utf-8" and parts["subject"].data == b"north pier"
    assert [p.media_type.split(";")[0] for p in pdu.content] == [
        "text/plain", "application/smil", "text/plain", "image/jpeg", "audio/amr", "video/3gpp", "text/x-vcard"]
    assert mms.decode(cc)[0].channel is Channel.HI3 and mms.decode(iri)[0].channel is Channel.HI2  # told by OID
    seq = mms_encode.encode_iri_sequence([mms_encode.MmsIri("L", AT, b"\x01"), mms_encode.MmsIri("L", AT, b"\x02", event="delivery")])
    assert [d.fields["event"] for d in mms.decode(seq)] == ["mms-send", "mms-delivery"]


def test_mms_pdu_round_trip_and_malformed_input() -> None:
    pdu = parse_pdu(build_pdu(_pdu("Ünïcode")))
    assert pdu.subject == "Ünïcode" and pdu.cc == ("+13105550123/TYPE=PLMN",) and pdu.parts[2].data == IMAGE
    iri, cc = _mms_records()
    rng = random.Random(1)
    for record in (iri, cc):
        for cut in range(1, len(record), max(1, len(record) // 60)):
            with pytest.raises(MalformedRecord):
                mms.decode(record[:cut], Channel.HI3 if record is cc else Channel.HI2)
        for _ in range(200):  # random damage: decoded or MalformedRecord, nothing else
            bad = bytearray(record)
            bad[rng.randrange(len(bad))] = rng.getrandbits(8)
            try:
                mms.decode(bytes(bad))
            except MalformedRecord:
                pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200))
def test_mms_pdu_parser_raises_only_its_error(data: bytes) -> None:
    for blob in (data, b"\x8c\x80" + data, build_pdu(_pdu())[:60] + data):
        try:
            parse_pdu(blob)
        except MmsFormatError:
            pass


@needs_tshark
def test_wireshark_reads_our_mms_pdu(tmp_path: Path) -> None:
    """An independent decoder (Wireshark's MMSE dissector) reads what `build_pdu` writes."""
    body = build_pdu(_pdu())
    req = b"POST /mms HTTP/1.1\r\nHost: mmsc\r\nContent-Type: application/vnd.wap.mms-message\r\nContent-Length: %d\r\n\r\n" % len(body)
    flow = TcpFlow("10.0.0.1", "10.0.0.2", 40000, 80, random.Random(2))
    flow.exchange(0.0, req + body, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    path = tmp_path / "mms.pcap"
    path.write_bytes(b"".join(write_pcap(CapturedPacket(AT, p, "X") for _, _, p in flow.packets)))
    [row] = tshark(path, "mmse.message_type", "mmse.transaction_id", "mmse.to", "mmse.cc", "mmse.subject", "mmse.from",
                   display_filter="mmse")
    assert row.split("\t") == ["0x80", "T-77", "+12125550199/TYPE=PLMN", "+13105550123/TYPE=PLMN", "north pier",
                                "<insert address>"]
    [types] = tshark(path, "wsp.header.content_type", display_filter="mmse")
    assert types.lower().split(",") == ["application/vnd.wap.multipart.related", "application/smil", "text/plain", "image/jpeg",
                                "audio/amr", "video/3gpp", "text/x-vcard"]


def _voip(setup: Setup, kind: str = "eavesdropping", intake_cls: type[Intake] = Intake, *, others: bool = False) -> dict:  # noqa: F811
    voip = setup.intercept("DEMO-VOIP-0001", VOIP, kind=kind)
    if others:
        setup.intercept("DEMO-IP-0001", IP_TARGET, kind=kind)
        setup.intercept("DEMO-WEB-0001", WEB, kind=kind)
    intake = intake_cls(setup.svc)
    try:
        feed(intake, demo_plan(setup))  # SIP MESSAGE (TS 102 232-5)
        feed(intake, demo_plan(setup, "ts101671-hi2"))  # SMS IRI (TS 101 671)
        iri, cc = _mms_records()
        feed_deliveries(intake, mms.decode(iri) + mms.decode(cc))
    finally:
        intake.writer.close()
    return voip


def test_threads_with_sms_and_mms_and_their_parts(setup: Setup) -> None:  # noqa: F811
    voip = _voip(setup)
    case_id = voip["case"]["id"]
    inv = investigator(setup, case_id, voip["authority"]["id"])
    threads = {t["counterparty"]: t for t in messages.threads(setup.svc, inv, case_id, purpose=PURPOSE)["threads"]}
    assert set(threads) == {"+12125550199", "+12125550199, +13105550123"}
    sms = threads["+12125550199"]
    assert sms["messages"] == 2 and sms["kinds"] == ["sip-message", "sms"] and sms["in"] == 2
    got = messages.thread(setup.svc, inv, case_id, "+12125550199", purpose=PURPOSE)["messages"]
    assert all(m["direction"] == "in" and m["parts"][0]["text"].startswith(SMS_TEXT.decode()) for m in got)
    [mm] = messages.thread(setup.svc, inv, case_id, "+12125550199, +13105550123", purpose=PURPOSE)["messages"]
    assert (mm["kind"], mm["direction"], mm["correlation"], mm["target"]) == ("mms", "out", "0a0b", "+12125550100")
    image = next(p for p in mm["parts"] if p["name"] == "pier.jpg")
    meta, data = messages.part(setup.svc, inv, case_id, mm["id"], image["id"], purpose=PURPOSE)
    assert data == IMAGE and meta["media_type"] == "image/jpeg"  # the bytes that were sent
    assert {p["media_type"].split(";")[0] for p in mm["parts"]} >= {"audio/amr", "video/3gpp", "text/x-vcard"}
    # taru reviews addressing; the text of messages is content it does not read (C1)
    seen = messages.thread(setup.svc, setup.taru, case_id, "+12125550199", purpose=PURPOSE)["messages"]
    assert len(seen) == 2 and all("text" not in p for m in seen for p in m["parts"])
    with pytest.raises(AccessDenied):
        messages.part(setup.svc, setup.taru, case_id, mm["id"], image["id"], purpose=PURPOSE)


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_prtt_keeps_no_bodies_parts_or_payloads(setup: Setup, tmp_path: Path) -> None:  # noqa: F811
    """A6: under PRTT orders (with the header records of A1) nothing of the scenario's
    content is anywhere: not in the content store, the segments, the database."""
    voip = _voip(setup, "prtt", others=True)
    markers = [SMS_TEXT, MMS_TEXT.encode(), b"north pier", IMAGE[:64], b"BEGIN:VCARD", b"<smil>",
               b"GET /schedule.html", b"<!doctype html>", b"\x03www\x07example\x03com", b"mail.example.org"]
    stored = _all_bytes(tmp_path)  # the SQLite file and its WAL, segments, content store, logs
    with setup.svc.db.read() as conn:
        rows = [repr(tuple(r)) for t in (iri_records, store_events, content_items) for r in conn.execute(select(t))]
        parts = conn.execute(select(content_items)).all()
        headers = conn.execute(select(iri_records.c.fields).where(iri_records.c.event == "ip-header")).scalars().all()
    text = "\n".join(rows).encode()
    assert parts == [] and len(headers) > 0
    for m in markers:
        assert m not in stored and m not in text, m
    assert all(set(h) == {"cc", "ip_header", "rule"} for h in headers)
    case_id = voip["case"]["id"]
    inv = investigator(setup, case_id, voip["authority"]["id"])
    got = messages.thread(setup.svc, inv, case_id, None, purpose=PURPOSE)["messages"]
    assert {m["kind"] for m in got} == {"sms", "sip-message", "mms"}
    assert all(m["content_suppressed"] and m["parts"] == [] and "A6" in m["note"] for m in got if m["kind"] != "mms")
    mm = next(m for m in got if m["kind"] == "mms")
    assert mm["counterparty"] == "+12125550199, +13105550123" and mm["parts"] == []  # addressing only
    assert verify_store(setup.svc).ok
