"""`make run`'s demo: a demo case with a documented warrant, a PRTT case, a demo carrier,
active intercepts, and the carrier simulator delivering traffic to the intake every minute.

Everything is created through the same services a person would use, so the audit log
shows it; nothing here bypasses a rule.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from calea.db.schema import carriers, cases, users
from calea.domain.access import Role
from calea.services import authorities, carriers as carrier_svc, cases as case_svc, intercepts, users as user_svc
from calea.services.context import Actor, Services

log = logging.getLogger("calea.demo")

HI2_PORT, HI3_PORT = 6001, 6002
DEMO_PASSWORD = "Demo-Supervisor-2026"
ORDER_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
             b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
VOIP = [{"kind": "sip_uri", "value": "sip:+12125550100@example.net"}, {"kind": "e164", "value": "+12125550100"}]
IP = [{"kind": "ip", "value": "198.51.100.77"}]
WEB = [{"kind": "url", "value": "http://203.0.113.80/"}]


def _actor(row: Any) -> Actor:
    return Actor(row["id"], row["username"], Role(row["role"]), row["unit"])


def _user(svc: Services, username: str, role: str, unit: str) -> Actor:
    with svc.db.read() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
    if row is None:
        user_svc.create_user(svc, None, username=username, password=DEMO_PASSWORD, role=role, unit=unit,
                             display_name=username.replace(".", " ").title())
        with svc.db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).mappings().one()
    return _actor(row)


def seed(svc: Services) -> None:
    """Idempotent: creates what is missing."""
    taru = _user(svc, "taru.demo", "taru", "Technical Assistance Response Unit")
    sup = _user(svc, "sgt.rivera", "supervisor", "Narcotics Division")
    det = _user(svc, "det.chen", "investigator", "Narcotics Division")
    with svc.db.read() as conn:
        carrier = conn.execute(select(carriers).where(carriers.c.name == "DemoTel")).mappings().first()
        existing = conn.execute(select(cases.c.id).where(cases.c.complaint_number == "2026-DEMO-0001")).first()
    if carrier is None:
        carrier = carrier_svc.create_carrier(svc, taru, {"name": "DemoTel", "contact": "LI desk, +1 212 555 0000",
                                                         "formats": ["etsi-102232"], "addresses": ["127.0.0.0/8"],
                                                         "hi2_port": HI2_PORT, "hi3_port": HI3_PORT})
    if existing is not None:
        return
    now = svc.now()
    plans = [
        ("2026-DEMO-0001", "Operation Harbor Light (demo)", "eavesdropping", 30, "DEMO-VOIP-0001", VOIP),
        ("2026-DEMO-0002", "Operation Night Owl (demo, PRTT)", "prtt", 60, "DEMO-IP-0001", IP),
        ("2026-DEMO-0003", "Web visitors to a queried address (demo, PRTT)", "prtt", 60, "DEMO-WEB-0001", WEB),
    ]
    for complaint, title, kind, days, liid, idents in plans:
        case = case_svc.open_case(svc, det, complaint_number=complaint, title=title, unit="Narcotics Division")
        doc = case_svc.upload_document(svc, taru, case["id"], filename=f"{complaint}-order.pdf", data=ORDER_PDF,
                                       description="Signed court order (demo)")
        start = now - timedelta(days=1)
        auth = authorities.record_authority(svc, taru, case["id"], {
            "kind": kind, "court_level": "state", "court": "Supreme Court of the State of New York, New York County",
            "judge": "Hon. Maria Delgado", "docket": f"{'EW' if kind == 'eavesdropping' else 'PR'}-{complaint[-4:]}",
            "offenses": ["PL 220.43 criminal sale of a controlled substance in the first degree"],
            "issued_at": start.isoformat(), "effective_at": start.isoformat(),
            "expires_at": (start + timedelta(days=days)).isoformat(), "identifiers": idents, "document_id": doc["id"],
            "applicant": "ADA J. Okafor"})
        case_svc.approve_case(svc, sup, case["id"], reasons="Affidavit shows probable cause; normal investigative procedures exhausted.")
        icpt = intercepts.create_intercept(svc, taru, case["id"], {"carrier_id": carrier["id"], "liid": liid, "identifiers": idents})
        intercepts.activate(svc, taru, icpt["id"])
        from calea.services import grants

        grants.create_grant(svc, taru, case["id"], {"user_id": det.user_id, "authority_id": auth["id"],
                                                   "purpose": "Case investigator: monitor and review intercepts"})
    log.info("demo data seeded")


async def run_demo_traffic(svc: Services, every: float = 60.0) -> None:
    """Deliver the demo scenario to the intake now and then every `every` seconds."""
    await asyncio.to_thread(seed, svc)
    await asyncio.sleep(4)  # let the intake open the demo carrier's ports
    while True:
        try:
            from calea.sim.carrier import deliver
            from calea.sim.scenario import load_demo_scenario

            report = await deliver(load_demo_scenario(), host="127.0.0.1", hi2_port=HI2_PORT, hi3_port=HI3_PORT,
                                   fmt="etsi-102232")
            log.info("demo carrier delivered: %s", report)
        except Exception:
            log.exception("demo traffic failed")
        await asyncio.sleep(every)
