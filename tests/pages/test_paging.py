"""Paging and CSV export of the messages and traffic pages: more rows than a page, paged in
the database with their total, the pager's links keeping the filters and the purpose (C5),
bad page numbers read as the first or the last page, the CSV holding every row that
matches, each view and export audited with its purpose (C5), quarantined rows counted
only for taru (B3), and never a message body under a PRTT order (A6).

The rows are written straight into the derived index tables (`messages`, `ip_flows`),
which the traffic indexer fills from the store: 250 of them would take minutes through
the intake.  The demo's own messages (with their bodies) come through the intake."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import event, insert, select, update

from calea.db.schema import intercepts as intercepts_t
from calea.db.schema_ip import ip_flows, messages
from calea.services import listing
from calea.services.traffic_index import catch_up
from tests.pages.world import IP_LIID, PURPOSE, SMS_TEXT, VOIP_LIID, WEB_LIID, World, hrefs

THREAD = "+15550001234"
MANY = 250  # more than two pages of 100
EXTRA = 30  # rows of another intercept, in the same thread / time range


def q(link: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(link).query)


def base_time(world: World) -> datetime:
    """Inside the authority's window (it began an hour before the world was made) and
    before the demo's traffic (ten minutes before)."""
    return world.setup.clock.now() - timedelta(minutes=50)


