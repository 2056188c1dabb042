"""Rules A1–A5, A9: kinds of authority and their windows (accepted and refused)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from calea.domain.authorities import (
    Authority,
    AuthorityDraft,
    AuthorityKind,
    CourtLevel,
    ExtensionDraft,
    validate_authority,
    validate_extension,
)
from calea.domain.identifiers import parse_identifier
from calea.errors import RuleViolation

T = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)
D = timedelta(days=1)
PHONE = (parse_identifier("e164", "+12125550100"),)
K = AuthorityKind


def draft(kind: AuthorityKind, issued: datetime = T, effective: datetime | None = None, expires: datetime | None = None, **kw: object) -> AuthorityDraft:
    base = AuthorityDraft(kind=kind, court_level=CourtLevel.STATE, court="Supreme Court", judge="Hon. J", docket="D-1",
                          offenses=("PL 125.25",), issued_at=issued, effective_at=effective or issued,
                          expires_at=expires or issued + 10 * D, identifiers=PHONE)
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rule, kind, issued, effective, expires",
    [
        ("A1", K.PRTT, T, T, T + 60 * D),  # PRTT: exactly 60 days from issue
        ("A1", K.PRTT, T, T + 5 * D, T + 60 * D),
        ("A2", K.EAVESDROPPING, T, T, T + 30 * D),  # warrant: 30 days
        ("A2", K.EAVESDROPPING, T, T + 10 * D, T + 40 * D),  # effective 10 days after issue, then 30 days
        ("A3", K.EMERGENCY_PRTT, T, T, T + 60 * D),
        ("A4", K.EMERGENCY_EAVESDROPPING, T, T, T + 30 * D),
    ],
)
def test_windows_accepted(rule: str, kind: AuthorityKind, issued: datetime, effective: datetime, expires: datetime) -> None:
    validate_authority(draft(kind, issued, effective, expires))


@pytest.mark.parametrize(
    "rule, kind, issued, effective, expires, why",
    [
        ("A1", K.PRTT, T, T, T + 61 * D, "60 days"),  # a 61-day PRTT order refused
        ("A1", K.PRTT, T, T, T + 60 * D + timedelta(seconds=1), "60 days"),
        ("A2", K.EAVESDROPPING, T, T, T + 31 * D, "30 days"),  # a 31-day warrant refused
        ("A2", K.EAVESDROPPING, T, T + 11 * D, T + 20 * D, "10 days"),  # effective 11 days after issue refused
        ("A2", K.EAVESDROPPING, T, T - D, T + 5 * D, "before it is issued"),
        ("A2", K.EAVESDROPPING, T, T, T, "expire after"),
        ("A3", K.EMERGENCY_PRTT, T, T, T + 61 * D, "60 days"),
        ("A4", K.EMERGENCY_EAVESDROPPING, T, T, T + 31 * D, "30 days"),
    ],
)
def test_windows_refused(rule: str, kind: AuthorityKind, issued: datetime, effective: datetime, expires: datetime, why: str) -> None:
    with pytest.raises(RuleViolation, match=why) as exc:
        validate_authority(draft(kind, issued, effective, expires))
    assert exc.value.rule == rule


@pytest.mark.parametrize("missing", ["court", "judge", "docket"])
def test_a9_court_record_required(missing: str) -> None:
    with pytest.raises(RuleViolation) as exc:
        validate_authority(draft(K.PRTT, **{missing: " "}))
    assert exc.value.rule == "A9"


def test_a9_offense_required_and_a7_identifiers_required() -> None:
    with pytest.raises(RuleViolation) as exc:
        validate_authority(draft(K.PRTT, offenses=()))
    assert exc.value.rule == "A9"
    with pytest.raises(RuleViolation) as exc:
        validate_authority(draft(K.PRTT, identifiers=()))
    assert exc.value.rule == "A7"


def parent(kind: AuthorityKind, days: int = 30) -> Authority:
    return Authority(id="p", case_id="c", kind=kind, court_level=CourtLevel.STATE, court="S", judge="J", docket="D",
                     offenses=("x",), issued_at=T, effective_at=T, expires_at=T + days * D, identifiers=PHONE, document_id="doc")


def ext(expires: datetime, findings: str = "Continued probable cause; normal procedures tried.", issued: datetime = T + 25 * D) -> ExtensionDraft:
    return ExtensionDraft(judge="Hon. J", docket="D-1-X1", issued_at=issued, expires_at=expires, findings=findings)


def test_a5_extension_accepted_starts_when_parent_ends() -> None:
    p = parent(K.EAVESDROPPING)
    effective, expires = validate_extension(p, ext(p.expires_at + 30 * D))
    assert effective == p.expires_at and expires == p.expires_at + 30 * D
    p1 = parent(K.PRTT, 60)
    assert validate_extension(p1, ext(p1.expires_at + 60 * D, issued=T + 50 * D))[0] == p1.expires_at


@pytest.mark.parametrize(
    "kind, days_after, findings, rule, why",
    [
        (K.EAVESDROPPING, 31, "Continued probable cause shown.", "A5", "30 days"),
        (K.PRTT, 61, "Continued relevance shown.", "A5", "60 days"),
        (K.EAVESDROPPING, 10, "  ", "A5", "findings"),
        (K.EMERGENCY_EAVESDROPPING, 10, "Continued probable cause.", "A4", "cannot be extended"),  # A4 never extended
        (K.EMERGENCY_PRTT, 10, "Continued relevance.", "A5", "followed by a PRTT order"),
    ],
)
def test_a5_extension_refused(kind: AuthorityKind, days_after: int, findings: str, rule: str, why: str) -> None:
    p = parent(kind)
    with pytest.raises(RuleViolation, match=why) as exc:
        validate_extension(p, ext(p.expires_at + days_after * D, findings=findings))
    assert exc.value.rule == rule


def test_a8_window_is_half_open_and_termination_ends_it() -> None:
    a = parent(K.EAVESDROPPING)
    assert a.in_window(T) and a.in_window(a.expires_at - timedelta(seconds=1))
    assert not a.in_window(a.expires_at) and not a.in_window(T - timedelta(seconds=1))
    t = replace(a, terminated_at=T + 2 * D)
    assert t.in_window(T + D) and not t.in_window(T + 2 * D)


def test_kinds_and_content() -> None:
    assert not K.PRTT.allows_content and not K.EMERGENCY_PRTT.allows_content
    assert K.EAVESDROPPING.allows_content and K.EMERGENCY_EAVESDROPPING.allows_content
    assert parent(K.PRTT).rule == "A1" and replace(parent(K.PRTT), parent_id="x").rule == "A5"
