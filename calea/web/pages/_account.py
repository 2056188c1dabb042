"""Sign-in, the second factor (C4), enrolment and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from calea.errors import CaleaError
from calea.services import users
from calea.services.context import Actor
from calea.web.auth import COOKIE, client_ip, pending_actor, services
from calea.web.pages._common import Signed, Submitted, home_for, record_refusal, render, text, with_ok

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Actor = Signed) -> Response:
    return RedirectResponse(home_for(actor), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    return render(request, "login.html", actor=None)


@router.post("/login")
def login_submit(request: Request, form: FormData = Submitted) -> Response:
    svc = services(request)
    username = text(form, "username")
    try:
        result = users.login(svc, username=username, password=str(form.get("password") or ""), ip=client_ip(request),
                             user_agent=request.headers.get("user-agent", ""), totp=text(form, "totp") or None)
    except CaleaError as exc:
        record_refusal(request, exc)
        return render(request, "login.html", status=exc.status, actor=None, error=exc, username=username)
    response = RedirectResponse("/" if result.mfa_ok else "/mfa", status_code=303)
    response.set_cookie(COOKIE, result.token, httponly=True, samesite="strict", secure=svc.settings.secure_cookies,
                        path="/", max_age=int(svc.settings.session_max.total_seconds()))
    return response


@router.get("/mfa", response_class=HTMLResponse)
def mfa_form(request: Request, actor: Actor = Depends(pending_actor)) -> Response:
    return render(request, "mfa.html", actor=None)


@router.post("/mfa")
def mfa_submit(request: Request, form: FormData = Submitted, actor: Actor = Depends(pending_actor)) -> Response:
    try:
        users.verify_second_factor(services(request), request.cookies.get(COOKIE, ""), text(form, "code"))
    except CaleaError as exc:
        record_refusal(request, exc)
        return render(request, "mfa.html", status=exc.status, actor=None, error=exc)
    return RedirectResponse("/", status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        users.logout(services(request), token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/account/mfa", response_class=HTMLResponse)
def enrol_page(request: Request, actor: Actor = Signed) -> Response:
    with services(request).db.read() as conn:
        me = users.public_user(users.get_user(conn, actor.user_id))
    return render(request, "enrol.html", me=me, enrolment=None)


@router.post("/account/mfa/start")
def enrol_start(request: Request, actor: Actor = Signed) -> Response:
    try:
        enrolment = users.start_enrolment(services(request), actor)
    except CaleaError as exc:
        record_refusal(request, exc)
        return enrol_again(request, actor, exc)
    return render(request, "enrol.html", me=None, enrolment=enrolment)


@router.post("/account/mfa/confirm")
def enrol_confirm(request: Request, form: FormData = Submitted, actor: Actor = Signed) -> Response:
    try:
        users.confirm_enrolment(services(request), actor, text(form, "code"))
    except CaleaError as exc:
        record_refusal(request, exc)
        return enrol_again(request, actor, exc)
    return RedirectResponse(with_ok("/account/mfa", "mfa.enrolled"), status_code=303)


def enrol_again(request: Request, actor: Actor, exc: CaleaError) -> Response:
    with services(request).db.read() as conn:
        me = users.public_user(users.get_user(conn, actor.user_id))
    return render(request, "enrol.html", status=exc.status, me=me, enrolment=None, error=exc)
