"""The ASGI application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from calea import __version__
from calea.audit import log as audit_log
from calea.errors import CaleaError
from calea.services import reading
from calea.services.context import Services
from calea.web.api import admin, auth, calls, cases, live, recordings, store, traffic
from calea.web.auth import client_ip

log = logging.getLogger("calea.web")
STATIC = Path(__file__).parent / "static"

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


API_ROUTERS = [auth.router, cases.router, store.router, calls.router, recordings.router, traffic.router, live.router, admin.router]


def create_app(svc: Services) -> FastAPI:
    app = FastAPI(
        title="calea", version=__version__,
        description="Lawful-intercept collection system. Errors have one shape: "
        '{"error": code, "message": text, "rule": legal rule id (A1…G3) when a rule refused, "field": input field}.',
        openapi_url="/api/v1/openapi.json", docs_url="/api/v1/docs", redoc_url=None,
    )
    app.state.services = svc
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api/v1")

    from calea.web import pages

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(CaleaError)
    async def calea_error(request: Request, exc: CaleaError) -> Response:
        request.state.error = exc
        if not request.url.path.startswith("/api/") and exc.status == 401:
            return RedirectResponse("/login", status_code=303)
        if not request.url.path.startswith("/api/"):
            return await run_in_threadpool(pages.error_page, request, exc)  # (writes its audit event)
        return JSONResponse(exc.to_dict(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(x) for x in first.get("loc", ()) if x not in ("body", "query", "path")]
        err = CaleaError(f"{'.'.join(loc) or 'request'}: {first.get('msg', 'invalid')}", field=".".join(loc) or None)
        err.status, err.code = 400, "invalid_input"
        request.state.error = err
        return JSONResponse(err.to_dict(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        return JSONResponse({"error": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.middleware("http")
    async def audit_and_headers(request: Request, call_next: Any) -> Response:
        """C5: every API request, allowed or refused, is an audit event."""
        try:
            response = await call_next(request)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            response = JSONResponse({"error": "internal", "message": "internal error; see the server log"}, status_code=500)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        path = request.url.path
        if path.startswith("/api/") and not path.startswith("/api/v1/openapi") and not path.startswith("/api/v1/docs"):
            from starlette.concurrency import run_in_threadpool

            await run_in_threadpool(_record_request, request, response.status_code)
        return response

    return app


def _record_request(request: Request, status: int) -> None:
    svc: Services = request.app.state.services
    actor = getattr(request.state, "actor", None)
    err: CaleaError | None = getattr(request.state, "error", None)
    params = request.scope.get("path_params") or {}
    outcome = "allowed" if status < 400 else ("error" if status >= 500 else "refused")
    detail = None
    if err is not None:
        detail = f"{err.code}: {err.message}" + (f" [rule {err.rule}]" if err.rule else "")
    audit_user = getattr(request.state, "audit_user", None)
    if actor is not None:
        purpose = actor.purpose  # in words (C5), as `resolve` read it
    else:  # refused before it was known who asks: words are words, the id of a reading context nothing
        purpose = reading.resolve(svc, None, request.query_params.get("purpose") or request.headers.get("x-calea-purpose"), None)
    object_type, object_id = _object(params)
    event = audit_log.AuditEvent(
        at=svc.now(), action=f"api {request.method} {_route_template(request)}",
        outcome=outcome, status=status, method=request.method, path=request.url.path[:500], ip=client_ip(request),
        user_id=actor.user_id if actor else (audit_user or {}).get("id"),
        username=actor.username if actor else (audit_user or {}).get("username"),
        role=actor.role.value if actor else (audit_user or {}).get("role"),
        case_id=params.get("case_id"), object_type=object_type, object_id=object_id,
        purpose=purpose[:500] if purpose else None, detail=detail,
    )
    try:
        audit_log.record(svc.db, event)
    except Exception:  # the response is already decided; losing an audit row must be loud
        log.exception("AUDIT WRITE FAILED for %s %s", request.method, request.url.path)


def _route_template(request: Request) -> str:
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return request.url.path[:200]
    return template if template.startswith("/api/") else "/api/v1" + template


_OBJECT_KEYS = ("intercept_id", "authority_id", "document_id", "declaration_id", "grant_id", "user_id",
                "carrier_id", "alert_id", "case_id")


def _object(params: dict[str, str]) -> tuple[str | None, str | None]:
    """(object type, object id) of a request: its most specific path parameter."""
    for key in _OBJECT_KEYS:
        if key in params:
            return key[:-3], params[key]
    return None, None
