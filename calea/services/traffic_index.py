"""The flow and message indexes, kept up to date from the store (catch-up, incremental).

`catch_up(svc)` reads what the store committed since the last run -- CC chunks of IP
content (rule A2) and index records (header records kept under a PRTT order (A1),
SMS / SIP MESSAGE / MMS records) -- and folds them into `ip_flows` and `messages`.
Progress is a high-water mark per source (`traffic_index_marks`) advanced in the same
transaction as the rows it covers, with a guarded update, so two indexers (threads or
processes) never count a record twice and a crash loses nothing.  The indexes are caches
of the signed records (D1 covers those), rebuilt by clearing the tables and the marks.

`TrafficIndexer` runs catch-up on its own thread when the intake reports a durable batch
(`Intake.subscribers`): the subscriber only sets an event, so the intake thread is never
slowed.  Services call `catch_up` before reading, so a read is current even without it.

TLS SNI and HTTP Host come from the client's bytes reassembled over TCP segments
(`calea.sessions.tcpstream`); a connection's segments often fall into several chunks and
catch-up rounds, so the client streams carry over between rounds in one bounded cache
(`_STREAMS`, per process: a connection indexed partly before a restart, or partly by
another process, is read from the part this process sees).

`forget_purged` (rule D2) takes out of both indexes what purged data contributed, inside
the purge's transaction: every flow that had a packet or header record in the purged data,
and every message made from a purged record, is deleted and made again from what remains
(only flows of the purged conversations, only over the time those flows spanned), so no
count, time or name outlives the data it came from.  The marks are read with a row lock
(`_mark`), so a concurrent catch-up (another process, PostgreSQL) waits for the purge.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from calea.db.schema import cc_chunks, intercepts, iri_records, segments
from calea.db.schema_ip import ip_flows, messages, traffic_index_marks
from calea.services.context import Services
from calea.services.traffic_source import chunk_records
from calea.sessions.call_parties import TargetIdentity
from calea.sessions.ccpackets import FORMAT as IPCC_FORMAT
from calea.sessions.ccpackets import HEADER_EVENT, captured
from calea.sessions.flows import Flow, FlowTable, endpoints, packet_endpoints, streams
from calea.sessions.ipparse import IpPacket, from_header_facts, parse_ip
from calea.sessions.messages import message_facts
from calea.store.items import StoreItem
from calea.store.segments import SegmentFiles

log = logging.getLogger("calea.traffic")
CC_BATCH, IRI_BATCH = 32, 500
LOCK = threading.Lock()  # one catch-up (or purge of the indexes) at a time in this process; the marks guard across processes
_LOCK = LOCK
_STREAMS = streams(1024)  # client streams carried between catch-up rounds (at most 1,024 x 16 KiB)
_CHUNK = 400  # values per IN (...) clause


class _Raced(Exception):
    """Another indexer advanced the mark first: this transaction's work is discarded."""


def _mark(conn: Connection, name: str) -> int:
    """The mark, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite has one writer)."""
    value = conn.execute(select(traffic_index_marks.c.last_id).where(traffic_index_marks.c.name == name)
                         .with_for_update()).scalar()
    if value is None:
        conn.execute(insert(traffic_index_marks).values(name=name, last_id=0))
        return 0
    return int(value)


def _advance(conn: Connection, name: str, old: int, new: int) -> None:
    done = conn.execute(update(traffic_index_marks).where(traffic_index_marks.c.name == name,
                                                          traffic_index_marks.c.last_id == old).values(last_id=new)).rowcount
    if done != 1:
        raise _Raced(name)


