"""The intake pipeline: every received record is decoded, de-duplicated per stream, judged
by the gate and handed to the store in durable batches (rules A6–A8, B3, D1).

One worker thread drains a bounded queue (backpressure: `offer` returns False when it is
full and the listener pauses reading).  `process(batch)` is the same work, synchronously,
for tests and the benchmark.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
from sqlalchemy import select

from calea.db.bulk import DriverKeySelect
from calea.db.schema import authorities, intercepts, streams
from calea.gate.decide import CachedGate
from calea.gate.snapshot import GateSnapshot
from calea.handover.ber import from_epoch_us
from calea.handover.errors import MalformedRecord
from calea.handover.etsi102232 import decode as decode_etsi
from calea.handover.etsi102232 import read_header
from calea.handover.etsi102232_fast import fast_scan
from calea.handover.model import Channel, Delivery, RecordKind
from calea.handover.registry import FORMATS, decode_ccc
from calea.intake.gcpause import gc_paused
from calea.services.context import Services
from calea.services.rows import authority_from, intercept_from
from calea.sessions.ccpackets import header_item
from calea.store.items import NO_FIELDS, Malformed, Refusal, StoreItem
from calea.store.streams import StreamState
from calea.store.writer import BatchResult, StoreWriter

log = logging.getLogger("calea.intake")

# A stream not seen for STREAM_IDLE seconds leaves memory (its state stays in the store, where
# it is looked up should the stream come back, e.g. a call's BYE minutes after its INVITE): at
# 1,500 new calls a second that is ~60,000 states, ~20 MB.  The window is about memory, not
# correctness.
STREAM_IDLE = 30.0
EVICT_EVERY = 10.0  # seconds between two sweeps for idle streams
# the stored states of streams not in memory (a call's CIN is a stream of its own): those a
# batch's IRI records name, LOOKUP_CHUNK at a time, one statement each; any other one alone
_STREAMS_BY_KEYS = DriverKeySelect(
    (streams.c.liid, streams.c.cin, streams.c.channel, streams.c.max_seq, streams.c.received, streams.c.duplicates,
     streams.c.gaps), (streams.c.liid, streams.c.cin, streams.c.channel))
LOOKUP_CHUNK = 256

# PacketCable call content comes over UDP beside the CDC's TCP: packets sent just before a CCClose
# may be read after it.  The CCC id keeps its LIID this long after its CCClose.
CCC_GRACE = timedelta(seconds=10)
# ...and may overtake, on the network, the CCOpen that names its id: held up to CCC_HOLD for it
# (CCC_HOLD_MAX datagrams in all, in memory), then refused (A7) if it has still not come.
CCC_HOLD = timedelta(seconds=2)
CCC_HOLD_MAX = 20_000
CCC_CLOSED = timedelta(minutes=1)  # content for an id ended this lately is the ended call's: not held
ALERT_EVERY = timedelta(minutes=1)  # at most one unauthorized-delivery alert per LIID and rule a minute
# A sequence gap still open GAP_GRACE after it opened is alerted (D1), at most once per LIID every
# ALERT_EVERY (the gaps of the minutes between go into the next one); one that closes sooner (the
# carrier's resend after a reconnect, records reordered) is not.  At most MAX_PENDING_GAPS wait.
GAP_GRACE = timedelta(seconds=5)
MAX_PENDING_GAPS = 10_000
ALERT_STREAMS = 20  # streams an alert names (it counts all)


class Received(NamedTuple):
    """One record as received (a NamedTuple: one per record, and cheap to build)."""

    record: bytes
    channel: Channel
    format: str
    peer: str
    received_at: datetime
    delivery: Delivery | None = None  # already decoded (a replay of stored deliveries; tests)


@dataclass
class Counters:
    received: int = 0
    stored: int = 0
    refused: int = 0
    duplicates: int = 0
    malformed: int = 0
    suppressed: int = 0
    batches: int = 0
    held: int = 0  # PacketCable content waiting, now, for the CCOpen of its id (CCC_HOLD)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class IntakeStats:
    counters: Counters = field(default_factory=Counters)
    streams: dict[tuple[str, str, str], StreamState] = field(default_factory=dict)


def tune_gc() -> None:
    """Intake processes build many short-lived objects per record that live exactly as long as
    their batch (headers, items); with CPython's default thresholds they are scanned and
    promoted again and again before the batch frees them (by reference counting, no cycles).
    Freeze what start-up allocated and collect the young generation every 100,000
    allocations instead of 700 (about 7 % of the CC lane's time)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 10, 100)


def load_snapshot(svc: Services, version: int = 0) -> GateSnapshot:
    with svc.db.read() as conn:
        icpts = {r["liid"]: intercept_from(r) for r in conn.execute(select(intercepts)).mappings()}
        by_case: dict[str, list[Any]] = {}
        for r in conn.execute(select(authorities)).mappings():
            by_case.setdefault(r["case_id"], []).append(authority_from(r))
    return GateSnapshot(icpts, {k: tuple(v) for k, v in by_case.items()}, version)


class Intake:
    def __init__(self, svc: Services, writer: StoreWriter | None = None, *, batch_size: int = 20_000,
                 max_delay: float = 0.05, queue_size: int = 200_000, snapshot_seconds: float = 1.0,
                 stream_idle: float = STREAM_IDLE) -> None:
        self.svc = svc
        self.writer = writer or svc.store_writer()
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.snapshot_seconds = snapshot_seconds
        # parcels of records (one per read on a connection); bounded by records, not parcels
        self.queue: queue.Queue[list[Received]] = queue.Queue()
        self.queue_size = queue_size
        self._queued = 0
        self._queued_lock = threading.Lock()
        self.stats = IntakeStats()
        self.snapshot = load_snapshot(svc)
        self.gate = CachedGate(self.snapshot)
        self._snapshot_at = time.monotonic()
        self._last_alert: dict[tuple[str | None, str], datetime] = {}
        self._gaps_pending: list[tuple[tuple[str, str, str], int, int, datetime]] = []  # (stream, lo, hi, opened at)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._drained = threading.Condition()
        self._wrote = False  # whether the batch in `process` reached the store
        self.ccc_map: dict[int, str] = {}  # PacketCable call-content ids -> LIID, learnt from CCOpen
        self._ccc_ends: dict[int, datetime] = {}  # CCC ids a CCClose ended -> when they leave the map
        self._ccc_closed: dict[int, datetime] = {}  # ids ended lately -> until when content for them is not held
        self._ccc_held: dict[int, list[Received]] = {}  # content waiting for the CCOpen of its id
        self._ccc_held_count = 0
        self._released: list[Received] = []  # held content going to the gate with the current batch
        # Called after each durable batch with the items stored (sessions, live monitors).
        # A subscriber must be quick and must not raise; it runs on the intake thread.
        self.subscribers: list[Callable[[list[StoreItem]], None]] = []
        # Stream state: the streams seen in the last `stream_idle` seconds are in memory; any
        # other is looked up in the store when it comes back (a call's CIN is a stream of its
        # own, so memory would otherwise grow by one state per call for ever).
        self.stream_idle = stream_idle
        self._swept_at = time.monotonic()
        self._lookups = ExitStack()  # holds the batch's read connection, opened on its first look-up
        self._lookup_conn: Any = None
        self._load_streams()

    # --- lifecycle -------------------------------------------------------------------------

    def quarantine_hook(self, conn: Any, intercept_id: str, at: datetime) -> Any:
        """B3: the data collected under a stopped emergency intercept is quarantined (kept,
        signed, readable only by taru and the auditor); the fact is a signed store event."""
        from calea.db.schema import cc_chunks, content_items, iri_records

        case_id = None
        counts = {}
        for table in (iri_records, cc_chunks, content_items):
            counts[table.name] = conn.execute(table.update().where(table.c.intercept_id == intercept_id).values(quarantined=True)).rowcount
        from calea.sessions.calls_store import quarantine_calls

        quarantine_calls(conn, intercept_id)
        row = conn.execute(select(intercepts.c.case_id).where(intercepts.c.id == intercept_id)).first()
        case_id = row.case_id if row else None
        self._snapshot_at = 0.0  # refresh before the next batch
        if case_id is None:
            return None
        body = {"rule": "B3", "at": at.isoformat(), "rows": counts}
        return lambda: self.writer.write_events([(case_id, "quarantine", intercept_id, body)])

    def start(self) -> None:
        from calea.services.scheduler import QUARANTINE_HOOKS

        QUARANTINE_HOOKS.append(self.quarantine_hook)
        self.writer.recover()
        self._thread = threading.Thread(target=self._run, name="calea-intake", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        from calea.services.scheduler import QUARANTINE_HOOKS

        if self.quarantine_hook in QUARANTINE_HOOKS:
            QUARANTINE_HOOKS.remove(self.quarantine_hook)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.writer.close()

    def offer(self, item: Received) -> bool:
        return self.offer_many([item])

    def offer_many(self, items: list[Received]) -> bool:
        """Queue records for the pipeline; False (nothing queued) when the queue is full."""
        with self._queued_lock:
            if self._queued + len(items) > self.queue_size and self._queued:
                return False
            self._queued += len(items)
        self.queue.put(items)
        return True

    def queued(self) -> int:
        return self._queued

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Until everything offered so far is durably stored (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._drained:
            while self.queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._drained.wait(left)
        return True

    def refresh_snapshot(self) -> None:
        self.snapshot = load_snapshot(self.svc, self.snapshot.version + 1)
        self.gate = CachedGate(self.snapshot)
        self._snapshot_at = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set() or not self.queue.empty():
            parcels: list[list[Received]] = []
            try:
                parcels.append(self.queue.get(timeout=0.1))
            except queue.Empty:
                if self._ccc_held and self._held_due(self.svc.now()):
                    self._process_or_salvage([])  # no traffic: held content that waited its time is decided
                if self._gaps_pending:
                    try:
                        self._gap_alerts(self.svc.now())
                    except Exception:  # (tried again on the next round: the gaps wait)
                        log.exception("could not raise the sequence-gap alerts")
                continue
            count = _weight(parcels[0])
            deadline = time.monotonic() + self.max_delay
            while count < self.batch_size:
                left = deadline - time.monotonic()
                try:
                    parcel = self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait()
                except queue.Empty:
                    break
                parcels.append(parcel)
                count += _weight(parcel)
            batch = [r for p in parcels for r in p]
            try:
                self._process_or_salvage(batch)
            finally:
                with self._queued_lock:
                    self._queued -= len(batch)
                for _ in parcels:
                    self.queue.task_done()
                with self._drained:
                    self._drained.notify_all()
        if self._ccc_held:  # stopping: nothing more will come for the content still held
            self._release_expired(self.svc.now(), everything=True)
            self._process_or_salvage([])

    def _process_or_salvage(self, batch: list[Received]) -> None:
        """`process`; should it raise before anything of the batch was stored, the batch again
        in halves down to the record that makes it fail, which is kept in quarantine with the
        error as its reason: one bad record loses nothing else."""
        try:
            self.process(batch)
            return
        except Exception as exc:
            log.exception("intake batch of %d records failed; streams reloaded", len(batch))
            self._load_streams()
            if self._wrote:  # stored already (a later step failed): nothing to salvage
                return
            error = exc
            if self._released:  # held content the batch took along is salvaged with it
                batch, self._released = batch + self._released, []
        if not batch:
            return
        if len(batch) == 1:
            rec = batch[0]
            self.writer.write([], [], [Malformed(self.svc.now(), rec.peer, rec.channel.value, rec.format, "processing-error",
                                                 f"{type(error).__name__}: {error}", rec.record)])
            self.stats.counters.malformed += 1
            return
        mid = len(batch) // 2
        for part in (batch[:mid], batch[mid:]):
            self.stats.counters.received -= len(part)  # counted once already
            self._process_or_salvage(part)

    # --- the work ----------------------------------------------------------------------------

    def process(self, batch: list[Received]) -> BatchResult:
        with self._lookups, gc_paused():  # the batch's objects are freed with it, by reference counting
            try:
                return self._process(batch)
            finally:
                self._lookup_conn = None

    def _process(self, batch: list[Received]) -> BatchResult:
        self._wrote = False
        if time.monotonic() - self._snapshot_at >= self.snapshot_seconds:
            self.refresh_snapshot()
        now = self.svc.now()
        if self._ccc_ends or self._ccc_closed:
            self._expire_ccc(now)
        if self._ccc_held:
            self._release_expired(now)
        items: list[StoreItem] = []
        refused: list[Refusal] = []
        bad: list[Malformed] = []
        touched: set[tuple[str, str, str]] = set()
        c = self.stats.counters
        c.received += len(batch)
        streams = self.stats.streams
        cc, iri = RecordKind.CC, RecordKind.IRI
        gate = self.gate
        keep = items.append
        last_channel, chv = None, ""
        for rec, scan in zip(batch, self._scan(batch)):
            if rec.channel is not last_channel:  # (an enum's .value is a property: once per run of records)
                last_channel, chv = rec.channel, rec.channel.value
            if rec.delivery is None and rec.format == "etsi-102232":
                if scan is None:  # not scanned ahead (CC: its streams are few and long, looked up one by one)
                    found, key = fast_scan(rec.record), None
                else:
                    found, key = scan
                if found is not None:  # (None: not the usual layout, the exact reader decides)
                    header = found[0]
                else:
                    try:
                        header = read_header(rec.record)
                    except MalformedRecord as exc:
                        bad.append(Malformed(now, rec.peer, rec.channel.value, rec.format, exc.reason, str(exc), rec.record))
                        continue
                if header.kind is cc:
                    # Hot path: CC is kept byte-exact; the gate needs only the header (A6: it is all content).
                    if key is None:  # (read by the exact reader: not scanned, not looked up)
                        key = (header.liid, "" if header.cin is None else str(header.cin), chv)
                    cin = key[1]
                    state = streams.get(key)
                    if state is None:
                        state = self._stream(key)
                    touched.add(key)
                    if not state.observe(header.sequence):
                        c.duplicates += 1
                        continue
                    us = header.timestamp_us
                    at = None if us is None else from_epoch_us(us)  # no stamp at all: the gate refuses it (A8)
                    res = gate(header.liid, at, True, now)
                    dec, icpt = res.decision, res.intercept
                    if icpt is None or dec.suppress_content or not dec.stored:
                        self._judge_cc(header, cin, rec, at, res, now, items, refused)
                        continue
                    # stored as received; positional (keyword arguments and the fields factory would
                    # cost more than the rest of this record's work)
                    keep(StoreItem(icpt.case_id, icpt.id, header.liid, chv, "etsi-102232", "cc", cin or None,
                                   header.sequence, at, rec.received_at, rec.record, dec.rule, dec.late, dec.quarantine,
                                   None, NO_FIELDS, (), ()))
                    continue
                if found is not None and header.kind is iri:
                    # Hot path of the usual IRI record: what the general path below does for it,
                    # inline (tests/intake/test_iri_lane.py holds the two equal).
                    try:
                        d = decode_etsi(rec.record, last_channel, scanned=found)
                    except MalformedRecord as exc:
                        bad.append(Malformed(now, rec.peer, chv, rec.format, exc.reason, str(exc), rec.record))
                        continue
                    if not self._new(key or (header.liid, d.cin or "", chv), header.sequence, touched):
                        continue  # (a method call is nothing beside an IRI record's decode)
                    res = gate(header.liid, d.intercepted_at, bool(d.content), now)
                    dec, icpt = res.decision, res.intercept
                    if icpt is None or not dec.stored or (dec.suppress_content and d.content) or d.intercepted_at is None:
                        self._judge(d, rec, now, items, refused)  # refused, or content to suppress (A6): the general way
                        continue
                    # ETSI fields have no top-level "event" (`_event_name` is None); the delivery's
                    # fields are its own, handed over uncopied
                    keep(StoreItem(icpt.case_id, icpt.id, header.liid, chv, "etsi-102232", "iri", d.cin, header.sequence,
                                   d.intercepted_at, rec.received_at, d.raw, dec.rule, dec.late, dec.quarantine, None,
                                   d.fields, tuple([p for p in d.content if p.data]) if d.content else (), ()))
                    continue
            self._general(rec, now, items, refused, bad, touched)
        # PacketCable content held for its CCOpen: named by a CCOpen of this batch, or held too long
        for rec in self._released:  # (the list grows while it is read when the hold overflows)
            self._general(rec, now, items, refused, bad, touched, hold=False)
        mono = time.monotonic()
        rows, gapped = self._stream_rows(touched, now, mono)
        result = self.writer.write(items, refused, bad, rows)
        self._wrote = True
        self._released.clear()  # (kept should the batch fail: the next attempt takes them)
        for subscriber in self.subscribers:
            try:
                subscriber(items)
            except Exception:
                log.exception("intake subscriber %r failed", subscriber)
        c.stored += result.stored
        c.refused += len(refused)
        c.malformed += len(bad)
        c.suppressed += result.suppressed
        c.batches += 1
        c.held = self._ccc_held_count
        if mono - self._swept_at >= EVICT_EVERY:
            self._evict_idle(mono)
        if refused:
            self._alert(refused, now)
        for key in gapped:  # (once stored: the gaps this batch opened wait for their alert)
            self._gaps_pending.extend((key, lo, hi, now) for lo, hi in streams[key].take_opened())
        if self._gaps_pending:
            del self._gaps_pending[:-MAX_PENDING_GAPS]  # (the oldest go: the page lists every gap)
            self._gap_alerts(now)
        checks = [it for it in items if it.kind == "integrity-check"]
        if checks:
            self._verify_integrity(checks, now)
        return result

    def _verify_integrity(self, checks: list[StoreItem], now: datetime) -> None:
        """TS 102 232-1 integrity checks against the stored raw bytes; a mismatch, or a check
        over records never received, raises an alert; every result is a signed store event."""
        from calea.db.schema import carriers
        from calea.store.integrity import verify_check

        events = []
        with self.svc.db.write() as conn:
            for it in checks:
                cert = conn.execute(select(carriers.c.tls_client_cert).join(intercepts, intercepts.c.carrier_id == carriers.c.id)
                                    .where(intercepts.c.id == it.intercept_id)).scalar()
                result = verify_check(conn, self.writer.files, it.fields, it.liid, it.cin, cert)
                ic = (it.fields.get("tri") or {}).get("integrity_check") or {}
                seqs = ic.get("included_sequence_numbers", [])
                body = {"liid": it.liid, "cin": it.cin, "data_type": ic.get("data_type"), "check_type": ic.get("check_type"),
                        "first_seq": min(seqs) if seqs else None, "last_seq": max(seqs) if seqs else None,
                        "count": len(seqs), "status": result.status, "detail": result.detail}
                events.append((it.case_id, "integrity", it.intercept_id, body))
                if not result.ok:
                    self.svc.alert(conn, f"intake.integrity_{result.status}", f"integrity check for LIID {it.liid!r}: {result.detail}",
                                   severity="critical" if result.status == "mismatch" else "warning", rule="D1",
                                   case_id=it.case_id, intercept_id=it.intercept_id, details=body)
        self.writer.write_events(events)

    def _general(self, rec: Received, now: datetime, items: list[StoreItem], refused: list[Refusal], bad: list[Malformed],
                 touched: set[tuple[str, str, str]], *, hold: bool = True) -> None:
        """A record the hot lanes leave: decoded in full by its format's codec, then each of its
        deliveries de-duplicated on its stream and judged by the gate."""
        try:
            if rec.delivery is not None:
                deliveries = [rec.delivery]
            elif rec.format == "pcesp-ccc":  # its LIID: the CCC map's, after every CCOpen queued before it
                d = decode_ccc(rec.record, self.ccc_map, rec.received_at)
                if hold and d.fields.get("unmapped_ccc") and self._hold(rec, now):
                    return
                deliveries = [d]
            else:
                deliveries = FORMATS[rec.format].decode(rec.record, rec.channel)
        except MalformedRecord as exc:
            bad.append(Malformed(now, rec.peer, rec.channel.value, rec.format, exc.reason, str(exc), rec.record))
            return
        for d in deliveries:
            if d.format == "pcesp-cdc":
                self._learn_ccc(d)
            if d.kind in (RecordKind.KEEPALIVE, RecordKind.KEEPALIVE_RESPONSE, RecordKind.OTHER):
                continue
            if d.sequence is not None:
                # integrity-check PDUs number on their own (TS 102 232-1 TRI payloads)
                channel = rec.channel.value + ("-ic" if d.kind is RecordKind.INTEGRITY_CHECK else "")
                if not self._new((d.liid, d.cin or "", channel), d.sequence, touched):
                    continue
            self._judge(d, rec, now, items, refused)

    def _hold(self, rec: Received, now: datetime) -> bool:
        """PacketCable content whose CCC id no CCOpen has named yet: on the network, UDP may
        overtake the CDC's TCP.  Held in memory (CCC_HOLD at most, CCC_HOLD_MAX datagrams in
        all) for the CCOpen that names it; False when it has waited long enough (A7 decides)."""
        ccc_id = int.from_bytes(rec.record[:4], "big")
        if now - rec.received_at >= CCC_HOLD or ccc_id in self._ccc_closed:
            return False
        self._ccc_held.setdefault(ccc_id, []).append(rec)
        self._ccc_held_count += 1
        if self._ccc_held_count > CCC_HOLD_MAX:  # the id waiting longest goes to the gate now
            oldest = min(self._ccc_held, key=lambda k: self._ccc_held[k][0].received_at)
            self._release_ccc(oldest)
        return True

    def _release_ccc(self, ccc_id: int) -> None:
        held = self._ccc_held.pop(ccc_id, None)
        if held:
            self._ccc_held_count -= len(held)
            self._released.extend(held)

    def _release_expired(self, now: datetime, *, everything: bool = False) -> None:
        """Held content whose CCOpen has not come in CCC_HOLD goes to the gate (refused, A7)."""
        for ccc_id in list(self._ccc_held):
            held = self._ccc_held[ccc_id]
            if not everything and now - held[0].received_at < CCC_HOLD:
                continue  # (in arrival order: none of them has waited long enough)
            waited = [everything or now - r.received_at >= CCC_HOLD for r in held]
            self._released.extend(r for r, w in zip(held, waited) if w)
            keep = [r for r, w in zip(held, waited) if not w]
            self._ccc_held_count -= len(held) - len(keep)
            if keep:
                self._ccc_held[ccc_id] = keep
            else:
                del self._ccc_held[ccc_id]

    def _held_due(self, now: datetime) -> bool:
        return any(now - held[0].received_at >= CCC_HOLD for held in self._ccc_held.values())

    def _learn_ccc(self, d: Delivery) -> None:
        """PacketCable: a CCOpen names the call-content channel ids of an LIID (CCClose ends them)."""
        ccc = d.fields.get("ccc")
        if not isinstance(ccc, dict):
            return
        ids = [v for k, v in ccc.items() if k.endswith("_id")]
        for ccc in ids:
            try:
                key = int(ccc)
            except (TypeError, ValueError):
                continue
            if d.fields.get("message") == "ccclose":
                if key in self.ccc_map:
                    self._ccc_ends[key] = self.svc.now() + CCC_GRACE
            else:
                self.ccc_map[key] = d.liid
                self._ccc_ends.pop(key, None)
                self._ccc_closed.pop(key, None)
                if key in self._ccc_held:
                    self._release_ccc(key)

    def _expire_ccc(self, now: datetime) -> None:
        """CCC ids whose CCClose is more than CCC_GRACE old leave the map; content still coming
        for them is not held for a new CCOpen for CCC_CLOSED (it is the ended call's: A7)."""
        for key in [k for k, end in self._ccc_ends.items() if end <= now]:
            del self._ccc_ends[key]
            self.ccc_map.pop(key, None)
            self._ccc_closed[key] = now + CCC_CLOSED
        for key in [k for k, until in self._ccc_closed.items() if until <= now]:
            del self._ccc_closed[key]

    def _new(self, key: tuple[str, str, str], seq: int, touched: set[tuple[str, str, str]]) -> bool:
        """Whether the record with this sequence number is new on its stream (a resend after a
        reconnect is a duplicate: counted, not stored)."""
        state = self.stats.streams.get(key)
        if state is None:
            state = self._stream(key)
        touched.add(key)
        if state.observe(seq):
            return True
        self.stats.counters.duplicates += 1
        return False

    def _judge_cc(self, h: Any, cin: str, rec: Received, at: datetime, res: Any, now: datetime, items: list[StoreItem],
                  refused: list[Refusal]) -> None:
        """A CC record the gate refuses, or accepts with its content suppressed (PRTT, A6)."""
        dec = res.decision
        if not dec.stored or res.intercept is None:
            refused.append(Refusal(now, h.liid, rec.channel.value, "etsi-102232", cin or None, h.sequence, at, dec.rule, dec.reason, rec.peer))
            return
        try:  # count what kind of content was dropped (rare path: decode it)
            suppressed = tuple(sorted({p.kind.value for p in FORMATS["etsi-102232"].decode(rec.record, rec.channel)[0].content}))
        except MalformedRecord:
            suppressed = ("ip-payload",)
        icpt = res.intercept
        item = StoreItem(icpt.case_id, icpt.id, h.liid, rec.channel.value, "etsi-102232", "cc", cin or None, h.sequence,
                         at, rec.received_at, None, dec.rule, dec.late, dec.quarantine, None, NO_FIELDS, (), suppressed)
        # A1/A6: under PRTT an IP packet leaves only its header facts (who talked to whom)
        items.append(header_item(item, rec.record))

    def _judge(self, d: Delivery, rec: Received, now: datetime, items: list[StoreItem], refused: list[Refusal]) -> None:
        res = self.gate(d.liid, d.intercepted_at, d.has_content, now)
        dec = res.decision
        if not dec.stored or res.intercept is None:
            refused.append(Refusal(now, d.liid, rec.channel.value, d.format, d.cin, d.sequence, d.intercepted_at,
                                   dec.rule, dec.reason, rec.peer))
            return
        assert d.intercepted_at is not None
        suppress = dec.suppress_content and d.has_content
        kind = "cc" if d.kind is RecordKind.CC else ("integrity-check" if d.kind is RecordKind.INTEGRITY_CHECK else "iri")
        content = tuple([p for p in d.content if p.data]) if d.content and not suppress and kind != "cc" else ()
        icpt = res.intercept
        # positional (the order of StoreItem's fields): this runs once per IRI record.  The
        # delivery's fields are its own (a fresh dict per decode), handed over uncopied.
        item = StoreItem(icpt.case_id, icpt.id, d.liid, rec.channel.value, d.format, kind, d.cin, d.sequence,
                         d.intercepted_at, rec.received_at, None if suppress else d.raw, dec.rule, dec.late,
                         dec.quarantine, _event_name(d), d.fields if kind != "cc" else NO_FIELDS, content,
                         tuple(sorted({p.kind.value for p in d.content})) if suppress else ())
        items.append(header_item(item, d.raw) if kind == "cc" else item)

    def _alert(self, refused: list[Refusal], now: datetime) -> None:
        """A7: unauthorized deliveries are raised to the technical unit, metadata only."""
        counts = Counter((r.liid, r.rule) for r in refused)
        due = [(k, n) for k, n in counts.items() if now - self._last_alert.get(k, datetime.min.replace(tzinfo=now.tzinfo)) >= ALERT_EVERY]
        if not due:
            return
        with self.svc.db.write() as conn:
            for (liid, rule), n in due:
                self._last_alert[(liid, rule)] = now
                self.svc.alert(conn, "intake.unauthorized_delivery",
                               f"{n} deliver{'y' if n == 1 else 'ies'} for LIID {liid!r} refused ({rule})",
                               severity="warning", rule=rule, details={"liid": liid, "count": n})

    def _gap_alerts(self, now: datetime) -> None:
        """D1: the sequence gaps still open GAP_GRACE after they opened, one alert per LIID at
        most every ALERT_EVERY (a gap that must wait for it waits; one closed meanwhile goes).
        Should the alerts not be written, the gaps wait for the next try."""
        by_liid: dict[str, dict[tuple[str, str], list[list[int]]]] = {}  # LIID -> (channel, CIN) -> ranges
        waiting: list[tuple[tuple[str, str, str], int, int, datetime]] = []
        never = datetime.min.replace(tzinfo=now.tzinfo)
        for key, lo, hi, opened in self._gaps_pending:
            st = self.stats.streams.get(key)  # (None: idle long since, its state in the store)
            still = [[lo, hi]] if st is None else st.missing_in(lo, hi)
            if not still:
                continue
            if now - opened < GAP_GRACE or now - self._last_alert.get((key[0], "gap"), never) < ALERT_EVERY:
                waiting.append((key, lo, hi, opened))
                continue
            liid, cin, channel = key
            by_liid.setdefault(liid, {}).setdefault((channel, cin), []).extend(still)
        if by_liid:
            with self.svc.db.write() as conn:
                for liid, named in by_liid.items():
                    icpt = self.snapshot.intercept(liid)
                    gaps = [{"channel": ch, "cin": cin or None, "ranges": sorted(r)} for (ch, cin), r in named.items()]
                    missing = sum(hi - lo + 1 for g in gaps for lo, hi in g["ranges"])
                    self.svc.alert(conn, "intake.gap", _gap_message(liid, missing, gaps), severity="warning", rule="D1",
                                   case_id=icpt.case_id if icpt else None, intercept_id=icpt.id if icpt else None,
                                   details={"liid": liid, "missing": missing, "streams": gaps[:ALERT_STREAMS],
                                            "stream_count": len(gaps)})
            for liid in by_liid:
                self._last_alert[(liid, "gap")] = now
        self._gaps_pending = waiting

    # --- stream state --------------------------------------------------------------------------

    def _load_streams(self) -> None:
        """The streams seen in the last `stream_idle` seconds, from the store (at start, and
        after a failed batch: what the store holds is what counts)."""
        since = self.svc.now() - timedelta(seconds=self.stream_idle)
        seen = time.monotonic()
        with self.svc.db.read() as conn:
            self.stats.streams = {
                (r.liid, r.cin, r.channel): _state(r.max_seq, r.received, r.duplicates, r.gaps, seen)
                for r in conn.execute(select(streams).where(streams.c.last_at >= since))
            }

    def _scan(self, batch: list[Received]) -> list[Any]:
        """Ahead of the batch, for each usual ETSI record on HI2 (IRI): its header scan and its
        stream key, (`fast_scan(...)`, key); None for the others.  The states of the streams
        these name that are not in memory are read from the store together, a statement per
        LOOKUP_CHUNK keys (every call has a CIN, so a stream, of its own: a look-up per new
        call otherwise, a round trip each on PostgreSQL)."""
        scans: list[Any] = []
        missing: set[tuple[str, str, str]] = set()
        states = self.stats.streams
        hi2, iri = Channel.HI2, RecordKind.IRI
        for rec in batch:
            if rec.channel is not hi2 or rec.delivery is not None or rec.format != "etsi-102232":
                scans.append(None)
                continue
            found = fast_scan(rec.record)
            key = None
            if found is not None and found[0].kind is iri:
                h = found[0]
                key = (h.liid, "" if h.cin is None else str(h.cin), "hi2")  # as the decoded record's cin
                if key not in states:
                    missing.add(key)
            scans.append((found, key))
        if missing:
            self._load_states(missing)
        return scans

    def _load_states(self, keys: set[tuple[str, str, str]]) -> None:
        """Bring the streams `keys` into memory: their stored state, or a new one."""
        conn = self._lookup()
        states = self.stats.streams
        wanted = list(keys)
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            for liid, cin, channel, *state in _STREAMS_BY_KEYS.fetch(conn, wanted[start:start + LOOKUP_CHUNK]):
                states[(liid, cin, channel)] = _state(*state)
        for key in wanted:
            if key not in states:
                states[key] = StreamState()

    def _stream(self, key: tuple[str, str, str]) -> StreamState:
        """The state of a stream that is not in memory: the store's, when it was seen before
        (idle for a while, or before a restart), else a new one."""
        self._load_states({key})
        return self.stats.streams[key]

    def _lookup(self) -> Any:
        """The batch's read connection for look-ups, opened on its first (closed with the batch)."""
        if self._lookup_conn is None:
            self._lookup_conn = self._lookups.enter_context(self.svc.db.read())
        return self._lookup_conn

    def _stream_rows(self, keys: set[tuple[str, str, str]], now: datetime,
                     seen: float) -> tuple[list[dict[str, Any]], list[tuple[str, str, str]]]:
        """The `streams` rows of the streams a batch touched (committed with the batch), and
        the keys of those of them in which the batch opened a gap."""
        rows, gapped = [], []
        states = self.stats.streams
        for key in keys:
            st = states[key]
            st.seen = seen
            if st.opened is not None:
                gapped.append(key)
            rows.append({"liid": key[0], "cin": key[1], "channel": key[2], **st.row(), "last_at": now})
        return rows, gapped

    def _evict_idle(self, now: float) -> None:
        """Forget the streams not seen for `stream_idle` seconds (their state is in the store)."""
        self._swept_at = now
        limit = now - self.stream_idle
        states = self.stats.streams
        for key in [k for k, st in states.items() if st.seen < limit]:
            del states[key]


def _state(max_seq: Any, received: Any, duplicates: Any, gaps: Any, seen: float = 0.0) -> StreamState:
    """A stream's state from its `streams` row (`gaps` as the driver gives it: JSON text from
    the cursor on SQLite, a list through SQLAlchemy or psycopg)."""
    if isinstance(gaps, (str, bytes)):
        gaps = orjson.loads(gaps)
    return StreamState(int(max_seq), int(received), int(duplicates), [list(g) for g in gaps], seen)


def _gap_message(liid: str, missing: int, gaps: list[dict[str, Any]]) -> str:
    """"LIID 'X': 2 records missing in 1 stream (HI3 CIN 7: 3–4)": the first stream's ranges."""
    first = gaps[0]
    where = first["channel"].upper() + (f" CIN {first['cin']}" if first["cin"] else "")
    ranges = ", ".join(str(lo) if lo == hi else f"{lo}–{hi}" for lo, hi in first["ranges"][:5])
    return (f"LIID {liid!r}: {missing:,} record{'' if missing == 1 else 's'} missing in {len(gaps)} "
            f"stream{'' if len(gaps) == 1 else 's'} ({where}: {ranges}{', …' if len(first['ranges']) > 5 else ''})")


def _weight(parcel: list[Received]) -> int:
    """A batch holds up to `batch_size` CC records; an IRI record (decoded fields, an index row)
    weighs as four, which keeps the memory of a batch about even whatever the mix."""
    return sum(4 if r.channel is Channel.HI2 else 1 for r in parcel)


def _event_name(d: Delivery) -> str | None:
    f = d.fields
    for key in ("event", "iri_type", "message_type"):
        v = f.get(key)
        if isinstance(v, str):
            return v[:100]
    return None
