"""Translate database rows into the domain's frozen dataclasses (and identifiers back)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from calea.domain.access import Grant
from calea.domain.authorities import Authority, AuthorityKind, CourtLevel
from calea.domain.cases import Approval, Case
from calea.domain.exigent import Declaration, Finding
from calea.domain.identifiers import Identifier, IdentifierKind
from calea.domain.intercepts import Intercept

Row = Mapping[str, Any]


def identifiers_from(data: list[dict[str, str]]) -> tuple[Identifier, ...]:
    return tuple(Identifier(IdentifierKind(d["kind"]), d["value"]) for d in data)


def identifiers_to(items: tuple[Identifier, ...] | list[Identifier]) -> list[dict[str, str]]:
    return [i.to_dict() for i in items]


def case_from(r: Row) -> Case:
    approval = None
    if r["approved_at"] is not None:
        approval = Approval(r["approved_by"], r["approved_at"], r["approval_reasons"] or "")
    return Case(
        id=r["id"], complaint_number=r["complaint_number"], title=r["title"], unit=r["unit"],
        political_activity=bool(r["political_activity"]), opened_by=r["opened_by"],
        opened_at=r["opened_at"], approval=approval, closed_at=r["closed_at"],
    )


def authority_from(r: Row) -> Authority:
    return Authority(
        id=r["id"], case_id=r["case_id"], kind=AuthorityKind(r["kind"]), court_level=CourtLevel(r["court_level"]),
        court=r["court"], judge=r["judge"], docket=r["docket"], offenses=tuple(r["offenses"]),
        issued_at=r["issued_at"], effective_at=r["effective_at"], expires_at=r["expires_at"],
        identifiers=identifiers_from(r["identifiers"]), parent_id=r["parent_id"], findings=r["findings"] or "",
        document_id=r["document_id"], declaration_id=r["declaration_id"], deadline_at=r["deadline_at"],
        terminated_at=r["terminated_at"], applicant=r["applicant"] or "",
        progress_report_days=r["progress_report_days"],
    )


def declaration_from(r: Row) -> Declaration:
    findings = {k: Finding(bool(v["answered"]), v["justification"]) for k, v in r["findings"].items()}
    return Declaration(
        id=r["id"], case_id=r["case_id"], kind=AuthorityKind(r["kind"]), court_level=CourtLevel(r["court_level"]),
        findings=findings, declared_by=r["declared_by"], declared_at=r["declared_at"],
        approved_by=r["approved_by"], approved_at=r["approved_at"], first_use_at=r["first_use_at"],
    )


def intercept_from(r: Row) -> Intercept:
    return Intercept(
        id=r["id"], case_id=r["case_id"], carrier_id=r["carrier_id"], liid=r["liid"],
        identifiers=identifiers_from(r["identifiers"]), created_at=r["created_at"],
        activated_at=r["activated_at"], activated_by=r["activated_by"],
        basis_authority_id=r["basis_authority_id"], deactivated_at=r["deactivated_at"],
        quarantined_at=r["quarantined_at"], quarantine_reason=r["quarantine_reason"],
    )


def grant_from(r: Row) -> Grant:
    return Grant(
        id=r["id"], user_id=r["user_id"], case_id=r["case_id"], authority_id=r["authority_id"],
        granted_by=r["granted_by"], starts_at=r["starts_at"], ends_at=r["ends_at"], purpose=r["purpose"],
        court_order=r["court_order"], revoked_at=r["revoked_at"], suspended_at=r["suspended_at"],
    )
