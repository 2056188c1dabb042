"""The console's content pages -- calls, a call with its recording player, messages, traffic --
through a browser session: the purpose is asked before anything is read and goes with every
read (C5), a user without a grant is refused (C2), a PRTT order shows addressing only (A1,
A6), quarantined data stays hidden (B3), and every read is in the audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import update

from calea.db.schema import intercepts as intercepts_t
from calea.domain.access import Role
from calea.services import line_sheets
from calea.services.context import Actor
from calea.web.pages import _calls
from tests.pages.world import IP_LIID, MMS_TEXT, PURPOSE, SMS_TEXT, VOIP_LIID, WEB_LIID, World, hrefs
from tests.sessions.traffic_helpers import WEB_CLIENTS


def rows(html: str) -> list[tuple[str, str]]:
    """(call id, outcome) of each row of the calls table, in page order."""
    return re.findall(r'<tr data-call-id="([0-9a-f-]{36})" data-outcome="([a-z-]*)">', html)


def markers(html: str) -> list[dict[str, Any]]:
    return [json.loads(m) for m in re.findall(r"data-markers='([^']*)'", html)]


def purpose_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["purpose"][0]


def answered(world: World) -> dict[str, Any]:
    return next(c for c in world.calls() if c["outcome"] == "answered")


# -- calls --------------------------------------------------------------------------------

def test_calls_page_asks_the_purpose_then_lists_the_calls_with_their_outcomes(world: World) -> None:
    detective = world.user()
    browser = world.browser(detective)
    gate = browser.get(f"/cases/{world.case_id}/calls")
    assert gate.status_code == 200
    assert "State the purpose of this read" in gate.text and 'name="purpose" required' in gate.text
    assert "+13105550123" not in gate.text and not world.audit(action="calls.read")  # nothing read yet (C5)

    page = browser.get(f"/cases/{world.case_id}/calls", params={"purpose": PURPOSE})
    assert page.status_code == 200
    calls = sorted(world.calls(), key=lambda c: c["started_at"], reverse=True)
    assert rows(page.text) == [(c["id"], c["outcome"]) for c in calls]  # newest first
    assert [c["outcome"] for c in calls] == ["no-answer", "answered"]
    assert "2 calls" in page.text and "+12125550199" in page.text and "+13105550123" in page.text
    answered_row = page.text.split(f'data-call-id="{answered(world)["id"]}"')[1].split("</tr>")[0]
    assert "privileged · attorney" in answered_row and "↙ in" in answered_row and "0:08" in answered_row
    missed_row = page.text.split(f'data-call-id="{calls[0]["id"]}"')[1].split("</tr>")[0]
    assert "no recording" in missed_row and "↗ out" in missed_row
    # every link of the page keeps the purpose: the call pages and the CSV export of the API
    [export] = hrefs(page.text, r"/calls\.csv")
    assert export.startswith(f"/api/v1/cases/{world.case_id}/calls.csv?") and purpose_of(export) == PURPOSE
    assert all(purpose_of(link) == PURPOSE for link in hrefs(page.text, r"/calls/[0-9a-f-]{36}"))
    exported = browser.get(export)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["outcome"] for r in table] == ["answered", "no-answer"]

    reads = world.audit(action="calls.read", username=detective["username"])
    assert reads and reads[-1]["purpose"] == PURPOSE and reads[-1]["case_id"] == world.case_id
    assert world.audit(action="calls.export_csv", purpose=PURPOSE)


def test_calls_filters_and_pages(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = world.browser(world.user())
    url = f"/cases/{world.case_id}/calls"

    def outcomes(**params: str) -> list[str]:
        r = browser.get(url, params={"purpose": PURPOSE, **params})
        assert r.status_code == 200, r.text
        return [o for _, o in rows(r.text)]

    assert outcomes(direction="outgoing") == ["no-answer"]
    assert outcomes(direction="incoming", outcome="answered") == ["answered"]
    assert outcomes(party="3105550123") == ["no-answer"]  # a part of the number
    assert outcomes(party="+12125550100") == ["no-answer", "answered"]  # the target, both ways
    assert outcomes(intercept_id=world.intercepts[VOIP_LIID]["id"]) == ["no-answer", "answered"]
    assert outcomes(intercept_id=world.intercepts[IP_LIID]["id"]) == []
    assert outcomes(since="2026-11-27T11:50:10") == ["no-answer"]
    assert outcomes(until="2026-11-27T11:50:10") == ["answered"]
    bad = browser.get(url, params={"purpose": PURPOSE, "since": "yesterday"})
    assert bad.status_code == 400 and "since is a date and time" in bad.text and rows(bad.text) == []
    bad = browser.get(url, params={"purpose": PURPOSE, "outcome": "hung-up"})
    assert bad.status_code == 400 and "outcome is one of" in bad.text

    monkeypatch.setattr(_calls, "PAGE_SIZE", 1)
    first = browser.get(url, params={"purpose": PURPOSE, "party": "+1212"})
    assert [o for _, o in rows(first.text)] == ["no-answer"] and "Page 1 of 2" in first.text
    [older] = [h for h in hrefs(first.text, r"page=2")]
    assert parse_qs(urlsplit(older).query) == {"purpose": [PURPOSE], "party": ["+1212"], "page": ["2"]}
    second = browser.get(older)
    assert [o for _, o in rows(second.text)] == ["answered"] and "Page 2 of 2" in second.text


def test_call_page_shows_the_events_line_sheet_and_the_player(world: World) -> None:
    detective = world.user()
    monitor = Actor(detective["id"], detective["username"], Role.INVESTIGATOR, "Narcotics Division")
    call = answered(world)
    [recording] = world.recordings()
    line_sheets.create(world.svc, monitor, world.case_id, {
        "call_id": call["id"], "synopsis": "Target asks his lawyer about the boat; minimized as privileged.",
        "pertinence": "privileged", "participants": ["target", "attorney"], "language": "English"}, purpose=PURPOSE)
    browser = world.browser(detective)
    page = browser.get(f"/cases/{world.case_id}/calls/{call['id']}", params={"purpose": PURPOSE})
    assert page.status_code == 200
    html = page.text
    events = re.findall(r'<td class="strong">([a-z-]+)</td>', html)
    assert events == ["setup", "trying", "ringing", "answer", "ack", "release", "response"]
    assert "Target asks his lawyer about the boat" in html and "privileged" in html and "English" in html

    base = f"/api/v1/cases/{world.case_id}/recordings/{recording['id']}"
    [audio] = re.findall(r'<audio controls preload="metadata" src="([^"]+)"', html)
    [peaks] = re.findall(r'data-peaks="([^"]+)"', html)
    audio, peaks = audio.replace("&amp;", "&"), peaks.replace("&amp;", "&")
    assert audio.startswith(f"{base}/rendition?") and purpose_of(audio) == PURPOSE
    assert peaks.startswith(f"{base}/peaks?") and purpose_of(peaks) == PURPOSE
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/player.js" defer>']  # no inline script
    assert "script-src 'self'" in page.headers["content-security-policy"]
    [mk] = markers(html)
    [minimized] = mk["minimized"]
    assert minimized == recording["markers"]["minimized"][0] and minimized["end_ms"] == recording["duration_ms"]
    [privileged] = mk["privileged"]
    assert privileged["category"] == "attorney" and privileged["end_ms"] == recording["duration_ms"]
    assert abs(privileged["start_ms"] - minimized["start_ms"]) < 200  # flagged: minimized at once (A2)
    assert "flagged by " in html and "no spot check of a privileged call" in html

    # the player's URLs serve the audio (Range) and the peaks to this session
    head = browser.get(audio, headers={"Range": "bytes=0-3"})
    assert head.status_code == 206 and head.content == b"OggS"
    assert browser.get(peaks).json()["bits"] == 8
    reads = world.audit(case_id=world.case_id, username=detective["username"])
    seen = {(r["action"], r["object_id"]) for r in reads if r["purpose"] == PURPOSE}
    assert {("calls.read", call["id"]), ("recordings.list", call["id"]), ("recordings.rendition", recording["id"]),
            ("recordings.peaks", recording["id"])} <= seen
    assert any(r["action"] == "line_sheet.read" and r["purpose"] == PURPOSE for r in reads)


def test_call_states_without_a_recording(world: World) -> None:
    browser = world.browser(world.user())
    missed = next(c for c in world.calls() if c["outcome"] == "no-answer")
    page = browser.get(f"/cases/{world.case_id}/calls/{missed['id']}", params={"purpose": PURPOSE})
    assert page.status_code == 200
    assert "No recording of this call (it was not answered)." in page.text
    assert "data-player" not in page.text and "<script" not in page.text
    assert "No line sheet for this call." in page.text
    other = browser.get(f"/cases/{world.case_id}/calls/{'0' * 36}", params={"purpose": PURPOSE})
    assert other.status_code == 404


def test_quarantined_calls_are_hidden_from_investigators(world: World) -> None:
    """B3: a quarantined intercept's calls exist only for taru and the auditor."""
    with world.svc.db.write() as conn:
        conn.execute(update(intercepts_t).where(intercepts_t.c.id == world.intercepts[VOIP_LIID]["id"])
                     .values(quarantined_at=world.setup.clock.now()))
    browser = world.browser(world.user())
    page = browser.get(f"/cases/{world.case_id}/calls", params={"purpose": PURPOSE})
    assert page.status_code == 200 and rows(page.text) == [] and "0 calls" in page.text
    refused = browser.get(f"/cases/{world.case_id}/calls/{answered(world)['id']}", params={"purpose": PURPOSE})
    assert refused.status_code == 403 and "B3" in refused.text and "+12125550199" not in refused.text
    taru = world.browser()
    seen = taru.get(f"/cases/{world.case_id}/calls", params={"purpose": "B3 review of the quarantined intercept"})
    assert len(rows(seen.text)) == 2 and seen.text.count("quarantined · B3") == 2


