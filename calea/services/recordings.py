"""Reading call recordings: list, metadata, and the master / Opus / peaks files (rules A6,
B3, C2, C5, D1).

* C2 / C5: intercepted content is read only under an active grant for the case, with a
  stated purpose; every read -- each list, each file or byte range served -- is an audit
  event naming the recording and the purpose.  The technical unit and the auditor read as
  they read stored records (`services.records`): no grant, but a purpose.
* B3: a recording made of quarantined data, or of an intercept quarantined since, is
  readable only by `taru` and `auditor`; to anyone else it does not exist.
* A6: under a PRTT order no recording is ever made (the gate keeps no audio and the
  recorder records nothing without it), so there is nothing to list.
* D1: each file is served with its SHA-256 (ETag) and the leaf of its signed store event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from calea.db.schema import intercepts
from calea.db.schema_recordings import recordings
from calea.domain.access import Role
from calea.errors import AccessDenied, InvalidInput, NotFound
from calea.services.access import Level, check_case_access
from calea.services.context import Actor, Services

FILES = {"master": ("master_sha256", "master_size", "audio/flac", "flac"),
         "rendition": ("rendition_sha256", "rendition_size", "audio/ogg; codecs=opus", "opus"),
         "peaks": ("peaks_sha256", "peaks_size", "application/json", "peaks.json")}
_FIELDS = ("id", "liid", "cin", "part", "format", "started_at", "ended_at", "duration_ms", "sample_rate", "placement",
           "closed_by", "late", "event_leaf", "created_at")


@dataclass(frozen=True)
class RecordingFile:
    data: bytes  # the whole file (the caller serves the requested range)
    media_type: str
    sha256: str
    filename: str


def _reader(conn: Connection, svc: Services, actor: Actor, case_id: str, purpose: str | None) -> bool:
    """Check access; True when the reader may also see quarantined recordings (B3)."""
    if actor.role in (Role.TARU, Role.AUDITOR):
        check_case_access(conn, svc, actor, case_id)
        if not (purpose or "").strip():
            raise AccessDenied("state the purpose of this read (X-Calea-Purpose or ?purpose=)", rule="C5")
        return True
    check_case_access(conn, svc, actor, case_id, Level.DATA, purpose=purpose)
    return False


def _query(case_id: str, quarantine_ok: bool) -> Any:
    q = (select(recordings, intercepts.c.quarantined_at)
         .join(intercepts, intercepts.c.id == recordings.c.intercept_id)
         .where(recordings.c.case_id == case_id))
    if not quarantine_ok:  # B3
        q = q.where(recordings.c.quarantined.is_(False), intercepts.c.quarantined_at.is_(None))
    return q


def _view(r: Any, *, markers: bool) -> dict[str, Any]:
    out = {k: r[k] for k in _FIELDS}
    out["quarantined"] = bool(r["quarantined"] or r["quarantined_at"] is not None)
    out["files"] = {name: {"sha256": r[sha], "size": r[size], "media_type": mt} for name, (sha, size, mt, _) in FILES.items()}
    if markers:
        out["markers"] = r["markers"]
    else:
        m = r["markers"] or {}
        out["minimized"] = m.get("minimized", [])
        out["digits"] = len(m.get("digits", []))
    return out


def list_recordings(svc: Services, actor: Actor, case_id: str, *, purpose: str | None, limit: int = 200) -> list[dict[str, Any]]:
    with svc.db.write() as conn:
        quarantine_ok = _reader(conn, svc, actor, case_id, purpose)
        rows = conn.execute(_query(case_id, quarantine_ok).order_by(recordings.c.started_at.desc())
                            .limit(max(1, min(limit, 1000)))).mappings().all()
        svc.audit(conn, actor, "recordings.list", case_id=case_id, object_type="recordings",
                  object_id=f"{len(rows)} recordings", purpose=purpose)
    return [_view(r, markers=False) for r in rows]


def get_recording(svc: Services, actor: Actor, case_id: str, recording_id: str, *, purpose: str | None) -> dict[str, Any]:
    with svc.db.write() as conn:
        quarantine_ok = _reader(conn, svc, actor, case_id, purpose)
        row = conn.execute(_query(case_id, quarantine_ok).where(recordings.c.id == recording_id)).mappings().first()
        if row is None:
            raise NotFound("no such recording in this case")
        svc.audit(conn, actor, "recordings.read", case_id=case_id, object_type="recording", object_id=recording_id,
                  purpose=purpose)
    return _view(row, markers=True)


def open_file(svc: Services, actor: Actor, case_id: str, recording_id: str, which: str, *, purpose: str | None,
              byte_range: str | None = None) -> RecordingFile:
    """One of the recording's files; `byte_range` (the Range asked for) goes into the audit."""
    if which not in FILES:
        raise InvalidInput(f"no file {which!r}: one of {', '.join(FILES)}", field="file")
    sha_col, _, media_type, ext = FILES[which]
    with svc.db.write() as conn:
        quarantine_ok = _reader(conn, svc, actor, case_id, purpose)
        row = conn.execute(_query(case_id, quarantine_ok).where(recordings.c.id == recording_id)).mappings().first()
        if row is None:
            raise NotFound("no such recording in this case")
        svc.audit(conn, actor, f"recordings.{which}", case_id=case_id, object_type="recording", object_id=recording_id,
                  purpose=purpose, detail=f"bytes {byte_range}" if byte_range else "whole file")
    sha = row[sha_col]
    try:
        data = svc.content.get(sha)
    except FileNotFoundError:
        raise NotFound("the recording's file is missing from the content store (see `calea verify`)") from None
    return RecordingFile(data, media_type, sha, f"{row['liid']}-{row['cin']}-{row['part']}.{ext}")
