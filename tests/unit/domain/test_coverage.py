"""Rules A6, A7, A8, B3: the coverage decision the intake makes for every delivery."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from calea.domain.authorities import Authority, AuthorityKind, CourtLevel
from calea.domain.coverage import Action, decide
from calea.domain.identifiers import parse_identifier
from calea.domain.intercepts import Intercept

T = datetime(2026, 11, 1, 0, 0, tzinfo=timezone.utc)
D = timedelta(days=1)
S = timedelta(seconds=1)
PHONE = parse_identifier("e164", "+12125550100")


def authority(kind: AuthorityKind = AuthorityKind.EAVESDROPPING, days: int = 30, **kw: object) -> Authority:
    a = Authority(id=kind.value, case_id="c", kind=kind, court_level=CourtLevel.STATE, court="S", judge="J", docket="D",
                  offenses=("x",), issued_at=T, effective_at=T, expires_at=T + days * D, identifiers=(PHONE,), document_id="doc")
    return replace(a, **kw)  # type: ignore[arg-type]


INTERCEPT = Intercept(id="i", case_id="c", carrier_id="k", liid="L1", identifiers=(PHONE,), created_at=T, activated_at=T)


def run(auths: list[Authority], at: datetime, *, content: bool = False, now: datetime | None = None,
        intercept: Intercept | None = INTERCEPT) -> object:
    return decide(intercept=intercept, authorities=auths, intercepted_at=at, has_content=content, now=now or at + S)


def test_a2_content_stored_under_warrant() -> None:
    d = run([authority()], T + D, content=True)
    assert d.action is Action.STORE and not d.suppress_content and d.rule == "A2"


def test_a6_content_suppressed_under_prtt() -> None:
    d = run([authority(AuthorityKind.PRTT, 60)], T + D, content=True)
    assert d.action is Action.STORE and d.suppress_content and d.rule == "A6"
    iri = run([authority(AuthorityKind.PRTT, 60)], T + D, content=False)
    assert iri.action is Action.STORE and not iri.suppress_content and iri.rule == "A1"


def test_a6_warrant_wins_over_prtt_when_both_cover() -> None:
    d = run([authority(AuthorityKind.PRTT, 60), authority()], T + D, content=True)
    assert not d.suppress_content and d.authority_id == "eavesdropping"


def test_a7_unknown_liid_refused() -> None:
    d = run([authority()], T + D, intercept=None)
    assert d.action is Action.REFUSE and d.rule == "A7"


def test_a7_identifier_not_named_refused() -> None:
    other = replace(INTERCEPT, identifiers=(parse_identifier("e164", "+13105550123"),))
    d = run([authority()], T + D, intercept=other)
    assert d.action is Action.REFUSE and d.rule == "A7"


def test_a7_by_identifier_without_liid() -> None:
    site = parse_identifier("url", "http://www.example.com/")
    prtt = authority(AuthorityKind.PRTT, 60, identifiers=(site,))
    ok = decide(intercept=None, authorities=[prtt], intercepted_at=T + D, has_content=False, now=T + D,
                identifier=parse_identifier("url", "http://www.example.com/index.html"))
    assert ok.action is Action.STORE and ok.rule == "A1"
    no = decide(intercept=None, authorities=[prtt], intercepted_at=T + D, has_content=False, now=T + D,
                identifier=parse_identifier("url", "http://other.example.org/"))
    assert no.action is Action.REFUSE and no.rule == "A7"


@pytest.mark.parametrize("offset, stored", [(-S, False), (timedelta(0), True), (30 * D - S, True), (30 * D, False), (30 * D + S, False)])
def test_a8_window_to_the_second(offset: timedelta, stored: bool) -> None:
    d = run([authority()], T + offset)
    assert d.stored is stored
    if not stored:
        assert d.rule == "A8"


def test_a8_late_delivery_marked_and_very_late_quarantined() -> None:
    a = authority()
    late = run([a], a.expires_at - S, now=a.expires_at + 2 * D)
    assert late.stored and late.late and not late.quarantine and late.rule == "A8"
    very = run([a], a.expires_at - S, now=a.expires_at + 8 * D)
    assert very.stored and very.quarantine and very.rule == "A8"


def test_a8_future_stamp_refused() -> None:
    d = run([authority()], T + D, now=T + D - timedelta(minutes=5))
    assert d.action is Action.REFUSE and d.rule == "A8"


def test_a8_terminated_authority_and_deactivated_intercept() -> None:
    a = authority(terminated_at=T + 2 * D)
    assert run([a], T + D).stored
    assert run([a], T + 2 * D).rule == "A8" and not run([a], T + 2 * D).stored
    off = replace(INTERCEPT, deactivated_at=T + 3 * D)
    assert not run([authority()], T + 3 * D, intercept=off).stored


def test_b3_missed_deadline_refuses_from_the_deadline_to_the_second() -> None:
    due = T + timedelta(hours=24)
    a = authority(AuthorityKind.EMERGENCY_EAVESDROPPING, document_id=None, deadline_at=due, declaration_id="d")
    before = run([a], due - S, now=due - S + timedelta(milliseconds=1))
    assert before.stored and not before.quarantine
    at = run([a], due, now=due + S)
    assert at.action is Action.REFUSE and at.rule == "B3"
    # what was intercepted before the deadline but arrives after it is quarantined
    straggler = run([a], due - S, now=due + S)
    assert straggler.stored and straggler.quarantine and straggler.rule == "B3"


def test_b3_quarantined_intercept_refuses() -> None:
    q = replace(INTERCEPT, quarantined_at=T + D)
    assert run([authority()], T + D, intercept=q).rule == "B3"


def test_inactive_intercept_refused() -> None:
    pending = replace(INTERCEPT, activated_at=None)
    assert run([authority()], T + D, intercept=pending).rule == "A7"
