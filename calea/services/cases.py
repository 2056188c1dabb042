"""Cases, their approval and their documents (rules B1, B5, B6, A9)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from calea.db.schema import cases, documents, users
from calea.domain.access import Perm, require
from calea.domain.cases import Case, validate_case_approval, validate_case_opening
from calea.errors import Conflict, InvalidInput, NotFound, RuleViolation
from calea.services.access import check_case_access, may_see_record
from calea.services.context import Actor, Services
from calea.services.rows import case_from

MAX_DOCUMENT = 50 * 1024 * 1024
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def case_dict(c: Case) -> dict[str, Any]:
    return {
        "id": c.id, "complaint_number": c.complaint_number, "title": c.title, "unit": c.unit,
        "political_activity": c.political_activity, "opened_by": c.opened_by, "opened_at": c.opened_at,
        "approval": None if c.approval is None else {
            "approved_by": c.approval.approved_by, "approved_at": c.approval.approved_at, "reasons": c.approval.reasons,
        },
        "closed_at": c.closed_at,
    }


def open_case(svc: Services, actor: Actor, *, complaint_number: str, title: str, unit: str | None = None,
              political_activity: bool = False) -> dict[str, Any]:
    """B1, B5: a complaint number; political activity only by the Intelligence Division."""
    require(actor.role, Perm.OPEN_CASE)
    unit = (unit or actor.unit).strip()
    validate_case_opening(complaint_number, title, unit, political_activity, actor.unit)
    with svc.db.write() as conn:
        case_id = svc.new_id()
        try:
            with conn.begin_nested():
                conn.execute(insert(cases).values(
                    id=case_id, complaint_number=complaint_number.strip(), title=title.strip(), unit=unit,
                    political_activity=political_activity, opened_by=actor.user_id, opened_at=svc.now(),
                ))
        except IntegrityError:
            raise Conflict("a case with this complaint number exists", field="complaint_number") from None
        svc.audit(conn, actor, "case.open", case_id=case_id, object_type="case", object_id=case_id)
        return case_dict(case_from(conn.execute(select(cases).where(cases.c.id == case_id)).mappings().one()))


def approve_case(svc: Services, actor: Actor, case_id: str, *, reasons: str) -> dict[str, Any]:
    """B6: a supervisor approves the use of the system on the case, with reasons."""
    require(actor.role, Perm.APPROVE)
    with svc.db.write() as conn:
        case = check_case_access(conn, svc, actor, case_id)
        validate_case_approval(case, actor.user_id, reasons)
        conn.execute(update(cases).where(cases.c.id == case_id).values(
            approved_by=actor.user_id, approved_at=svc.now(), approval_reasons=reasons.strip(),
        ))
        svc.audit(conn, actor, "case.approve", case_id=case_id, object_type="case", object_id=case_id)
        return case_dict(case_from(conn.execute(select(cases).where(cases.c.id == case_id)).mappings().one()))


def get_case(svc: Services, actor: Actor, case_id: str) -> dict[str, Any]:
    with svc.db.write() as conn:
        case = check_case_access(conn, svc, actor, case_id)
        svc.audit(conn, actor, "case.read", case_id=case_id, object_type="case", object_id=case_id)
        return case_dict(case)


def list_cases(svc: Services, actor: Actor) -> list[dict[str, Any]]:
    """The cases the actor may see (C2): the same rule as every case endpoint."""
    with svc.db.read() as conn:
        rows = conn.execute(select(cases).order_by(cases.c.opened_at.desc())).mappings().all()
        return [case_dict(c) for c in map(case_from, rows) if may_see_record(conn, svc, actor, c)]


def sniff_media_type(data: bytes) -> str:
    for magic, media in _MAGIC:
        if data.startswith(magic):
            return media
    raise InvalidInput("a document is a PDF or an image (PNG, JPEG, TIFF)", field="file", rule="A9")


def document_dict(r: Any) -> dict[str, Any]:
    return {k: r[k] for k in ("id", "case_id", "sha256", "media_type", "filename", "size", "description", "uploaded_by", "uploaded_at")}


def upload_document(svc: Services, actor: Actor, case_id: str, *, filename: str, data: bytes,
                    description: str = "") -> dict[str, Any]:
    """A9: the court's document, kept with its SHA-256 in the content store, never altered."""
    require(actor.role, Perm.REQUEST_AUTHORITY)
    if not data:
        raise InvalidInput("the file is empty", field="file")
    if len(data) > MAX_DOCUMENT:
        raise InvalidInput("a document is at most 50 MiB", field="file")
    media = sniff_media_type(data)
    with svc.db.write() as conn:
        check_case_access(conn, svc, actor, case_id)
        sha = svc.content.put(data)
        doc_id = svc.new_id()
        conn.execute(insert(documents).values(
            id=doc_id, case_id=case_id, sha256=sha, media_type=media, filename=(filename or "document")[:255],
            size=len(data), description=description[:300], uploaded_by=actor.user_id, uploaded_at=svc.now(),
        ))
        svc.audit(conn, actor, "document.upload", case_id=case_id, object_type="document", object_id=doc_id, detail=f"sha256={sha}")
        return document_dict(conn.execute(select(documents).where(documents.c.id == doc_id)).mappings().one())


def load_document(conn: Connection, doc_id: str) -> Any:
    row = conn.execute(select(documents).where(documents.c.id == doc_id)).mappings().first()
    if row is None:
        raise NotFound("no such document")
    return row


def read_document(svc: Services, actor: Actor, doc_id: str) -> tuple[dict[str, Any], bytes]:
    with svc.db.write() as conn:
        row = load_document(conn, doc_id)
        check_case_access(conn, svc, actor, row["case_id"])
        data = svc.content.get(row["sha256"])
        if hashlib.sha256(data).hexdigest() != row["sha256"]:
            svc.alert(conn, "document.integrity", f"document {doc_id} does not match its SHA-256", severity="critical", rule="D1", case_id=row["case_id"])
            raise RuleViolation("the stored document does not match its recorded SHA-256", rule="D1")
        svc.audit(conn, actor, "document.read", case_id=row["case_id"], object_type="document", object_id=doc_id)
        return document_dict(row), data


def list_documents(svc: Services, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    with svc.db.write() as conn:
        check_case_access(conn, svc, actor, case_id)
        svc.audit(conn, actor, "document.list", case_id=case_id, object_type="case", object_id=case_id)
        return [document_dict(r) for r in conn.execute(select(documents).where(documents.c.case_id == case_id).order_by(documents.c.uploaded_at)).mappings()]


def username_of(conn: Connection, user_id: str | None) -> str | None:
    if not user_id:
        return None
    return conn.execute(select(users.c.username).where(users.c.id == user_id)).scalar()

