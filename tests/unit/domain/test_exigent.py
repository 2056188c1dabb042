"""Rules B2, A3, A4: Exigent Circumstances Declarations and emergency deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from calea.domain.authorities import AuthorityKind, CourtLevel
from calea.domain.exigent import FINDINGS, Declaration, Finding, deadline, validate_approval, validate_declaration
from calea.errors import RuleViolation

T = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
GOOD = {
    "crime": Finding(True, "The suspect abducted a 9-year-old child at gunpoint tonight."),
    "emergency": Finding(True, "The child is held by the suspect; the abduction is ongoing."),
    "danger": Finding(True, "The suspect threatened to kill the child within hours."),
    "prevention": Finding(True, "The aim is to locate and rescue the child before harm occurs."),
}


def test_b2_declaration_with_four_findings_accepted() -> None:
    validate_declaration(AuthorityKind.EMERGENCY_EAVESDROPPING, GOOD)
    validate_declaration(AuthorityKind.EMERGENCY_PRTT, GOOD)


def test_b2_flight_alone_refused() -> None:
    flight = {name: Finding(True, "The suspect may flee the state to escape arrest tomorrow.") for name in FINDINGS}
    with pytest.raises(RuleViolation, match="flight") as exc:
        validate_declaration(AuthorityKind.EMERGENCY_PRTT, flight)
    assert exc.value.rule == "B2"


@pytest.mark.parametrize("name", FINDINGS)
def test_b2_each_finding_required(name: str) -> None:
    missing = {k: v for k, v in GOOD.items() if k != name}
    with pytest.raises(RuleViolation) as exc:
        validate_declaration(AuthorityKind.EMERGENCY_PRTT, missing)
    assert exc.value.rule == "B2"
    unmet = {**GOOD, name: Finding(False, "Not established at this time.")}
    with pytest.raises(RuleViolation, match="not met"):
        validate_declaration(AuthorityKind.EMERGENCY_PRTT, unmet)
    bare = {**GOOD, name: Finding(True, "yes")}
    with pytest.raises(RuleViolation, match="justification"):
        validate_declaration(AuthorityKind.EMERGENCY_PRTT, bare)


def test_b2_declaration_only_for_emergency_kinds() -> None:
    with pytest.raises(RuleViolation):
        validate_declaration(AuthorityKind.PRTT, GOOD)


def test_b2_approval_by_another_person() -> None:
    d = Declaration("d", "c", AuthorityKind.EMERGENCY_PRTT, CourtLevel.STATE, GOOD, declared_by="u1", declared_at=T)
    validate_approval(d, "u2")
    with pytest.raises(RuleViolation) as exc:
        validate_approval(d, "u1")
    assert exc.value.rule == "B2"


@pytest.mark.parametrize(
    "rule, kind, level, hours",
    [
        ("A3", AuthorityKind.EMERGENCY_PRTT, CourtLevel.STATE, 48),
        ("A3", AuthorityKind.EMERGENCY_PRTT, CourtLevel.FEDERAL, 48),
        ("A4", AuthorityKind.EMERGENCY_EAVESDROPPING, CourtLevel.STATE, 24),
        ("A4", AuthorityKind.EMERGENCY_EAVESDROPPING, CourtLevel.FEDERAL, 48),
    ],
)
def test_emergency_deadlines(rule: str, kind: AuthorityKind, level: CourtLevel, hours: int) -> None:
    assert deadline(kind, level, T) == T + timedelta(hours=hours)