def _merge_flow(conn: Connection, base: dict[str, Any], f: Flow) -> None:
    """Add one flow's counts to its row (either orientation), or insert it."""
    c = ip_flows.c
    same = [c.case_id == base["case_id"], c.intercept_id == base["intercept_id"], c.source == base["source"],
            c.quarantined == base["quarantined"], c.protocol == f.protocol]

    def eq(col: Any, value: Any) -> Any:
        return col.is_(None) if value is None else col == value

    fwd = and_(eq(c.client, f.client), eq(c.client_port, f.client_port), eq(c.server, f.server), eq(c.server_port, f.server_port))
    rev = and_(eq(c.client, f.server), eq(c.client_port, f.server_port), eq(c.server, f.client), eq(c.server_port, f.client_port))
    row = conn.execute(select(ip_flows).where(*same, or_(fwd, rev)).limit(1)).mappings().first()
    if row is None:
        d = f.to_dict()
        conn.execute(insert(ip_flows).values(**base, **{k: d[k] for k in (
            "protocol", "client", "client_port", "server", "server_port", "target_side", "first_at", "last_at",
            "packets_up", "bytes_up", "packets_down", "bytes_down", "dns_queries", "dns_answers", "sni", "http_host")}))
        return
    swapped = row["client"] != f.client or row["client_port"] != f.client_port
    add_up, add_down = (f.packets_up, f.bytes_up), (f.packets_down, f.bytes_down)
    if swapped:
        add_up, add_down = add_down, add_up
    side = f.target_side if not swapped or f.target_side is None else {"client": "server", "server": "client"}[f.target_side]
    conn.execute(update(ip_flows).where(ip_flows.c.id == row["id"]).values(
        first_at=min(row["first_at"], f.first_at), last_at=max(row["last_at"], f.last_at),
        packets_up=row["packets_up"] + add_up[0], bytes_up=row["bytes_up"] + add_up[1],
        packets_down=row["packets_down"] + add_down[0], bytes_down=row["bytes_down"] + add_down[1],
        target_side=row["target_side"] or side,
        dns_queries=sorted(set(row["dns_queries"]) | f.dns_queries),
        dns_answers=[list(a) for a in sorted({tuple(a) for a in row["dns_answers"]} | f.dns_answers)],
        sni=row["sni"] or f.sni, http_host=row["http_host"] or f.http_host))


def _index_cc(conn: Connection, files: SegmentFiles) -> int:
    """Flows of the IP packets of CC chunks committed since the mark."""
    old = _mark(conn, "cc")
    rows = conn.execute(
        select(cc_chunks.c.id, cc_chunks.c.case_id, cc_chunks.c.intercept_id, cc_chunks.c.liid, cc_chunks.c.offset,
               cc_chunks.c.length, cc_chunks.c.quarantined, cc_chunks.c.format, segments.c.path, segments.c.purged_at)
        .join(segments, segments.c.id == cc_chunks.c.segment_id)
        .where(cc_chunks.c.id > old).order_by(cc_chunks.c.id).limit(CC_BATCH)).all()
    if not rows:
        return 0
    tables: dict[tuple[str, str, str, bool], FlowTable] = {}
    for r in rows:
        if r.format != IPCC_FORMAT or r.purged_at is not None:
            continue
        group = (r.case_id, r.intercept_id, r.liid, bool(r.quarantined))
        table = tables.get(group)
        if table is None:
            table = tables[group] = FlowTable(_STREAMS, scope=group)
        for record in chunk_records(files, r.path, r.offset, r.length):
            p = captured(record)
            parsed = parse_ip(p.data) if p is not None else None
            if p is not None and parsed is not None:
                table.add(p.at, parsed, p.direction)
    for (case_id, intercept_id, liid, quarantined), table in tables.items():
        base = dict(case_id=case_id, intercept_id=intercept_id, liid=liid, source="cc", quarantined=quarantined)
        for f in table.flows():
            _merge_flow(conn, base, f)
    _advance(conn, "cc", old, int(rows[-1].id))
    return len(rows)


def _index_iri(conn: Connection) -> int:
    """Header records (flows, A1) and message records (threads) committed since the mark."""
    old = _mark(conn, "iri")
    rows = conn.execute(select(iri_records.c.id, iri_records.c.case_id, iri_records.c.intercept_id, iri_records.c.liid,
                               iri_records.c.format, iri_records.c.event, iri_records.c.fields, iri_records.c.intercepted_at,
                               iri_records.c.suppressed, iri_records.c.quarantined, iri_records.c.leaf_index)
                        .where(iri_records.c.id > old).order_by(iri_records.c.id).limit(IRI_BATCH)).all()
    if not rows:
        return 0
    tables: dict[tuple[str, str, str, bool], FlowTable] = defaultdict(FlowTable)
    identities: dict[str, TargetIdentity] = {}
    for r in rows:
        fields = r.fields or {}
        if r.event == HEADER_EVENT:
            p = from_header_facts(fields.get("ip_header") or {})
            if p is not None:
                tables[(r.case_id, r.intercept_id, r.liid, bool(r.quarantined))].add_header(
                    r.intercepted_at, p, (fields.get("cc") or {}).get("direction"))
            continue
        if r.format not in ("ts101671-hi2", "etsi-102232", "3gpp-mms") or not (
                "sms" in fields or "sip" in fields or "mms" in fields):
            continue
        if r.intercept_id not in identities:
            idents = conn.execute(select(intercepts.c.identifiers).where(intercepts.c.id == r.intercept_id)).scalar()
            identities[r.intercept_id] = TargetIdentity.of(idents or [])
        facts = message_facts(r.format, fields, identities[r.intercept_id])
        if facts is not None:
            _merge_message(conn, r, facts)
    for (case_id, intercept_id, liid, quarantined), table in tables.items():
        base = dict(case_id=case_id, intercept_id=intercept_id, liid=liid, source="header", quarantined=quarantined)
        for f in table.flows():
            _merge_flow(conn, base, f)
    _advance(conn, "iri", old, int(rows[-1].id))
    return len(rows)


