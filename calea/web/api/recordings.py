"""/api/v1: call recordings of a case and their files, with HTTP Range requests.

Every route needs a grant and a stated purpose (C2, C5): `X-Calea-Purpose` or `?purpose=`
(an `<audio src>` cannot set a header).  Files honour one byte range (RFC 9110 section
14: `bytes=a-b`, `bytes=a-`, `bytes=-n`) with 206 and Content-Range; an unsatisfiable range
gets 416 with `Content-Range: bytes */size`; several ranges get the whole file (200, as
the RFC allows).  Intercepted audio is never cached by the browser (`no-store`).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response

from calea.services import recordings
from calea.services.context import Actor
from calea.web.auth import current_actor, require_scope, services

router = APIRouter(tags=["recordings"])
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive (first, last) byte of a single Range, None for the whole file."""
    if not header or "," in header:
        return None
    m = _RANGE.match(header)
    if m is None or (not m.group(1) and not m.group(2)):
        return None  # not a bytes range we understand: ignored, as RFC 9110 section 14.2 allows
    if not m.group(1):  # suffix: the last n bytes
        n = int(m.group(2))
        if n == 0 or size == 0:
            raise RangeNotSatisfiable()
        return max(0, size - n), size - 1
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) else size - 1
    if first >= size or last < first:
        raise RangeNotSatisfiable()
    return first, min(last, size - 1)


def reader(actor: Actor = Depends(current_actor)) -> Actor:
    require_scope(actor, "cases:read")
    return actor


@router.get("/cases/{case_id}/recordings")
def list_recordings(case_id: str, request: Request, purpose: str | None = None, limit: int = Query(200, ge=1, le=1000),
                    actor: Actor = Depends(reader)) -> list[dict[str, Any]]:
    """Stereo recordings of the case's calls (left: the target, right: the other party)."""
    return recordings.list_recordings(services(request), actor, case_id, purpose=actor.purpose, limit=limit)


@router.get("/cases/{case_id}/recordings/{recording_id}")
def get_recording(case_id: str, recording_id: str, request: Request, purpose: str | None = None,
                  actor: Actor = Depends(reader)) -> dict[str, Any]:
    """One recording: times, files (SHA-256, size), markers (minimized intervals, digits, streams)."""
    return recordings.get_recording(services(request), actor, case_id, recording_id, purpose=actor.purpose)


def _serve(request: Request, case_id: str, recording_id: str, which: str, actor: Actor) -> Response:
    asked = request.headers.get("range")
    f = recordings.open_file(services(request), actor, case_id, recording_id, which,
                             purpose=actor.purpose, byte_range=asked)
    size = len(f.data)
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{f.sha256}"', "Cache-Control": "no-store",
               "Content-Disposition": f'inline; filename="{f.filename}"'}
    try:
        span = parse_range(asked, size)
    except RangeNotSatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(b'{"error":"range_not_satisfiable","message":"the range is outside the file"}', status_code=416,
                        media_type="application/json", headers=headers)
    if span is None:
        return Response(f.data, media_type=f.media_type, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return Response(f.data[first:last + 1], status_code=206, media_type=f.media_type, headers=headers)


@router.get("/cases/{case_id}/recordings/{recording_id}/master")
def master(case_id: str, recording_id: str, request: Request, purpose: str | None = None,
           actor: Actor = Depends(reader)) -> Response:
    """The lossless master (FLAC, 8 kHz, 16-bit stereo); Range requests honoured."""
    return _serve(request, case_id, recording_id, "master", actor)


@router.get("/cases/{case_id}/recordings/{recording_id}/rendition")
def rendition(case_id: str, recording_id: str, request: Request, purpose: str | None = None,
              actor: Actor = Depends(reader)) -> Response:
    """The Opus rendition for the browser (Ogg Opus); Range requests honoured."""
    return _serve(request, case_id, recording_id, "rendition", actor)


@router.get("/cases/{case_id}/recordings/{recording_id}/peaks")
def peaks(case_id: str, recording_id: str, request: Request, purpose: str | None = None,
          actor: Actor = Depends(reader)) -> Response:
    """Waveform peaks (audiowaveform JSON v2, 8-bit, min/max per channel)."""
    return _serve(request, case_id, recording_id, "peaks", actor)
