"""Deployment settings kept in the database: facility networks and workstations (rule C4)."""

from __future__ import annotations

import ipaddress
from typing import Any

from sqlalchemy import insert, select, update

from calea.db.schema import settings
from calea.domain.access import NetworkPolicy, Perm, require
from calea.errors import InvalidInput
from calea.services.context import Actor, Services

KEY = "network_policy"


def _networks(values: Any, field: str) -> tuple[str, ...]:
    if not isinstance(values, list):
        raise InvalidInput(f"{field} is a list of IP addresses or CIDR ranges", field=field)
    out = []
    for v in values:
        try:
            out.append(str(ipaddress.ip_network(str(v).strip(), strict=False)))
        except ValueError:
            raise InvalidInput(f"{v!r} is not an IP address or range", field=field) from None
    return tuple(out)


def policy_dict(p: NetworkPolicy) -> dict[str, Any]:
    return {"facility_networks": list(p.facility_networks), "workstations": list(p.workstations),
            "restrict_workstations": p.restrict_workstations, "require_mfa_everywhere": p.require_mfa_everywhere}


def load_network_policy(svc: Services) -> NetworkPolicy:
    with svc.db.read() as conn:
        row = conn.execute(select(settings.c.value).where(settings.c.key == KEY)).first()
    if row is not None:
        v = row.value
        svc.network_policy = NetworkPolicy(tuple(v["facility_networks"]), tuple(v["workstations"]),
                                           bool(v["restrict_workstations"]), bool(v.get("require_mfa_everywhere", False)))
    return svc.network_policy


def set_network_policy(svc: Services, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    """C4: taru configures the facility networks and, optionally, restricts workstations."""
    require(actor.role, Perm.MANAGE_SETTINGS)
    current = svc.network_policy
    policy = NetworkPolicy(
        facility_networks=_networks(body.get("facility_networks", list(current.facility_networks)), "facility_networks"),
        workstations=_networks(body.get("workstations", list(current.workstations)), "workstations"),
        restrict_workstations=bool(body.get("restrict_workstations", current.restrict_workstations)),
        require_mfa_everywhere=bool(body.get("require_mfa_everywhere", current.require_mfa_everywhere)),
    )
    if policy.restrict_workstations and not policy.workstations:
        raise InvalidInput("restricting workstations needs at least one workstation", field="workstations", rule="C4")
    value = policy_dict(policy)
    with svc.db.write() as conn:
        if conn.execute(select(settings.c.key).where(settings.c.key == KEY)).first():
            conn.execute(update(settings).where(settings.c.key == KEY).values(value=value))
        else:
            conn.execute(insert(settings).values(key=KEY, value=value))
        svc.audit(conn, actor, "settings.network_policy", object_type="settings", object_id=KEY, detail=str(value))
    svc.network_policy = policy
    return value
