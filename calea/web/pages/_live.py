"""The live-monitoring page of a case: `/cases/{case_id}/live`.

The page itself holds no intercepted data: it needs a grant for the case's data (C2) and
loads `/static/live.js` (the one script of the console, strict CSP), which asks for the
purpose (C5), opens the socket `/api/v1/live/{case_id}`, plays the audio and sends the
minimization commands (A2).  Everything it does is checked again on the server.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from calea.services.access import Level, ensure_case_access
from calea.services.context import Actor
from calea.sessions.minimization import PRIVILEGES, STATUTE
from calea.web.api.live import live_service
from calea.web.auth import services
from calea.web.pages._common import Signed, render

router = APIRouter()


@router.get("/cases/{case_id}/live", response_class=HTMLResponse)
def live_page(case_id: str, request: Request, actor: Actor = Signed) -> Response:
    svc = services(request)
    case = ensure_case_access(svc, actor, case_id, Level.DATA)
    rule = live_service(request.app).rule_for(case_id)
    return render(request, "live.html", case=case, rule=rule.to_dict(), privileges=PRIVILEGES, statute=STATUTE)