def _merge_message(conn: Connection, r: Any, facts: Any) -> None:
    """One row per message; an MMS HI2 report and its HI3 PDU (same correlation) are one."""
    has_body = facts.carries_body and not r.suppressed
    values: dict[str, Any] = dict(case_id=r.case_id, intercept_id=r.intercept_id, liid=r.liid, kind=facts.kind,
                                  at=r.intercepted_at, direction=facts.direction, target=facts.target,
                                  counterparty=facts.counterparty[:255], parties=facts.parties,
                                  correlation=facts.correlation, record_id=r.id,
                                  content_leaf=r.leaf_index if has_body else None,
                                  content_suppressed=bool(r.suppressed), event=facts.event, quarantined=bool(r.quarantined))
    if facts.kind == "mms" and facts.correlation:
        row = conn.execute(select(messages).where(messages.c.case_id == r.case_id, messages.c.kind == "mms",
                                                  messages.c.correlation == facts.correlation)).mappings().first()
        if row is not None:
            keep = {}
            if facts.carries_body:  # the HI3 PDU: its parts; the HI2 report keeps the addressing
                keep = dict(content_leaf=values["content_leaf"], content_suppressed=values["content_suppressed"],
                            quarantined=row["quarantined"] or values["quarantined"])
                if row["counterparty"] == "unknown":
                    keep.update(counterparty=values["counterparty"], parties=values["parties"])
            else:
                keep = {k: values[k] for k in ("at", "direction", "target", "counterparty", "parties", "record_id", "event")}
                keep["quarantined"] = row["quarantined"] or values["quarantined"]
            conn.execute(update(messages).where(messages.c.id == row["id"]).values(**keep))
            return
    conn.execute(insert(messages).values(**values))


