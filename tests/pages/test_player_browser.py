"""The recording player in a real browser: Debian's Chromium driven by Playwright loads the
call page from a uvicorn server, under the console's strict CSP (rule C5: the purpose goes
with the audio and peaks requests).  The waveform canvas must be drawn from the peaks and
the <audio> element must know the recording's length from the Opus rendition."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.pages.world import PASSWORD, PURPOSE, World

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="playwright is not installed (pip install '.[test]')"),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (Debian package `chromium`)"),
    pytest.mark.slow,
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(world: World) -> Iterator[str]:
    """The console on a free loopback port (uvicorn in a thread)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign_in(page, served: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{served}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{served}/cases")


def test_call_page_draws_the_waveform_and_plays_the_recording(world: World, served: str) -> None:
    detective = world.user()
    call = next(c for c in world.calls() if c["outcome"] == "answered")
    [recording] = world.recordings()
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--autoplay-policy=no-user-gesture-required"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            sign_in(page, served, detective["username"])
            page.goto(f"{served}/cases/{world.case_id}/calls/{call['id']}")  # the page asks the purpose first (C5)
            page.fill("input[name=purpose]", PURPOSE)
            page.click("form[action$='/reading'] button[type=submit]")
            page.wait_for_selector("[data-player][data-waveform=drawn]", timeout=20_000)
            # kept on the server: the address and the audio's carry its id, not its words
            assert re.search(r"[?&]purpose=rc-[0-9a-f]{32}(&|$)", page.url) and quote(PURPOSE.split()[0]) not in page.url
            assert "purpose=rc-" in (page.get_attribute("[data-player] audio", "src") or "")
            page.wait_for_function("() => isFinite(document.querySelector('[data-player] audio').duration)", timeout=20_000)
            duration = page.evaluate("() => document.querySelector('[data-player] audio').duration")
            if os.environ.get("CALEA_SCREENSHOT"):  # the README's picture: CALEA_SCREENSHOT=docs/screenshot.png
                page.screenshot(path=os.environ["CALEA_SCREENSHOT"])
            assert duration == pytest.approx(call["duration_s"], abs=0.5)
            assert duration == pytest.approx(recording["duration_ms"] / 1000, abs=0.1)

            pixels = page.evaluate("""() => {
              const c = document.querySelector('[data-player] canvas.wave');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let target = 0, other = 0, marked = 0;
              for (let i = 0; i < d.length; i += 4) {
                const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
                if (b > r + 60 && b > g + 20) target++;          // the target's lane (blue)
                else if (g > r + 60 && g > b + 10) other++;       // the other party's lane (green)
                else if (r > g + 60 && r > b + 60) marked++;      // privileged shade, cursor (red)
              }
              return {target, other, marked, width: c.width, height: c.height};
            }""")
            assert pixels["width"] > 300 and pixels["height"] > 100
            assert pixels["target"] > 500 and pixels["other"] > 500, pixels  # both channels drawn from the peaks
            assert pixels["marked"] > 50, pixels  # the privileged interval is shaded

            # click-to-seek: the middle of the waveform is the middle of the recording
            box = page.locator("[data-player] canvas.wave").bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            now = page.evaluate("() => document.querySelector('[data-player] audio').currentTime")
            assert now == pytest.approx(duration / 2, abs=0.3)
            page.keyboard.press("Home")
            assert page.evaluate("() => document.querySelector('[data-player] audio').currentTime") == 0
            assert page.get_attribute("[data-player] canvas.wave", "aria-valuenow") == "0.0"
        finally:
            browser.close()
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
    # every byte of audio and peaks the browser read was a read with the stated purpose (C5)
    reads = [r for r in world.audit(case_id=world.case_id) if r["action"] in ("recordings.rendition", "recordings.peaks")]
    assert {r["action"] for r in reads} == {"recordings.rendition", "recordings.peaks"}
    assert all(r["purpose"] == PURPOSE and r["username"] == detective["username"] for r in reads)


def test_live_page_states_the_purpose_on_the_server_and_opens_the_socket_with_its_id(world: World, served: str) -> None:
    """C5 in the live console: `live.js` posts the purpose to the reading form and opens the
    socket with the context's id; the socket's URL never holds the words, the audit does."""
    detective = world.user()
    sockets: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            page.on("websocket", lambda ws: sockets.append(ws.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            sign_in(page, served, detective["username"])
            page.goto(f"{served}/cases/{world.case_id}/live")
            page.fill("#live-purpose", PURPOSE)
            page.click("#live-connect")
            page.wait_for_function("() => document.getElementById('live-state').textContent.startsWith('Connected')",
                                   timeout=20_000)
            page.click("#live-disconnect")
            page.wait_for_function("() => document.getElementById('live-state').textContent.startsWith('Closed')",
                                   timeout=20_000)
        finally:
            browser.close()
    assert not errors, errors
    [url] = sockets
    assert re.search(r"\?purpose=rc-[0-9a-f]{32}$", url) and quote(PURPOSE.split()[0]) not in url
    opened = [r for r in world.audit(case_id=world.case_id) if r["action"] == "live.open"]
    assert [(r["outcome"], r["purpose"], r["username"]) for r in opened] == [("allowed", PURPOSE, detective["username"])]
