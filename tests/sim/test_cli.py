"""`calea sim`: byte streams written for offline decoding, and a live delivery."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from calea.handover import etsi102232, ts101671
from calea.handover.etsi102232 import keepalive_response, read_header
from calea.handover.framing import NEED_DATA, RecordSplitter
from calea.handover.model import RecordKind
from calea.sim.cli import register

app = typer.Typer()
register(app)


@app.command()
def other() -> None:
    """(a second command, so that `sim` is a subcommand as in calea's CLI)"""


def _records(path: Path, outer: frozenset[int] | None = frozenset({0x30})) -> list[bytes]:
    splitter = RecordSplitter(outer_tags=outer)
    splitter.receive_data(path.read_bytes())
    splitter.receive_eof()
    out = []
    while isinstance(record := splitter.next_record(), bytes):
        out.append(record)
    return out


def test_write_streams_demo(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sim", "--write-streams", str(tmp_path), "--start", "2026-01-05T09:00:00Z"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["hi2.ber", "hi3.2.ber", "hi3.ber", "manifest.jsonl"]
    manifest = [json.loads(line) for line in (tmp_path / "manifest.jsonl").read_text().splitlines()]
    for name in ("hi2.ber", "hi3.ber", "hi3.2.ber"):
        records = _records(tmp_path / name)
        entries = [m for m in manifest if m["file"] == name]
        assert [len(r) for r in records] == [m["length"] for m in entries]
        for record, entry in zip(records, entries):
            d = etsi102232.decode(record)
            assert (d.liid, d.sequence) == (entry["liid"], entry["sequence"])
    assert sum(1 for m in manifest if m.get("resent")) == 5


def test_write_streams_quick_options_and_formats(tmp_path: Path) -> None:
    args = ["sim", "--liid", "LI-9", "--target-sip", "sip:+12125550100@example.net", "--calls", "4", "--sms", "2",
            "--format", "ts101671-hi2", "--write-streams", str(tmp_path / "hi2"), "--json", "--loop", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    runs = [json.loads(line) for line in result.output.splitlines()]
    assert [r["records"] for r in runs] == [{"iri": 11}, {"iri": 11}]  # answered 3 + busy, no-answer, cancelled 2 each + 2 SMS
    cins = []
    for run in ("run-1", "run-2"):
        records = _records(tmp_path / "hi2" / run / "hi2.ber", outer=None)
        deliveries = [ts101671.decode(r)[0] for r in records]
        assert {d.liid for d in deliveries} == {"LI-9"}
        cins.append({d.cin for d in deliveries})
    assert not cins[0] & cins[1]
    pcap = CliRunner().invoke(app, ["sim", "--format", "pcesp", "--write-streams", str(tmp_path / "pc")])
    assert pcap.exit_code == 0, pcap.output
    assert (tmp_path / "pc" / "hi3-ccc.pcap").read_bytes()[:4] == bytes.fromhex("d4c3b2a1")


def test_bad_options() -> None:
    result = CliRunner().invoke(app, ["sim", "--liid", "X", "--write-streams", "/nonexistent-never"])
    assert result.exit_code == 2 and "needs --target-sip" in result.output
    result = CliRunner().invoke(app, ["sim", "--format", "h323", "--write-streams", "/tmp/x"])
    assert result.exit_code == 2


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        splitter = RecordSplitter()
        while data := self.request.recv(65536):
            splitter.receive_data(data)
            while (record := splitter.next_record()) is not NEED_DATA:
                assert isinstance(record, bytes)
                if read_header(record).kind is RecordKind.KEEPALIVE:
                    self.request.sendall(keepalive_response(record))
                self.server.received.append(record)  # type: ignore[attr-defined]


@pytest.fixture
def servers() -> Iterator[list[socketserver.ThreadingTCPServer]]:
    out = []
    for _ in range(2):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        server.received = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        out.append(server)
    yield out
    for server in out:
        server.shutdown()
        server.server_close()


def test_live_delivery(servers: list[socketserver.ThreadingTCPServer]) -> None:
    hi2, hi3 = (str(s.server_address[1]) for s in servers)
    args = ["sim", "--hi2-port", hi2, "--hi3-port", hi3, "--liid", "LI-7", "--target-sip",
            "sip:+12125550100@example.net", "--calls", "2", "--duration", "1", "--keepalive-interval", "1",
            "--reconnect-at", "2", "--resend", "2"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "run 1: etsi-102232: sent" in result.output and "0 mismatched" in result.output
    assert "reconnects 1, resent 2" in result.output
    liids = {read_header(r).liid for r in servers[0].received}  # type: ignore[attr-defined]
    assert liids == {"LI-7", "calea-sim"}