def _chunks(values: list[Any], size: int = _CHUNK) -> list[list[Any]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def _row_endpoints(r: Any) -> tuple[Any, ...]:
    return endpoints(r.protocol, r.client, r.client_port, r.server, r.server_port)


def _refold_flows(conn: Connection, source: str, touched: dict[str, set[tuple[Any, ...]]],
                  packets: Any) -> dict[str, int]:
    """Delete the `source` flows of each intercept whose endpoints are in `touched`, and
    fold them again from `packets(intercept_id, first, last)`: the remaining (group, time,
    packet, direction) of that intercept over the time the deleted flows spanned."""
    removed = rebuilt = 0
    for intercept_id, pairs in touched.items():
        rows = conn.execute(select(ip_flows.c.id, ip_flows.c.protocol, ip_flows.c.client, ip_flows.c.client_port,
                                   ip_flows.c.server, ip_flows.c.server_port, ip_flows.c.first_at, ip_flows.c.last_at)
                            .where(ip_flows.c.intercept_id == intercept_id, ip_flows.c.source == source)).all()
        gone = [r for r in rows if _row_endpoints(r) in pairs]
        if not gone:
            continue  # none of its purged packets had been indexed yet
        for part in _chunks([r.id for r in gone]):
            removed += conn.execute(delete(ip_flows).where(ip_flows.c.id.in_(part))).rowcount
        again = {_row_endpoints(r) for r in gone}
        tables: dict[tuple[str, str, str, bool], FlowTable] = {}
        for group, at, p, direction in packets(intercept_id, min(r.first_at for r in gone), max(r.last_at for r in gone)):
            if packet_endpoints(p) not in again:
                continue
            table = tables.get(group)
            if table is None:
                table = tables[group] = FlowTable()
            if source == "cc":
                table.add(at, p, direction)
            else:
                table.add_header(at, p, direction)
        for (case_id, icpt, liid, quarantined), table in tables.items():
            base = dict(case_id=case_id, intercept_id=icpt, liid=liid, source=source, quarantined=quarantined)
            for f in table.flows():
                _merge_flow(conn, base, f)
                rebuilt += 1
    return {"removed": removed, "rebuilt": rebuilt}


def _packets_of(files: SegmentFiles, chunk: Any) -> list[tuple[Any, IpPacket, str | None]]:
    out = []
    for record in chunk_records(files, chunk.path, chunk.offset, chunk.length):
        p = captured(record)
        parsed = parse_ip(p.data) if p is not None else None
        if p is not None and parsed is not None and not parsed.fragment:
            out.append((p.at, parsed, p.direction))
    return out


def _header_packet(r: Any) -> tuple[IpPacket | None, str | None]:
    fields = r.fields or {}
    p = from_header_facts(fields.get("ip_header") or {})
    return (None if p is None or p.fragment else p), (fields.get("cc") or {}).get("direction")


def _correlation(fields: Any) -> str | None:
    mms = (fields or {}).get("mms")
    value = mms.get("correlation") if isinstance(mms, dict) else None
    return str(value) if value else None


def forget_purged(conn: Connection, files: SegmentFiles, chunks: list[Any], records: list[Any]) -> dict[str, int]:
    """D2: remove from `ip_flows` and `messages` what purged data contributed, and make the
    affected rows again from what remains -- inside the purge's transaction, after its
    index rows are deleted and while its segment file is still on disk.  The caller holds
    `LOCK`.  `chunks`: the purged `cc_chunks` rows (with the segment's `path`); `records`:
    the purged `iri_records` rows.  Returns counts for the purge's signed record."""
    cc_mark, iri_mark = _mark(conn, "cc"), _mark(conn, "iri")
    out: dict[str, int] = {}

    # flows of kept packets (A2): the conversations the purged chunks had packets of
    touched: dict[str, set[tuple[Any, ...]]] = defaultdict(set)
    for c in chunks:
        if c.format == IPCC_FORMAT:
            touched[c.intercept_id].update(packet_endpoints(p) for _, p, _ in _packets_of(files, c))

    def cc_packets(intercept_id: str, first: Any, last: Any) -> Any:
        q = (select(cc_chunks.c.id, cc_chunks.c.case_id, cc_chunks.c.intercept_id, cc_chunks.c.liid, cc_chunks.c.offset,
                    cc_chunks.c.length, cc_chunks.c.quarantined, segments.c.path)
             .join(segments, segments.c.id == cc_chunks.c.segment_id)
             .where(cc_chunks.c.intercept_id == intercept_id, cc_chunks.c.format == IPCC_FORMAT,
                    cc_chunks.c.id <= cc_mark, segments.c.purged_at.is_(None),
                    cc_chunks.c.first_at <= last, cc_chunks.c.last_at >= first).order_by(cc_chunks.c.id))
        for r in conn.execute(q).all():
            group = (r.case_id, r.intercept_id, r.liid, bool(r.quarantined))
            for at, p, direction in _packets_of(files, r):
                yield group, at, p, direction

    got = _refold_flows(conn, "cc", touched, cc_packets)
    out["flows_removed"], out["flows_rebuilt"] = got["removed"], got["rebuilt"]

    # flows of header records (A1)
    touched = defaultdict(set)
    for r in records:
        if r.event == HEADER_EVENT:
            p, _ = _header_packet(r)
            if p is not None:
                touched[r.intercept_id].add(packet_endpoints(p))

    def header_packets(intercept_id: str, first: Any, last: Any) -> Any:
        q = (select(iri_records.c.case_id, iri_records.c.intercept_id, iri_records.c.liid, iri_records.c.quarantined,
                    iri_records.c.intercepted_at, iri_records.c.fields)
             .where(iri_records.c.intercept_id == intercept_id, iri_records.c.event == HEADER_EVENT,
                    iri_records.c.id <= iri_mark, iri_records.c.intercepted_at >= first,
                    iri_records.c.intercepted_at <= last).order_by(iri_records.c.id))
        for r in conn.execute(q).all():
            p, direction = _header_packet(r)
            if p is not None:
                yield (r.case_id, r.intercept_id, r.liid, bool(r.quarantined)), r.intercepted_at, p, direction

    got = _refold_flows(conn, "header", touched, header_packets)
    out["flows_removed"] += got["removed"]
    out["flows_rebuilt"] += got["rebuilt"]

    # messages: those made from a purged record (addressing or parts), and the MMS whose
    # report or PDU went (its other half, if kept, makes the message again)
    ids = [r.id for r in records]
    leaves: dict[str, list[int]] = defaultdict(list)
    again: dict[str, set[str]] = defaultdict(set)
    for r in records:
        leaves[r.case_id].append(int(r.leaf_index))
        if r.format == "3gpp-mms" and (corr := _correlation(r.fields)):
            again[r.case_id].add(corr)
    doomed: dict[int, Any] = {}
    cols = (messages.c.id, messages.c.case_id, messages.c.kind, messages.c.correlation)
    for part in _chunks(ids):
        doomed.update((m.id, m) for m in conn.execute(select(*cols).where(messages.c.record_id.in_(part))))
    for case_id, case_leaves in leaves.items():
        for part in _chunks(case_leaves):
            doomed.update((m.id, m) for m in conn.execute(select(*cols).where(
                messages.c.case_id == case_id, messages.c.content_leaf.in_(part))))
    for m in list(doomed.values()):
        if m.kind == "mms" and m.correlation:
            again[m.case_id].add(m.correlation)
    for case_id, corrs in again.items():
        for part in _chunks(sorted(corrs)):
            doomed.update((m.id, m) for m in conn.execute(select(*cols).where(
                messages.c.case_id == case_id, messages.c.kind == "mms", messages.c.correlation.in_(part))))
    removed = 0
    for part in _chunks(sorted(doomed)):
        removed += conn.execute(delete(messages).where(messages.c.id.in_(part))).rowcount
    rebuilt = 0
    identities: dict[str, TargetIdentity] = {}
    for case_id, corrs in again.items():
        q = (select(iri_records.c.id, iri_records.c.case_id, iri_records.c.intercept_id, iri_records.c.liid,
                    iri_records.c.format, iri_records.c.event, iri_records.c.fields, iri_records.c.intercepted_at,
                    iri_records.c.suppressed, iri_records.c.quarantined, iri_records.c.leaf_index)
             .where(iri_records.c.case_id == case_id, iri_records.c.format == "3gpp-mms", iri_records.c.id <= iri_mark)
             .order_by(iri_records.c.id))
        for r in conn.execute(q).all():
            if _correlation(r.fields) not in corrs:
                continue
            if r.intercept_id not in identities:
                idents = conn.execute(select(intercepts.c.identifiers).where(intercepts.c.id == r.intercept_id)).scalar()
                identities[r.intercept_id] = TargetIdentity.of(idents or [])
            facts = message_facts(r.format, r.fields or {}, identities[r.intercept_id])
            if facts is not None:
                _merge_message(conn, r, facts)
                rebuilt += 1
    out["messages_removed"], out["messages_rebuilt"] = removed, rebuilt
    return out


def catch_up(svc: Services, files: SegmentFiles | None = None, *, rounds: int = 1000) -> dict[str, int]:
    """Index everything committed so far; returns the number of chunks and records read."""
    files = files or SegmentFiles(svc.settings.home / "segments")
    done = {"cc": 0, "iri": 0}
    with LOCK:
        for name, step in (("cc", lambda conn: _index_cc(conn, files)), ("iri", _index_iri)):
            for _ in range(rounds):
                try:
                    with svc.db.write() as conn:
                        n = step(conn)
                except _Raced:
                    continue
                done[name] += n
                if n == 0:
                    break
    return done


class TrafficIndexer:
    """Runs `catch_up` on its own thread after durable intake batches.

        indexer = TrafficIndexer(svc); intake.subscribers.append(indexer.notify); indexer.start()
    """

    FORMATS = frozenset({IPCC_FORMAT, "ts101671-hi2", "3gpp-mms"})

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self, items: list[StoreItem]) -> None:
        if any(it.format in self.FORMATS for it in items):
            self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="calea-traffic-index", daemon=True)
        self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                catch_up(self.svc)
            except Exception:
                log.exception("traffic index catch-up failed; retried on the next batch")
