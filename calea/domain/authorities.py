"""Court authorities and their windows (rules A1–A5, A9).

    A1  PRTT order                      call-identifying information; ≤ 60 days from issue
    A2  eavesdropping warrant           A1 + content; ≤ 30 days; effective ≤ 10 days after issue
    A3  emergency (exigent) PRTT        as A1; emergency order due within 48 h of first use
    A4  emergency eavesdropping         as A2; warrant due within 24 h (state) / 48 h (federal);
                                        never extended
    A5  extension of A1 or A2           same scope as its parent; ≤ 60 / 30 days; own findings;
                                        starts when the parent ends

Interpretations (written down in docs/rules.md):
- A2's 30 days run from the effective time; the effective time may be at most 10 days after
  issue (18 U.S.C. §2518(5): the earlier of first interception or 10 days after the order).
- A3/A4 windows are limited like A1/A2; until the emergency order document is uploaded the
  authority covers deliveries only up to its deadline (rule B3).
- Only A1, A2 and their extensions can be extended; an A3 is followed by a PRTT order (A1).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from calea.domain.identifiers import Identifier
from calea.errors import RuleViolation

DAY = timedelta(days=1)


class AuthorityKind(str, enum.Enum):
    PRTT = "prtt"  # A1
    EAVESDROPPING = "eavesdropping"  # A2
    EMERGENCY_PRTT = "emergency_prtt"  # A3
    EMERGENCY_EAVESDROPPING = "emergency_eavesdropping"  # A4

    @property
    def allows_content(self) -> bool:
        """A2/A4 allow content; A1/A3 never do (rule A6)."""
        return self in (AuthorityKind.EAVESDROPPING, AuthorityKind.EMERGENCY_EAVESDROPPING)

    @property
    def is_emergency(self) -> bool:
        return self in (AuthorityKind.EMERGENCY_PRTT, AuthorityKind.EMERGENCY_EAVESDROPPING)

    @property
    def max_length(self) -> timedelta:
        return 30 * DAY if self.allows_content else 60 * DAY


class CourtLevel(str, enum.Enum):
    STATE = "state"
    FEDERAL = "federal"


@dataclass(frozen=True, slots=True)
class Authority:
    id: str
    case_id: str
    kind: AuthorityKind
    court_level: CourtLevel
    court: str
    judge: str
    docket: str
    offenses: tuple[str, ...]
    issued_at: datetime
    effective_at: datetime
    expires_at: datetime
    identifiers: tuple[Identifier, ...]
    parent_id: str | None = None  # set for an extension (A5)
    findings: str = ""  # the judge's findings; required for an extension (A5)
    document_id: str | None = None  # the court document (A9); None until uploaded
    declaration_id: str | None = None  # the exigent declaration (A3/A4, B2)
    deadline_at: datetime | None = None  # when the emergency document is due (A3/A4, B3)
    terminated_at: datetime | None = None
    applicant: str = ""
    progress_report_days: int | None = None  # D6, recorded now, tracked later
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def rule(self) -> str:
        if self.parent_id:
            return "A5"
        return {
            AuthorityKind.PRTT: "A1",
            AuthorityKind.EAVESDROPPING: "A2",
            AuthorityKind.EMERGENCY_PRTT: "A3",
            AuthorityKind.EMERGENCY_EAVESDROPPING: "A4",
        }[self.kind]

    @property
    def ends_at(self) -> datetime:
        """The instant the authority stops covering interceptions (A8)."""
        end = self.expires_at
        if self.terminated_at is not None and self.terminated_at < end:
            end = self.terminated_at
        return end

    def in_window(self, at: datetime) -> bool:
        """A8: the window is [effective, end); judged on the carrier's interception time."""
        return self.effective_at <= at < self.ends_at

    def missed_deadline(self, at: datetime) -> bool:
        """B3: an emergency authority whose document was not uploaded by its deadline."""
        return (
            self.kind.is_emergency
            and self.document_id is None
            and self.deadline_at is not None
            and at >= self.deadline_at
        )


