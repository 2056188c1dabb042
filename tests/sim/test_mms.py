"""MMS with a picture in the simulator: the scenario event and its file form, the
3GPP TS 33.108 records (HI2 IRI + HI3 CC-PDU) decoded by the project and independently
(pycrate, Pillow, Wireshark), and delivered into a real intake under an eavesdropping
order (the picture stored byte for byte) and a PRTT order (no byte of it kept)."""

from __future__ import annotations

import asyncio
import json
import random
import struct
import zlib
from dataclasses import replace
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from pycrate_asn1dir import LI3GPP
from sqlalchemy import func, select
from typer.testing import CliRunner

from calea.db.schema import content_items, iri_records, malformed, refusals, store_events
from calea.handover import mms
from calea.handover.framing import RecordSplitter
from calea.handover.model import Channel
from calea.intake.pipeline import Intake
from calea.sessions.pcap import CapturedPacket, write_pcap
from calea.sim.build import build
from calea.sim.carrier import deliver
from calea.sim.images import png_image, png_size
from calea.sim.packets import TcpFlow
from calea.sim.plan import Drop, Plan
from calea.sim.scenario import (
    Call, IpSession, Mms, Scenario, ScenarioError, Sms, load_demo_scenario, load_scenario, quick_scenario,
    scenario_from_dict,
)
from calea.store.verify import verify_store
from tests.intake.conftest import RunningIntake, Setup, setup  # noqa: F401 (fixture)
from tests.sessions.traffic_helpers import needs_tshark, tshark

from .conftest import IPT, START, VOIP

IMAGE_IN = png_image(40, 30, seed=11)
IMAGE_OUT = png_image(24, 24, seed=12)
IN = Mms("LI-VOIP-1", 1.0, "+12125550199", ("+12125550100",), "Dock photo", "Boat is at pier 4, north side.", IMAGE_IN)
OUT = Mms("LI-VOIP-1", 4.0, "+12125550100", ("+13105550123", "+17185550142"), "Re: dock", "Got it, on my way.",
          IMAGE_OUT)
VOIP_IDS = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}, {"kind": "e164", "value": "+12125550100"}]


def _scenario() -> Scenario:
    events = (IN, OUT, Call("LI-VOIP-1", 6.0, "in", outcome="busy"), Sms("LI-VOIP-1", 8.0), IpSession("LI-IP-1", 2.0))
    return Scenario((VOIP, IPT), events, "mms", START, 5)


def _payload(cc_pdu: bytes) -> bytes:
    """The MMS PDU of a CC-PDU, read by pycrate."""
    LI3GPP.Mms_HI3_PS.CC_PDU.from_ber(cc_pdu)
    return LI3GPP.Mms_HI3_PS.CC_PDU.get_val()["payload"]


def _decode(plan: Plan) -> list[tuple[str, object]]:
    out = []
    for r in plan.records():
        [d] = mms.decode(r.data, Channel.HI2 if r.channel == "hi2" else Channel.HI3)
        out.append((r, d))
    return out


# --- the picture --------------------------------------------------------------------------


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Chunks of a PNG, every CRC checked (an independent reader: the PNG spec, struct, zlib)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks.append((kind, body))
        pos += 12 + length
    return chunks


def test_png_images_are_valid_and_deterministic() -> None:
    chunks = _png_chunks(IMAGE_IN)
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert struct.unpack(">IIBB", chunks[0][1][:10]) == (40, 30, 8, 2)
    raw = zlib.decompress(chunks[1][1])
    assert len(raw) == 30 * (1 + 40 * 3) and all(raw[y * 121] == 0 for y in range(30))
    assert png_image(40, 30, seed=11) == IMAGE_IN != png_image(40, 30, seed=12)
    assert png_size(IMAGE_OUT) == (24, 24) and png_size(b"GIF89a") is None
    pil = pytest.importorskip("PIL.Image")
    with pil.open(BytesIO(IMAGE_IN)) as im:
        im.load()
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (40, 30))
        assert len(im.getcolors(maxcolors=40 * 30)) > 100  # a picture, not a flat colour
    with pytest.raises(ValueError):
        png_image(0, 5)


