"""Reading contexts: the purpose a reader states in the console (rule C5), kept on the server.

Every read of intercepted data is audited with its stated purpose.  A purpose written into a
URL (`?purpose=…`) would stay in the browser's history, in bookmarks and in every log that
records URLs, none of which the audit controls.  So the console posts the purpose once; the
server keeps it for the browser session and the case, and the pages' links carry only its
opaque id (`rc-` and 32 hex digits).  The id means nothing without the session that stated
it, nor for another case; it is gone when the session ends.

API clients state the purpose as text (`X-Calea-Purpose` or `?purpose=`), as before.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import insert, select

from calea.db.schema import reading_contexts
from calea.errors import InvalidInput
from calea.services.context import Actor, Services

PURPOSE_MAX = 500
_REF = re.compile(r"rc-[0-9a-f]{32}")


def is_ref(value: str | None) -> bool:
    """Whether `value` is the id of a reading context (rather than a purpose in words)."""
    return bool(value) and _REF.fullmatch(value) is not None  # type: ignore[arg-type]


def state(svc: Services, actor: Actor, case_id: str, purpose: str) -> str:
    """Keep `purpose` for the actor's browser session and this case; return its id."""
    purpose = " ".join((purpose or "").split())
    if not purpose:
        raise InvalidInput("state the purpose of the read", field="purpose")
    if len(purpose) > PURPOSE_MAX:
        raise InvalidInput(f"a purpose is at most {PURPOSE_MAX} characters", field="purpose")
    if not actor.session_id:
        raise InvalidInput("a reading context belongs to a browser session; API clients send X-Calea-Purpose",
                           field="purpose")
    ref = "rc-" + secrets.token_hex(16)
    with svc.db.write() as conn:
        conn.execute(insert(reading_contexts).values(id=ref, session_hash=actor.session_id, case_id=case_id,
                                                     purpose=purpose, created_at=svc.now()))
    return ref


def resolve(svc: Services, session_hash: str | None, value: str | None, case_id: str | None) -> str | None:
    """The purpose `value` stands for: a purpose in words is itself; the id of a reading
    context is its purpose when the context is this session's and (when the request names a
    case) that case's; any other id is no purpose at all (the console asks again)."""
    if not is_ref(value):
        return value or None
    if not session_hash:
        return None
    with svc.db.read() as conn:
        row = conn.execute(select(reading_contexts.c.purpose, reading_contexts.c.case_id)
                           .where(reading_contexts.c.id == value, reading_contexts.c.session_hash == session_hash)).first()
    if row is None or (case_id is not None and row.case_id != case_id):
        return None
    return str(row.purpose)
