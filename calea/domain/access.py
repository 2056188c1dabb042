"""People and access (rules C1–C6).

Roles and what each may do are one table (`PERMISSIONS`); case data is seen only through a
grant (C2) whose end is cut to the end of the authority that justifies it; remote access
needs a second factor and non-workstations are refused when so configured (C4).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from datetime import datetime

from calea.errors import AccessDenied, RuleViolation


class Role(str, enum.Enum):
    TARU = "taru"
    INVESTIGATOR = "investigator"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"
    PRIVACY_OFFICER = "privacy_officer"
    PROSECUTOR = "prosecutor"
    EXTERNAL = "external"
    VENDOR = "vendor"


class Perm(str, enum.Enum):
    MANAGE_USERS = "manage_users"  # C1, C3
    GRANT = "grant"  # C2
    ACTIVATE = "activate"  # B1
    MANAGE_CARRIERS = "manage_carriers"
    OPEN_CASE = "open_case"
    REQUEST_AUTHORITY = "request_authority"
    DECLARE_EXIGENCY = "declare_exigency"  # B2
    APPROVE = "approve"  # B2, B6
    READ_CASE = "read_case"  # C2: with a grant
    READ_CONTENT = "read_content"  # C2 + C5: with a grant and a stated purpose
    READ_AUDIT = "read_audit"  # C5, G3
    READ_ALERTS = "read_alerts"
    SYSTEM_HEALTH = "system_health"
    MANAGE_SETTINGS = "manage_settings"  # C4


P = Perm
PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.TARU: frozenset(
        {P.MANAGE_USERS, P.GRANT, P.ACTIVATE, P.MANAGE_CARRIERS, P.OPEN_CASE, P.REQUEST_AUTHORITY,
         P.READ_CASE, P.READ_ALERTS, P.SYSTEM_HEALTH, P.MANAGE_SETTINGS, P.READ_AUDIT}
    ),
    Role.INVESTIGATOR: frozenset({P.OPEN_CASE, P.REQUEST_AUTHORITY, P.DECLARE_EXIGENCY, P.READ_CASE, P.READ_CONTENT}),
    Role.SUPERVISOR: frozenset({P.OPEN_CASE, P.REQUEST_AUTHORITY, P.DECLARE_EXIGENCY, P.APPROVE, P.READ_CASE, P.READ_CONTENT}),
    Role.AUDITOR: frozenset({P.READ_AUDIT, P.READ_CASE, P.READ_ALERTS}),
    Role.PRIVACY_OFFICER: frozenset({P.READ_AUDIT}),
    Role.PROSECUTOR: frozenset({P.READ_CASE, P.READ_CONTENT}),
    Role.EXTERNAL: frozenset({P.READ_CASE, P.READ_CONTENT}),
    Role.VENDOR: frozenset({P.SYSTEM_HEALTH}),
}

# Roles whose view of a case's data goes through a per-case grant (C2).  `taru` manages
# cases without seeing content; the auditor reads case records for integrity control.
GRANT_FREE_READERS = frozenset({Role.TARU, Role.AUDITOR})


def has_perm(role: Role | str, perm: Perm) -> bool:
    return perm in PERMISSIONS[Role(role)]


def require(role: Role | str, perm: Perm) -> None:
    """C1: least privilege — refuse what the role does not allow."""
    if not has_perm(role, perm):
        raise AccessDenied(f"the role {Role(role).value} may not {perm.value.replace('_', ' ')}", rule="C1")


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    user_id: str
    case_id: str
    authority_id: str
    granted_by: str
    starts_at: datetime
    ends_at: datetime
    purpose: str
    court_order: str | None = None  # C6: for external agencies
    revoked_at: datetime | None = None
    suspended_at: datetime | None = None  # B3

    def active(self, now: datetime) -> bool:
        return (
            self.revoked_at is None and self.suspended_at is None and self.starts_at <= now < self.ends_at
        )


def grant_end(requested_end: datetime | None, authority_end: datetime) -> datetime:
    """C2: a grant ends no later than the authority that justifies it."""
    if requested_end is None or requested_end > authority_end:
        return authority_end
    return requested_end


def validate_grant(
    *, grantor_role: Role | str, grantee_role: Role | str, grantee_active: bool, court_order: str | None,
    starts_at: datetime, authority_end: datetime, purpose: str,
) -> None:
    """C2, C3, C6: who may grant, to whom, and with what record."""
    if Role(grantor_role) is not Role.TARU:
        raise AccessDenied("only the technical unit (taru) grants access", rule="C2")
    if not grantee_active:
        raise RuleViolation("the user is not active", rule="C3")
    if Role(grantee_role) in (Role.VENDOR, Role.PRIVACY_OFFICER, Role.TARU):
        raise RuleViolation(f"the role {Role(grantee_role).value} is never granted case data", rule="C1")
    if Role(grantee_role) is Role.EXTERNAL and not (court_order or "").strip():
        raise RuleViolation(
            "an external agency's user needs the court order naming that agency", rule="C6", field="court_order"
        )
    if starts_at >= authority_end:
        raise RuleViolation("the authority has already ended: no grant can rest on it", rule="C2")
    if len(purpose.strip()) < 5:
        raise RuleViolation("a grant records its purpose", rule="C2", field="purpose")


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """C4: facility networks (second factor optional inside), authorised workstations."""

    facility_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    workstations: tuple[str, ...] = ()
    restrict_workstations: bool = False
    require_mfa_everywhere: bool = False


@dataclass(frozen=True, slots=True)
class AccessRequirement:
    allowed: bool
    mfa_required: bool
    inside_facility: bool
    reason: str = ""


def _in_any(ip: str, networks: tuple[str, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for net in networks:
        try:
            if addr in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def access_requirement(ip: str, policy: NetworkPolicy, *, mfa_enrolled: bool) -> AccessRequirement:
    """C4: outside the facility networks a second factor is mandatory; a device that is not
    an authorised workstation is refused when the deployment restricts workstations."""
    inside = _in_any(ip, policy.facility_networks)
    if policy.restrict_workstations and not _in_any(ip, policy.workstations):
        return AccessRequirement(False, True, inside, "this device is not an authorised workstation")
    mfa = (not inside) or mfa_enrolled or policy.require_mfa_everywhere
    return AccessRequirement(True, mfa, inside)