# --- the scenario event -------------------------------------------------------------------

MMS_DICT = {
    "start": "2026-01-05T09:00:00Z",
    "targets": [{"liid": "L-1", "e164": "+12125550100"}],
    "events": [{"type": "mms", "liid": "L-1", "at": 2.0, "from": "+12125550199", "to": "+12125550100",
                "subject": "s", "text": "t", "image": "40x30"},
               {"type": "mms", "liid": "L-1", "at": 5.0, "from": "+12125550100", "to": ["+13105550123"],
                "image": {"width": 24, "height": 24, "seed": 12}}],
}


def test_mms_in_toml_and_json(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(MMS_DICT))
    (tmp_path / "s.toml").write_text("""start = 2026-01-05T09:00:00Z
[[targets]]\nliid = "L-1"\ne164 = "+12125550100"
[[events]]\ntype = "mms"\nliid = "L-1"\nat = 2.0\nfrom = "+12125550199"\nto = "+12125550100"\nsubject = "s"
text = "t"\nimage = "40x30"
[[events]]\ntype = "mms"\nliid = "L-1"\nat = 5.0\nfrom = "+12125550100"\nto = ["+13105550123"]
image = { width = 24, height = 24, seed = 12 }\n""")
    a, b = load_scenario(tmp_path / "s.json"), load_scenario(tmp_path / "s.toml")
    assert a == b
    first, second = a.events
    assert (first.from_, first.to, first.subject, first.text) == ("+12125550199", ("+12125550100",), "s", "t")
    assert first.image == png_image(40, 30, 0) and second.image == IMAGE_OUT
    assert "image=" not in repr(first)  # the picture's bytes stay out of logs and reprs
    default = scenario_from_dict({**MMS_DICT, "events": [{"type": "mms", "liid": "L-1", "at": 1.0}]})
    assert default.events[0].to == () and png_size(default.events[0].image) == (32, 24)


@pytest.mark.parametrize("change, message", [
    ({"from_": "+12125550199"}, "key is 'from'"),
    ({"image": "big"}, "WIDTHxHEIGHT"),
    ({"image": "5000x2"}, "1 to 640"),
    ({"image": {"width": 4, "depth": 2}}, "unknown image keys"),
    ({"from": "+13105550123", "to": ["+17185550142"]}, "neither its sender"),
    ({"from": "+12125550100", "to": []}, "needs recipients"),
    ({"from": "+12125550100", "to": ["+12125550100"]}, "twice"),
    ({"to": ["12125550100"]}, "E.164"),
    ({"subject": 7}, "strings"),
    ({"colour": "red"}, "unknown keys"),
])
def test_bad_mms_events_are_refused(change: dict, message: str) -> None:
    event = {"type": "mms", "liid": "L-1", "at": 1.0, **change}
    with pytest.raises(ScenarioError, match=message):
        scenario_from_dict({**MMS_DICT, "events": [event]})
    with pytest.raises(ScenarioError, match="PNG"):
        Scenario((VOIP,), (Mms("LI-VOIP-1", 1.0, image=b"GIF89a..."),))


def test_demo_has_an_mms_to_the_voip_target() -> None:
    demo = load_demo_scenario()
    [m] = [e for e in demo.events if isinstance(e, Mms)]
    assert m.liid == "DEMO-VOIP-0001" and m.to == ("+12125550100",) and m.from_ == "+12125550199"
    assert png_size(m.image) == (48, 32) and m.end < demo.length
    for fmt in ("etsi-102232", "ts101671-hi2", "pcesp"):  # the formats without MMS skip it
        assert build(demo, fmt, now=START).skipped["Mms"] == 1
    plan = build(demo, "3gpp-mms", now=START)
    assert dict(plan.counts()) == {"iri": 2, "cc": 1}
    assert plan.skipped == {"Call": 2, "Sms": 1, "IpSession": 1, "WebVisits": 1}
    quick = quick_scenario(liid="Q", sip_uri="sip:+12125550100@example.net", mms=3, start=START)
    assert [e.from_ == "+12125550100" for e in quick.events] == [False, True, False]
    assert len({e.image for e in quick.events}) == 3
    with pytest.raises(ScenarioError, match="number"):
        quick_scenario(liid="Q", ip="198.51.100.9", mms=1)


