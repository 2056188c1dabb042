"""Message threads of a case (SMS, SIP MESSAGE, MMS) and their parts (A1, A2, A6, C2, C5, B3).

Threads and addressing are call-identifying (A1).  Bodies and MMS parts are content
items the store kept only under an eavesdropping authority (A2); under a PRTT order a
message shows `content_suppressed` and has no parts (A6).  Reads are audited with their
purpose (C5); who sees what follows `calea.services.dataread` (C2, B3).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from calea.db.schema import content_items
from calea.db.schema_ip import messages
from calea.domain.access import Perm, has_perm
from calea.errors import AccessDenied, NotFound
from calea.services.context import Actor, Services
from calea.services.dataread import Scope, read_scope
from calea.services.traffic_index import catch_up

INLINE_TEXT = 16_384  # text parts up to this size are shown inline to readers of content


def _visible_messages(conn: Connection, scope: Scope, case_id: str, counterparty: str | None = None) -> list[Any]:
    q = select(messages).where(messages.c.case_id == case_id)
    if counterparty is not None:
        q = q.where(messages.c.counterparty == counterparty)
    rows = conn.execute(q.order_by(messages.c.at, messages.c.id)).mappings().all()
    return [r for r in rows if scope.visible(r["intercept_id"], r["quarantined"])]


def threads(svc: Services, actor: Actor, case_id: str, *, purpose: str | None) -> dict[str, Any]:
    """One entry per counterparty: how many messages, when, which kinds and directions."""
    catch_up(svc)
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        rows = _visible_messages(conn, scope, case_id)
        svc.audit(conn, actor, "messages.threads", case_id=case_id, object_type="messages",
                  object_id=f"{len(rows)} messages", purpose=purpose)
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        t = out.get(r["counterparty"])
        if t is None:
            t = out[r["counterparty"]] = {"counterparty": r["counterparty"], "messages": 0, "first_at": r["at"],
                                          "last_at": r["at"], "kinds": set(), "in": 0, "out": 0, "liids": set()}
        t["messages"] += 1
        t["first_at"], t["last_at"] = min(t["first_at"], r["at"]), max(t["last_at"], r["at"])
        t["kinds"].add(r["kind"])
        t["liids"].add(r["liid"])
        if r["direction"] in ("in", "out"):
            t[r["direction"]] += 1
    return {"threads": [{**t, "kinds": sorted(t["kinds"]), "liids": sorted(t["liids"])}
                        for t in sorted(out.values(), key=lambda t: t["last_at"], reverse=True)]}


def _reads_content(actor: Actor, scope: Scope, r: Any) -> bool:
    if scope.quarantine == "exclude":
        return has_perm(actor.role, Perm.READ_CONTENT)
    return bool(r["quarantined"]) or r["intercept_id"] in scope.quarantined_intercepts  # B3 review


def _parts(conn: Connection, svc: Services, case_id: str, rows: list[Any], with_text: set[int]) -> dict[int, list[dict[str, Any]]]:
    leaves = [r["content_leaf"] for r in rows if r["content_leaf"] is not None]
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not leaves:
        return out
    q = (select(content_items).where(content_items.c.case_id == case_id, content_items.c.record_leaf.in_(leaves))
         .order_by(content_items.c.leaf_index))
    for c in conn.execute(q).mappings():
        part: dict[str, Any] = {"id": c["id"], "kind": c["kind"], "media_type": c["media_type"], "name": c["name"],
                                "size": c["size"], "sha256": c["sha256"], "purged": c["purged_at"] is not None}
        if (c["record_leaf"] in with_text and c["purged_at"] is None and c["size"] <= INLINE_TEXT
                and c["media_type"].startswith("text/plain")):
            part["text"] = svc.content.get(c["sha256"]).decode("utf-8", "replace")
        out[c["record_leaf"]].append(part)
    return out


def _message_dict(r: Any, parts: list[dict[str, Any]]) -> dict[str, Any]:
    out = {k: r[k] for k in ("id", "intercept_id", "liid", "kind", "at", "direction", "target", "counterparty",
                             "parties", "correlation", "event", "content_suppressed", "quarantined", "record_id")}
    out["parts"] = parts
    if r["content_suppressed"]:
        out["note"] = "body not kept: the authority allows call-identifying information only (A6)"
    return out


def thread(svc: Services, actor: Actor, case_id: str, counterparty: str | None, *, purpose: str | None,
           limit: int = 500) -> dict[str, Any]:
    """The messages of one thread (or of the case), with part metadata; the text of text
    parts inline for readers of content."""
    catch_up(svc)
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        rows = _visible_messages(conn, scope, case_id, counterparty)[: max(1, min(limit, 5000))]
        with_text = {r["content_leaf"] for r in rows if r["content_leaf"] is not None and _reads_content(actor, scope, r)}
        parts = _parts(conn, svc, case_id, rows, with_text)
        svc.audit(conn, actor, "messages.read", case_id=case_id, object_type="thread",
                  object_id=(counterparty or "all")[:100], purpose=purpose,
                  detail=f"{len(rows)} messages, {len(with_text)} with text")
    return {"counterparty": counterparty,
            "messages": [_message_dict(r, parts.get(r["content_leaf"], []) if r["content_leaf"] is not None else [])
                         for r in rows]}


def part(svc: Services, actor: Actor, case_id: str, message_id: int, part_id: int, *,
         purpose: str | None) -> tuple[dict[str, Any], bytes]:
    """One part of a message (SMS text, MMS image, ...) with its media type: content (A2)."""
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=True)
        msg = conn.execute(select(messages).where(messages.c.id == message_id, messages.c.case_id == case_id)).mappings().first()
        if msg is not None and scope.quarantine == "only" and not scope.visible(msg["intercept_id"], msg["quarantined"]):
            raise AccessDenied("content is read under a grant; the technical unit and the auditor read only "
                               "quarantined content (B3)", rule="C2")
        if msg is None or not scope.visible(msg["intercept_id"], msg["quarantined"]) or msg["content_leaf"] is None:
            raise NotFound("no such message part")
        item = conn.execute(select(content_items).where(
            content_items.c.id == part_id, content_items.c.case_id == case_id,
            content_items.c.record_leaf == msg["content_leaf"])).mappings().first()
        if item is None or item["purged_at"] is not None or not scope.visible(msg["intercept_id"], item["quarantined"]):
            raise NotFound("no such message part")
        svc.audit(conn, actor, "messages.part.read", case_id=case_id, object_type="content_item",
                  object_id=str(part_id), purpose=purpose, detail=f"message {message_id}")
    meta = {"id": item["id"], "media_type": item["media_type"], "name": item["name"], "size": item["size"],
            "sha256": item["sha256"]}
    return meta, svc.content.get(item["sha256"])