def test_taru_reads_call_identifying_data_not_content(world: World) -> None:
    taru = world.browser()
    call = answered(world)
    gate = taru.get(f"/cases/{world.case_id}/calls/{call['id']}")
    assert gate.status_code == 200 and "State the purpose" in gate.text
    page = taru.get(f"/cases/{world.case_id}/calls/{call['id']}", params={"purpose": "integrity check"})
    assert page.status_code == 200
    assert "Line sheets summarise content: not for your role" in page.text and "(rule C1)" in page.text
    thread = taru.get(f"/cases/{world.case_id}/messages", params={"purpose": "integrity check"})
    assert thread.status_code == 200 and "+12125550199" in thread.text
    assert SMS_TEXT not in thread.text and "content not shown to your role" in thread.text and "/parts/" not in thread.text


# -- access -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["calls", "calls/{call}", "messages", "traffic", "traffic/pcap"])
def test_a_user_without_a_grant_is_refused_and_the_refusal_audited(world: World, path: str) -> None:
    outsider = world.user(grant=False)
    browser = world.browser(outsider)
    url = f"/cases/{world.case_id}/" + path.format(call=answered(world)["id"])
    for params in ({}, {"purpose": PURPOSE}):
        r = browser.get(url, params=params)
        assert r.status_code == 403, (url, params)
        assert "Access refused" in r.text and "C2" in r.text and "active grant" in r.text
        assert "+12125550199" not in r.text and "State the purpose" not in r.text  # nothing is asked or shown
    refused = [e for e in world.audit(username=outsider["username"], outcome="refused") if e["action"].startswith("page GET")]
    assert len(refused) == 2 and all(e["case_id"] == world.case_id and "[rule C2]" in e["detail"] for e in refused)
    assert not world.audit(username=outsider["username"], outcome="allowed", case_id=world.case_id)


