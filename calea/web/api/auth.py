"""/api/v1/auth: sign-in, second factor, sessions, API tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from calea.services import users
from calea.services.context import Actor
from calea.web.api.models import Code, Login, TokenIn
from calea.web.auth import COOKIE, client_ip, current_actor, pending_actor, services

router = APIRouter(prefix="/auth", tags=["auth"])


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    svc = services(request)
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=svc.settings.secure_cookies, path="/",
        max_age=int(svc.settings.session_max.total_seconds()),
    )


@router.post("/login")
def login(data: Login, request: Request, response: Response) -> dict[str, Any]:
    """Password, then the second factor where required (C4).  Sets the session cookie."""
    svc = services(request)
    result = users.login(svc, username=data.username, password=data.password, ip=client_ip(request),
                         user_agent=request.headers.get("user-agent", ""), totp=data.totp)
    request.state.audit_user = result.user
    set_session_cookie(request, response, result.token)
    return {"user": result.user, "mfa_required": result.mfa_required, "mfa_ok": result.mfa_ok}


@router.post("/mfa")
def second_factor(data: Code, request: Request, actor: Actor = Depends(pending_actor)) -> dict[str, Any]:
    users.verify_second_factor(services(request), request.cookies.get(COOKIE, ""), data.code)
    return {"mfa_ok": True}


@router.post("/logout")
def logout(request: Request, response: Response) -> dict[str, Any]:
    token = request.cookies.get(COOKIE)
    if token:
        users.logout(services(request), token)
    response.delete_cookie(COOKIE, path="/")
    return {"signed_out": True}


@router.get("/me")
def me(request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    with services(request).db.read() as conn:
        return users.public_user(users.get_user(conn, actor.user_id))


@router.post("/mfa/enrol")
def enrol_start(request: Request, actor: Actor = Depends(current_actor)) -> dict[str, str]:
    """Start TOTP enrolment: the secret and its QR code (SVG), shown once."""
    return users.start_enrolment(services(request), actor)


@router.post("/mfa/enrol/confirm")
def enrol_confirm(data: Code, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    users.confirm_enrolment(services(request), actor, data.code)
    return {"mfa_enrolled": True}


@router.get("/scopes")
def scopes() -> dict[str, str]:
    return users.SCOPES


@router.post("/tokens", status_code=201)
def create_token(data: TokenIn, request: Request, actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """A scoped API token for automation; the secret is returned once."""
    return users.create_token(services(request), actor, name=data.name, scopes=data.scopes, days=data.days)
