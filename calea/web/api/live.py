"""/api/v1/live: live monitoring of a case's calls and their minimization (rule A2).

    WS   /api/v1/live/{case_id}?purpose=...          audio frames + JSON events; commands
                                                     (purpose: words, or the id of a reading context)
    GET  /api/v1/live/{case_id}?purpose=...          active calls and their minimization
    POST /api/v1/live/{case_id}/commands             {"cmd", "liid", "cin", "category"?, "reason"?}
    PUT  /api/v1/live/{case_id}/rule                 the case's spot-check rule (supervisor)

The socket is authenticated by the session cookie with the same rules as HTTP: a signed-in
session with its second factor (C4), an active grant for the case and a stated purpose
(C2, C5); a browser's Origin must be this host (no cross-site socket).  A refusal accepts
and closes at once with a code and a reason naming the rule:

    4400 invalid input   4401 not signed in / second factor missing (C4)
    4403 refused (reason starts with the rule id, e.g. "C2: ...")   4404 no such case
    4429 the monitor does not keep up (its events overflowed)      1000 normal close

Client -> server (text): {"id": 1, "cmd": "minimize" | "spot-check-start" | "spot-check-stop"
| "pertinent" | "privileged", "liid": ..., "cin": ..., "category": "attorney" | ...}.
Server -> client (text): {"type": "hello" | "call" | "minimization" | "ack" | "refused", ...};
(binary): audio frames, header described in `calea.sessions.live_media`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import replace
from typing import Any

import anyio
import orjson
from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from calea.audit import log as audit_log
from calea.errors import AccessDenied, CaleaError, InvalidInput, NotAuthenticated
from calea.services import reading, users
from calea.services.access import Level, check_case_access
from calea.services.context import Actor, Services
from calea.sessions.monitoring import LiveService
from calea.web.auth import COOKIE, current_actor, require_scope

log = logging.getLogger("calea.live")
router = APIRouter(tags=["live"])
RECHECK_SECONDS = 15.0  # how often a connected monitor's grant and session are checked again
_CLOSE = {400: 4400, 401: 4401, 403: 4403, 404: 4404, 409: 4409, 422: 4422}
_install_lock = threading.Lock()


def install(app: FastAPI, intake: Any = None, **kw: Any) -> LiveService:
    """The app's live service, subscribed to the intake's batches.  It writes to the case logs
    through the intake's `StoreWriter` (a log has one writer); without an intake (a console
    without carriers) it has a writer of its own."""
    with _install_lock:
        service: LiveService | None = getattr(app.state, "live", None)
        if service is None:
            svc: Services = app.state.services
            manager = getattr(app.state, "intake", None)
            intake = intake or (manager.intake if manager is not None else None)
            writer = intake.writer if intake is not None else svc.store_writer()
            service = LiveService(svc, writer, **kw)
            app.state.live = service
        if intake is not None:
            service.attach(intake)
        return service


def live_service(app: FastAPI) -> LiveService:
    return getattr(app.state, "live", None) or install(app)


# --- HTTP --------------------------------------------------------------------------------


@router.get("/live/{case_id}")
def live_state(case_id: str, request: Request, purpose: str | None = None,
               actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Active calls of the case and their minimization (needs a grant and a purpose: C2, C5)."""
    require_scope(actor, "cases:read")
    service = live_service(request.app)
    with service.svc.db.read() as conn:
        check_case_access(conn, service.svc, actor, case_id, Level.DATA, purpose=actor.purpose)  # (resolved: ?purpose= or the header)
    return service.snapshot(case_id)


