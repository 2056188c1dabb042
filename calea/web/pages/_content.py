"""What the content pages (calls, messages, traffic) share: the access check before anything
is read (C2), the stated purpose every read carries (C5), links that keep it, the time and
size formats of the tables.

The purpose travels in the query string (`?purpose=`), as the JSON API accepts it, so that
the links of these pages -- the next page of calls, a call, its recording's `<audio src>`,
a CSV or pcap download -- each carry it to the service that records it with the read.
A page without one asks for it first, after the grant was checked, and reads nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from calea.domain.cases import Case
from calea.errors import CaleaError, InvalidInput
from calea.services import intercepts
from calea.services.access import Level, ensure_case_access
from calea.services.context import Actor
from calea.services.dataread import REVIEWERS
from calea.web.auth import services
from calea.web.pages._common import record_refusal, render, templates, text, utc

PURPOSE_MAX = 500
SECTIONS = (("calls", "Calls"), ("messages", "Messages"), ("traffic", "Traffic"))


def content_case(request: Request, actor: Actor, case_id: str) -> Case:
    """C2 before anything is looked at: taru and the auditor read a case's call-identifying
    data without a grant (as the services allow them); everyone else needs an active grant
    and a role that reads intercepted data."""
    level = Level.RECORD if actor.role in REVIEWERS else Level.DATA
    return ensure_case_access(services(request), actor, case_id, level)


def stated_purpose(request: Request) -> str:
    return text(request.query_params, "purpose")[:PURPOSE_MAX]


Download = tuple[Iterable[Any], str, str]  # (chunks or lines, media type, file name)


def download(request: Request, actor: Actor, case_id: str, fetch: Callable[[str], Download],
             page: Callable[[CaleaError | None], Response], shown: tuple[type[CaleaError], ...]) -> Response:
    """A file read under the stated purpose (C5), as the pages' download links ask for it:
    without a purpose, `page(None)` (which asks for one); a refusal of the kinds `shown`
    recorded and shown on `page(error)`; otherwise `fetch(purpose)`'s file, streamed."""
    content_case(request, actor, case_id)
    purpose = stated_purpose(request)
    if not purpose:
        return page(None)
    try:
        chunks, media_type, filename = fetch(purpose)
    except shown as exc:
        record_refusal(request, exc)
        return page(exc)
    return StreamingResponse(chunks, media_type=media_type,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def url(path: str, **params: Any) -> str:
    """`path?k=v...` without the empty values (a link that keeps the purpose and filters)."""
    kept = {k: str(v) for k, v in params.items() if v is not None and v is not False and str(v) != ""}
    return f"{path}?{urlencode(kept, quote_via=quote)}" if kept else path


def iso(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else ""


def when(query: Mapping[str, Any], name: str) -> datetime | None:
    """A `datetime-local` filter, read as UTC (InvalidInput naming the field otherwise)."""
    value = utc(query, name)
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def intercept_choices(request: Request, actor: Actor, case_id: str) -> list[dict[str, Any]]:
    """The case's intercepts for the filter (a read of the case record, audited)."""
    return [{"id": i["id"], "liid": i["liid"], "status": i["status"]}
            for i in intercepts.list_intercepts(services(request), actor, case_id)]


def chosen_intercept(query: Mapping[str, Any], choices: list[dict[str, Any]]) -> str | None:
    wanted = text(query, "intercept_id")
    if not wanted:
        return None
    if wanted not in {i["id"] for i in choices}:
        raise InvalidInput("no such intercept in this case", field="intercept_id")
    return wanted


def ask_purpose(request: Request, case: Case, section: str, *, keep: Mapping[str, str] | None = None,
                heading: str = "") -> Response:
    """The form that asks for the purpose of the read (C5) before anything is read."""
    kept = {k: v for k, v in (keep or {}).items() if v and k != "purpose"}
    return render(request, "content/purpose.html", case=case, section=section, keep=kept,
                  heading=heading or dict(SECTIONS).get(section, section.title()))


# -- formats ------------------------------------------------------------------------------

def clock(seconds: Any, tenths: bool = False) -> str:
    """1:05 / 1:02:03 (or 1:05.3 with tenths) for a duration in seconds ('—' when unknown)."""
    if seconds is None:
        return "—"
    if tenths:
        t = max(0.0, float(seconds))
        return f"{int(t // 60)}:{t % 60:04.1f}"
    s = max(0, int(round(float(seconds))))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def size(n: Any) -> str:
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def cell_id(location: Any) -> str:
    """The cell global identity MCC-MNC-LAC-CI of a call or event ('' when none)."""
    if not isinstance(location, dict):
        return ""
    c = location.get("cell") or {}
    return "-".join(str(c[k]) for k in ("mcc", "mnc", "lac", "ci") if k in c)


def geo(location: Any) -> str:
    if not isinstance(location, dict):
        return ""
    g = location.get("geo") or {}
    if "latitude" in g and "longitude" in g:
        return f"{float(g['latitude']):.5f}, {float(g['longitude']):.5f}"
    return ""


templates.env.globals["url"] = url
templates.env.globals["content_sections"] = SECTIONS
templates.env.filters["clock"] = clock
templates.env.filters["size"] = size
templates.env.filters["cell_id"] = cell_id
templates.env.filters["geo"] = geo
templates.env.filters["iso"] = iso


PAGE_MAX = 10**6  # a page number beyond this (or beyond the last page) reads the last page


def requested_page(query: Mapping[str, Any], name: str = "page") -> int:
    """The `page=` (or another `name`) of a paged table: 1 for anything but a positive whole
    number in ASCII digits; at most PAGE_MAX (a page past the last shows the last, or none on
    the calls page)."""
    raw = text(query, name)
    if not (raw.isascii() and raw.isdigit()):
        return 1
    return PAGE_MAX if len(raw) > 7 else max(1, min(int(raw), PAGE_MAX))


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))
