"""What the content pages (calls, messages, traffic) share: the access check before anything
is read (C2), the stated purpose every read carries (C5), links that keep it, the time and
size formats of the tables.

A page without a purpose asks for it first, after the grant was checked, and reads nothing.
The form posts it to `POST /cases/{case_id}/reading`, which keeps it on the server for the
session and the case (`calea.services.reading`) and sends the reader back with its opaque id
in `?purpose=`: the links of these pages -- the next page of calls, a call, its recording's
`<audio src>`, a CSV or pcap download -- carry the id, and the service that records each read
gets the purpose in words.  The purpose itself is never in a URL, so never in the browser's
history.  (A purpose in words in `?purpose=`, as the JSON API takes it, works too.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from starlette.datastructures import FormData

from calea.domain.cases import Case
from calea.errors import CaleaError, InvalidInput
from calea.services import intercepts, reading
from calea.services.access import Level, ensure_case_access
from calea.services.context import Actor
from calea.services.dataread import REVIEWERS
from calea.web.auth import services
from calea.web.auth import resolve
from calea.web.pages._common import Signed, Submitted, record_refusal, render, templates, text, utc

router = APIRouter()

PURPOSE_MAX = reading.PURPOSE_MAX
SECTIONS = (("calls", "Calls"), ("messages", "Messages"), ("traffic", "Traffic"))


def content_case(request: Request, actor: Actor, case_id: str) -> Case:
    """C2 before anything is looked at: taru and the auditor read a case's call-identifying
    data without a grant (as the services allow them); everyone else needs an active grant
    and a role that reads intercepted data."""
    level = Level.RECORD if actor.role in REVIEWERS else Level.DATA
    return ensure_case_access(services(request), actor, case_id, level)


def stated_purpose(request: Request) -> str:
    """The purpose of this read in words ('' when none was stated, or its id is not this
    session's for this case)."""
    return (resolve(request).purpose or "")[:PURPOSE_MAX]


def purpose_link(request: Request) -> str:
    """What the page's links carry in `?purpose=`: as it came (the id of a reading context,
    or words from an API-style link)."""
    return text(request.query_params, "purpose")[:PURPOSE_MAX]


@router.post("/cases/{case_id}/reading")
def state_purpose(case_id: str, request: Request, actor: Actor = Signed, form: FormData = Submitted) -> Response:
    """The purpose form (C5): kept for this session and case; back to the page that asked,
    its link carrying the purpose's id."""
    case = content_case(request, actor, case_id)
    back = text(form, "next")
    prefix = f"/cases/{case_id}/"
    if not back.startswith(prefix) or "//" in back or "\\" in back:
        raise InvalidInput("the page to go back to is not one of this case's", field="next")
    path, _, query = back.partition("?")
    kept = [(k, v) for k, v in parse_qsl(query) if k != "purpose"]
    try:
        ref = reading.state(services(request), actor, case_id, text(form, "purpose"))
    except InvalidInput as exc:
        record_refusal(request, exc)
        return ask_purpose(request, case, path[len(prefix):].split("/")[0], keep=dict(kept), path=path, error=exc)
    return RedirectResponse(f"{path}?{urlencode([('purpose', ref), *kept], quote_via=quote)}", status_code=303)


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
                heading: str = "", path: str | None = None, error: CaleaError | None = None) -> Response:
    """The form that asks for the purpose of the read (C5) before anything is read; it comes
    back to this page (`path`, default the one asked for) with the filters in `keep`."""
    kept = {k: v for k, v in (keep or {}).items() if v and k != "purpose"}
    return render(request, "content/purpose.html", status=error.status if error else 200, error=error, case=case,
                  section=section, next=url(path or request.url.path, **kept),
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
