"""Call recordings from the intake: the subscriber, the worker thread, and what a finished
recording leaves in the store (rules A2, A6, B3, D1).

    recorder = Recorder(svc, intake.writer, minimization=book)   # book: calea.sessions.minimization
    intake.subscribers.append(recorder.on_items)                 # after each durable batch
    recorder.start()                                             # ... recorder.stop() at shutdown

`on_items` only queues the batch (the intake thread must stay quick); the worker decodes
the CC, feeds one `CallRecording` per communication key `(liid, cin)`, writes blocks to the
scratch files as they leave the jitter buffer, and closes a recording `grace` seconds after
the call's end (IRI End of TS 102 232-5, PacketCable CCClose) or after `idle_timeout`
seconds without media.  Media that resumes after that makes part 2.

A closed recording becomes three content-store files (master FLAC, Opus rendition, peaks
JSON), each a `content_items` row and a leaf of the case's Merkle log, plus a signed
`recording` store event with its metadata, and a `recordings` row -- in one transaction,
under the store writer's lock, in the order `StoreWriter.write_events` uses (D1).

A6: CC the gate kept without content (a PRTT order) has no `raw`: it is never recorded.
B3: a recording made of quarantined CC is quarantined (the quarantine hook also marks its
content items, which carry the intercept's id).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, insert, select

from calea.db.schema import content_items, intercepts, store_events
from calea.db.schema_recordings import recordings
from calea.handover.errors import MalformedRecord
from calea.services.context import Services
from calea.sessions.call_parties import TargetIdentity
from calea.sessions.recording_cc import cc_rtp
from calea.sessions.recorder import CallRecording, Interval, RecorderConfig
from calea.sessions.recording_output import MASTER_TYPE, PEAKS_TYPE, RENDITION_TYPE, RecordingFiles
from calea.sessions.recording_sides import MediaMap, learn_from_ccopen, learn_from_sip
from calea.sessions.rtp import MalformedMedia
from calea.store.retention import call_content_remains
from calea.store import leaves
from calea.store.items import StoreItem
from calea.store.merkle import leaf_hash

log = logging.getLogger("calea.sessions.recordings")

Key = tuple[str, str]  # (liid, cin); cin "" when the delivery has none
KINDS = {"master": "call-audio", "rendition": "call-audio-opus", "peaks": "call-audio-peaks"}
_MAX_SIGNALLING = 10_000  # keys whose SDP is remembered before their media arrives


class MinimizationBook(Protocol):
    """What the recorder asks of minimization (`calea.sessions.minimization.Minimization`)."""

    def minimized_intervals(self, key: Key) -> list[Interval]: ...
    def is_minimized(self, key: Key, t: datetime) -> bool: ...


class NoMinimization:
    def minimized_intervals(self, key: Key) -> list[Interval]:
        return []

    def is_minimized(self, key: Key, t: datetime) -> bool:
        return False


@dataclass
class _Call:
    key: Key
    case_id: str
    intercept_id: str
    format: str
    part: int
    rec: CallRecording
    last_media: float
    files: RecordingFiles | None = None
    ended_at: float | None = None
    late: bool = False
    quarantined: bool = False
    first_received: datetime | None = None
    problems: list[str] = field(default_factory=list)


class Recorder:
    """Records every call of every case.  `writer` must be the intake's own `StoreWriter`
    (one writer per Merkle log); `minimization` the book the live service uses."""

    def __init__(self, svc: Services, writer: Any, minimization: MinimizationBook | None = None, *,
                 config: RecorderConfig | None = None, grace: float = 0.5, idle_timeout: float = 300.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.svc, self.writer = svc, writer
        self.book: MinimizationBook = minimization or NoMinimization()
        self.config = config or RecorderConfig()
        self.grace, self.idle_timeout, self.monotonic = grace, idle_timeout, monotonic
        self.scratch = svc.settings.home / "tmp" / "recordings"
        self.calls: dict[Key, _Call] = {}
        self.signalling: dict[Key, MediaMap] = {}
        self.ended: dict[Key, float] = {}
        self.ccc_alias: dict[Key, Key] = {}
        self.stored: list[str] = []
        self.counts: dict[str, int] = {"skipped_a6": 0, "malformed": 0, "recordings": 0, "dropped_source_purged": 0}
        self._identities: dict[str, TargetIdentity] = {}
        self._queue: queue.Queue[list[StoreItem] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    # --- the intake side ----------------------------------------------------------------------

    def on_items(self, items: list[StoreItem]) -> None:
        """Intake subscriber: keep what concerns calls, hand it to the worker."""
        mine = [it for it in items if it.kind in ("cc", "iri")]
        if not mine:
            return
        if self._thread is None:
            self.handle(mine)
        else:
            self._queue.put(mine)

    def start(self) -> None:
        """Start the worker.  Scratch files a crash left are unfinished copies of stored CC:
        they are removed (the CC itself stays in the store)."""
        if self.scratch.exists():
            for stale in self.scratch.glob("rec-*"):
                stale.unlink(missing_ok=True)
                log.warning("removed the unfinished recording file %s", stale.name)
        self._thread = threading.Thread(target=self._run, name="calea-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then close every open recording ("shutdown")."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=60)
            self._thread = None
        self.close_all("shutdown")

    def _run(self) -> None:
        while True:
            try:
                batch = self._queue.get(timeout=0.1)
            except queue.Empty:
                batch = []
            if batch is None:
                return
            try:
                if batch:
                    self.handle(batch)
                self.poll()
            except Exception:
                log.exception("recorder batch failed")

    # --- the work -----------------------------------------------------------------------------

    def handle(self, items: Iterable[StoreItem]) -> None:
        now = self.monotonic()
        touched: set[Key] = set()
        calls, alias, book = self.calls, self.ccc_alias, self.book
        for it in items:
            if it.kind == "iri":
                self._signalling(it, now)
                continue
            if it.raw is None or it.suppressed:
                self.counts["skipped_a6"] += 1  # A6: no content under a PRTT order, nothing recorded
                continue
            try:
                found = cc_rtp(it.format, it.raw)
            except (MalformedMedia, MalformedRecord):
                self.counts["malformed"] += 1
                continue
            if found is None:
                continue
            packet, label = found
            key = (it.liid, it.cin or "")
            key = alias.get(key, key)  # PacketCable: both CCCs of a split pair make one recording
            call = calls.get(key) or self._open(key, it, now)
            call.last_media = now
            if it.late:
                call.late = True
            if it.quarantined:
                call.quarantined = True
            call.rec.feed_view(packet, it.intercepted_at, label=label, minimized=book.is_minimized(key, it.received_at))
            touched.add(key)
        for key in touched:
            call = self.calls[key]
            self._write(call, call.rec.pump(self.book.minimized_intervals(key)))

    def _open(self, key: Key, it: StoreItem, now: float) -> _Call:
        with self.svc.db.read() as conn:
            top = conn.execute(select(func.max(recordings.c.part)).where(recordings.c.liid == key[0], recordings.c.cin == key[1])).scalar()
        rec = CallRecording(self.config)
        if key in self.signalling:  # the call's SDP came first
            rec.media = self.signalling.pop(key)
        call = _Call(key, it.case_id, it.intercept_id, it.format, int(top or 0) + 1, rec, now, first_received=it.received_at)
        self.calls[key] = call
        return call

    def _signalling(self, it: StoreItem, now: float) -> None:
        """SDP of the call's SIP (TS 102 232-5) or CCOpen (PacketCable); ends of calls."""
        f = it.fields
        keys: list[Key] = []
        if isinstance(f.get("sip"), dict):
            key = (it.liid, it.cin or "")
            media = self._media_of(key)
            learn_from_sip(media, f["sip"], self._identity(it.intercept_id))
            if (f.get("iri") or {}).get("type") == "end":
                keys.append(key)
        elif f.get("message") in ("ccopen", "ccclose"):
            ccc = f.get("ccc") or {}
            ids = [ccc[k] for k in ("combined_id", "transmit_id", "receive_id") if isinstance(ccc.get(k), int)]
            found = [(it.liid, f"{i:08X}") for i in ids]
            if f["message"] == "ccopen" and found:
                for alias in found[1:]:
                    self.ccc_alias[alias] = found[0]
                learn_from_ccopen(self._media_of(found[0]), f)
            keys += found[:1]
        for key in keys:
            self.ended[key] = now
            call = self.calls.get(key)
            if call is not None:
                call.ended_at = now

    def _media_of(self, key: Key) -> MediaMap:
        call = self.calls.get(key)
        if call is not None:
            return call.rec.media
        if key not in self.signalling and len(self.signalling) >= _MAX_SIGNALLING:
            self.signalling.pop(next(iter(self.signalling)))
        return self.signalling.setdefault(key, MediaMap())

    def _identity(self, intercept_id: str) -> TargetIdentity:
        ident = self._identities.get(intercept_id)
        if ident is None:
            with self.svc.db.read() as conn:
                ids = conn.execute(select(intercepts.c.identifiers).where(intercepts.c.id == intercept_id)).scalar()
            ident = self._identities[intercept_id] = TargetIdentity.of(ids or [])
        return ident

    def _write(self, call: _Call, blocks: list[Any]) -> None:
        if not blocks:
            return
        if call.files is None:
            call.files = RecordingFiles(self.scratch)
        for b in blocks:
            call.files.write(b)

    def poll(self, now: float | None = None) -> list[str]:
        """Close the recordings whose call ended `grace` seconds ago or that have been idle
        for `idle_timeout` seconds; returns the ids of the recordings stored."""
        now = self.monotonic() if now is None else now
        done = []
        for key, call in list(self.calls.items()):
            ended = call.ended_at if call.ended_at is not None else self.ended.get(key)
            if ended is not None and now - max(ended, call.last_media) >= self.grace:
                done.append(self.close(key, "call-end"))
            elif now - call.last_media >= self.idle_timeout:
                done.append(self.close(key, "idle"))
        for key, at in list(self.ended.items()):
            if key not in self.calls and now - at >= max(self.grace, 60.0):
                self.ended.pop(key, None)
                self.signalling.pop(key, None)
        return [d for d in done if d]

    def close_all(self, closed_by: str) -> list[str]:
        return [d for d in (self.close(k, closed_by) for k in list(self.calls)) if d]

    def close(self, key: Key, closed_by: str) -> str | None:
        """Finish the call's recording and store it (None when it held no audio)."""
        call = self.calls.pop(key)
        self.ended.pop(key, None)
        try:
            self._write(call, call.rec.finish(self.book.minimized_intervals(key)))
            if call.files is None or call.rec.samples == 0:
                return None
            rendered = call.files.finish()
            return self._store(call, rendered, closed_by)
        except Exception:
            if call.files is not None:
                call.files.discard()
            log.exception("recording of LIID %s CIN %s could not be stored", key[0], key[1])
            return None

    def _store(self, call: _Call, rendered: Any, closed_by: str) -> str | None:
        svc, rec = self.svc, call.rec
        summary = rec.summary()
        started = rec.started_at
        assert started is not None
        ended = started + timedelta(seconds=rendered.samples / summary["sample_rate"])
        rec_id = svc.new_id()
        name = f"{call.key[0]}-{call.key[1]}-{call.part}"
        now = svc.now()
        # The files are written under the store writer's lock, as a batch's are: a FIFO purge (which
        # deletes content files nothing refers to, under the same lock) cannot take one of them
        # between its writing and the row that refers to it.
        with self.writer.lock:
            with svc.db.read() as conn:  # (a purge takes the same lock: this answer holds until the rows are in)
                if not call_content_remains(conn, call.case_id, call.intercept_id, started, ended):
                    # D2: the call content was purged while the call was open (its intercept was no
                    # longer active): a recording stored now would outlive its source, unpurgeable
                    self.counts["dropped_source_purged"] += 1
                    log.warning("recording of LIID %s CIN %s not stored: its call content was purged (D2)", *call.key[:2])
                    return None
            parts = []
            for role, data, media_type, ext in (("master", rendered.master, MASTER_TYPE, "flac"),
                                                ("rendition", rendered.rendition, RENDITION_TYPE, "opus"),
                                                ("peaks", rendered.peaks, PEAKS_TYPE, "json")):
                parts.append((role, svc.content.put(data), len(data), media_type, f"{name}.{ext}"))
            files = {role: {"sha256": sha, "size": size, "media_type": mt} for role, sha, size, mt, _ in parts}
            body = {"rule": "A2", "recording_id": rec_id, "liid": call.key[0], "cin": call.key[1], "part": call.part,
                    "started_at": started.isoformat(), "ended_at": ended.isoformat(), "duration_ms": summary["duration_ms"],
                    "placement": summary["placement"], "closed_by": closed_by, "files": files,
                    "minimized": summary["minimized"]}
            lg = self.writer.merkle_log(call.case_id)
            hashes: list[bytes] = []
            with svc.db.write() as conn:
                for role, sha, size, media_type, fname in parts:
                    conn.execute(insert(content_items).values(
                        case_id=call.case_id, intercept_id=call.intercept_id, record_leaf=None, kind=KINDS[role], sha256=sha,
                        size=size, media_type=media_type, name=fname, created_at=now, quarantined=call.quarantined,
                        leaf_index=lg.size + len(hashes)))
                    hashes.append(leaf_hash(leaves.content_leaf(KINDS[role], sha, size, media_type, fname, None)))
                event_leaf = lg.size + len(hashes)
                conn.execute(insert(store_events).values(case_id=call.case_id, at=now, kind="recording",
                                                         intercept_id=call.intercept_id, body=body, leaf_index=event_leaf))
                hashes.append(leaf_hash(leaves.event_leaf("recording", now, call.intercept_id, body)))
                conn.execute(insert(recordings).values(
                    id=rec_id, case_id=call.case_id, intercept_id=call.intercept_id, liid=call.key[0], cin=call.key[1],
                    part=call.part, format=call.format, started_at=started, ended_at=ended, duration_ms=summary["duration_ms"],
                    sample_rate=summary["sample_rate"], placement=summary["placement"], closed_by=closed_by,
                    master_sha256=parts[0][1], master_size=parts[0][2], rendition_sha256=parts[1][1],
                    rendition_size=parts[1][2], peaks_sha256=parts[2][1], peaks_size=parts[2][2], markers=summary,
                    late=call.late, quarantined=call.quarantined, event_leaf=event_leaf, created_at=now))
            lg.append(hashes)
            self.writer.checkpoint(call.case_id, force=True)
        self.stored.append(rec_id)
        self.counts["recordings"] += 1
        log.info("recording %s stored (%d ms, %s)", rec_id, summary["duration_ms"], closed_by)
        return rec_id
