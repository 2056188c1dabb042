"""Rules B1, B3, B5, B6: cases and activation, documents before access."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from calea.domain.authorities import Authority, AuthorityKind, CourtLevel
from calea.domain.cases import INTELLIGENCE_DIVISION, Approval, Case, validate_case_approval, validate_case_opening
from calea.domain.exigent import Declaration, Finding
from calea.domain.identifiers import parse_identifier
from calea.domain.intercepts import Intercept, InterceptStatus, activation_basis, intercept_status
from calea.errors import InvalidInput, RuleViolation

T = datetime(2026, 11, 1, tzinfo=timezone.utc)
D = timedelta(days=1)
PHONE = parse_identifier("e164", "+12125550100")
CASE = Case("c", "2026-0001", "Op", "Narcotics Division", False, "opener", T, Approval("sup", T, "Reasons recorded."))
WARRANT = Authority("a", "c", AuthorityKind.EAVESDROPPING, CourtLevel.STATE, "S", "J", "D", ("x",), T, T, T + 30 * D, (PHONE,), document_id="doc")
ICPT = Intercept("i", "c", "k", "L1", (PHONE,), T)
F = {n: Finding(True, "Kidnapping in progress, threat to kill the hostage.") for n in ("crime", "emergency", "danger", "prevention")}
DECL = Declaration("d", "c", AuthorityKind.EMERGENCY_EAVESDROPPING, CourtLevel.STATE, F, "inv", T, approved_by="sup", approved_at=T)
EMERG = Authority("e", "c", AuthorityKind.EMERGENCY_EAVESDROPPING, CourtLevel.STATE, "-", "-", "-", ("x",), T, T, T + 30 * D, (PHONE,), declaration_id="d")


def basis(**kw: object) -> Authority:
    args: dict[str, object] = dict(actor_role="taru", case=CASE, intercept=ICPT, authorities=[WARRANT], declarations={}, now=T + D)
    args.update(kw)
    return activation_basis(**args)  # type: ignore[arg-type]


def test_b1_activation_with_document_accepted() -> None:
    assert basis().id == "a"


@pytest.mark.parametrize("role", ["investigator", "supervisor", "auditor", "vendor"])
def test_b1_only_taru_activates(role: str) -> None:
    with pytest.raises(RuleViolation) as exc:
        basis(actor_role=role)
    assert exc.value.rule == "B1"


def test_b1_no_document_refused() -> None:
    with pytest.raises(RuleViolation, match="document") as exc:
        basis(authorities=[replace(WARRANT, document_id=None)])
    assert exc.value.rule == "B1"


def test_b1_exigent_without_approved_declaration_refused_then_accepted() -> None:
    unapproved = replace(DECL, approved_by=None, approved_at=None)
    with pytest.raises(RuleViolation, match="not approved") as exc:
        basis(authorities=[EMERG], declarations={"d": unapproved})
    assert exc.value.rule == "B1"
    assert basis(authorities=[EMERG], declarations={"d": DECL}).id == "e"


def test_b3_missed_deadline_refuses_activation() -> None:
    late = replace(EMERG, deadline_at=T + timedelta(hours=24))
    with pytest.raises(RuleViolation) as exc:
        basis(authorities=[late], declarations={"d": DECL}, now=T + 2 * D)
    assert exc.value.rule == "B3"


def test_b1_identifiers_not_named_refused() -> None:
    other = replace(ICPT, identifiers=(parse_identifier("e164", "+13105550123"),))
    with pytest.raises(RuleViolation) as exc:
        basis(intercept=other)
    assert exc.value.rule == "B1"


def test_b6_supervisor_approval_required() -> None:
    with pytest.raises(RuleViolation) as exc:
        basis(case=replace(CASE, approval=None))
    assert exc.value.rule == "B6"


def test_b6_approval_rules() -> None:
    unapproved = replace(CASE, approval=None)
    validate_case_approval(unapproved, "sup", "Probable cause shown.")
    with pytest.raises(RuleViolation) as exc:
        validate_case_approval(unapproved, "opener", "Probable cause shown.")
    assert exc.value.rule == "B6"
    with pytest.raises(RuleViolation):
        validate_case_approval(CASE, "sup2", "Again, approved.")


def test_b5_political_activity_only_intelligence_division() -> None:
    validate_case_opening("2026-0002", "Op", INTELLIGENCE_DIVISION, True, INTELLIGENCE_DIVISION)
    validate_case_opening("2026-0003", "Op", "Narcotics Division", False, "Narcotics Division")
    with pytest.raises(RuleViolation) as exc:
        validate_case_opening("2026-0004", "Op", "Narcotics Division", True, "Narcotics Division")
    assert exc.value.rule == "B5"
    with pytest.raises(RuleViolation) as exc:
        validate_case_opening("2026-0005", "Op", INTELLIGENCE_DIVISION, True, "Narcotics Division")
    assert exc.value.rule == "B5"


def test_b1_complaint_number_required() -> None:
    with pytest.raises(InvalidInput) as exc:
        validate_case_opening("", "Op", "Narcotics Division", False, "Narcotics Division")
    assert exc.value.rule == "B1"


def test_status_derived_from_authorities() -> None:
    assert intercept_status(ICPT, [WARRANT], T + D) is InterceptStatus.PENDING
    on = replace(ICPT, activated_at=T)
    assert intercept_status(on, [WARRANT], T + D) is InterceptStatus.ACTIVE
    assert intercept_status(on, [WARRANT], T + 31 * D) is InterceptStatus.EXPIRED
    assert intercept_status(on, [replace(WARRANT, effective_at=T + 5 * D)], T + D) is InterceptStatus.SCHEDULED
    assert intercept_status(replace(on, quarantined_at=T), [WARRANT], T + D) is InterceptStatus.QUARANTINED
