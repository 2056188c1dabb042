"""Server-rendered pages (Jinja2, no script, strict CSP).  Each page calls the same services
as the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from calea.errors import CaleaError
from calea.services import users
from calea.services.context import Actor
from calea.web.auth import COOKIE, client_ip, current_actor, pending_actor, services

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("actor", getattr(request.state, "actor", None))
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def error_page(request: Request, exc: CaleaError) -> Response:
    return render(request, "error.html", status=exc.status, error=exc)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return RedirectResponse("/cases", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", error=None)


@router.post("/login")
def login_submit(request: Request, username: str = Form(...), password: str = Form(...), totp: str = Form("")) -> Response:
    svc = services(request)
    try:
        result = users.login(svc, username=username, password=password, ip=client_ip(request),
                             user_agent=request.headers.get("user-agent", ""), totp=totp or None)
    except CaleaError as exc:
        return render(request, "login.html", status=exc.status, error=exc, username=username)
    target = "/cases" if result.mfa_ok else "/mfa"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict", secure=svc.settings.secure_cookies,
                        path="/", max_age=int(svc.settings.session_max.total_seconds()))
    return response


@router.get("/mfa", response_class=HTMLResponse)
def mfa_form(request: Request, actor: Actor = Depends(pending_actor)) -> Response:
    return render(request, "mfa.html", error=None)


@router.post("/mfa")
def mfa_submit(request: Request, code: str = Form(...), actor: Actor = Depends(pending_actor)) -> Response:
    try:
        users.verify_second_factor(services(request), request.cookies.get(COOKIE, ""), code)
    except CaleaError as exc:
        return render(request, "mfa.html", status=exc.status, error=exc)
    return RedirectResponse("/cases", status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        users.logout(services(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/account/mfa", response_class=HTMLResponse)
def enrol_page(request: Request, actor: Actor = Depends(current_actor)) -> Response:
    with services(request).db.read() as conn:
        me = users.public_user(users.get_user(conn, actor.user_id))
    return render(request, "enrol.html", me=me, enrolment=None, error=None)


@router.post("/account/mfa/start")
def enrol_start(request: Request, actor: Actor = Depends(current_actor)) -> Response:
    enrolment = users.start_enrolment(services(request), actor)
    return render(request, "enrol.html", me=None, enrolment=enrolment, error=None)


@router.post("/account/mfa/confirm")
def enrol_confirm(request: Request, code: str = Form(...), actor: Actor = Depends(current_actor)) -> Response:
    try:
        users.confirm_enrolment(services(request), actor, code)
    except CaleaError as exc:
        return render(request, "enrol.html", status=exc.status, me=None, enrolment=None, error=exc)
    return RedirectResponse("/account/mfa", status_code=303)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, actor: Actor = Depends(current_actor)) -> Response:
    from calea.services import cases

    return render(request, "cases.html", cases=cases.list_cases(services(request), actor))
