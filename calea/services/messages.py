"""Message threads of a case (SMS, SIP MESSAGE, MMS) and their parts (A1, A2, A6, C2, C5, B3).

Threads and addressing are call-identifying (A1).  Bodies and MMS parts are content
items the store kept only under an eavesdropping authority (A2); under a PRTT order a
message shows `content_suppressed` and has no parts (A6).  Reads are audited with their
purpose (C5); who sees what follows `calea.services.dataread` (C2, B3).

Threads are counted, and a thread's messages filtered and paged (offset / limit, with the
total), in the database: the visibility rule B3 is a WHERE clause
(`dataread.visible_where`), checked once more on the rows read.  `messages_csv` exports
every message that matches, a batch at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Select, case, func, or_, select

from calea.db.schema import content_items, intercepts
from calea.db.schema_ip import messages
from calea.domain.access import Perm, has_perm
from calea.errors import AccessDenied, NotFound
from calea.services.context import Actor, Services
from calea.services.dataread import Scope, read_scope, visible_where
from calea.services.listing import csv_line, keyset_batches, page_offset
from calea.services.traffic_index import catch_up

INLINE_TEXT = 16_384  # text parts up to this size are shown inline to readers of content


MESSAGE_CSV = ("message_id", "at", "liid", "kind", "event", "direction", "target", "counterparty", "from", "to", "cc",
               "bcc", "correlation", "content_suppressed", "parts", "text", "quarantined", "record_id")


def _messages_query(scope: Scope, case_id: str, counterparty: str | None = None,
                    intercept_id: str | None = None) -> Select[Any]:
    """The messages of a case the scope lets the caller see (B3, in SQL), of one thread
    and / or one intercept."""
    q = select(messages).where(messages.c.case_id == case_id, visible_where(scope, messages))
    if counterparty is not None:
        q = q.where(messages.c.counterparty == counterparty)
    if intercept_id is not None:
        q = q.where(messages.c.intercept_id == intercept_id)
    return q


def _check_intercept(conn: Connection, case_id: str, intercept_id: str | None) -> None:
    if intercept_id is not None and conn.execute(select(intercepts.c.id).where(
            intercepts.c.id == intercept_id, intercepts.c.case_id == case_id)).first() is None:
        raise NotFound("no such intercept in this case")


def threads(svc: Services, actor: Actor, case_id: str, *, purpose: str | None,
            intercept_id: str | None = None, limit: int | None = None, offset: int = 0,
            clamp: bool = False) -> dict[str, Any]:
    """One entry per counterparty (of the case, or of one intercept's messages): how many
    messages, when, which kinds and directions; the most recent thread first.  `limit`
    threads from `offset` (None: all), counted and paged in the database, with the `total`
    of threads and of their `messages`; with `clamp`, an offset past the end reads the last
    page."""
    catch_up(svc)
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        _check_intercept(conn, case_id, intercept_id)
        seen = _messages_query(scope, case_id, intercept_id=intercept_id).subquery()
        grouped = (select(seen.c.counterparty, func.count().label("messages"), func.min(seen.c.at).label("first_at"),
                          func.max(seen.c.at).label("last_at"),
                          func.sum(case((seen.c.direction == "in", 1), else_=0)).label("in"),
                          func.sum(case((seen.c.direction == "out", 1), else_=0)).label("out"))
                   .group_by(seen.c.counterparty))
        sizes = grouped.subquery()
        total, messages_total = conn.execute(select(func.count(), func.coalesce(func.sum(sizes.c.messages), 0))).one()
        total, messages_total = int(total), int(messages_total)
        ordered = grouped.order_by(func.max(seen.c.at).desc(), seen.c.counterparty)
        if limit is not None:
            limit = max(1, min(limit, 5000))
            offset = max(0, offset)
            if clamp and total and offset >= total:
                offset = (total - 1) // limit * limit
            ordered = ordered.limit(limit).offset(offset)
        else:
            offset = 0
        counted = conn.execute(ordered).mappings().all()
        shown = [t["counterparty"] for t in counted]
        kinds: dict[str, set[str]] = defaultdict(set)
        liids: dict[str, set[str]] = defaultdict(set)
        detail = select(seen.c.counterparty, seen.c.kind, seen.c.liid).distinct()
        if limit is not None:  # the shown threads' only
            named = [cp for cp in shown if cp is not None]
            detail = detail.where(or_(seen.c.counterparty.in_(named), seen.c.counterparty.is_(None)) if None in shown
                                  else seen.c.counterparty.in_(named))
        for cp, kind, liid in conn.execute(detail):
            kinds[cp].add(kind)
            liids[cp].add(liid)
        svc.audit(conn, actor, "messages.threads", case_id=case_id, object_type="messages",
                  object_id=f"{messages_total} messages", purpose=purpose,
                  detail=f"{total} threads" + (f", {offset + 1}-{offset + len(counted)} shown" if limit is not None and counted else "")
                  + (f"; intercept {intercept_id}" if intercept_id else ""))
    return {"threads": [{"counterparty": t["counterparty"], "messages": int(t["messages"]), "first_at": t["first_at"],
                         "last_at": t["last_at"], "kinds": sorted(kinds[t["counterparty"]]), "in": int(t["in"] or 0),
                         "out": int(t["out"] or 0), "liids": sorted(liids[t["counterparty"]])} for t in counted],
            "total": total, "messages": messages_total, "offset": offset, "limit": limit}


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
           limit: int = 500, offset: int = 0, intercept_id: str | None = None, clamp: bool = False) -> dict[str, Any]:
    """The messages of one thread (or of the case), oldest first, `limit` from `offset`,
    with the `total` matching (counted and paged in the database) and part metadata; the
    text of text parts inline for readers of content.  With `clamp`, an offset past the
    end reads the last page."""
    catch_up(svc)
    limit = max(1, min(limit, 5000))
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        _check_intercept(conn, case_id, intercept_id)
        q = _messages_query(scope, case_id, counterparty, intercept_id)
        total = int(conn.execute(select(func.count()).select_from(q.subquery())).scalar() or 0)
        offset = page_offset(offset, limit, total, clamp)
        found = conn.execute(q.order_by(messages.c.at, messages.c.id).limit(limit).offset(offset)).mappings().all()
        # B3 once more on the rows read (the WHERE clause says the same): a page never shows more
        rows = [r for r in found if scope.visible(r["intercept_id"], r["quarantined"])]
        with_text = {r["content_leaf"] for r in rows
                     if r["content_leaf"] is not None and _reads_content(actor, scope, r)}
        parts = _parts(conn, svc, case_id, rows, with_text)
        svc.audit(conn, actor, "messages.read", case_id=case_id, object_type="thread",
                  object_id=(counterparty or "all")[:100], purpose=purpose,
                  detail=f"{len(rows)} messages ({offset + 1 if rows else 0}-{offset + len(rows)} of {total}), "
                         f"{len(with_text)} with text" + (f"; intercept {intercept_id}" if intercept_id else ""))
    return {"counterparty": counterparty, "total": total, "offset": offset, "limit": limit,
            "messages": [_message_dict(r, parts.get(r["content_leaf"], []) if r["content_leaf"] is not None else [])
                         for r in rows]}


def messages_csv(svc: Services, actor: Actor, case_id: str, counterparty: str | None, *, purpose: str | None,
                 intercept_id: str | None = None) -> Iterator[str]:
    """Every message of a thread (or of the case), of one intercept or all, as CSV (RFC 4180),
    oldest first: addressing (A1), whether the body was suppressed under a PRTT order (A6),
    the number of parts kept, and the text of text parts for readers of content -- the
    thread view's rules.  Access is checked and the export audited with its purpose before
    the first line; the rows are then read a batch at a time."""
    catch_up(svc)
    with svc.db.write() as conn:
        scope = read_scope(conn, svc, actor, case_id, purpose, content=False)
        _check_intercept(conn, case_id, intercept_id)
        svc.audit(conn, actor, "messages.export_csv", case_id=case_id, object_type="thread",
                  object_id=(counterparty or "all")[:100], purpose=purpose,
                  detail=f"intercept {intercept_id}" if intercept_id else None)
    query = _messages_query(scope, case_id, counterparty, intercept_id)

    def lines() -> Iterator[str]:
        yield csv_line(list(MESSAGE_CSV))
        for batch in keyset_batches(svc, query, (messages.c.at, messages.c.id)):
            rows = [r for r in batch if scope.visible(r["intercept_id"], r["quarantined"])]
            with_text = {r["content_leaf"] for r in rows
                         if r["content_leaf"] is not None and _reads_content(actor, scope, r)}
            with svc.db.read() as conn:
                parts = _parts(conn, svc, case_id, rows, with_text)
            for r in rows:
                kept = parts.get(r["content_leaf"], []) if r["content_leaf"] is not None else []
                yield csv_line(_message_row(r, kept))

    return lines()


def _message_row(r: Any, parts: list[dict[str, Any]]) -> list[Any]:
    parties = r["parties"] or {}
    texts = [p["text"] for p in parts if "text" in p]
    return [r["id"], r["at"], r["liid"], r["kind"], r["event"], r["direction"], r["target"], r["counterparty"],
            *(" ".join(parties.get(k) or []) for k in ("from", "to", "cc", "bcc")), r["correlation"],
            bool(r["content_suppressed"]), len(parts), "\n".join(texts) if texts else None, bool(r["quarantined"]),
            r["record_id"]]


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
