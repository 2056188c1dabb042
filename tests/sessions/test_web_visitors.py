"""Web-visitor reports (rule A1: IP addresses that visit a queried web address), from
header records under a PRTT order (A6: no payload kept) and from kept packets (A2)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from calea.domain.authorities import Authority, AuthorityKind, CourtLevel
from calea.domain.identifiers import Identifier, IdentifierKind
from calea.errors import AccessDenied, InvalidInput, RuleViolation
from calea.intake.pipeline import Intake
from calea.services import traffic
from calea.sessions.visitors import Visit, resolve, visitors, web_address
from tests.intake.conftest import Setup, setup  # noqa: F401 (fixture)
from tests.sessions.traffic_helpers import (
    IP_TARGET, PURPOSE, WEB, WEB_CLIENTS, demo_plan, feed, investigator,
)

T = datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)


def _authority(aid: str, url: str, kind: AuthorityKind = AuthorityKind.PRTT, days: int = 60) -> Authority:
    return Authority(aid, "case", kind, CourtLevel.STATE, "Court", "Judge", f"D-{aid}", ("PL 1",), T, T,
                     T + timedelta(days=days), (Identifier(IdentifierKind.URL, url),))


def test_web_address_ports_and_resolution() -> None:
    web = web_address("HTTPS://Shop.Example.com/catalog.html")
    assert (web.host, web.ports, web.path, web.literal) == ("shop.example.com", frozenset({80, 443}), "/catalog.html", None)
    assert web_address("http://203.0.113.80:8080/").ports == frozenset({8080})
    assert [(r.address, r.source) for r in resolve(web_address("http://203.0.113.80/"), ["1.2.3.4"], {})] == [
        ("203.0.113.80", "literal")]
    got = resolve(web, ["192.0.2.1"], {"shop.example.com": {"192.0.2.1", "192.0.2.2"}})
    assert [(r.address, r.source) for r in got] == [("192.0.2.1", "configured"), ("192.0.2.2", "dns")]
    with pytest.raises(InvalidInput):
        web_address("ftp://example.com/")


def test_visitors_first_last_count_and_coverage() -> None:
    web = web_address("http://203.0.113.80/")
    auth = _authority("a1", "http://203.0.113.80/", days=1)
    v = [Visit("192.0.2.11", "203.0.113.80", 80, 6, T + timedelta(hours=1), T + timedelta(hours=1, seconds=2), 10, "header", "i"),
         Visit("192.0.2.11", "203.0.113.80", 443, 6, T + timedelta(hours=2), T + timedelta(hours=2, seconds=1), 5, "header", "i"),
         Visit("192.0.2.12", "203.0.113.80", 22, 6, T, T, 3, "header", "i"),  # ssh: not a web visit
         Visit("192.0.2.13", "203.0.113.99", 80, 6, T, T, 3, "header", "i"),  # another server
         Visit("192.0.2.14", "203.0.113.80", 80, 6, T + timedelta(days=2), T + timedelta(days=2), 4, "header", "i")]
    found = {w.address: w for w in visitors(web, ["203.0.113.80"], v, [auth])}
    assert sorted(found) == ["192.0.2.11", "192.0.2.14"]
    a = found["192.0.2.11"]
    assert (a.first_seen, a.last_seen, a.visits, a.packets, a.authorities) == (
        T + timedelta(hours=1), T + timedelta(hours=2, seconds=1), 2, 15, {"a1"})
    assert found["192.0.2.14"].uncovered_visits == 1 and not found["192.0.2.14"].authorities  # outside the window (A8)


def _report(setup: Setup, kind: str, intake_cls: type[Intake]) -> tuple[dict, dict]:  # noqa: F811
    web = setup.intercept("DEMO-WEB-0001", WEB, kind=kind)
    intake = intake_cls(setup.svc)
    try:
        feed(intake, demo_plan(setup))
    finally:
        intake.writer.close()
    inv = investigator(setup, web["case"]["id"], web["authority"]["id"])
    return web, traffic.web_visitors(setup.svc, inv, web["case"]["id"], "http://203.0.113.80/", purpose=PURPOSE)


def test_visitors_under_prtt_from_header_records(setup: Setup) -> None:  # noqa: F811
    """A1: exactly the scenario's visiting addresses, from header records only (A6)."""
    web, report = _report(setup, "prtt", Intake)
    assert [v["address"] for v in report["visitors"]] == WEB_CLIENTS
    assert report["sources"] == ["header"] and report["resolution"] == [{"address": "203.0.113.80", "source": "literal"}]
    plan_start = demo_plan(setup).start
    for i, v in enumerate(report["visitors"]):
        assert v["visits"] == 1 and v["packets"] == 10 and v["servers"] == ["203.0.113.80"]
        assert v["authorities"] == [{"id": web["authority"]["id"], "kind": "prtt", "rule": "A1", "docket": web["authority"]["docket"]}]
        assert v["first_seen"] == plan_start + timedelta(seconds=5.0 + 1.5 * i)  # demo.toml: at 5, spacing 1.5
    rows = list(csv.DictReader(io.StringIO(traffic.visitors_csv(report))))
    assert [r["address"] for r in rows] == WEB_CLIENTS and rows[0]["authorities"].startswith("A1:")
    first = report["visitors"][0]["first_seen"]
    assert rows[0]["first_seen"] == first.strftime("%Y-%m-%dT%H:%M:%S") + (f".{first:%f}" if first.microsecond else "") + "Z"


