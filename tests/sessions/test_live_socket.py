"""Live monitoring through the socket `/api/v1/live/{case_id}`: access (C2, C4, C5),
several monitors, server-side minimization (A2), the signed log (D1) and the audit (C5)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from calea.db.schema import audit_events, store_events
from calea.db.schema import users as users_t
from calea.domain.access import Role
from calea.db.schema_live import live_minimization
from calea.services import grants
from calea.services.context import Actor
from calea.sessions.live_media import unpack_frame
from calea.sessions.monitoring import LiveService
from calea.store.verify import verify_store
from calea.web.api import live as live_api
from tests.sessions.live_world import LIID, LiveWorld, recv, recv_type, world  # noqa: F401 (fixture)


def audit(w: LiveWorld, action: str) -> list[dict]:  # type: ignore[type-arg]
    with w.svc.db.read() as conn:
        return [dict(r) for r in conn.execute(select(audit_events).where(audit_events.c.action == action)).mappings()]


def signed(w: LiveWorld) -> list[dict]:  # type: ignore[type-arg]
    with w.svc.db.read() as conn:
        return [dict(r) for r in conn.execute(select(store_events).where(store_events.c.case_id == w.case_id)
                                              .order_by(store_events.c.leaf_index)).mappings()]


def test_several_monitors_get_the_same_frames(world: LiveWorld) -> None:  # noqa: F811
    _, a = world.investigator()
    _, b = world.investigator()
    with a.websocket_connect(world.url()) as wa, b.websocket_connect(world.url()) as wb:
        assert recv(wa, texts=1)[0][0]["type"] == "hello" and recv(wb, texts=1)[0][0]["type"] == "hello"
        world.feed(42, 5, invite=True)
        ta, fa = recv(wa, binaries=5, texts=1)
        tb, fb = recv(wb, binaries=5, texts=1)
        assert fa == fb and len({unpack_frame(x)["intercepted_us"] for x in fa}) == 1
        assert ta[0]["type"] == tb[0]["type"] == "call" and ta[0]["event"] == "start"
        head = unpack_frame(fa[0])
        assert (head["liid"], head["cin"], head["direction"], len(head["pcm"])) == (LIID, "42", 0, 320)
        assert head["arrival_us"] <= head["sent_us"]
    opened = audit(world, "live.open")
    assert len(opened) == 2 and all(e["purpose"] == "monitoring under the warrant" for e in opened)  # C5
    assert len(audit(world, "live.close")) == 2


def test_minimized_call_sends_no_audio_and_is_signed(world: LiveWorld) -> None:  # noqa: F811
    user, c = world.investigator()
    with c.websocket_connect(world.url()) as ws:
        recv_type(ws, "hello")
        world.feed(42, 2, invite=True)
        recv(ws, binaries=2)
        ws.send_json({"id": 1, "cmd": "minimize", "liid": LIID, "cin": "42"})
        ack = recv_type(ws, "ack", id=1)
        assert ack["status"]["minimized"] and ack["rule"] == "A2"
        world.feed(42, 5)  # minimized: nothing of it goes out (rule A2)
        world.feed(43, 1)  # another call: the next frame the monitor gets
        _, frames = recv(ws, binaries=1)
        assert unpack_frame(frames[0])["cin"] == "43"
        # too early for a spot check: refused, naming the rule
        ws.send_json({"id": 2, "cmd": "spot-check-start", "liid": LIID, "cin": "42"})
        refused = recv_type(ws, "refused", id=2)
        assert refused["rule"] == "A2" and "too early" in refused["message"]
        world.clock.advance(timedelta(minutes=1))
        ws.send_json({"id": 3, "cmd": "spot-check-start", "liid": LIID, "cin": "42"})
        assert recv_type(ws, "ack", id=3)["status"]["spot_check_until"]
        world.feed(42, 2)
        _, frames = recv(ws, binaries=2)
        assert all(unpack_frame(f)["cin"] == "42" and unpack_frame(f)["flags"] & 1 for f in frames)
        world.clock.advance(timedelta(minutes=2))  # too long: the server ends the check
        limit = recv_type(ws, "minimization", action="spot-check-limit")
        assert limit["by"] == "system" and limit["status"]["minimized"]
        world.feed(42, 3)
        world.feed(43, 1)
        _, frames = recv(ws, binaries=1)
        assert unpack_frame(frames[0])["cin"] == "43"
    events = [e for e in signed(world) if e["kind"] in ("minimize", "spot-check")]
    assert [(e["kind"], e["body"]["action"], e["body"]["by"]) for e in events] == [
        ("minimize", "minimized", user["username"]), ("spot-check", "spot-check-started", user["username"]),
        ("spot-check", "spot-check-limit", "system")]
    assert all(e["body"]["rule"] == "A2" and e["body"]["liid"] == LIID for e in events)
    with world.svc.db.read() as conn:
        rows = conn.execute(select(live_minimization).order_by(live_minimization.c.id)).mappings().all()
    assert [r["leaf_index"] for r in rows] == [e["leaf_index"] for e in events]
    assert rows[0]["user_id"] == user["id"] and rows[0]["at"] is not None
    assert verify_store(world.svc).ok  # D1: the entries are leaves of the case's signed log
    assert [e["outcome"] for e in audit(world, "live.minimized")] == ["allowed"]
    assert [e["outcome"] for e in audit(world, "live.spot-check-start")] == ["refused"]
    # a restart rebuilds the minimization book from the table
    again = LiveService(world.svc, world.intake.writer)
    assert again.book.is_minimized((LIID, "42"), world.clock.now())


def test_privileged_flag_over_http_is_logged(world: LiveWorld) -> None:  # noqa: F811
    user, c = world.investigator()
    r = c.post(f"/api/v1/live/{world.case_id}/commands", json={"cmd": "privileged", "liid": LIID, "cin": "42",
                                                               "category": "attorney"})
    assert r.status_code == 200, r.text
    assert r.json()["status"]["minimized"] and r.json()["status"]["privileged"] == ["attorney"]
    ev = [e for e in signed(world) if e["kind"] == "privileged"]
    assert len(ev) == 1 and ev[0]["body"]["category"] == "attorney" and ev[0]["body"]["by"] == user["username"]
    assert [e["username"] for e in audit(world, "live.privileged")] == [user["username"]]
    world.clock.advance(timedelta(minutes=5))
    r = c.post(f"/api/v1/live/{world.case_id}/commands", json={"cmd": "spot-check-start", "liid": LIID, "cin": "42"})
    assert r.status_code == 422 and r.json()["rule"] == "A2" and "privileged" in r.json()["message"]
    r = c.post(f"/api/v1/live/{world.case_id}/commands", json={"cmd": "privileged", "liid": "OTHER", "cin": "1",
                                                               "category": "clergy"})
    assert r.status_code == 404  # a monitor acts only on the calls of the case
    # the warrant's terms may allow spot checks of privileged calls: a supervisor records them
    r = c.put(f"/api/v1/live/{world.case_id}/rule", json={"max_listen_seconds": 30, "min_gap_seconds": 10,
                                                          "privileged_spot_checks": True})
    assert r.status_code == 403  # not an investigator's decision
    with world.svc.db.read() as conn:
        sup = conn.execute(select(users_t).where(users_t.c.role == "supervisor")).mappings().first()
    supervisor = Actor(sup["id"], sup["username"], Role.SUPERVISOR, sup["unit"])
    rule = world.live.set_rule(supervisor, world.case_id, {"max_listen_seconds": 30, "min_gap_seconds": 10,
                                                           "privileged_spot_checks": True})
    assert rule["text"].startswith("at most 30 seconds of listening")
    assert [e["body"]["max_listen_seconds"] for e in signed(world) if e["kind"] == "minimization-rule"] == [30]
    r = c.post(f"/api/v1/live/{world.case_id}/commands", json={"cmd": "spot-check-start", "liid": LIID, "cin": "42"})
    assert r.status_code == 200 and r.json()["status"]["spot_check_until"]


def test_refused_monitors_and_the_console_page(world: LiveWorld) -> None:  # noqa: F811
    """C2 (no grant), C5 (no purpose), C1 (not signed in): accepted, then closed at once with
    the rule in the reason, and audited; the granted monitor beside them works."""
    _, outsider = world.investigator(granted=False)
    _, granted = world.investigator()
    anonymous = TestClient(world.app)
    for client, purpose, code, rule in ((outsider, "monitoring", 4403, "C2"), (granted, None, 4403, "C5"),
                                        (anonymous, "monitoring", 4401, "C1")):
        with client.websocket_connect(world.url(purpose)) as ws:
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
        assert info.value.code == code and info.value.reason.startswith(f"{rule}: "), info.value.reason
    assert [e["outcome"] for e in audit(world, "live.open")] == ["refused"] * 3
    assert world.live.hub.monitors(world.case_id) == []
    with granted.websocket_connect(world.url()) as ws:
        recv_type(ws, "hello")
        world.feed(7, 1)
        assert len(recv(ws, binaries=1)[1]) == 1
    # the console page: strict CSP, one local script, the rule stated; no grant, no page (C2)
    r = granted.get(f"/cases/{world.case_id}/live")
    assert r.status_code == 200 and '<script src="/static/live.js"' in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "at most 2 minutes of listening per spot check" in r.text
    js = granted.get("/static/live.js")
    assert js.status_code == 200 and "registerProcessor" in js.text
    assert re.search(r"(https?|wss?)://\w", js.text) is None  # F3: no asset or peer outside the system
    assert outsider.get(f"/cases/{world.case_id}/live").status_code == 403


def test_a_revoked_grant_ends_live_listening(world: LiveWorld, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(live_api, "RECHECK_SECONDS", 0.0)
    user, c = world.investigator()
    with c.websocket_connect(world.url()) as ws:
        recv_type(ws, "hello")
        grants.revoke_grant(world.svc, world.taru, user["grant"]["id"], reason="transferred")
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                ws.receive_json()
    assert info.value.code == 4403 and info.value.reason.startswith("C2: ")


def test_the_console_opens_the_socket_with_the_id_of_its_stated_purpose(world: LiveWorld) -> None:  # noqa: F811
    """C5: the console states the purpose once (`POST /cases/{id}/reading`, as `live.js` does)
    and the socket's URL carries only its id; the audit records the words.  The id means
    nothing to another session: that socket is refused for want of a purpose."""
    _, c = world.investigator()
    _, other = world.investigator()
    page = f"/cases/{world.case_id}"
    r = c.post(f"{page}/reading", data={"purpose": "listening under   the warrant", "next": f"{page}/live"},
               headers={"sec-fetch-site": "same-origin"})
    assert r.status_code == 200 and r.url.path == f"{page}/live"  # back to the live page...
    ref = r.url.params["purpose"]
    assert re.fullmatch(r"rc-[0-9a-f]{32}", ref)  # ...its link carrying the id only
    with c.websocket_connect(world.url(ref)) as ws:
        recv_type(ws, "hello")
    with other.websocket_connect(world.url(ref)) as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
    assert info.value.code == 4403 and info.value.reason.startswith("C5: ")
    opened = audit(world, "live.open")
    assert [(e["outcome"], e["purpose"]) for e in opened] == [("allowed", "listening under the warrant"), ("refused", None)]
    assert all(ref not in (e["purpose"] or "") for e in audit(world, "live.close") + opened)
