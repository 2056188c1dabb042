"""Server-rendered pages: Jinja2 templates and plain HTML forms; the only scripts are our own
static files (`live.js`, `player.js`) under a strict CSP, and every page works as forms.

Each page calls the same services as the JSON API (so every read and change of a case is
audited the same way, C5), redirects after a successful form, and shows a refusal with its
rule id on the page it came from.

    _common        templates, the signed-in actor, flash messages, form parsing, refusal audit
    _account       sign-in, second factor, enrolment, sign-out
    _cases         the case list and the case page
    _case_actions  the case page's forms (approval, documents, authorities, declarations,
                   intercepts, grants)
    _admin         intercepts, carriers, users, alerts, network policy, system health
    _audit         the audit log and its chain check
    _live          live monitoring of a case (the page that loads /static/live.js)
    _calls         a case's calls, one call with its events, line sheet and recording player
    _messages      SMS / MMS threads per counter-party
    _traffic       IP flows, the pcap download and the web-visitor report
    _content       what the content pages share: access before reading, the stated purpose
                   (kept on the server: `POST /cases/{case_id}/reading`)
"""

from __future__ import annotations

from fastapi import APIRouter

from calea.web.pages import _account, _admin, _audit, _calls, _case_actions, _cases, _content, _live, _messages, _traffic
from calea.web.pages._common import error_page, render

router = APIRouter(include_in_schema=False)
for _module in (_account, _cases, _case_actions, _admin, _audit, _live, _calls, _messages, _traffic, _content):
    router.include_router(_module.router)

__all__ = ["error_page", "render", "router"]