@router.post("/live/{case_id}/commands")
def live_command(case_id: str, request: Request, body: dict[str, Any], actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Minimize a call, start or stop a spot check, mark it pertinent, flag it privileged (A2).
    Each is a signed event in the case's log (D1) and an audit event (C5)."""
    require_scope(actor, "cases:write")
    return live_service(request.app).command(actor, case_id, body)


@router.put("/live/{case_id}/rule")
def live_rule(case_id: str, request: Request, body: dict[str, Any], actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """The spot-check rule of the warrant: max_listen_seconds, min_gap_seconds, privileged_spot_checks."""
    require_scope(actor, "cases:write")
    return live_service(request.app).set_rule(actor, case_id, body)


# --- the socket ----------------------------------------------------------------------------


def socket_actor(ws: WebSocket, svc: Services) -> Actor:
    """The signed-in user of a socket: session cookie, second factor given (C4), same origin."""
    origin = ws.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != ws.headers.get("host", ""):
        raise AccessDenied("cross-site socket refused", rule="C1")
    token = ws.cookies.get(COOKIE)
    if not token:
        raise NotAuthenticated("sign in first (session cookie)", rule="C1")
    actor, mfa_ok = users.resolve_session(svc, token, ws.client.host if ws.client else "")
    if not mfa_ok:
        raise NotAuthenticated("the second factor is required", rule="C4")
    return actor


def close_reason(exc: CaleaError) -> str:
    text = f"{exc.rule}: {exc.message}" if exc.rule else exc.message
    return text.encode()[:123].decode(errors="ignore")


@router.websocket("/live/{case_id}")
async def live_socket(ws: WebSocket, case_id: str, purpose: str | None = None) -> None:
    svc: Services = ws.app.state.services
    await ws.accept()
    try:
        actor = await run_in_threadpool(socket_actor, ws, svc)
        # the console sends the id of the purpose it stated (a reading context, C5); API clients, words
        purpose = await run_in_threadpool(reading.resolve, svc, actor.session_id, purpose, case_id)
        actor = replace(actor, purpose=purpose)
        service = await run_in_threadpool(live_service, ws.app)
        await run_in_threadpool(service.open, actor, case_id, purpose)
        hello = await run_in_threadpool(service.snapshot, case_id)
    except CaleaError as exc:
        if isinstance(exc, (NotAuthenticated, AccessDenied)) and exc.rule in ("C1", "C4"):
            await run_in_threadpool(_audit_refused, ws, svc, case_id, purpose, exc)  # open() audits the rest
        await ws.close(code=_CLOSE.get(exc.status, 4403), reason=close_reason(exc))
        return
    monitor = service.hub.add(case_id, actor.username, asyncio.get_running_loop())
    monitor.push_control(orjson.dumps(hello).decode())
    checked = time.monotonic()

    async def tick() -> None:
        nonlocal checked
        limit = service.book.next_limit()
        if limit is not None and limit <= svc.now():
            await run_in_threadpool(service.tick)
        if time.monotonic() - checked >= RECHECK_SECONDS:
            checked = time.monotonic()
            await run_in_threadpool(socket_actor, ws, svc)
            await run_in_threadpool(service.recheck, actor, case_id, purpose)

    async def receive() -> None:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", 1000))
            if message.get("text") is not None:
                await _command(service, monitor, actor, case_id, message["text"])

    sender = asyncio.create_task(service.hub.pump(monitor, ws.send_text, ws.send_bytes, tick=tick))
    receiver = asyncio.create_task(receive())
    code, reason = 1000, ""
    try:
        done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        failure = next(iter(done)).exception()
        if isinstance(failure, CaleaError):
            code, reason = _CLOSE.get(failure.status, 4403), close_reason(failure)
        elif isinstance(failure, OverflowError):
            code, reason = 4429, "the monitor does not keep up with the call events"
        elif failure is not None and not isinstance(failure, (WebSocketDisconnect, RuntimeError, OSError)):
            log.error("live socket of case %s failed: %r", case_id, failure)
            code, reason = 1011, "internal error"
    finally:
        service.hub.remove(monitor)
        for task in (sender, receiver):
            task.cancel()
        with anyio.CancelScope(shield=True):  # the close is audited even when the handler is cancelled
            await asyncio.wait({sender, receiver})
            await run_in_threadpool(service.close, actor, case_id, purpose, monitor.stats(), reason)
    try:
        await ws.close(code=code, reason=reason)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # already closed by the client


def _audit_refused(ws: WebSocket, svc: Services, case_id: str, purpose: str | None, exc: CaleaError) -> None:
    """C5: a socket refused before its user is known is an audit event, like a refused request."""
    detail = f"{exc.code}: {exc.message}" + (f" [rule {exc.rule}]" if exc.rule else "")
    audit_log.record(svc.db, audit_log.AuditEvent(
        at=svc.now(), action="live.open", outcome="refused", status=exc.status, method="WS", path=ws.url.path[:500],
        ip=ws.client.host if ws.client else None, case_id=case_id, object_type="live", object_id=case_id,
        purpose=purpose[:500] if purpose else None, detail=detail))


async def _command(service: LiveService, monitor: Any, actor: Actor, case_id: str, text: str) -> None:
    reply: dict[str, Any]
    ident = None
    try:
        body = orjson.loads(text)
        if not isinstance(body, dict):
            raise InvalidInput("a command is a JSON object", field="cmd")
        ident = body.get("id")
        result = await run_in_threadpool(service.command, actor, case_id, body)
        reply = {"type": "ack", "id": ident, **result}
    except orjson.JSONDecodeError:
        reply = {"type": "refused", "id": ident, "error": "invalid_input", "message": "a command is a JSON object"}
    except CaleaError as exc:
        reply = {"type": "refused", "id": ident, **exc.to_dict()}
    monitor.push_control(orjson.dumps(reply).decode())
