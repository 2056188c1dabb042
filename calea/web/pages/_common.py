"""What every page shares: the templates, the signed-in actor, flash messages, the audit of
refused page actions (C5) and the parsing of HTML form values.

Pages hold no rule of their own: they parse a form, call the same service the JSON API
calls, and either redirect with a success code (redirect-after-post) or re-render the page
with the refusal and its rule id, keeping what the person typed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from calea.audit import log as audit_log
from calea.domain.access import Perm, has_perm
from calea.errors import AccessDenied, CaleaError, InvalidInput, NotAuthenticated
from calea.services.context import Actor, Services
from calea.web.auth import client_ip, current_actor

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES))


def _dt(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(timezone.utc).strftime(fmt) if value else "—"


def _span(delta_seconds: float) -> str:
    s = int(abs(delta_seconds))
    days, hours, minutes = s // 86400, s % 86400 // 3600, s % 3600 // 60
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def _relative(value: datetime | None, now: datetime) -> str:
    """'in 23h 10m' or '2d 4h ago' (for deadlines and windows)."""
    if value is None:
        return ""
    delta = (value - now).total_seconds()
    return f"in {_span(delta)}" if delta >= 0 else f"{_span(delta)} ago"


templates.env.filters["dt"] = _dt
templates.env.filters["short"] = lambda v: (str(v)[:8] if v else "—")
templates.env.globals["relative"] = _relative

# Success messages are fixed texts chosen by code, so a link cannot make the console say
# anything else (?ok=<code>).
OK_MESSAGES = {
    "case.opened": "Case opened.",
    "case.approved": "Use of the system on this case is approved (B6).",
    "document.uploaded": "Document stored with its SHA-256 (A9).",
    "authority.recorded": "Authority recorded.",
    "authority.extended": "Extension recorded (A5).",
    "authority.document": "Court document attached to the authority.",
    "authority.terminated": "Authority terminated; grants resting on it ended.",
    "declaration.created": "Exigent declaration recorded; a supervisor other than the declarant approves it (B2).",
    "declaration.approved": "Exigent declaration approved (B2).",
    "intercept.created": "Intercept created; it is pending until activated (B1).",
    "intercept.activated": "Intercept activated; the carrier package is ready (B4).",
    "intercept.deactivated": "Intercept deactivated.",
    "package.sent": "Recorded: package sent to the carrier (B4).",
    "package.acknowledged": "Recorded: the carrier acknowledged the package (B4).",
    "grant.created": "Access granted; it ends no later than its authority (C2).",
    "grant.revoked": "Grant revoked.",
    "carrier.created": "Carrier added.",
    "carrier.updated": "Carrier changed: the intake applies it within seconds.",
    "user.created": "User created.",
    "user.offboarded": "User offboarded: grants, sessions and tokens ended (C3).",
    "user.unlocked": "Account unlocked.",
    "user.mfa_reset": "Account unlocked and second factor reset; the user enrols again.",
    "alert.acknowledged": "Alert acknowledged.",
    "settings.saved": "Network policy saved (C4).",
    "mfa.enrolled": "Second factor enrolled.",
}

RULES = {  # short titles for the rule chips (LEGAL-RULES.md)
    "A1": "PRTT order: call-identifying information, ≤ 60 days",
    "A2": "Eavesdropping warrant: content, ≤ 30 days, effective ≤ 10 days after issue",
    "A3": "Emergency PRTT: order within 48 h of first use",
    "A4": "Emergency eavesdropping: warrant within 24 h (state) / 48 h (federal); no extension",
    "A5": "Extension: own findings, starts when the parent ends",
    "A6": "No content under a PRTT",
    "A7": "Only named identifiers are collected",
    "A8": "The window is judged on the interception time",
    "A9": "Court, judge, docket, offenses and document are recorded",
    "B1": "Only taru activates, with all documentation",
    "B2": "Exigent Circumstances Declaration: four findings, supervisor approval",
    "B3": "Missed emergency deadline: intake stops, data quarantined",
    "B4": "Carrier package sent and acknowledged",
    "B5": "Political activity: Intelligence Division only",
    "B6": "A supervisor approves the use of the system",
    "C1": "Unique users, roles, least privilege",
    "C2": "Case data only through a grant from taru",
    "C3": "Transfer or departure ends all grants and sessions",
    "C4": "Second factor outside the facility; authorised workstations",
    "C5": "Every read and change is audited",
    "C6": "External agencies by court order",
    "D1": "Every record is signed",
}


class PageRedirect(CaleaError):
    """Raised by a page dependency to send the browser elsewhere (e.g. to the second factor)."""

    status = 303
    code = "redirect"

    def __init__(self, location: str) -> None:
        super().__init__(f"see {location}")
        self.location = location


def page_actor(request: Request) -> Actor:
    """The signed-in browser user.  A pending second factor goes to /mfa (C4); API tokens
    use /api/v1, where their scopes are checked, never the pages."""
    try:
        actor = current_actor(request)
    except NotAuthenticated as exc:
        if exc.rule == "C4" and getattr(request.state, "actor", None) is not None:
            raise PageRedirect("/mfa") from None
        raise
    if actor.scopes is not None:
        raise AccessDenied("API tokens use /api/v1; the console needs a signed-in session", rule="C1")
    return actor


Signed = Depends(page_actor)


async def form_data(request: Request) -> AsyncIterator[FormData]:
    """The submitted form; uploaded files are closed when the request is done."""
    form = await request.form()
    try:
        yield form
    finally:
        await form.close()


Submitted = Depends(form_data)


def nav_for(actor: Actor | None) -> list[tuple[str, str]]:
    if actor is None:
        return []
    role = actor.role
    items: list[tuple[str, str]] = []
    if has_perm(role, Perm.READ_CASE) or has_perm(role, Perm.OPEN_CASE):
        items.append(("/cases", "Cases"))
    if has_perm(role, Perm.ACTIVATE):
        items.append(("/intercepts", "Intercepts"))
    if has_perm(role, Perm.MANAGE_CARRIERS):
        items.append(("/carriers", "Carriers"))
    if has_perm(role, Perm.MANAGE_USERS):
        items.append(("/users", "Users"))
    if has_perm(role, Perm.READ_ALERTS):
        items.append(("/intake", "Intake"))
        items.append(("/alerts", "Alerts"))
    if has_perm(role, Perm.READ_AUDIT):
        items.append(("/audit", "Audit"))
    if has_perm(role, Perm.MANAGE_SETTINGS):
        items.append(("/settings/network", "Network"))
    if has_perm(role, Perm.SYSTEM_HEALTH):
        items.append(("/system", "System"))
    return items


def home_for(actor: Actor) -> str:
    nav = nav_for(actor)
    return nav[0][0] if nav else "/account/mfa"


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    actor = ctx.setdefault("actor", getattr(request.state, "actor", None))
    ctx.setdefault("nav", nav_for(actor))
    ctx.setdefault("path", request.url.path)
    ctx.setdefault("ok", OK_MESSAGES.get(request.query_params.get("ok", "")))
    ctx.setdefault("error", None)
    ctx.setdefault("form", {})
    ctx.setdefault("open_form", None)
    ctx.setdefault("rules", RULES)
    ctx.setdefault("can", (lambda perm: actor is not None and has_perm(actor.role, Perm(perm))))
    svc: Services = request.app.state.services
    ctx.setdefault("now", svc.now())
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def error_page(request: Request, exc: CaleaError) -> Response:
    """The page for a refusal raised outside a form handler (e.g. a case without a grant).
    The refusal is itself an audit event (C5), written before the page is sent: a refusal
    shown is a refusal recorded."""
    if isinstance(exc, PageRedirect):
        return RedirectResponse(exc.location, status_code=303)
    record_refusal(request, exc)
    return render(request, "error.html", status=exc.status, error=exc)


def record_refusal(request: Request, exc: CaleaError) -> None:
    """C5: a refused page action is recorded like a refused API request."""
    svc: Services = request.app.state.services
    actor: Actor | None = getattr(request.state, "actor", None)
    params = request.scope.get("path_params") or {}
    route = request.scope.get("route")
    obj_type = obj_id = None
    for key in ("intercept_id", "authority_id", "document_id", "declaration_id", "grant_id", "user_id", "alert_id", "case_id"):
        if key in params:
            obj_type, obj_id = key[:-3], params[key]
            break
    detail = f"{exc.code}: {exc.message}" + (f" [rule {exc.rule}]" if exc.rule else "")
    event = audit_log.AuditEvent(
        at=svc.now(), action=f"page {request.method} {getattr(route, 'path', request.url.path)}",
        outcome="error" if exc.status >= 500 else "refused", status=exc.status, method=request.method,
        path=request.url.path[:500], ip=client_ip(request), user_id=actor.user_id if actor else None,
        username=actor.username if actor else None, role=actor.role.value if actor else None,
        case_id=params.get("case_id"), object_type=obj_type, object_id=obj_id, detail=detail[:2000],
    )
    audit_log.record(svc.db, event)


def attempt(request: Request, action: Callable[[], str], refused: Callable[[CaleaError], Response]) -> Response:
    """Run a form's action: on success redirect (after post) to the URL it returns; on a
    refusal record it (C5) and re-render the page with the message and rule id."""
    try:
        target = action()
    except CaleaError as exc:
        if isinstance(exc, NotAuthenticated):
            raise
        record_refusal(request, exc)
        return refused(exc)
    return RedirectResponse(target, status_code=303)


def with_ok(url: str, code: str, anchor: str = "") -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}ok={quote(code)}" + (f"#{anchor}" if anchor else "")


def safe_next(value: Any, default: str) -> str:
    """A same-site path to return to after a form (never another host)."""
    v = str(value or "")
    if v.startswith("/") and not v.startswith("//") and "\\" not in v and "\n" not in v:
        return v
    return default


# -- form values --------------------------------------------------------------------------

def text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def flag(form: Mapping[str, Any], name: str) -> bool:
    return text(form, name).lower() in ("on", "1", "true", "yes")


def lines(form: Mapping[str, Any], name: str) -> list[str]:
    return [ln.strip() for ln in text(form, name).replace(";", "\n").splitlines() if ln.strip()]


def utc(form: Mapping[str, Any], name: str) -> str | None:
    """A `datetime-local` value, read as UTC (the console shows every time in UTC)."""
    raw = text(form, name)
    if not raw:
        return None
    try:
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name.replace('_', ' ')} is a date and time (UTC)", field=name) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


IDENTIFIER_KINDS = ("e164", "imsi", "imei", "sip_uri", "ip", "url", "email")


def identifiers(form: Mapping[str, Any], name: str = "identifiers") -> list[dict[str, str]]:
    """Identifier lines `kind:value`, e.g. `e164:+12125550100`, `sip_uri:sip:a@example.net` (A7)."""
    out = []
    for line in text(form, name).splitlines():
        line = line.strip()
        if not line:
            continue
        kind, sep, value = line.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in IDENTIFIER_KINDS or not value.strip():
            raise InvalidInput(f"identifier line {line!r} is not kind:value (kinds: {', '.join(IDENTIFIER_KINDS)})",
                               field=name, rule="A7")
        out.append({"kind": kind, "value": value.strip()})
    return out


def form_values(form: FormData | Mapping[str, Any]) -> dict[str, str]:
    """What the person typed, to fill the form again after a refusal (files are dropped)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "password"}


def upload_bytes(form: FormData, name: str) -> tuple[str, bytes]:
    f = form.get(name)
    if not isinstance(f, UploadFile):
        raise InvalidInput("choose a file", field=name)
    return f.filename or "document", f.file.read()