def test_a_vendor_and_an_expired_grant_are_refused(world: World) -> None:
    vendor = world.browser(world.user("vendor", grant=False))
    assert vendor.get(f"/cases/{world.case_id}/calls", params={"purpose": PURPOSE}).status_code == 403
    detective = world.user()
    browser = world.browser(detective)
    assert browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE}).status_code == 200
    world.setup.clock.advance(timedelta(days=31))  # the warrant, and the grant with it, has ended (C2)
    again = world.browser(detective)
    r = again.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE})
    assert r.status_code == 403 and "C2" in r.text and SMS_TEXT not in r.text


# -- messages -----------------------------------------------------------------------------

def test_messages_page_shows_threads_texts_and_mms_parts(world: World) -> None:
    detective = world.user()
    browser = world.browser(detective)
    page = browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE})
    assert page.status_code == 200
    html = page.text
    assert "+12125550199" in html and "2 in · 0 out" in html and "mms, sip-message" in html
    assert SMS_TEXT in html and MMS_TEXT in html and "content not authorized" not in html
    [image] = re.findall(r'<img src="([^"]+)"', html)
    image = image.replace("&amp;", "&")
    assert re.match(rf"^/api/v1/cases/{world.case_id}/messages/\d+/parts/\d+\?", image) and purpose_of(image) == PURPOSE
    picture = browser.get(image)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/png"
    assert picture.content[:8] == b"\x89PNG\r\n\x1a\n"
    for row in re.findall(r'<tr class="msg-in" data-message-id="\d+" data-state="([a-z]+)">', html):
        assert row == "shown"
    reads = world.audit(action="messages.read", username=detective["username"])
    assert reads and all(r["purpose"] == PURPOSE for r in reads)
    assert world.audit(action="messages.part.read", purpose=PURPOSE, username=detective["username"])
    web_only = browser.get(f"/cases/{world.case_id}/messages",
                           params={"purpose": PURPOSE, "intercept_id": world.intercepts[WEB_LIID]["id"]})
    assert web_only.status_code == 200 and SMS_TEXT not in web_only.text and "No message in this case for this intercept" in web_only.text
    unknown = browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE, "counterparty": "+10000000000"})
    assert unknown.status_code == 404 and "no thread with this counter-party" in unknown.text