def local(at: datetime) -> str:
    """A `datetime-local` form value (the console reads it as UTC)."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def add_messages(world: World, n: int, liid: str, *, counterparty: str = THREAD, suppressed: bool = False,
                 quarantined: bool = False, first: int = 0) -> list[int]:
    """`n` messages of one thread, two a second (ties in time: the id orders them); their ids in time order."""
    catch_up(world.svc)  # the demo's own records are indexed first: nothing is merged with these rows
    icpt = world.intercepts[liid]
    t0 = base_time(world)
    rows = [dict(case_id=world.case_id, intercept_id=icpt["id"], liid=liid, kind="sms",
                 at=t0 + timedelta(seconds=(first + i) // 2), direction="in" if i % 3 else "out",
                 target="+12125550100", counterparty=counterparty,
                 parties={"from": [counterparty], "to": ["+12125550100"]}, correlation=f"c{first + i:04d}",
                 record_id=1, content_leaf=None, content_suppressed=suppressed, event="sms", quarantined=quarantined)
            for i in range(n)]
    with world.svc.db.write() as conn:
        for r in rows:
            conn.execute(insert(messages).values(**r))
        got = conn.execute(select(messages.c.id, messages.c.correlation).where(
            messages.c.counterparty == counterparty, messages.c.liid == liid)).all()
    wanted = {r["correlation"] for r in rows}
    by_corr = {c: i for i, c in got if c in wanted}
    return [by_corr[r["correlation"]] for r in rows]


def add_flows(world: World, n: int, liid: str, *, port0: int = 10000, quarantined: bool = False) -> None:
    """`n` flows, two a second, client ports `port0 + i` (the flow's order)."""
    catch_up(world.svc)
    icpt = world.intercepts[liid]
    t0 = base_time(world)
    with world.svc.db.write() as conn:
        for i in range(n):
            at = t0 + timedelta(seconds=i // 2)
            conn.execute(insert(ip_flows).values(
                case_id=world.case_id, intercept_id=icpt["id"], liid=liid, source="cc", protocol=6, client="10.9.0.1",
                client_port=port0 + i, server="192.0.2.44", server_port=443, target_side="client", first_at=at,
                last_at=at + timedelta(seconds=1), packets_up=3, bytes_up=300, packets_down=2, bytes_down=200,
                dns_queries=[], dns_answers=[], sni=f"s{port0 + i}.example.net", http_host=None,
                quarantined=quarantined))


def message_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-message-id="(\d+)"', html)]


def flow_ports(html: str) -> list[int]:
    return [int(p) for p in re.findall(r'<td class="mono small">10\.9\.0\.1:(\d+)</td>', html)]


@pytest.fixture
def sql(world: World) -> Iterator[list[str]]:
    """The SQL statements run while the test reads."""
    seen: list[str] = []

    def hook(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = world.svc.db.engine
    event.listen(engine, "before_cursor_execute", hook)
    yield seen
    event.remove(engine, "before_cursor_execute", hook)


# -- messages -----------------------------------------------------------------------------

def test_a_thread_is_paged_with_its_total_and_links_that_keep_filters_and_purpose(world: World, sql: list[str]) -> None:
    ids = add_messages(world, MANY, VOIP_LIID)
    add_messages(world, EXTRA, WEB_LIID, first=MANY)  # the same thread, another intercept
    detective = world.user()
    browser = world.browser(detective)
    url = f"/cases/{world.case_id}/messages"
    voip = world.intercepts[VOIP_LIID]["id"]
    params = {"purpose": PURPOSE, "intercept_id": voip, "counterparty": THREAD}

    sql.clear()
    first = browser.get(url, params=params)
    assert first.status_code == 200, first.text
    assert message_ids(first.text) == ids[:100]  # oldest first
    assert "250 messages, 1–100 shown, oldest first" in first.text and "Page 1 of 3" in first.text
    paged = [s for s in sql if "FROM messages" in s and "LIMIT" in s.upper()]
    assert paged and all("OFFSET" in s.upper() for s in paged)  # paged in the database, not in Python
    # the thread list counts this intercept's messages of the thread; the CSV links say how many rows they hold
    assert re.search(rf'{re.escape(THREAD)}</span>\s*<span class="meta"><span class="count">250</span>', first.text)
    assert "this thread (250)" in first.text

    nav = first.text.split('aria-label="Pages of messages"')[1].split("</nav>")[0]
    links = hrefs(nav, r"page=")
    assert [q(h)["page"] for h in links] == [["2"], ["3"], ["2"]]  # page links 2, 3, then "Newer ›"
    for link in links:
        assert q(link)["purpose"] == [PURPOSE] and q(link)["intercept_id"] == [voip]
        assert q(link)["counterparty"] == [THREAD] and set(q(link)) == {"purpose", "intercept_id", "counterparty", "page"}
    third = browser.get(links[1])
    assert message_ids(third.text) == ids[200:]
    assert "250 messages, 201–250 shown" in third.text and "Page 3 of 3" in third.text
    back = hrefs(third.text.split('aria-label="Pages of messages"')[1].split("</nav>")[0], r'page=2')
    assert back and all(q(h)["counterparty"] == [THREAD] and q(h)["purpose"] == [PURPOSE] for h in back)
    assert 'rel="next"' not in third.text.split('aria-label="Pages of messages"')[1].split("</nav>")[0]

    # without the intercept filter the thread holds the other intercept's messages too
    both = browser.get(url, params={"purpose": PURPOSE, "counterparty": THREAD, "page": "3"})
    assert "280 messages, 201–280 shown" in both.text and len(message_ids(both.text)) == 80

    # each view is a read audited with its purpose (C5), naming the rows it showed
    reads = [r for r in world.audit(action="messages.read", username=detective["username"])]
    assert len(reads) == 3 and all(r["purpose"] == PURPOSE and r["object_id"] == THREAD for r in reads)
    assert [r["detail"].split(" (")[1].split(")")[0] for r in reads] == ["1-100 of 250", "201-250 of 250", "201-280 of 280"]
    assert len(world.audit(action="messages.threads", username=detective["username"], purpose=PURPOSE)) == 3


def test_the_threads_are_paged_too_and_each_pager_keeps_the_other(world: World, sql: list[str]) -> None:
    """More counter-parties than a page of threads: the list is paged in the database with its
    total, the most recent first; the thread links keep the page of threads, the messages'
    pager keeps both, and a thread not on the shown page can still be read (C5: audited)."""
    catch_up(world.svc)
    detective = world.user()
    browser = world.browser(detective)
    url = f"/cases/{world.case_id}/messages"
    n = 130  # with the demo's own threads: two pages
    for i in range(n):  # one message each, later counter-parties later in time
        add_messages(world, 1, VOIP_LIID, counterparty=f"+1555900{i:04d}", first=2 * i)
    first = browser.get(url, params={"purpose": PURPOSE})
    assert first.status_code == 200, first.text
    total = int(re.search(r'<h2>Threads <span class="count">(\d+)</span>', first.text).group(1))
    assert total >= n
    listed = re.findall(r'<span class="cp mono">([^<]+)</span>', first.text)
    assert len(listed) == 100 and len(set(listed)) == 100
    assert [s for s in sql if "GROUP BY" in s.upper() and "LIMIT" in s.upper() and "OFFSET" in s.upper()]
    nav = first.text.split('aria-label="Pages of threads"')[1].split("</nav>")[0]
    pages = -(-total // 100)
    assert f"Page 1 of {pages}" in nav
    nxt = [h for h in hrefs(nav, r"threads_page=") if 'rel="next"' in nav]
    assert nxt and all(q(h)["purpose"] == [PURPOSE] for h in nxt)
    second = browser.get(nxt[-1])
    rest = re.findall(r'<span class="cp mono">([^<]+)</span>', second.text)
    assert len(rest) == total - 100 and not set(rest) & set(listed)
    assert f"Page 2 of {pages}" in second.text
    # a thread link on the second page keeps it; the thread it opens is shown
    link = [h for h in hrefs(second.text, r"counterparty=") if q(h).get("threads_page") == ["2"]]
    assert link
    opened = browser.get(link[0])
    cp = q(link[0])["counterparty"][0]
    assert opened.status_code == 200 and f'<span class="mono">{cp}</span>' in opened.text
    assert re.findall(r'<span class="cp mono">([^<]+)</span>', opened.text) == rest
    # a counter-party the reader has no thread with is refused, named on the page
    missing = browser.get(url, params={"purpose": PURPOSE, "counterparty": "+19999999999"})
    assert missing.status_code == 404 and "no thread with this counter-party" in missing.text
    # the API pages the threads with the same totals
    body = browser.get(f"/api/v1/cases/{world.case_id}/messages/threads",
                       params={"purpose": PURPOSE, "offset": 100, "limit": 100}).json()
    assert (body["total"], body["offset"], body["limit"]) == (total, 100, 100)
    assert [t["counterparty"] for t in body["threads"]] == rest
    assert body["messages"] == sum(t["messages"] for t in browser.get(
        f"/api/v1/cases/{world.case_id}/messages/threads", params={"purpose": PURPOSE, "limit": 5000}).json()["threads"])
    reads = world.audit(action="messages.threads", username=detective["username"], purpose=PURPOSE)
    assert any(f"{total} threads, 101-{total} shown" in r["detail"] for r in reads)


@pytest.mark.parametrize("page,expected", [("abc", 1), ("0", 1), ("-1", 1), ("", 1), ("1.5", 1), ("²", 1),
                                           ("2", 2), ("4", 3), ("99999999999999999999999999999", 3), ("9" * 5000, 3)])
def test_bad_page_numbers_read_the_first_or_the_last_page(world: World, page: str, expected: int) -> None:
    ids = add_messages(world, MANY, VOIP_LIID)
    add_flows(world, MANY, IP_LIID)
    browser = world.browser(world.user())
    r = browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE, "counterparty": THREAD, "page": page})
    assert r.status_code == 200, r.text
    assert message_ids(r.text) == ids[(expected - 1) * 100: expected * 100] and f"Page {expected} of 3" in r.text
    start, end = base_time(world) - timedelta(minutes=1), base_time(world) + timedelta(minutes=5)
    f = browser.get(f"/cases/{world.case_id}/traffic", params={"purpose": PURPOSE, "start": local(start),
                                                               "end": local(end), "page": page})
    assert f.status_code == 200, f.text
    assert flow_ports(f.text) == [10000 + i for i in range((expected - 1) * 100, min(expected * 100, MANY))]


def test_the_api_pages_messages_and_flows_with_offset_and_total(world: World) -> None:
    ids = add_messages(world, MANY, VOIP_LIID)
    add_flows(world, MANY, IP_LIID)
    api = world.browser(world.user())
    got = api.get(f"/api/v1/cases/{world.case_id}/messages",
                  params={"purpose": PURPOSE, "counterparty": THREAD, "offset": 200, "limit": 100})
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["total"], body["offset"], body["limit"]) == (MANY, 200, 100)
    assert [m["id"] for m in body["messages"]] == ids[200:]
    window = {"start": (base_time(world) - timedelta(minutes=1)).isoformat(),
              "end": (base_time(world) + timedelta(minutes=5)).isoformat()}  # the flows added here, not the demo's
    flows = api.get(f"/api/v1/cases/{world.case_id}/traffic/flows",
                    params={"purpose": PURPOSE, "offset": 240, "limit": 5, **window}).json()
    assert flows["total"] == MANY and [f["client_port"] for f in flows["flows"]] == [10240 + i for i in range(5)]
    assert flows["truncated"] is True
    assert api.get(f"/api/v1/cases/{world.case_id}/traffic/flows", params={"purpose": PURPOSE, "offset": -1}).status_code == 400


@pytest.mark.parametrize("page", ["abc", "0", "-1", "1.5", "\u00b2", "99999999999999999999999999999", "9" * 5000])
def test_the_calls_page_reads_page_numbers_the_same_way(world: World, page: str) -> None:
    """(It raised on a page number too large for the database or in non-ASCII digits.)"""
    r = world.browser(world.user()).get(f"/cases/{world.case_id}/calls", params={"purpose": PURPOSE, "page": page})
    assert r.status_code == 200, r.text
    past_the_end = page.isascii() and page.isdigit() and len(page) > 1  # the world has fewer calls than a page
    shown = re.findall(r'data-call-id="([0-9a-f-]{36})"', r.text)
    assert (shown == []) == past_the_end


def test_the_messages_csv_holds_every_message_that_matches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "BATCH", 7)  # many batches, ties in time across their edges
    ids = add_messages(world, MANY, VOIP_LIID)
    web_ids = add_messages(world, EXTRA, WEB_LIID, first=MANY)
    detective = world.user()
    browser = world.browser(detective)
    voip = world.intercepts[VOIP_LIID]["id"]
    page = browser.get(f"/cases/{world.case_id}/messages",
                       params={"purpose": PURPOSE, "intercept_id": voip, "counterparty": THREAD, "page": "2"})
    [thread_csv] = hrefs(page.text, r"/messages\.csv\?.*counterparty=")
    assert q(thread_csv) == {"purpose": [PURPOSE], "intercept_id": [voip], "counterparty": [THREAD]}  # no page
    got = browser.get(thread_csv)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "attachment" in got.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert [int(r["message_id"]) for r in table] == ids  # all of them, oldest first, not one page
    assert {r["counterparty"] for r in table} == {THREAD} and {r["liid"] for r in table} == {VOIP_LIID}
    assert table[0]["from"] == THREAD and table[0]["to"] == "+12125550100" and table[0]["at"].endswith("Z")

    everything = browser.get(f"/cases/{world.case_id}/messages.csv", params={"purpose": PURPOSE})
    rows = list(csv.DictReader(io.StringIO(everything.text)))
    mine = [int(r["message_id"]) for r in rows if r["counterparty"] == THREAD]
    assert mine == ids + web_ids and len(rows) > MANY + EXTRA  # and the demo's messages
    texts = [r["text"] for r in rows if r["text"]]
    assert any(t.startswith(SMS_TEXT) for t in texts)  # the investigator reads content: the text is there

    exports = world.audit(action="messages.export_csv", username=detective["username"])
    assert [(e["object_id"], e["purpose"]) for e in exports] == [(THREAD, PURPOSE), ("all", PURPOSE)]

    # taru reads addressing, not content (C1): the same export without the texts
    taru = world.browser()
    seen = list(csv.DictReader(io.StringIO(
        taru.get(f"/cases/{world.case_id}/messages.csv", params={"purpose": "integrity check"}).text)))
    assert len(seen) == len(rows) and not any(r["text"] for r in seen)
    assert SMS_TEXT not in taru.get(f"/cases/{world.case_id}/messages.csv", params={"purpose": "integrity check"}).text


