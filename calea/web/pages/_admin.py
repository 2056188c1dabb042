"""The technical unit's pages: intercepts, carriers, the intake, users (C1, C3), alerts, the
network policy (C4), and the system health page (the vendor's view: no intercept data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from calea import __version__
from calea.domain.access import Perm, Role, require
from calea.errors import CaleaError
from calea.services import alerts, carriers, cases, intercepts, records, settings, users
from calea.services.carriers import FORMATS
from calea.services.context import Actor
from calea.web.auth import services
from calea.web.pages._common import Signed, Submitted, attempt, flag, form_values, lines, render, text, with_ok

router = APIRouter()


# -- intercepts --------------------------------------------------------------------------

@router.get("/intercepts", response_class=HTMLResponse)
def intercepts_page(request: Request, actor: Actor = Signed) -> Response:
    return intercepts_view(request, actor)


def intercepts_view(request: Request, actor: Actor, *, status: int = 200, error: CaleaError | None = None) -> Response:
    svc = services(request)
    rows = intercepts.list_intercepts(svc, actor)
    case_map = {c["id"]: c for c in cases.list_cases(svc, actor)}
    carrier_names = {c["id"]: c["name"] for c in carriers.list_carriers(svc, actor)}
    return render(request, "intercepts.html", status=status, error=error, intercepts=rows, case_map=case_map,
                  carrier_names=carrier_names)


# -- carriers ----------------------------------------------------------------------------

@router.get("/carriers", response_class=HTMLResponse)
def carriers_page(request: Request, actor: Actor = Signed) -> Response:
    return carriers_view(request, actor)


def carriers_view(request: Request, actor: Actor, *, status: int = 200, error: CaleaError | None = None,
                  form: dict[str, Any] | None = None) -> Response:
    return render(request, "carriers.html", status=status, error=error, form=form or {}, open_form="carrier" if form else None,
                  carriers=carriers.list_carriers(services(request), actor), formats=FORMATS)


@router.post("/carriers")
def create_carrier(request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body = {"name": text(form, "name"), **_carrier_fields(form), "tls_client_cert": text(form, "tls_client_cert") or None}
        carriers.create_carrier(services(request), actor, body)
        return with_ok("/carriers", "carrier.created")

    def refused(exc: CaleaError) -> Response:
        return carriers_view(request, actor, status=exc.status, error=exc, form=_carrier_form(form))

    return attempt(request, act, refused)


def _carrier_fields(form: FormData) -> dict[str, Any]:
    """The fields a carrier is added and changed with (`carrier_fields.html`)."""
    return {"contact": text(form, "contact"), "formats": [str(f) for f in form.getlist("formats")] or None,
            "addresses": lines(form, "addresses"), "hi2_port": text(form, "hi2_port") or None,
            "hi3_port": text(form, "hi3_port") or None}


def _carrier_form(form: FormData) -> dict[str, Any]:
    """A refused carrier form as it was typed (the formats are several values of one name)."""
    values: dict[str, Any] = form_values(form)
    values["formats"] = [str(f) for f in form.getlist("formats")]
    return values


@router.get("/carriers/{carrier_id}", response_class=HTMLResponse)
def carrier_page(carrier_id: str, request: Request, actor: Actor = Signed) -> Response:
    return carrier_view(request, actor, carrier_id)


def carrier_view(request: Request, actor: Actor, carrier_id: str, *, status: int = 200, error: CaleaError | None = None,
                 form: dict[str, Any] | None = None) -> Response:
    return render(request, "carrier.html", status=status, error=error, form=form or {},
                  open_form="carrier-edit" if form else None, formats=FORMATS,
                  carrier=carriers.get_carrier(services(request), actor, carrier_id))


@router.post("/carriers/{carrier_id}")
def update_carrier(carrier_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        body = _carrier_fields(form)
        if flag(form, "remove_tls_client_cert"):
            body["tls_client_cert"] = None
        elif text(form, "tls_client_cert"):
            body["tls_client_cert"] = text(form, "tls_client_cert")
        carriers.update_carrier(services(request), actor, carrier_id, body)
        return with_ok(f"/carriers/{carrier_id}", "carrier.updated")

    def refused(exc: CaleaError) -> Response:
        return carrier_view(request, actor, carrier_id, status=exc.status, error=exc, form=_carrier_form(form))

    return attempt(request, act, refused)


# -- the intake ---------------------------------------------------------------------------

INTAKE_LIMIT = 100  # refusals and malformed records shown, the latest first


@router.get("/intake", response_class=HTMLResponse)
def intake_page(request: Request, actor: Actor = Signed) -> Response:
    """Counters, listeners and connections of the intake running in this process; the
    streams with sequence gaps, the refused deliveries (A7) and the malformed records the
    store holds.  The same facts as `GET /api/v1/intake`, for the roles that read alerts."""
    view = records.intake_view(services(request), actor, limit=INTAKE_LIMIT)
    manager = getattr(request.app.state, "intake", None)
    live = manager.state() if manager is not None else None
    connections = []
    if live is not None:  # open first, then the latest
        connections = sorted(live["connections"], key=lambda c: (c["closed_at"] is None, c["opened_at"]), reverse=True)
    return render(request, "intake.html", live=live, connections=connections[:INTAKE_LIMIT], gapped=view["streams"],
                  totals=view["stream_totals"], refusals=view["refusals"], malformed=view["malformed"], limit=INTAKE_LIMIT)


# -- users -------------------------------------------------------------------------------

@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, actor: Actor = Signed) -> Response:
    return users_view(request, actor)


def users_view(request: Request, actor: Actor, *, status: int = 200, error: CaleaError | None = None,
               form: dict[str, str] | None = None, open_form: str | None = None) -> Response:
    return render(request, "users.html", status=status, error=error, form=form or {}, open_form=open_form,
                  users=users.list_users(services(request), actor), roles=[r.value for r in Role])


def _users_refused(request: Request, actor: Actor, form: FormData, open_form: str) -> Any:
    return lambda exc: users_view(request, actor, status=exc.status, error=exc, form=form_values(form), open_form=open_form)


@router.post("/users")
def create_user(request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        users.create_user(services(request), actor, username=text(form, "username"), password=str(form.get("password") or ""),
                          role=text(form, "role"), unit=text(form, "unit"), display_name=text(form, "display_name"),
                          agency=text(form, "agency"))
        return with_ok("/users", "user.created")

    return attempt(request, act, _users_refused(request, actor, form, "user"))


@router.post("/users/{user_id}/offboard")
def offboard(user_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        users.offboard(services(request), actor, user_id, mode=text(form, "mode"), new_unit=text(form, "new_unit") or None,
                       reason=text(form, "reason"))
        return with_ok("/users", "user.offboarded")

    return attempt(request, act, _users_refused(request, actor, form, f"offboard-{user_id}"))


@router.post("/users/{user_id}/unlock")
def unlock(user_id: str, request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    reset = flag(form, "reset_mfa")

    def act() -> str:
        users.unlock(services(request), actor, user_id, reset_mfa=reset)
        return with_ok("/users", "user.mfa_reset" if reset else "user.unlocked")

    return attempt(request, act, _users_refused(request, actor, form, ""))


# -- alerts ------------------------------------------------------------------------------

@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, actor: Actor = Signed) -> Response:
    return alerts_view(request, actor)


def alerts_view(request: Request, actor: Actor, *, status: int = 200, error: CaleaError | None = None) -> Response:
    svc = services(request)
    open_only = request.query_params.get("open") == "1"
    rows = alerts.list_alerts(svc, actor, open_only=open_only)
    case_map = {c["id"]: c for c in cases.list_cases(svc, actor)}
    with svc.db.read() as conn:
        names = {a["acknowledged_by"]: cases.username_of(conn, a["acknowledged_by"]) for a in rows if a["acknowledged_by"]}
    return render(request, "alerts.html", status=status, error=error, alerts=rows, open_only=open_only,
                  case_map=case_map, names=names)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: str, request: Request, actor: Actor = Signed) -> Response:
    def act() -> str:
        alerts.acknowledge(services(request), actor, alert_id)
        return with_ok("/alerts", "alert.acknowledged")

    return attempt(request, act, lambda exc: alerts_view(request, actor, status=exc.status, error=exc))


# -- network policy (C4) -----------------------------------------------------------------

@router.get("/settings/network", response_class=HTMLResponse)
def network_page(request: Request, actor: Actor = Signed) -> Response:
    return network_view(request, actor)


def network_view(request: Request, actor: Actor, *, status: int = 200, error: CaleaError | None = None,
                 form: dict[str, str] | None = None) -> Response:
    require(actor.role, Perm.MANAGE_SETTINGS)
    policy = settings.policy_dict(services(request).network_policy)
    return render(request, "network.html", status=status, error=error, policy=policy, form=form or {},
                  open_form="network" if form else None, client_ip=request.client.host if request.client else "")


@router.post("/settings/network")
def network_save(request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    def act() -> str:
        settings.set_network_policy(services(request), actor, {
            "facility_networks": lines(form, "facility_networks"), "workstations": lines(form, "workstations"),
            "restrict_workstations": flag(form, "restrict_workstations"),
            "require_mfa_everywhere": flag(form, "require_mfa_everywhere"),
        })
        return with_ok("/settings/network", "settings.saved")

    return attempt(request, act, lambda exc: network_view(request, actor, status=exc.status, error=exc, form=form_values(form)))


# -- system health (vendor, taru) --------------------------------------------------------

@router.get("/system", response_class=HTMLResponse)
def system_page(request: Request, actor: Actor = Signed) -> Response:
    require(actor.role, Perm.SYSTEM_HEALTH)
    svc = services(request)
    with svc.db.read() as conn:
        conn.execute(select(1))
    return render(request, "system.html", version=__version__, database=svc.db.engine.dialect.name)
