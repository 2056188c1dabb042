"""Digits keyed as RFC 4733 telephone events in the call content (RTP), in the call record:
one digit per event, time-stamped, dialling before the answer (A1), post-cut-through content
after it (A6) -- over the simulator's TS 102 232-5 RTP and PacketCable CCC, pure and through
a real intake, and absent after the answer under a PRTT order (A6)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select

from calea.db.schema import cc_chunks
from calea.db.schema_calls import call_events, calls
from calea.handover.pcesp_ccc import rtp_packet
from calea.sessions.call_media import DigitCollector, MediaContext, is_event_candidate, media_context
from calea.sessions.calls import assemble_calls
from calea.sessions.calls_store import CallsSubscriber, calls_of_content, rebuild_calls, refresh_calls
from calea.sessions.rtp import parse_media
import calea.sim
from calea.sim.audio import telephone_event
from calea.sim.build import build
from calea.sim.scenario import load_scenario
from calea.store.items import StoreItem
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.calls_helpers import (
    LIID,
    TARGET,
    TARGET_NUMBER,
    call_event,
    cc_records,
    decode,
    deliver,
    hi2_records,
    index_records,
    media_of,
    plan,
)

MEDIA_FORMATS = ("etsi-102232", "pcesp")
T0 = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)
CALLING_CARD = dict(ring=1.5, duration=3.0, dtmf_before="4711", dtmf_after="2#", dtmf_iri=False)
IVR = dict(ring=1.5, duration=3.0, dtmf_after="15#", dtmf_iri=False)


def one_call(fmt: str, event: dict[str, Any], *, content: Any = None) -> Any:
    events = [event]
    recs = index_records(fmt, events)
    windows = None if content is None else {LIID: content}
    calls_ = assemble_calls(recs, {LIID: TARGET}, media=media_of(plan(fmt, events), recs), content=windows)
    assert len(calls_) == 1
    return calls_[0]


def digit_events(call: Any) -> list[Any]:
    return [e for e in call.events if e.name == "digits"]


# --- pure, over the simulator ------------------------------------------------------------------

@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_calling_card_digits_before_and_after_answer(fmt: str) -> None:
    """The target dials a calling-card number, keys the card digits during early media
    (dialling, A1) and a menu choice once connected (post-cut-through, A6)."""
    call = one_call(fmt, call_event(1.0, "out", **CALLING_CARD))
    assert call.outcome == "answered" and call.digits_before == "4711" and call.digits_after == "2#"
    digits = digit_events(call)
    assert [(e.digits, e.digits_kind) for e in digits] == [
        ("4", "dialing"), ("7", "dialing"), ("1", "dialing"), ("1", "dialing"),
        ("2", "post-cut-through"), ("#", "post-cut-through")]
    assert all(e.at < call.answered_at for e in digits[:4]) and all(e.at > call.answered_at for e in digits[4:])
    times = [e.at for e in digits]
    assert times == sorted(times) and all(0.2 <= (b - a).total_seconds() <= 0.3 for a, b in zip(times, times[1:4]))
    # each digit is one event, though its end packet came three times (plus the tone's own packets)
    sent = [r for r in cc_records(plan(fmt, [call_event(1.0, "out", **CALLING_CARD)])) if r.label == "dtmf"]
    assert len(sent) == 6 * (5 + 3) and len(digits) == 6
    assert all(e.party == TARGET_NUMBER and "keyed by the target" in e.detail and "(100 ms)" in e.detail for e in digits)
    assert all(e.leaf_index is not None and e.leaf_index >= 10_000 for e in digits)  # the CC record (D1)


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_ivr_menu_after_answer(fmt: str) -> None:
    """An incoming call; the target keys an IVR menu choice: content (A6), kept under a warrant."""
    call = one_call(fmt, call_event(1.0, "in", **IVR))
    assert call.direction == "incoming" and call.digits_before is None and call.digits_after == "15#"
    assert [e.digits_kind for e in digit_events(call)] == ["post-cut-through"] * 3


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_digits_keyed_by_the_other_party(fmt: str) -> None:
    call = one_call(fmt, call_event(1.0, "out", **{**IVR, "dtmf_by": "peer"}))
    assert call.digits_after == "15#"
    assert all(e.party == call.called and "by the other party" in e.detail for e in digit_events(call))


def test_digits_the_carrier_also_reported_count_once() -> None:
    """PacketCable DialedDigitExtraction and the same digits as RFC 4733 events are one keying."""
    call = one_call("pcesp", call_event(1.0, "in", **{**IVR, "dtmf_iri": True}))
    assert call.digits_after == "15#"
    (event,) = digit_events(call)
    assert event.digits == "15#" and "RFC 4733" in event.detail and event.leaf_index is not None and event.leaf_index < 10_000


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_a6_post_connect_digits_refused_without_an_eavesdropping_authority(fmt: str) -> None:
    """A6: with only a PRTT order in force (no content window) the record refuses the digits
    keyed after the answer, whatever reached the store; dialling before it stays (A1)."""
    prtt = one_call(fmt, call_event(1.0, "out", **CALLING_CARD), content=())
    assert prtt.digits_before == "4711" and prtt.digits_after is None and prtt.suppressed == 2
    refused = [e for e in prtt.events if e.name == "suppressed"]
    assert len(refused) == 2 and all(e.digits is None and e.suppressed and "(A6)" in e.detail for e in refused)
    # an eavesdropping window over the call: shown
    warrant = one_call(fmt, call_event(1.0, "out", **CALLING_CARD), content=[(T0, T0 + timedelta(days=30))])
    assert warrant.digits_after == "2#" and warrant.suppressed == 0
    # a warrant that ended before the answer: the digits after it are refused
    ended = one_call(fmt, call_event(1.0, "out", **CALLING_CARD), content=[(T0, T0 + timedelta(seconds=2))])
    assert ended.digits_before == "4711" and ended.digits_after is None


def test_a6_also_refuses_carrier_reported_digits() -> None:
    """The same check covers digits the carrier reported in IRI (TS 101 671 keypad)."""
    recs = index_records("ts101671-hi2", [call_event(1.0, "out", dtmf_after="99")])
    (call,) = assemble_calls(recs, {LIID: TARGET}, content={LIID: ()})
    assert call.digits_after is None and call.suppressed == 1
    (call,) = assemble_calls(recs, {LIID: TARGET})  # not known: the store's own A6 filtering stands
    assert call.digits_after == "99"


# --- the collector (RFC 4733 rules) -------------------------------------------------------------

def pkt(ts: int, digit: str, duration: int, end: bool = False, *, pt: int = 101, seq: int = 0, ssrc: int = 7,
        src: str = "198.51.100.20", dst: str = "203.0.113.50", payload: bytes | None = None) -> Any:
    data = payload if payload is not None else telephone_event(digit, duration, end)
    return parse_media(rtp_packet(src, dst, 40000, 50000, seq, ts, ssrc, data, payload_type=pt))


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def test_collector_one_digit_per_event_any_order() -> None:
    c = DigitCollector(MediaContext())
    packets = [(pkt(800, "5", 160), 20), (pkt(800, "5", 320), 40), (pkt(800, "5", 480, True), 60),
               (pkt(800, "5", 480, True), 60.5), (pkt(800, "5", 480, True), 61)]
    for p, ms in reversed(packets):  # reordered, the end packet three times
        c.feed(p, at(ms), cin="9", leaf=int(ms))
    (d,) = c.digits()
    assert (d.digit, d.duration_ms, d.ended, d.cin) == ("5", 60, True, "9")
    assert d.at == at(0) and d.leaf_index == 20  # started 20 ms before the first packet; its leaf
    c.feed(pkt(800, "5", 160, seq=9), at(20))  # a resend after a reconnect
    c.feed(pkt(2400, "5", 160), at(220))  # the same key pressed again: a new event
    assert [x.digit for x in c.digits()] == ["5", "5"]


def test_collector_long_event_segments_join() -> None:
    """RFC 4733 2.5.1.4: a long event goes on in a new segment (timestamp + duration)."""
    c = DigitCollector(MediaContext())
    c.feed(pkt(1000, "0", 0xFFFF), at(8192))
    c.feed(pkt(1000 + 0xFFFF, "0", 800, True), at(8292))
    (d,) = c.digits()
    assert d.duration_ms == round((0xFFFF + 800) / 8) and d.ended


def test_collector_payload_types_from_sdp() -> None:
    sdp = {"media": [{"media": "audio", "rtpmap": {"0": "PCMU/8000", "96": "telephone-event/16000",
                                                   "101": "opus/48000/2"}}]}
    ctx = MediaContext()
    ctx.learn_sdp(sdp)
    assert ctx.event_types == {96: 16000} and ctx.rate(101) is None and ctx.rate(0) is None
    c = DigitCollector(ctx)
    c.feed(pkt(0, "9", 1600, True), at(100))  # PT 101 is Opus here: not an event
    c.feed(pkt(0, "8", 1600, True, pt=96), at(100))
    (d,) = c.digits()
    assert d.digit == "8" and d.duration_ms == 100 and d.at == at(0)  # at 16 kHz
    assert MediaContext().rate(101) == 8000  # no SDP: the conventional 101


def test_collector_ignores_what_is_not_a_digit() -> None:
    c = DigitCollector(MediaContext())
    c.feed(pkt(0, "1", 160, payload=bytes((16, 0x8A, 0, 160))), at(20))  # event 16: hook flash
    c.feed(pkt(0, "1", 160, payload=b"\x01\x0a"), at(20))  # cut short
    c.feed(pkt(0, "1", 160, pt=0, payload=bytes(160)), at(20))  # audio
    assert c.digits() == [] and c.counts == {"packets": 1, "malformed": 1, "other_events": 1}
    assert is_event_candidate(pkt(0, "1", 160)) and not is_event_candidate(pkt(0, "1", 160, pt=0, payload=bytes(160)))


def test_media_context_from_pcesp_ccopen() -> None:
    recs = index_records("pcesp", [call_event(1.0, "out", **IVR)])
    ctx = media_context(recs, TARGET)
    assert ctx.event_types == {101: 8000} and ctx.media.target and ctx.media.peer


# --- through the intake and the store -------------------------------------------------------------

def rows(svc: Any, case_id: str) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return [dict(r) for r in conn.execute(select(calls).where(calls.c.case_id == case_id)
                                              .order_by(calls.c.started_at)).mappings()]


def events_of(svc: Any, call_id: str) -> list[dict[str, Any]]:
    with svc.db.read() as conn:
        return [dict(r) for r in conn.execute(select(call_events).where(call_events.c.call_id == call_id)
                                              .order_by(call_events.c.at)).mappings()]


TWO_CALLS = [call_event(1.0, "out", **CALLING_CARD), call_event(10.0, "in", **IVR)]


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_store_digits_from_stored_content_and_rebuild(setup: Setup, fmt: str) -> None:  # noqa: F811
    d = deliver(setup, fmt, TWO_CALLS, cc=True, batches=7)
    card, ivr = rows(setup.svc, d.case_id)
    assert (card["digits_before"], card["digits_after"]) == ("4711", "2#")
    assert (ivr["digits_before"], ivr["digits_after"]) == (None, "15#")
    digits = [e for e in events_of(setup.svc, card["id"]) if e["digits"]]
    assert [e["digits_kind"] for e in digits] == ["dialing"] * 4 + ["post-cut-through"] * 2
    assert all(e["at"] < card["answered_at"] for e in digits[:4]) and all(e["at"] > card["answered_at"] for e in digits[4:])
    with setup.svc.db.read() as conn:  # each digit names the CC record it came from (D1)
        spans = [(r.leaf_start, r.leaf_start + r.count) for r in conn.execute(
            select(cc_chunks.c.leaf_start, cc_chunks.c.count).where(cc_chunks.c.case_id == d.case_id))]
    assert all(any(lo <= e["record_leaf"] < hi for lo, hi in spans) for e in digits)
    assert rebuild_calls(setup.svc, d.case_id) == {"calls": 2, "removed": 0}
    again = rows(setup.svc, d.case_id)
    assert [{k: v for k, v in r.items() if k != "updated_at"} for r in again] == \
        [{k: v for k, v in r.items() if k != "updated_at"} for r in (card, ivr)]
    assert [e["digits"] for e in events_of(setup.svc, card["id"]) if e["digits"]] == list("47112#")


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_store_prtt_no_digits_after_connect(setup: Setup, fmt: str) -> None:  # noqa: F811
    """A6: under a PRTT order the RTP never reaches the store: no digit after connect (and,
    the content being all there is of them here, none before either)."""
    d = deliver(setup, fmt, TWO_CALLS, cc=True, kind="prtt", batches=7)
    got = rows(setup.svc, d.case_id)
    assert [r["outcome"] for r in got] == ["answered", "answered"]
    assert all(r["digits_after"] is None and r["digits_before"] is None for r in got)
    assert all(e["digits"] is None for r in got for e in events_of(setup.svc, r["id"]))
    with setup.svc.db.read() as conn:
        assert conn.execute(select(cc_chunks.c.id).where(cc_chunks.c.case_id == d.case_id)).first() is None


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_store_background_subscriber(setup: Setup, fmt: str) -> None:  # noqa: F811
    d = deliver(setup, fmt, TWO_CALLS, cc=True, batches=9, background=True)
    assert [(r["digits_before"], r["digits_after"]) for r in rows(setup.svc, d.case_id)] == [("4711", "2#"), (None, "15#")]


def test_pcesp_content_stream_found_from_the_calls_table(setup: Setup) -> None:  # noqa: F811
    """A subscriber that did not see the CCOpen (a restart) finds the call of a CCC id."""
    d = deliver(setup, "pcesp", [call_event(1.0, "in", **IVR)], cc=True)
    (call,) = rows(setup.svc, d.case_id)
    (ccc,) = call["cc_cins"]
    with setup.svc.db.read() as conn:
        assert calls_of_content(conn, d.case_id, {(LIID, ccc): call["answered_at"]}) == {(LIID, call["cin"])}
        assert calls_of_content(conn, d.case_id, {(LIID, "00000000"): call["answered_at"]}) == set()
    # a telephone-event datagram of that stream touches the call, through the calls table
    dtmf = next(r for r in cc_records(d.plan) if r.label == "dtmf")
    item = StoreItem(d.case_id, d.ctx["intercept"]["id"], LIID, "hi3", "pcesp-ccc", "cc", ccc, None,
                     call["answered_at"], call["answered_at"], dtmf.data, "A2")
    touched: dict[str, set[tuple[str, str]]] = {}
    CallsSubscriber(setup.svc)._take_media(touched, [item])  # type: ignore[arg-type]
    assert touched == {d.case_id: {(LIID, call["cin"])}}


@pytest.mark.parametrize("fmt", ["etsi-102232", "pcesp", "ts101671-hi2"])
def test_packaged_calls_scenario(fmt: str) -> None:
    """calea/sim/scenarios/calls.toml: every outcome, a calling card, an IVR, a caller's digits."""
    scenario = load_scenario(Path(calea.sim.__file__).parent / "scenarios" / "calls.toml")
    p = build(scenario, fmt, now=T0)
    recs: list[Any] = []
    for r in hi2_records(p):
        recs += decode(r.data, fmt, leaf=len(recs))
    liid = scenario.targets[0].liid
    got = assemble_calls(recs, {liid: TARGET}, media=media_of(p, recs))
    assert [c.outcome for c in got] == ["answered", "answered", "answered", "busy", "no-answer", "cancelled"]
    digits = [(c.digits_before, c.digits_after) for c in got[:3]]
    if fmt == "ts101671-hi2":  # no call content: only what the carrier reports (the target's keypad)
        assert digits == [(None, None), (None, "2*1#"), (None, None)]
    else:
        assert digits == [("4111222233#", "1"), (None, "2*1#"), (None, "204")]
        assert {e.party for e in got[2].events if e.name == "digits"} == {"+12125550199"}  # the caller keyed them


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_purged_content_takes_its_digits_with_it(setup: Setup, fmt: str) -> None:  # noqa: F811
    """D2: the RFC 4733 digits are made from the content; once its chunks are purged, the
    calls of that content (`calls_of_content`) made again have none, dialling included."""
    d = deliver(setup, fmt, TWO_CALLS, cc=True, batches=3)
    assert [r["digits_after"] for r in rows(setup.svc, d.case_id)] == ["2#", "15#"]
    with setup.svc.db.write() as conn:
        streams = {(r.liid, r.cin): r.first_at for r in conn.execute(
            select(cc_chunks.c.liid, cc_chunks.c.cin, cc_chunks.c.first_at).where(cc_chunks.c.case_id == d.case_id))}
        keys = calls_of_content(conn, d.case_id, streams)
        conn.execute(delete(cc_chunks).where(cc_chunks.c.case_id == d.case_id))
    assert keys == {(r["liid"], r["cin"]) for r in rows(setup.svc, d.case_id)}
    refresh_calls(setup.svc, d.case_id, keys)
    got = rows(setup.svc, d.case_id)
    assert [r["outcome"] for r in got] == ["answered", "answered"]
    assert all(r["digits_before"] is None and r["digits_after"] is None for r in got)


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_fifo_purge_of_the_content_segment_takes_its_digits(setup: Setup, fmt: str) -> None:  # noqa: F811
    """D2 through the purge itself: when only the call content's segment goes, the calls are
    made again from what remains -- answered still (the IRI stays), no RFC 4733 digits."""
    from calea.db.schema import segments
    from calea.store.retention import purge_segment
    from calea.store.verify import verify_store

    d = deliver(setup, fmt, TWO_CALLS, cc=True, batches=3)
    assert [r["digits_after"] for r in rows(setup.svc, d.case_id)] == ["2#", "15#"]
    with setup.svc.db.read() as conn:
        content = conn.execute(select(segments.c.id).where(segments.c.case_id == d.case_id,
                                                           segments.c.channel == "hi3")).scalars().all()
    assert content
    writer = setup.svc.store_writer()
    for seg_id in content:
        assert purge_segment(setup.svc, writer, seg_id) is not None
    got = rows(setup.svc, d.case_id)
    assert [r["outcome"] for r in got] == ["answered", "answered"]
    assert all(r["digits_before"] is None and r["digits_after"] is None for r in got)
    assert verify_store(setup.svc).ok