def test_the_csv_asks_the_purpose_and_refuses_like_the_page(world: World) -> None:
    add_messages(world, 5, VOIP_LIID)
    detective = world.user()
    browser = world.browser(detective)
    gate = browser.get(f"/cases/{world.case_id}/messages.csv", params={"counterparty": THREAD})
    assert gate.status_code == 200 and "State the purpose of this read" in gate.text
    assert not world.audit(action="messages.export_csv")  # nothing read
    bad = browser.get(f"/cases/{world.case_id}/messages.csv", params={"purpose": PURPOSE, "intercept_id": "nope"})
    assert bad.status_code == 400 and "no such intercept in this case" in bad.text
    assert world.audit(action="page GET /cases/{case_id}/messages.csv", outcome="refused")
    outsider = world.browser(world.user(grant=False))
    for path in ("messages.csv", "traffic/flows.csv"):
        refused = outsider.get(f"/cases/{world.case_id}/{path}", params={"purpose": PURPOSE})
        assert refused.status_code == 403 and "C2" in refused.text and THREAD not in refused.text


def test_quarantined_messages_are_neither_shown_nor_counted_for_investigators(world: World) -> None:
    """B3 in the database query: the total, the pages and the CSV leave quarantined rows out."""
    ids = add_messages(world, 120, VOIP_LIID)
    held = add_messages(world, 40, WEB_LIID, first=120)
    with world.svc.db.write() as conn:  # the web intercept is quarantined (a missed emergency deadline)
        conn.execute(update(intercepts_t).where(intercepts_t.c.id == world.intercepts[WEB_LIID]["id"])
                     .values(quarantined_at=world.setup.clock.now()))
        conn.execute(update(messages).where(messages.c.id == ids[0]).values(quarantined=True))  # a very late record
    browser = world.browser(world.user())
    page = browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE, "counterparty": THREAD, "page": "2"})
    assert "119 messages, 101–119 shown" in page.text and message_ids(page.text) == ids[101:]
    table = list(csv.DictReader(io.StringIO(browser.get(
        f"/cases/{world.case_id}/messages.csv", params={"purpose": PURPOSE, "counterparty": THREAD}).text)))
    assert [int(r["message_id"]) for r in table] == ids[1:]
    taru = world.browser()
    seen = taru.get(f"/cases/{world.case_id}/messages", params={"purpose": "B3 review", "counterparty": THREAD, "page": "2"})
    assert "160 messages, 101–160 shown" in seen.text and message_ids(seen.text) == (ids + held)[100:]


