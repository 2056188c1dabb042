"""Resolving the caller: a session cookie (browser) or a bearer API token (automation)."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request

from calea.errors import AccessDenied, NotAuthenticated
from calea.services import reading, users
from calea.services.context import Actor, Services

COOKIE = "calea_session"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def resolve(request: Request, *, allow_pending_mfa: bool = False) -> Actor:
    """Returns the actor or raises NotAuthenticated; refuses a session whose second factor
    is required and not yet given (C4).  Its `purpose` is the one stated for this read (C5),
    in words: `?purpose=` or the `X-Calea-Purpose` header, the id of a reading context
    resolved (`calea.services.reading`)."""
    cached = getattr(request.state, "actor", None)
    if cached is not None and (allow_pending_mfa or getattr(request.state, "mfa_ok", True)):
        return cached  # type: ignore[no-any-return]
    svc = services(request)
    ip = client_ip(request)
    purpose = request.query_params.get("purpose") or request.headers.get("x-calea-purpose") or None
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        # a reading context belongs to a browser session: an API client states its purpose in words
        actor = replace(users.resolve_token(svc, header[7:].strip(), ip), purpose=reading.resolve(svc, None, purpose, None))
        request.state.actor, request.state.mfa_ok = actor, True
        return actor
    token = request.cookies.get(COOKIE)
    if not token:
        raise NotAuthenticated("sign in first (session cookie or bearer token)")
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_site(request):
        raise AccessDenied("cross-site request refused", rule="C1")
    actor, mfa_ok = users.resolve_session(svc, token, ip)
    # the console's links carry the id of a purpose kept on the server (C5)
    actor = replace(actor, purpose=reading.resolve(svc, actor.session_id, purpose, request.path_params.get("case_id")))
    request.state.actor, request.state.mfa_ok = actor, mfa_ok
    if not mfa_ok and not allow_pending_mfa:
        raise NotAuthenticated("the second factor is required (POST /api/v1/auth/mfa)", rule="C4")
    return actor


def same_site(request: Request) -> bool:
    """A cookie-authenticated change must come from our own pages (besides SameSite=Strict):
    browsers say so in Sec-Fetch-Site; otherwise the Origin, when sent, must be ours."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    return not origin or origin.split("://", 1)[-1] == request.headers.get("host", "")


def current_actor(request: Request) -> Actor:
    return resolve(request)


def pending_actor(request: Request) -> Actor:
    return resolve(request, allow_pending_mfa=True)


def require_scope(actor: Actor, scope: str) -> None:
    if actor.scopes is not None and scope not in actor.scopes:
        raise AccessDenied(f"the API token lacks the scope {scope}", rule="C1")
