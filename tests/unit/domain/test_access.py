"""Rules C1, C2, C4, C6: least privilege, grants cut to their authority, remote access."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from calea.domain.access import (
    PERMISSIONS,
    NetworkPolicy,
    Perm,
    Role,
    access_requirement,
    grant_end,
    has_perm,
    require,
    validate_grant,
)
from calea.errors import AccessDenied, RuleViolation

T = datetime(2026, 11, 1, tzinfo=timezone.utc)
D = timedelta(days=1)


def test_c1_every_role_has_a_row_and_vendor_never_reads_data() -> None:
    assert set(PERMISSIONS) == set(Role)
    assert PERMISSIONS[Role.VENDOR] == frozenset({Perm.SYSTEM_HEALTH})
    for role in Role:
        if role is not Role.TARU:
            assert not has_perm(role, Perm.GRANT) and not has_perm(role, Perm.ACTIVATE)
    assert not has_perm(Role.AUDITOR, Perm.READ_CONTENT)  # no content by default
    require(Role.TARU, Perm.GRANT)
    with pytest.raises(AccessDenied) as exc:
        require(Role.VENDOR, Perm.READ_CASE)
    assert exc.value.rule == "C1"


def test_c2_grant_cut_to_authority_end() -> None:
    assert grant_end(T + 90 * D, T + 30 * D) == T + 30 * D  # a grant outliving its authority is cut
    assert grant_end(T + 10 * D, T + 30 * D) == T + 10 * D
    assert grant_end(None, T + 30 * D) == T + 30 * D


def grant_args(**kw: object) -> dict[str, object]:
    args: dict[str, object] = dict(grantor_role="taru", grantee_role="investigator", grantee_active=True, court_order=None,
                                   starts_at=T, authority_end=T + 30 * D, purpose="Monitor the wire in Op Test")
    args.update(kw)
    return args


def test_c2_valid_grant_accepted() -> None:
    validate_grant(**grant_args())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"grantor_role": "supervisor"}, "C2"),
        ({"grantee_role": "vendor"}, "C1"),
        ({"grantee_active": False}, "C3"),
        ({"starts_at": T + 31 * D}, "C2"),
        ({"purpose": ""}, "C2"),
        ({"grantee_role": "external"}, "C6"),  # an external agency's user needs the court order
    ],
)
def test_grants_refused(change: dict[str, object], rule: str) -> None:
    with pytest.raises((RuleViolation, AccessDenied)) as exc:
        validate_grant(**grant_args(**change))  # type: ignore[arg-type]
    assert exc.value.rule == rule


def test_c6_external_with_court_order_accepted() -> None:
    validate_grant(**grant_args(grantee_role="external", court_order="Order 26-114 naming the DEA NY Field Division"))  # type: ignore[arg-type]


def test_c4_second_factor_outside_the_facility() -> None:
    policy = NetworkPolicy(facility_networks=("10.20.0.0/16",))
    inside = access_requirement("10.20.3.4", policy, mfa_enrolled=False)
    assert inside.allowed and not inside.mfa_required
    outside = access_requirement("203.0.113.9", policy, mfa_enrolled=False)
    assert outside.allowed and outside.mfa_required
    assert access_requirement("10.20.3.4", policy, mfa_enrolled=True).mfa_required  # enrolled: always asked


def test_c4_workstation_restriction() -> None:
    policy = NetworkPolicy(facility_networks=("10.20.0.0/16",), workstations=("10.20.1.10",), restrict_workstations=True)
    assert access_requirement("10.20.1.10", policy, mfa_enrolled=False).allowed
    refused = access_requirement("10.20.3.4", policy, mfa_enrolled=False)
    assert not refused.allowed and "workstation" in refused.reason