def test_prtt_case_shows_addressing_only(prtt_world: World) -> None:
    """A1 / A6: under a PRTT order the pages show who, when and where -- and say that
    content is not authorized instead of showing any."""
    world = prtt_world
    detective = world.user()
    browser = world.browser(detective)
    msgs = browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE})
    assert msgs.status_code == 200
    states = re.findall(r'data-message-id="\d+" data-state="([a-z]+)"', msgs.text)
    assert states == ["prtt", "prtt"]  # the SIP MESSAGE and the MMS
    assert msgs.text.count("content not authorized (PRTT)") == 2 and "PRTT only:" in msgs.text
    assert "+12125550199" in msgs.text and "+12125550100" in msgs.text  # addressing (A1)
    for body in (SMS_TEXT, MMS_TEXT, "Boat is in", "Pier 4"):
        assert body not in msgs.text
    assert "/parts/" not in msgs.text and "<img" not in msgs.text

    calls = browser.get(f"/cases/{world.case_id}/calls", params={"purpose": PURPOSE})
    assert [o for _, o in rows(calls.text)] == ["no-answer", "answered"]
    assert calls.text.count("PRTT · no content") == 2
    call = browser.get(f"/cases/{world.case_id}/calls/{answered(world)['id']}", params={"purpose": PURPOSE})
    assert "No recording: the authority covering this call is a PRTT order" in call.text
    assert "data-player" not in call.text and world.recordings() == []

    pcap = browser.get(f"/cases/{world.case_id}/traffic/pcap", params={"purpose": PURPOSE, "format": "pcap"})
    assert pcap.status_code == 422 and "Rule A6:" in pcap.text and "no packets are kept under a PRTT order" in pcap.text
    assert "header record: no payload, no names" in pcap.text  # the flows are still shown, from the headers (A1)
    refusal = world.audit(action="page GET /cases/{case_id}/traffic/pcap", outcome="refused")
    assert refusal and "[rule A6]" in refusal[-1]["detail"]


