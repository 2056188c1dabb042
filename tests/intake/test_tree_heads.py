"""D1: the store writer signs each case log's tree head every N leaves or T seconds; the heads a
batch makes due, in however many cases, share one disk sync and one transaction, and each
verifies against the signing key and its log."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select

from calea.db.schema import tree_heads
from calea.store.items import StoreItem
from calea.store.merkle import public_keys, verify_checkpoint
from tests.intake.conftest import Setup


def _items(ctx: dict[str, Any], first: int, n: int, at: Any) -> list[StoreItem]:
    icpt = ctx["intercept"]
    return [StoreItem(ctx["case"]["id"], icpt["id"], icpt["liid"], "hi2", "etsi-102232", "iri", "1", seq, at, at,
                      b"record %d" % seq, "A2", event="report", fields={"seq": seq}) for seq in range(first, first + n)]


def test_heads_every_n_leaves_or_t_seconds_one_sync_a_batch(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    a = setup.intercept("HEADS-A", [{"kind": "e164", "value": "+12125550101"}])
    b = setup.intercept("HEADS-B", [{"kind": "e164", "value": "+12125550102"}])
    syncs: list[int] = []
    real_sync = os.sync
    monkeypatch.setattr(os, "sync", lambda: (syncs.append(1), real_sync())[1])
    writer = setup.svc.store_writer()
    writer.checkpoint_every, writer.checkpoint_seconds = 10, 3600.0
    now = setup.clock.now()

    writer.write(_items(a, 0, 3, now) + _items(b, 0, 3, now))  # the first leaves of each log: due
    writer.write(_items(a, 3, 3, now))  # 3 leaves since A's head, well within the hour: not due
    assert len(syncs) == 1
    writer.write(_items(a, 6, 7, now))  # 10 since A's head: due; B untouched
    writer.checkpoint_seconds = 0.0
    writer.write(_items(b, 3, 1, now))  # T passed for B
    writer.write([])  # nothing new anywhere: nothing signed
    assert len(syncs) == 3  # one a batch that made heads due, however many

    keys = public_keys(setup.svc.settings.keys_dir)
    with setup.svc.db.read() as conn:
        rows = conn.execute(select(tree_heads).order_by(tree_heads.c.signed_at, tree_heads.c.size)).mappings().all()
    sizes: dict[str, list[int]] = {}
    for row in rows:
        sizes.setdefault(row["case_id"], []).append(row["size"])
        cp = verify_checkpoint(row["checkpoint"], keys, origin=f"calea/case/{row['case_id']}")
        assert cp.size == row["size"] and cp.root_hash == writer.merkle_log(row["case_id"]).root(row["size"])
        assert cp.root_hash.hex() == row["root"]
    assert sizes == {a["case"]["id"]: [3, 13], b["case"]["id"]: [3, 4]}
    writer.close()


def test_forced_heads_for_all_logs_are_signed_together(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    """Closing the writer signs every log's newest leaves (forced), once each, with one sync."""
    a = setup.intercept("HEADS-C", [{"kind": "e164", "value": "+12125550103"}])
    b = setup.intercept("HEADS-D", [{"kind": "e164", "value": "+12125550104"}])
    writer = setup.svc.store_writer()
    writer.checkpoint_every, writer.checkpoint_seconds = 1000, 3600.0
    now = setup.clock.now()
    writer.write(_items(a, 0, 2, now) + _items(b, 0, 2, now))
    writer.write(_items(a, 2, 5, now) + _items(b, 2, 1, now))
    syncs: list[int] = []
    real_sync = os.sync
    monkeypatch.setattr(os, "sync", lambda: (syncs.append(1), real_sync())[1])
    writer.close()
    assert len(syncs) == 1
    assert writer.checkpoints([a["case"]["id"], b["case"]["id"]], force=True) == {}  # nothing new since
    with setup.svc.db.read() as conn:
        heads = {(r.case_id, r.size) for r in conn.execute(select(tree_heads.c.case_id, tree_heads.c.size))}
    assert heads == {(a["case"]["id"], 2), (a["case"]["id"], 7), (b["case"]["id"], 2), (b["case"]["id"], 3)}
