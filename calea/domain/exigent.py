"""Exigent Circumstances Declarations and emergency deadlines (rules A3, A4, B2, B3).

B2: the declaration answers the Policy's four findings, each with a justification:
  1. crime        a crime has been, is being or is about to be committed
                  (for emergency eavesdropping: probable cause of a designated offense);
  2. emergency    an emergency exists as a result of the criminal conduct;
  3. danger       an immediate, urgent need due to imminent danger of serious bodily injury
                  or death makes a written application impracticable;
  4. prevention   the effort is primarily to prevent injury or death, not to arrest a
                  person or seize evidence.
Possible flight alone is not exigency: a declaration whose only stated ground is flight
is refused.  A supervisor (not the declarant) approves it.

A3/A4 deadlines run from the first emergency use (the activation on the declaration):
48 h for an emergency PRTT; 24 h (state court) or 48 h (federal court) for emergency
eavesdropping.  B3: if the emergency document is not uploaded by then, intake stops at
the deadline, grants are suspended, the data is quarantined and an alert is raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from calea.domain.authorities import AuthorityKind, CourtLevel
from calea.errors import RuleViolation

FINDINGS = ("crime", "emergency", "danger", "prevention")

FINDING_TEXT = {
    "crime": "A crime has been, is being, or is about to be committed "
    "(emergency eavesdropping: probable cause of a designated offense).",
    "emergency": "An emergency exists as a result of the criminal conduct.",
    "danger": "There is an immediate, urgent need for assistance due to an imminent danger of "
    "serious bodily injury or death, making a written application impracticable.",
    "prevention": "The effort is primarily to prevent injury or death, not to arrest a person "
    "or seize evidence.",
}

FLIGHT_NOTICE = "The possibility that a suspect may flee is not, by itself, an exigent circumstance."

_FLIGHT = re.compile(r"\b(flee|fleeing|flight|escape|abscond\w*|leave the (state|country|jurisdiction))\b", re.I)
_DANGER = re.compile(
    r"\b(kill\w*|murder\w*|death|die|dying|injur\w*|harm\w*|hurt\w*|hostage\w*|kidnap\w*|abduct\w*|"
    r"shoot\w*|stab\w*|weapon\w*|gun\w*|bomb\w*|threat\w*|danger\w*|assault\w*|suicid\w*|overdose\w*|"
    r"life|lives|bodily|violen\w*|ransom)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Finding:
    answered: bool
    justification: str


@dataclass(frozen=True, slots=True)
class Declaration:
    id: str
    case_id: str
    kind: AuthorityKind  # EMERGENCY_PRTT (A3) or EMERGENCY_EAVESDROPPING (A4)
    court_level: CourtLevel
    findings: dict[str, Finding]
    declared_by: str
    declared_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None
    first_use_at: datetime | None = None

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


def validate_declaration(kind: AuthorityKind, findings: dict[str, Finding]) -> None:
    """B2: all four findings answered 'yes' with a justification; flight alone refused."""
    if not kind.is_emergency:
        raise RuleViolation("a declaration is for an emergency PRTT (A3) or eavesdropping (A4)", rule="B2")
    missing = [f for f in FINDINGS if f not in findings]
    if missing:
        raise RuleViolation(f"the declaration must answer every finding; missing: {', '.join(missing)}", rule="B2")
    for name in FINDINGS:
        f = findings[name]
        if not f.answered:
            raise RuleViolation(f"finding '{name}' is not met: exigency is not established", rule="B2", field=name)
        if len(f.justification.strip()) < 10:
            raise RuleViolation(f"finding '{name}' needs a justification in words", rule="B2", field=name)
    text = " ".join(findings[n].justification for n in FINDINGS)
    if _FLIGHT.search(text) and not _DANGER.search(text):
        raise RuleViolation(
            "the only ground stated is possible flight; " + FLIGHT_NOTICE, rule="B2", field="danger"
        )


def validate_approval(decl: Declaration, approver: str) -> None:
    """B2: a supervisor other than the declarant approves."""
    if decl.approved:
        raise RuleViolation("the declaration is already approved", rule="B2")
    if approver == decl.declared_by:
        raise RuleViolation("the declarant cannot approve their own declaration", rule="B2")


def emergency_window(kind: AuthorityKind, level: CourtLevel) -> timedelta:
    """A3: 48 h; A4: 24 h in state court, 48 h in federal court."""
    if kind is AuthorityKind.EMERGENCY_EAVESDROPPING and level is CourtLevel.STATE:
        return timedelta(hours=24)
    return timedelta(hours=48)


def deadline(kind: AuthorityKind, level: CourtLevel, first_use: datetime) -> datetime:
    return first_use + emergency_window(kind, level)
