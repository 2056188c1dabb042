"""Server-rendered pages: Jinja2 templates, plain HTML forms, no script (strict CSP).

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
"""

from __future__ import annotations

from fastapi import APIRouter

from calea.web.pages import _account, _admin, _audit, _case_actions, _cases, _live
from calea.web.pages._common import error_page, render

router = APIRouter(include_in_schema=False)
for _module in (_account, _cases, _case_actions, _admin, _audit, _live):
    router.include_router(_module.router)

__all__ = ["error_page", "render", "router"]
