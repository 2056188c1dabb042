"""Cases and the supervisor's approval of their use of the system (rules B5, B6, F2).

A case carries no field for race, religion, national origin or any other protected
characteristic (rule F2): the dataclass below is the whole of what a case records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from calea.errors import InvalidInput, RuleViolation

INTELLIGENCE_DIVISION = "Intelligence Division"

_COMPLAINT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-/. ]{2,63}$")


@dataclass(frozen=True, slots=True)
class Approval:
    """B6: a supervisor's recorded approval of the use of the system and its reasons."""

    approved_by: str
    approved_at: datetime
    reasons: str


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    complaint_number: str
    title: str
    unit: str
    political_activity: bool
    opened_by: str
    opened_at: datetime
    approval: Approval | None = None
    closed_at: datetime | None = None


def validate_case_opening(complaint_number: str, title: str, unit: str, political_activity: bool, opener_unit: str) -> None:
    """B1 (complaint number present) and B5 (political activity: Intelligence Division only)."""
    if not complaint_number or not _COMPLAINT.match(complaint_number.strip()):
        raise InvalidInput(
            "a case needs a complaint number (3–64 letters, digits, '-', '/', '.')",
            rule="B1",
            field="complaint_number",
        )
    if not title.strip():
        raise InvalidInput("a case needs a title", field="title")
    if not unit.strip():
        raise InvalidInput("a case belongs to a unit", field="unit")
    if political_activity:
        check_political_requester(opener_unit, "open")
        if unit != INTELLIGENCE_DIVISION:
            raise RuleViolation(
                f"a case involving political activity belongs to the {INTELLIGENCE_DIVISION}",
                rule="B5",
                field="unit",
            )


def check_political_requester(requester_unit: str, action: str = "request") -> None:
    """B5: only the Intelligence Division opens or requests political-activity cases."""
    if requester_unit != INTELLIGENCE_DIVISION:
        raise RuleViolation(
            f"only the {INTELLIGENCE_DIVISION} may {action} a case involving political activity "
            "(Handschu Guidelines)",
            rule="B5",
        )


def validate_case_approval(case: Case, approver: str, reasons: str) -> None:
    """B6: a supervisor other than the opener records approval and reasons."""
    if case.approval is not None:
        raise RuleViolation("the case is already approved", rule="B6")
    if approver == case.opened_by:
        raise RuleViolation("the supervisor approving a case cannot be the one who opened it", rule="B6")
    if len(reasons.strip()) < 10:
        raise RuleViolation("the approval records its reasons", rule="B6", field="reasons")