# --- the records ----------------------------------------------------------------------------


def test_build_round_trip_through_the_mms_decoder() -> None:
    plan = build(_scenario(), "3gpp-mms", now=START)
    assert plan.hi3_transport == "tcp" and plan.skipped == {"Call": 1, "Sms": 1, "IpSession": 1}
    assert dict(plan.counts()) == {"iri": 3, "cc": 2}  # no keep-alives in this format
    got = _decode(plan)
    by_cin: dict[str, list] = {}
    for r, d in got:
        assert d.cin == r.cin and d.liid == "LI-VOIP-1" and d.intercepted_at == START + timedelta(seconds=r.at)
        by_cin.setdefault(r.cin, []).append((r, d))
    assert len(by_cin) == 2
    for m, cin in zip((IN, OUT), by_cin):
        group = by_cin[cin]
        for channel in ("hi2", "hi3"):  # sequence numbers per connection and correlation, from 0
            assert [r.sequence for r, _ in group if r.channel == channel] == list(range(sum(r.channel == channel for r, _ in group)))
        iris = [d for r, d in group if r.channel == "hi2"]
        [cc] = [d for r, d in group if r.channel == "hi3"]
        events = [d.fields["mms"]["event"] for d in iris]
        assert events == (["notification", "retrieval"] if m is IN else ["send"])
        assert all(d.content == () for d in iris)  # HI2: addressing only
        assert all(d.fields["mms"]["parties"] == [{"qualifier": "mMS-Target", "e164": "+12125550100"}] for d in iris)
        assert all(d.fields["mms"]["to"] == [f"{n}/TYPE=PLMN" for n in m.to] for d in iris)
        assert all(d.fields["mms"]["from"] == [f"{m.from_}/TYPE=PLMN"] for d in iris)
        pdu = cc.fields["mms"]["pdu"]
        assert cc.fields["mms"]["direction"] == ("to-target" if m is IN else "from-target")
        assert pdu["message_type"] == ("m-retrieve-conf" if m is IN else "m-send-req")
        assert cc.fields["mms"]["transaction_id"] == pdu["transaction_id"] == iris[0].fields["mms"]["transaction_id"]
        assert all(d.fields["mms"]["message_size"] == len(_payload(cc.raw)) for d in iris)
        parts = {p.name: p for p in cc.content}
        assert parts["image.png"].data == m.image and parts["image.png"].media_type == "image/png"
        assert parts["text.txt"].data == m.text.encode() and parts["text.txt"].media_type.startswith("text/plain")
        assert parts["subject"].data == m.subject.encode()
        assert m.text not in repr(cc.fields) and m.subject not in repr(cc.fields)  # A6: content is no field


def test_pycrate_reads_the_records_independently() -> None:
    """The IRIs and CC-PDUs read by pycrate's own BER decoder (LI3GPP MmsHI2Operations,
    Mms-HI3-PS), not through `calea.handover`."""
    plan = build(_scenario(), "3gpp-mms", now=START)
    correlations = {}
    for r in plan.records("hi2"):
        hi2 = LI3GPP.MmsHI2Operations.MmsIRIsContent
        hi2.from_ber(r.data)
        form, (record, params) = hi2.get_val()
        assert form == "mmsiRIContent" and record == "iRI-Report-record"
        assert params["hi2mmsDomainId"] == (0, 4, 0, 2, 2, 4, 16, 16, 0)
        assert params["lawfulInterceptionIdentifier"] == b"LI-VOIP-1" and params["mMSVersion"] == 18
        assert params["partyInformation"][0]["partyIdentity"] == {"e164-Format": b"+12125550100"}
        assert params["mMSevent"] in ("send", "notification", "retrieval")
        assert params["mMSCorrelationNumber"].hex() == r.cin
        correlations.setdefault(r.cin, set()).add(params["transactionID"])
    images = []
    for r in plan.records("hi3"):
        hi3 = LI3GPP.Mms_HI3_PS.CC_PDU
        hi3.from_ber(r.data)
        value = hi3.get_val()
        header = value["mmSLIC-header"]
        assert header["lIID"] == b"LI-VOIP-1" and header["mMSCorrelationNNumber"].hex() == r.cin
        assert {header["transactionID"]} == correlations[r.cin]  # the IRI's transaction
        payload = value["payload"]
        assert payload[:2] in (b"\x8c\x84", b"\x8c\x80")  # X-Mms-Message-Type: m-retrieve-conf / m-send-req
        images.append(IMAGE_IN in payload or IMAGE_OUT in payload)
    assert images == [True, True]


