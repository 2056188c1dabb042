"""Intercepts (one LIID at one carrier) and their activation (rules B1, B4, B6).

B1: only the technical unit (`taru`) activates, and only when the case has a complaint
number, the intercept names its identifiers, and an authority covering them is either
documented (non-exigent) or rests on an approved Exigent Circumstances Declaration.
"All proper documentation" is required even in exigent circumstances: an emergency
authority whose declaration is not approved does not activate.
B6: the case's use of the system is approved by a supervisor before activation.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime

from calea.domain.authorities import Authority
from calea.domain.cases import Case
from calea.domain.exigent import Declaration
from calea.domain.identifiers import Identifier, identifier_matches
from calea.errors import InvalidInput, RuleViolation

_LIID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,24}$")  # TS 102 232-1: 1–25 octets


class InterceptStatus(str, enum.Enum):
    PENDING = "pending"  # created, not yet activated
    ACTIVE = "active"  # activated and covered by an authority now
    SCHEDULED = "scheduled"  # activated, its authority takes effect later
    EXPIRED = "expired"  # activated, no authority covers now
    DEACTIVATED = "deactivated"
    QUARANTINED = "quarantined"  # B3: emergency document missing at the deadline


@dataclass(frozen=True, slots=True)
class Intercept:
    id: str
    case_id: str
    carrier_id: str
    liid: str
    identifiers: tuple[Identifier, ...]
    created_at: datetime
    activated_at: datetime | None = None
    activated_by: str | None = None
    basis_authority_id: str | None = None
    deactivated_at: datetime | None = None
    quarantined_at: datetime | None = None
    quarantine_reason: str | None = None


def validate_liid(liid: str) -> str:
    liid = liid.strip()
    if not _LIID.match(liid):
        raise InvalidInput("an LIID is 1–25 letters, digits, '.', '_' or '-'", field="liid")
    return liid


def covers_identifiers(authority: Authority, identifiers: tuple[Identifier, ...]) -> bool:
    """A7: every identifier of the intercept is named (or contained) in the authority."""
    return bool(identifiers) and all(
        any(identifier_matches(named, ident) for named in authority.identifiers) for ident in identifiers
    )


def activation_basis(
    *,
    actor_role: str,
    case: Case,
    intercept: Intercept,
    authorities: list[Authority],
    declarations: dict[str, Declaration],
    now: datetime,
) -> Authority:
    """B1, B3, B6: the authority on which the intercept may be activated now, or refuse."""
    if actor_role != "taru":
        raise RuleViolation("only the technical unit (taru) activates intercepts", rule="B1")
    if intercept.activated_at is not None and intercept.deactivated_at is None:
        raise RuleViolation("the intercept is already active", rule="B1")
    if intercept.quarantined_at is not None:
        raise RuleViolation("the intercept is quarantined until a court directs otherwise", rule="B3")
    if not case.complaint_number:
        raise RuleViolation("the case has no complaint number", rule="B1")
    if not intercept.identifiers:
        raise RuleViolation("the intercept names no queried identifier", rule="B1")
    if case.approval is None:
        raise RuleViolation("a supervisor has not approved the use of the system on this case", rule="B6")
    relevant = [
        a
        for a in authorities
        if a.terminated_at is None and a.ends_at > now and covers_identifiers(a, intercept.identifiers)
    ]
    if not relevant:
        raise RuleViolation(
            "no current authority of this case names the intercept's identifiers", rule="B1"
        )
    reasons: list[tuple[str, str]] = []
    for a in sorted(relevant, key=lambda a: a.effective_at):
        if a.kind.is_emergency:
            decl = declarations.get(a.declaration_id or "")
            if decl is None or not decl.approved:
                reasons.append(("B1", "the Exigent Circumstances Declaration is not approved by a supervisor"))
                continue
            if a.missed_deadline(now):
                reasons.append(("B3", "the emergency document was not uploaded by its deadline"))
                continue
            return a
        if a.document_id is None:
            reasons.append(("B1", "the court authority document has not been uploaded"))
            continue
        return a
    rule, why = reasons[0]
    raise RuleViolation(f"activation refused: {why}", rule=rule)


def intercept_status(intercept: Intercept, authorities: list[Authority], now: datetime) -> InterceptStatus:
    """The status people see, derived from the intercept's state and its authorities."""
    if intercept.quarantined_at is not None:
        return InterceptStatus.QUARANTINED
    if intercept.deactivated_at is not None:
        return InterceptStatus.DEACTIVATED
    if intercept.activated_at is None:
        return InterceptStatus.PENDING
    mine = [a for a in authorities if covers_identifiers(a, intercept.identifiers) and not a.missed_deadline(now)]
    if any(a.in_window(now) for a in mine):
        return InterceptStatus.ACTIVE
    if any(a.effective_at > now for a in mine):
        return InterceptStatus.SCHEDULED
    return InterceptStatus.EXPIRED