# -- traffic ------------------------------------------------------------------------------

def test_traffic_page_flows_pcap_and_web_visitors(world: World) -> None:
    detective = world.user()
    browser = world.browser(detective)
    url = f"/cases/{world.case_id}/traffic"
    page = browser.get(url, params={"purpose": PURPOSE, "url": "http://203.0.113.80/"})
    assert page.status_code == 200
    html = page.text
    assert "198.51.100.77" in html and "www.example.com" in html and "mail.example.org" in html  # DNS, SNI, Host
    visitors = re.findall(r'<tr><td class="mono">([0-9.]+)</td>', html)
    assert visitors == WEB_CLIENTS and "A2 · EW-2026-0042" in html
    [report_csv] = hrefs(html, r"/web-visitors\?")
    assert purpose_of(report_csv) == PURPOSE
    got = browser.get(report_csv)
    assert got.status_code == 200 and [r["address"] for r in csv.DictReader(io.StringIO(got.text))] == WEB_CLIENTS

    pcap = browser.get(f"{url}/pcap", params={"purpose": PURPOSE, "format": "pcapng",
                                              "intercept_id": world.intercepts[IP_LIID]["id"]})
    assert pcap.status_code == 200 and pcap.headers["content-type"] == "application/x-pcapng"
    assert pcap.content[:4] == b"\x0a\x0d\x0d\x0a" and pcap.headers["content-disposition"].endswith('.pcapng"')
    empty = browser.get(f"{url}/pcap", params={"purpose": PURPOSE, "start": "2020-01-01T00:00", "end": "2020-01-02T00:00"})
    assert empty.status_code == 404 and "no stored packets" in empty.text

    unnamed = browser.get(url, params={"purpose": PURPOSE, "url": "http://www.example.org/"})
    assert unnamed.status_code == 422 and "Rule A1:" in unnamed.text and "www.example.com" in unnamed.text
    audited = {r["action"] for r in world.audit(username=detective["username"], purpose=PURPOSE)}
    assert {"traffic.flows", "traffic.web_visitors", "traffic.pcap"} <= audited
    assert world.audit(action="page GET /cases/{case_id}/traffic", outcome="refused", username=detective["username"])


# -- navigation ---------------------------------------------------------------------------

def test_the_case_page_links_to_the_content_pages(world: World) -> None:
    browser = world.browser(world.user())
    case = browser.get(f"/cases/{world.case_id}")
    assert case.status_code == 200 and "<script" not in case.text
    for section in ("calls", "messages", "traffic"):
        assert f'href="/cases/{world.case_id}/{section}"' in case.text
    voip = world.intercepts[VOIP_LIID]["id"]
    link = f"/cases/{world.case_id}/calls?intercept_id={voip}"
    assert f'href="{link}"' in case.text
    gate = browser.get(link)
    assert f'name="next" value="{link}"' in gate.text  # the filter survives the purpose form
    page = browser.get(link + "&purpose=" + PURPOSE.replace(" ", "+"))
    assert len(rows(page.text)) == 2
    tabs = hrefs(page.text, r"/(messages|traffic)\?")
    assert tabs and all(purpose_of(t) == PURPOSE and parse_qs(urlsplit(t).query)["intercept_id"] == [voip] for t in tabs)


# -- the purpose, kept on the server (C5) --------------------------------------------------

