"""The web server's access log never holds a query string: purposes of reads (C5) and
search terms travel there, and are recorded on purpose only in the audit log."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request

import pytest
import uvicorn

from calea.web import accesslog


async def _app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_a_real_uvicorn_access_log_keeps_the_path_and_drops_the_query() -> None:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(_app, host="127.0.0.1", port=port, log_level="info"))
    accesslog.install()  # as `calea serve` does, after uvicorn has configured its logging
    keep = _Keep()
    logger = logging.getLogger(accesslog.ACCESS_LOGGER)
    logger.addHandler(keep)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/cases/c1/calls?purpose=homicide%20of%20J.%20Doe&party=%2B1212") as r:
            assert r.read() == b"ok"
        deadline = time.monotonic() + 5
        while not keep.lines and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        server.should_exit = True
        thread.join(10)
        logger.removeHandler(keep)
    [line] = keep.lines
    assert "/cases/c1/calls?…" in line and "200" in line
    assert "homicide" not in line and "purpose" not in line and "1212" not in line


@pytest.mark.parametrize("target,shown", [("/a/b", "/a/b"), ("/a?x=1", "/a?…"), ("/?", "/?…")])
def test_redact(target: str, shown: str) -> None:
    assert accesslog.redact(target) == shown


def test_install_is_idempotent() -> None:
    assert accesslog.install("calea.test.access") is accesslog.install("calea.test.access")
    assert len(logging.getLogger("calea.test.access").filters) == 1
