"""Reading contexts (C5): a purpose stated in the console is kept on the server for one browser
session and one case; its id resolves to the words for that session and case only, and goes
with the session."""

from __future__ import annotations

from typing import Any

import pytest

from calea.errors import InvalidInput
from calea.services import reading, users
from calea.services.context import Actor

PASSWORD = "Correct-Horse-42"


def _session(svc: Any) -> tuple[Actor, str]:
    u = users.create_user(svc, None, username="reader.rc", password=PASSWORD, role="investigator", unit="Narcotics Division")
    result = users.login(svc, username="reader.rc", password=PASSWORD, ip="127.0.0.1")
    actor, _ = users.resolve_session(svc, result.token, "127.0.0.1")
    assert actor.user_id == u["id"] and actor.session_id
    return actor, result.token


def test_an_id_resolves_for_its_session_and_case_only(svc: Any) -> None:
    actor, token = _session(svc)
    ref = reading.state(svc, actor, "case-a", "  Wire room:   callers of the target  ")
    assert reading.is_ref(ref) and not reading.is_ref("Wire room") and not reading.is_ref(ref + "0")
    assert reading.resolve(svc, actor.session_id, ref, "case-a") == "Wire room: callers of the target"
    assert reading.resolve(svc, actor.session_id, ref, None) == "Wire room: callers of the target"
    assert reading.resolve(svc, actor.session_id, ref, "case-b") is None  # another case
    assert reading.resolve(svc, "0" * 64, ref, "case-a") is None  # another session
    assert reading.resolve(svc, None, ref, "case-a") is None  # no session (an API token)
    assert reading.resolve(svc, actor.session_id, "rc-" + "0" * 32, "case-a") is None  # never stated
    assert reading.resolve(svc, actor.session_id, "in words", "case-a") == "in words"  # words are words
    users.logout(svc, token)
    assert reading.resolve(svc, actor.session_id, ref, "case-a") is None  # gone with the session


@pytest.mark.parametrize("purpose, message", [("   ", "state the purpose"), ("x" * 501, "at most 500")])
def test_a_purpose_must_be_said_in_at_most_500_characters(svc: Any, purpose: str, message: str) -> None:
    actor, _ = _session(svc)
    with pytest.raises(InvalidInput, match=message):
        reading.state(svc, actor, "case-a", purpose)


def test_only_a_browser_session_keeps_a_purpose(svc: Any) -> None:
    actor, _ = _session(svc)
    with pytest.raises(InvalidInput, match="X-Calea-Purpose"):
        reading.state(svc, Actor(actor.user_id, actor.username, actor.role, actor.unit), "case-a", "a purpose")


def test_migration_0008_matches_the_schema(svc: Any) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from calea.db.schema import metadata

    with svc.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [d for d in compare_metadata(ctx, metadata) if "'reading_contexts'" in str(d)]
        assert "reading_contexts" in set(conn.dialect.get_table_names(conn))
    assert diff == []