def test_the_purpose_form_keeps_the_purpose_on_the_server_and_links_carry_only_its_id(world: World) -> None:
    """Posted once; the pages' links (the next page, a call, the CSV export of the API, the
    recording's audio) carry an opaque id, never the words; every read is audited with the words."""
    browser = world.browser(world.user())
    voip = world.intercepts[VOIP_LIID]["id"]
    gate = browser.get(f"/cases/{world.case_id}/calls", params={"intercept_id": voip})
    assert 'action="/cases/' + world.case_id + '/reading"' in gate.text and 'method="post"' in gate.text
    sent = browser.post(f"/cases/{world.case_id}/reading", follow_redirects=False,
                        data={"purpose": PURPOSE, "next": f"/cases/{world.case_id}/calls?intercept_id={voip}"})
    assert sent.status_code == 303
    back = sent.headers["location"]
    ref = purpose_of(back)
    assert re.fullmatch(r"rc-[0-9a-f]{32}", ref) and parse_qs(urlsplit(back).query)["intercept_id"] == [voip]
    page = browser.get(back)
    assert page.status_code == 200 and len(rows(page.text)) == 2
    assert "Purpose: <q>" + PURPOSE.split("'")[0] in page.text  # shown to the reader, in words
    links = hrefs(page.text, r"/calls/[0-9a-f-]{36}") + hrefs(page.text, r"/api/v1/cases/[0-9a-f-]{36}/calls\.csv")
    assert links and all(purpose_of(link) == ref for link in links)
    words = PURPOSE.split()[0]
    assert words not in back and all(words not in link for link in links)
    call = browser.get(next(link for link in links if "/calls/" in link and ".csv" not in link))
    assert call.status_code == 200
    export = browser.get(next(link for link in links if link.endswith(".csv") or ".csv?" in link))
    assert export.status_code == 200
    # the audit has the purpose in words for each of these reads, and never the id
    reads = world.audit(case_id=world.case_id)
    assert any(r["action"] == "calls.export_csv" and r["purpose"] == PURPOSE for r in reads)
    assert [r["action"] for r in reads if r["purpose"] == ref] == []


def test_a_purpose_id_is_worth_nothing_in_another_session_or_another_case(world: World) -> None:
    """The id belongs to the session that stated the purpose and to its case: another
    session (even of the same user) is asked again, and so is a signed-out one."""
    user = world.user()
    mine = world.browser(user)
    sent = mine.post(f"/cases/{world.case_id}/reading", follow_redirects=False,
                     data={"purpose": PURPOSE, "next": f"/cases/{world.case_id}/calls"})
    ref = purpose_of(sent.headers["location"])
    other = world.browser(user)
    asked = other.get(f"/cases/{world.case_id}/calls", params={"purpose": ref})
    assert "State the purpose of this read" in asked.text and not rows(asked.text)
    api = other.get(f"/api/v1/cases/{world.case_id}/calls.csv", params={"purpose": ref})
    assert api.status_code in (400, 403) and "purpose" in api.text
    mine.post("/logout", follow_redirects=False)  # the session ends: its reading contexts go with it
    again = world.browser(user)
    assert "State the purpose" in again.get(f"/cases/{world.case_id}/calls", params={"purpose": ref}).text


def test_the_purpose_form_refuses_an_empty_purpose_and_a_page_elsewhere(world: World) -> None:
    browser = world.browser(world.user())
    empty = browser.post(f"/cases/{world.case_id}/reading", follow_redirects=False,
                         data={"purpose": "   ", "next": f"/cases/{world.case_id}/messages"})
    assert empty.status_code == 400 and "State the purpose" in empty.text and "state the purpose of the read" in empty.text
    away = browser.post(f"/cases/{world.case_id}/reading", follow_redirects=False,
                        data={"purpose": PURPOSE, "next": "https://elsewhere.example/"})
    assert away.status_code == 400 and "the page to go back to is not one of this case" in away.text