def test_visitors_under_a_warrant_from_kept_packets(setup: Setup) -> None:  # noqa: F811
    _, report = _report(setup, "eavesdropping", Intake)
    assert [v["address"] for v in report["visitors"]] == WEB_CLIENTS and report["sources"] == ["cc"]
    assert {a["rule"] for v in report["visitors"] for a in v["authorities"]} == {"A2"}


def test_report_only_for_a_web_address_an_authority_names(setup: Setup) -> None:  # noqa: F811
    web, _ = _report(setup, "prtt", Intake)
    inv = investigator(setup, web["case"]["id"], web["authority"]["id"])
    with pytest.raises(RuleViolation) as exc:
        traffic.web_visitors(setup.svc, inv, web["case"]["id"], "http://www.example.org/", purpose=PURPOSE)
    assert exc.value.rule == "A1"
    setup.n += 1
    from calea.domain.access import Role
    from calea.services import users
    from calea.services.context import Actor

    u = users.create_user(setup.svc, None, username="nogrant", password="Correct-Horse-42", role="investigator",
                          unit="Narcotics Division")
    with pytest.raises(AccessDenied) as exc2:
        traffic.web_visitors(setup.svc, Actor(u["id"], "nogrant", Role.INVESTIGATOR, "Narcotics Division"),
                             web["case"]["id"], "http://203.0.113.80/", purpose=PURPOSE)
    assert exc2.value.rule == "C2"


def test_host_resolved_from_dns_under_a_warrant_and_configured_under_prtt(setup: Setup) -> None:  # noqa: F811
    """A host name: the DNS answers kept under a warrant resolve it; under PRTT no DNS is
    kept (A6), so the technical unit configures the address."""
    idents = IP_TARGET + [{"kind": "url", "value": "http://www.example.com/"}]
    warrant = setup.intercept("DEMO-IP-0001", idents)
    intake = Intake(setup.svc)
    try:
        feed(intake, demo_plan(setup))
    finally:
        intake.writer.close()
    inv = investigator(setup, warrant["case"]["id"], warrant["authority"]["id"])
    report = traffic.web_visitors(setup.svc, inv, warrant["case"]["id"], "http://www.example.com/", purpose=PURPOSE)
    assert report["resolution"] == [{"address": "192.0.2.80", "source": "dns"}]
    assert [v["address"] for v in report["visitors"]] == ["198.51.100.77"]


def test_configured_address_under_prtt(setup: Setup) -> None:  # noqa: F811
    idents = IP_TARGET + [{"kind": "url", "value": "http://www.example.com/"}]
    prtt = setup.intercept("DEMO-IP-0001", idents, kind="prtt")
    intake = Intake(setup.svc)
    try:
        feed(intake, demo_plan(setup))
    finally:
        intake.writer.close()
    case_id = prtt["case"]["id"]
    inv = investigator(setup, case_id, prtt["authority"]["id"])
    assert traffic.web_visitors(setup.svc, inv, case_id, "http://www.example.com/", purpose=PURPOSE)["visitors"] == []
    with pytest.raises(AccessDenied):
        traffic.add_web_address(setup.svc, inv, case_id, {"url": "http://www.example.com/", "address": "192.0.2.80"})
    added = traffic.add_web_address(setup.svc, setup.taru, case_id, {"url": "http://www.example.com/", "address": "192.0.2.80",
                                                                     "note": "from the carrier's answer to the order"})
    report = traffic.web_visitors(setup.svc, inv, case_id, "http://www.example.com/", purpose=PURPOSE)
    assert report["resolution"] == [{"address": "192.0.2.80", "source": "configured"}]
    assert [v["address"] for v in report["visitors"]] == ["198.51.100.77"] and report["sources"] == ["header"]
    traffic.remove_web_address(setup.svc, setup.taru, added["id"])
    assert traffic.list_web_addresses(setup.svc, setup.taru, case_id) == []