def test_prtt_thread_pages_show_addressing_only(prtt_world: World) -> None:
    """A6: every page of a PRTT thread, and its CSV, carry addressing and no body."""
    world = prtt_world
    ids = add_messages(world, 150, VOIP_LIID, suppressed=True)
    browser = world.browser(world.user())
    page = browser.get(f"/cases/{world.case_id}/messages", params={"purpose": PURPOSE, "counterparty": THREAD, "page": "2"})
    assert page.status_code == 200 and "PRTT only:" in page.text
    assert message_ids(page.text) == ids[100:] and "150 messages, 101–150 shown" in page.text
    states = re.findall(r'data-message-id="\d+" data-state="([a-z]+)"', page.text)
    assert states == ["prtt"] * 50 and page.text.count("content not authorized (PRTT)") == 50
    got = browser.get(f"/cases/{world.case_id}/messages.csv", params={"purpose": PURPOSE})
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert len(rows) >= 150 and all(r["text"] == "" and r["parts"] == "0" for r in rows)
    assert all(r["content_suppressed"] == "true" for r in rows if r["kind"] != "mms")
    assert SMS_TEXT not in got.text and "Boat is in" not in got.text


# -- traffic ------------------------------------------------------------------------------

def test_flows_are_paged_with_their_total_and_links_that_keep_filters_and_purpose(world: World, sql: list[str]) -> None:
    add_flows(world, MANY, IP_LIID)
    add_flows(world, EXTRA, WEB_LIID, port0=20000)
    detective = world.user()
    browser = world.browser(detective)
    url = f"/cases/{world.case_id}/traffic"
    ip = world.intercepts[IP_LIID]["id"]
    start, end = local(base_time(world) - timedelta(minutes=1)), local(base_time(world) + timedelta(minutes=5))
    params = {"purpose": PURPOSE, "intercept_id": ip, "start": start, "end": end}

    sql.clear()
    first = browser.get(url, params=params)
    assert first.status_code == 200, first.text
    assert flow_ports(first.text) == list(range(10000, 10100))  # oldest first
    assert "250 flows match, 1–100 shown, oldest first" in first.text and "Page 1 of 3" in first.text
    assert "flows CSV (250)" in first.text
    paged = [s for s in sql if "FROM ip_flows" in s and "LIMIT" in s.upper()]
    assert paged and all("OFFSET" in s.upper() for s in paged)

    nav = first.text.split('aria-label="Pages of flows"')[1].split("</nav>")[0]
    links = hrefs(nav, r"page=")
    assert [q(h)["page"] for h in links] == [["2"], ["3"], ["2"]]
    for link in links:
        assert link.endswith("#flows")
        assert q(link) == {"purpose": [PURPOSE], "intercept_id": [ip], "start": [start], "end": [end],
                           "page": [q(link)["page"][0]]}
    third = browser.get(links[1])
    assert flow_ports(third.text) == list(range(10200, 10250))
    assert "250 flows match, 201–250 shown" in third.text and "Page 3 of 3" in third.text

    # all intercepts: the other intercept's flows of the range too, and the demo's outside it are not counted
    both = browser.get(url, params={**params, "intercept_id": "", "page": "3"})
    assert "280 flows match, 201–280 shown" in both.text
    assert flow_ports(both.text) == list(range(10170, 10250))  # the other intercept's 30 came in the first 15 s
    everything = browser.get(url, params={"purpose": PURPOSE})
    total = int(re.search(r"(\d+) flows match", everything.text).group(1))
    assert total > MANY + EXTRA and "Page 1 of" in everything.text

    reads = world.audit(action="traffic.flows", username=detective["username"])
    assert len(reads) == 4 and all(r["purpose"] == PURPOSE for r in reads)
    assert [r["detail"].split(";")[0] for r in reads[:3]] == ["1-100 of 250", "201-250 of 250", "201-280 of 280"]