@needs_tshark
def test_wireshark_reads_the_mms_pdus(tmp_path: Path) -> None:
    """Wireshark's MMSE dissector reads the HI3 payloads (m-send-req in an HTTP POST,
    m-retrieve-conf in the MMSC's response), their parts with their media types."""
    plan = build(_scenario(), "3gpp-mms", now=START)
    payloads = {r.at: _payload(r.data) for r in plan.records("hi3")}
    retrieve, send = payloads[IN.at + 1.01], payloads[OUT.at + 0.01]
    mms_type = b"Content-Type: application/vnd.wap.mms-message\r\nContent-Length: %d\r\n\r\n"
    flow = TcpFlow("10.0.0.1", "10.0.0.2", 40000, 80, random.Random(2))
    flow.exchange(0.0, b"POST /mms HTTP/1.1\r\nHost: mmsc\r\n" + mms_type % len(send) + send,
                  b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    get = TcpFlow("10.0.0.1", "10.0.0.2", 40001, 80, random.Random(3))
    get.exchange(1.0, b"GET /mms/x HTTP/1.1\r\nHost: mmsc\r\n\r\n", b"HTTP/1.1 200 OK\r\n" + mms_type % len(retrieve) + retrieve)
    path = tmp_path / "mms.pcap"
    packets = sorted(flow.packets + get.packets, key=lambda p: p[0])
    path.write_bytes(b"".join(write_pcap(CapturedPacket(START + timedelta(seconds=at), p, "X") for at, _, p in packets)))
    rows = [row.split("\t") for row in tshark(path, "mmse.message_type", "mmse.to", "mmse.subject", "mmse.from",
                                                   "wsp.header.content_type", display_filter="mmse")]
    assert [r[:4] for r in rows] == [
        ["0x80", "+13105550123/TYPE=PLMN,+17185550142/TYPE=PLMN", "Re: dock", "<insert address>"],
        ["0x84", "+12125550100/TYPE=PLMN", "Dock photo", "+12125550199/TYPE=PLMN"]]
    for row in rows:
        assert row[4].lower().split(",") == ["application/vnd.wap.multipart.related", "application/smil", "text/plain",
                                             "image/png"]


def test_cli_writes_mms_streams(tmp_path: Path) -> None:
    from tests.sim.test_cli import app

    result = CliRunner().invoke(app, ["sim", "--format", "3gpp-mms", "--write-streams", str(tmp_path / "demo"),
                                      "--start", "2026-01-05T09:00:00Z", "--json"])
    assert result.exit_code == 0, result.output
    [run] = [json.loads(line) for line in result.output.splitlines()]
    assert run["records"] == {"iri": 2, "cc": 1} and run["skipped"]["Call"] == 2
    result = CliRunner().invoke(app, ["sim", "--format", "3gpp-mms", "--liid", "Q-1", "--target-e164", "+12125550100",
                                      "--mms", "2", "--write-streams", str(tmp_path / "quick")])
    assert result.exit_code == 0, result.output
    splitter = RecordSplitter(outer_tags=None)
    splitter.receive_data((tmp_path / "quick" / "hi3.ber").read_bytes())
    splitter.receive_eof()
    records = []
    while isinstance(record := splitter.next_record(), bytes):
        records.append(record)
    images = [p for r in records for d in mms.decode(r, Channel.HI3) for p in d.content if p.media_type == "image/png"]
    assert len(images) == 2 and all(png_size(p.data) == (32, 24) for p in images)


# --- into the intake ---------------------------------------------------------------------------


def _e2e_scenario() -> Scenario:
    """The demo (its MMS to the target) and an MMS the target sends."""
    demo = load_demo_scenario()
    out = Mms("DEMO-VOIP-0001", 24.0, "+12125550100", ("+13105550123",), "Tomorrow", "Pier 4 at six, bring the list.",
              IMAGE_OUT)
    return replace(demo, events=tuple(sorted((*demo.events, out), key=lambda e: e.at)))


def _deliver(setup: Setup, kind: str) -> tuple[Scenario, Plan]:  # noqa: F811
    setup.intercept("DEMO-VOIP-0001", VOIP_IDS, kind=kind)
    r = RunningIntake(Intake(setup.svc, max_delay=0.01), {"hi2": ("3gpp-mms", Channel.HI2),
                                                            "hi3": ("3gpp-mms", Channel.HI3)})
    try:
        scenario = _e2e_scenario()
        plan = build(scenario, "3gpp-mms", now=setup.clock.now() - timedelta(minutes=5))
        report = asyncio.run(deliver(plan, host="127.0.0.1", hi2_port=r.ports["hi2"], hi3_port=r.ports["hi3"],
                                     fmt="3gpp-mms"))
        assert report.ok and report.records == {"iri": 3, "cc": 2} and report.keepalives_sent == 0
        assert report.reconnects == 1  # the demo's HI3 drop (nothing sent before it to resend)
        r.settle(2 + sum(isinstance(s, Drop) for s in plan.hi2 + plan.hi3))
    finally:
        r.close()
    with setup.svc.db.read() as conn:
        stored = conn.execute(select(func.count()).select_from(iri_records).where(iri_records.c.format == "3gpp-mms")).scalar()
        bad = conn.execute(select(malformed.c.reason, malformed.c.message)).all()
        refused = conn.execute(select(func.count()).select_from(refusals)).scalar()
    assert (stored, bad, refused) == (5, [], 0)  # 3 IRIs and 2 CC-PDUs (an index record each)
    return scenario, plan


def _mms_events(scenario: Scenario) -> list[Mms]:
    return [e for e in scenario.events if isinstance(e, Mms)]


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


def test_eavesdropping_stores_the_picture_byte_for_byte(setup: Setup, tmp_path: Path) -> None:  # noqa: F811
    scenario, _ = _deliver(setup, "eavesdropping")
    with setup.svc.db.read() as conn:
        items = conn.execute(select(content_items)).mappings().all()
    images = [i for i in items if i["media_type"] == "image/png"]
    sent = [m.image for m in _mms_events(scenario)]
    assert len(images) == 2 and sorted(setup.svc.content.get(i["sha256"]) for i in images) == sorted(sent)
    assert all(i["name"] == "image.png" and i["size"] == len(setup.svc.content.get(i["sha256"])) for i in images)
    texts = {setup.svc.content.get(i["sha256"]) for i in items if i["name"] == "text.txt"}
    assert texts == {m.text.encode() for m in _mms_events(scenario)}
    assert all(m.image in _all_bytes(tmp_path) for m in _mms_events(scenario))  # the PRTT test's search finds it
    assert verify_store(setup.svc).ok


def test_prtt_keeps_no_byte_of_picture_or_text(setup: Setup, tmp_path: Path) -> None:  # noqa: F811
    scenario, _ = _deliver(setup, "prtt")
    stored = _all_bytes(tmp_path)  # the SQLite file and its WAL, segments, content store, logs
    with setup.svc.db.read() as conn:
        rows = "\n".join(repr(tuple(r)) for t in (iri_records, store_events, content_items)
                         for r in conn.execute(select(t))).encode()
        items = conn.execute(select(content_items)).all()
    assert items == []
    for m in _mms_events(scenario):
        markers = [m.text.encode(), m.subject.encode()]
        markers += [m.image[i:i + 16] for i in range(0, len(m.image) - 15, 16)]  # every 16-octet run of the picture
        for marker in markers:
            assert marker not in stored and marker not in rows, marker
    assert verify_store(setup.svc).ok