@dataclass(frozen=True, slots=True)
class AuthorityDraft:
    """What a person submits; validated by `validate_authority` before it is recorded."""

    kind: AuthorityKind
    court_level: CourtLevel
    court: str
    judge: str
    docket: str
    offenses: tuple[str, ...]
    issued_at: datetime
    effective_at: datetime
    expires_at: datetime
    identifiers: tuple[Identifier, ...]
    findings: str = ""
    applicant: str = ""
    progress_report_days: int | None = None


def validate_authority(d: AuthorityDraft) -> None:
    """A1–A4, A7, A9: refuse a draft whose record or window the law does not allow."""
    rule = {
        AuthorityKind.PRTT: "A1",
        AuthorityKind.EAVESDROPPING: "A2",
        AuthorityKind.EMERGENCY_PRTT: "A3",
        AuthorityKind.EMERGENCY_EAVESDROPPING: "A4",
    }[d.kind]
    for name in ("court", "judge", "docket"):
        if not getattr(d, name).strip():
            raise RuleViolation(f"the authority must record the {name}", rule="A9", field=name)
    if not [o for o in d.offenses if o.strip()]:
        raise RuleViolation("the authority must name the designated offense(s)", rule="A9", field="offenses")
    if not d.identifiers:
        raise RuleViolation("the authority must name the identifiers it covers", rule="A7", field="identifiers")
    _validate_window(d.kind, d.issued_at, d.effective_at, d.expires_at, rule)


def _validate_window(
    kind: AuthorityKind, issued: datetime, effective: datetime, expires: datetime, rule: str
) -> None:
    if effective < issued:
        raise RuleViolation("the authority cannot take effect before it is issued", rule=rule, field="effective_at")
    if expires <= effective:
        raise RuleViolation("the authority must expire after it takes effect", rule=rule, field="expires_at")
    if kind.allows_content:
        if effective - issued > 10 * DAY:
            raise RuleViolation(
                "an eavesdropping warrant may not take effect more than 10 days after issue",
                rule=rule,
                field="effective_at",
            )
        if expires - effective > 30 * DAY:
            raise RuleViolation(
                "an eavesdropping warrant lasts at most 30 days", rule=rule, field="expires_at"
            )
    elif expires - issued > 60 * DAY:
        raise RuleViolation("a PRTT order lasts at most 60 days from issue", rule=rule, field="expires_at")


@dataclass(frozen=True, slots=True)
class ExtensionDraft:
    judge: str
    docket: str
    issued_at: datetime
    expires_at: datetime
    findings: str
    court: str = ""


def validate_extension(parent: Authority, d: ExtensionDraft) -> tuple[datetime, datetime]:
    """A4, A5: returns the extension's (effective, expires) window or refuses.

    An extension starts when its parent ends, lasts at most 60 (PRTT) / 30 (eavesdropping)
    days, needs its own findings, and an A4 (or A3) authority is never extended.
    """
    if parent.kind is AuthorityKind.EMERGENCY_EAVESDROPPING:
        raise RuleViolation("an emergency eavesdropping authority cannot be extended", rule="A4")
    if parent.kind is AuthorityKind.EMERGENCY_PRTT:
        raise RuleViolation(
            "an emergency PRTT is followed by a PRTT order (A1), not extended", rule="A5"
        )
    if parent.terminated_at is not None:
        raise RuleViolation("a terminated authority cannot be extended", rule="A5")
    if not d.findings.strip():
        raise RuleViolation("an extension needs the judge's own findings", rule="A5", field="findings")
    if not d.judge.strip() or not d.docket.strip():
        raise RuleViolation("an extension records its judge and docket", rule="A9")
    effective = parent.expires_at
    if d.issued_at > effective:
        raise RuleViolation(
            "an extension must be issued before its parent ends (it starts when the parent ends)",
            rule="A5",
            field="issued_at",
        )
    if d.expires_at <= effective:
        raise RuleViolation("the extension must end after its parent", rule="A5", field="expires_at")
    limit = parent.kind.max_length
    if d.expires_at - effective > limit:
        raise RuleViolation(
            f"an extension lasts at most {limit.days} days from the end of its parent",
            rule="A5",
            field="expires_at",
        )
    return effective, d.expires_at