def test_the_flows_csv_holds_every_flow_that_matches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listing, "BATCH", 9)
    add_flows(world, MANY, IP_LIID)
    add_flows(world, EXTRA, WEB_LIID, port0=20000)
    detective = world.user()
    browser = world.browser(detective)
    ip = world.intercepts[IP_LIID]["id"]
    start, end = local(base_time(world) - timedelta(minutes=1)), local(base_time(world) + timedelta(minutes=5))
    page = browser.get(f"/cases/{world.case_id}/traffic",
                       params={"purpose": PURPOSE, "intercept_id": ip, "start": start, "end": end, "page": "2"})
    [link] = hrefs(page.text, r"/traffic/flows\.csv\?")
    assert q(link) == {"purpose": [PURPOSE], "intercept_id": [ip], "start": [start], "end": [end]}
    got = browser.get(link)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(got.text)))
    assert [int(r["client_port"]) for r in table] == list(range(10000, 10250))
    assert {r["liid"] for r in table} == {IP_LIID} and table[0]["sni"] == "s10000.example.net"
    assert table[0]["first_at"].endswith("Z") and table[0]["quarantined"] == "false"
    [export] = world.audit(action="traffic.flows_export_csv", username=detective["username"])
    assert export["purpose"] == PURPOSE and export["object_id"] == IP_LIID and export["case_id"] == world.case_id

    # taru: the addressing of every flow, not the names read from payloads (C1)
    taru = world.browser()
    seen = list(csv.DictReader(io.StringIO(taru.get(f"/cases/{world.case_id}/traffic/flows.csv", params={
        "purpose": "integrity check", "intercept_id": ip, "start": start, "end": end}).text)))
    assert len(seen) == MANY and not any(r["sni"] for r in seen)

    bad = browser.get(f"/cases/{world.case_id}/traffic/flows.csv", params={"purpose": PURPOSE, "start": "yesterday"})
    assert bad.status_code == 400 and "start is a date and time" in bad.text


def test_quarantined_flows_are_neither_shown_nor_counted_for_investigators(world: World) -> None:
    add_flows(world, 150, IP_LIID)
    add_flows(world, 20, IP_LIID, port0=30000, quarantined=True)  # very late records (B3)
    start, end = local(base_time(world) - timedelta(minutes=1)), local(base_time(world) + timedelta(minutes=5))
    params = {"purpose": PURPOSE, "start": start, "end": end, "page": "2"}
    browser = world.browser(world.user())
    page = browser.get(f"/cases/{world.case_id}/traffic", params=params)
    assert "150 flows match, 101–150 shown" in page.text and 30000 not in flow_ports(page.text)
    csv_rows = list(csv.DictReader(io.StringIO(browser.get(
        f"/cases/{world.case_id}/traffic/flows.csv", params={"purpose": PURPOSE, "start": start, "end": end}).text)))
    assert len(csv_rows) == 150
    taru = world.browser()
    seen = taru.get(f"/cases/{world.case_id}/traffic", params={**params, "purpose": "B3 review", "page": "1"})
    assert "170 flows match, 1–100 shown" in seen.text and seen.text.count("quarantined</span>") == 20
