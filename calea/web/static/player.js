/* calea recording player: the waveform, the markers and the play cursor of a call recording.
 *
 * Loaded as /static/player.js by the call page (strict CSP: script-src 'self', no inline
 * script).  Each `[data-player]` section holds an <audio> element whose src is the Opus
 * rendition of the recordings API, and a <canvas class="wave">.  Its data-* attributes give:
 *   data-peaks        the peaks file (audiowaveform JSON v2, 8-bit: per pixel min/max of
 *                     channel 0, the target, then of channel 1, the other party)
 *   data-duration-ms  the recording's length (used until the audio's own is known)
 *   data-started-at   the recording's first sample, UTC (the wall clock under the cursor)
 *   data-markers      {"minimized": [{start_ms, end_ms}], "privileged": [{start_ms, end_ms,
 *                     category}], "digits": [{offset_ms, digit, channel}]}
 * Every URL carries the purpose the reader stated; the server audits each request (C5).
 * Minimized intervals are silence in the recording (rule A2): they are shown, never filled.
 *
 * Click or drag on the waveform to seek; keyboard: arrows ±5 s (Shift ±1 s), PageUp/PageDown
 * ±30 s, Home/End, Space or K to play/pause.  Buttons [data-seek-ms] jump to a marker.
 */
"use strict";

(function () {
  const COLORS = {
    bg: "#fbfcfd", axis: "#d5dbe3", target: "#1f4e8c", other: "#0e7c66", played: 0.65,
    minimized: "#c9ced6", minimizedBg: "rgba(201, 206, 214, 0.35)", privileged: "rgba(180, 35, 24, 0.22)",
    privilegedEdge: "#b42318", digit: "#9a5b00", cursor: "#b42318", label: "#5f6b7d",
  };

  function clock(seconds, tenths) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    const m = Math.floor(seconds / 60), s = seconds - m * 60;
    const text = tenths ? s.toFixed(1) : String(Math.floor(s));
    return m + ":" + (s < 10 ? "0" : "") + text;
  }

  function hatch(ctx, dpr) {
    const tile = document.createElement("canvas");
    const n = Math.max(6, Math.round(6 * dpr));
    tile.width = tile.height = n;
    const t = tile.getContext("2d");
    t.fillStyle = COLORS.minimizedBg; t.fillRect(0, 0, n, n);
    t.strokeStyle = COLORS.minimized; t.lineWidth = Math.max(1, dpr);
    t.beginPath(); t.moveTo(0, n); t.lineTo(n, 0); t.moveTo(-n / 2, n / 2); t.lineTo(n / 2, -n / 2);
    t.moveTo(n / 2, n * 1.5); t.lineTo(n * 1.5, n / 2); t.stroke();
    return ctx.createPattern(tile, "repeat");
  }

  function Player(root) {
    const audio = root.querySelector("audio");
    const canvas = root.querySelector("canvas.wave");
    const timeOut = root.querySelector("[data-role=time]");
    const wallOut = root.querySelector("[data-role=wall]");
    const statusOut = root.querySelector("[data-role=status]");
    if (!audio || !canvas) return;
    const started = Date.parse(root.dataset.startedAt || "");
    const fallback = (Number(root.dataset.durationMs) || 0) / 1000;
    let markers = {};
    try { markers = JSON.parse(root.dataset.markers || "{}"); } catch (e) { markers = {}; }
    let peaks = null, wave = null, frame = 0, dragging = false;

    const total = () => (isFinite(audio.duration) && audio.duration > 0 ? audio.duration : fallback) || 1;
    const say = (text) => { if (statusOut) statusOut.textContent = text; };

    /* The static layers (background, markers, waveform) are drawn once per size into `wave`;
       each frame copies it and adds the played shade and the cursor. */
    function layout() {
      const rect = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const w = Math.max(1, Math.round(rect.width * dpr)), h = Math.max(1, Math.round(rect.height * dpr));
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      wave = document.createElement("canvas");
      wave.width = w; wave.height = h;
      paintStatic(wave.getContext("2d"), w, h, dpr);
      draw();
    }

    function paintStatic(ctx, W, H, dpr) {
      const T = total(), x = (ms) => Math.round((ms / 1000) / T * W);
      ctx.fillStyle = COLORS.bg; ctx.fillRect(0, 0, W, H);
      const pattern = hatch(ctx, dpr);
      for (const m of markers.minimized || []) {
        const a = x(m.start_ms), b = Math.max(a + 1, x(m.end_ms));
        ctx.fillStyle = pattern; ctx.fillRect(a, 0, b - a, H);
      }
      for (const p of markers.privileged || []) {
        const a = x(p.start_ms), b = Math.max(a + 1, x(p.end_ms));
        ctx.fillStyle = COLORS.privileged; ctx.fillRect(a, 0, b - a, H);
        ctx.fillStyle = COLORS.privilegedEdge; ctx.fillRect(a, 0, Math.max(2, Math.round(2 * dpr)), H);
        ctx.font = Math.round(11 * dpr) + "px system-ui, sans-serif"; ctx.textBaseline = "top";
        ctx.fillText("privileged" + (p.category ? " · " + p.category : ""), a + 4 * dpr, 3 * dpr);
      }
      const lane = H / 2;
      ctx.fillStyle = COLORS.axis;
      ctx.fillRect(0, Math.round(lane / 2), W, Math.max(1, Math.round(dpr)));
      ctx.fillRect(0, Math.round(lane + lane / 2), W, Math.max(1, Math.round(dpr)));
      ctx.fillRect(0, Math.round(lane), W, Math.max(1, Math.round(dpr)));
      if (peaks) {
        drawLane(ctx, W, lane, 0, 0, COLORS.target);
        drawLane(ctx, W, lane, lane, 1, COLORS.other);
      }
      ctx.fillStyle = COLORS.digit;
      for (const d of markers.digits || []) {
        const a = x(d.offset_ms);
        ctx.fillRect(a, H - 8 * dpr, Math.max(1, Math.round(dpr)), 8 * dpr);
      }
    }

    /* One channel's min/max per column, from the peaks of the pixels the column covers. */
    function drawLane(ctx, W, laneH, top, channel, color) {
      const { data, length, spp, rate, channels } = peaks;
      const perSecond = rate / spp, T = total(), mid = top + laneH / 2, scale = (laneH / 2 - 3) / 128 * peaks.gain;
      const stride = 2 * channels;
      ctx.fillStyle = color;
      for (let col = 0; col < W; col++) {
        let i0 = Math.floor(col / W * T * perSecond), i1 = Math.ceil((col + 1) / W * T * perSecond);
        if (i0 >= length) break;
        i1 = Math.min(length, Math.max(i1, i0 + 1));
        let lo = 0, hi = 0;
        for (let i = i0; i < i1; i++) {
          const min = data[i * stride + 2 * channel], max = data[i * stride + 2 * channel + 1];
          if (min < lo) lo = min;
          if (max > hi) hi = max;
        }
        const yTop = mid - hi * scale, yBottom = mid - lo * scale;
        ctx.fillRect(col, yTop, 1, Math.max(1, yBottom - yTop));
      }
    }

    function draw() {
      if (!wave) return;
      const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
      ctx.drawImage(wave, 0, 0);
      const pos = Math.min(W, Math.round(audio.currentTime / total() * W));
      if (pos > 0) { ctx.fillStyle = "rgba(255, 255, 255, " + (1 - COLORS.played) + ")"; ctx.fillRect(pos, 0, W - pos, H); }
      ctx.fillStyle = COLORS.cursor;
      ctx.fillRect(Math.max(0, pos - 1), 0, Math.max(2, Math.round(window.devicePixelRatio || 1) * 2), H);
      showTime();
    }

    function showTime() {
      const t = audio.currentTime, T = total();
      if (timeOut) timeOut.textContent = clock(t, true) + " / " + clock(T, true);
      let wall = "";
      if (isFinite(started)) wall = new Date(started + t * 1000).toISOString().slice(11, 23) + " UTC";
      if (wallOut) wallOut.textContent = wall;
      canvas.setAttribute("aria-valuemax", T.toFixed(1));
      canvas.setAttribute("aria-valuenow", t.toFixed(1));
      canvas.setAttribute("aria-valuetext", clock(t, false) + " of " + clock(T, false) + (wall ? ", " + wall : "") + inMarker(t));
    }

    function inMarker(t) {
      const ms = t * 1000;
      for (const p of markers.privileged || []) if (ms >= p.start_ms && ms < p.end_ms) return ", privileged (not recorded)";
      for (const m of markers.minimized || []) if (ms >= m.start_ms && ms < m.end_ms) return ", minimized (not recorded)";
      return "";
    }

    function seek(seconds) {
      const T = total();
      audio.currentTime = Math.max(0, Math.min(T, seconds));
      draw();
    }

    function loop() {
      draw();
      frame = audio.paused ? 0 : requestAnimationFrame(loop);
    }

    function at(ev) {
      const rect = canvas.getBoundingClientRect();
      return (ev.clientX - rect.left) / Math.max(1, rect.width) * total();
    }

    canvas.addEventListener("pointerdown", (ev) => {
      dragging = true; canvas.setPointerCapture(ev.pointerId); seek(at(ev)); canvas.focus();
    });
    canvas.addEventListener("pointermove", (ev) => { if (dragging) seek(at(ev)); });
    canvas.addEventListener("pointerup", (ev) => { dragging = false; canvas.releasePointerCapture(ev.pointerId); });
    canvas.addEventListener("keydown", (ev) => {
      const step = ev.shiftKey ? 1 : 5, t = audio.currentTime;
      const keys = {
        ArrowLeft: () => seek(t - step), ArrowDown: () => seek(t - step), ArrowRight: () => seek(t + step),
        ArrowUp: () => seek(t + step), PageUp: () => seek(t + 30), PageDown: () => seek(t - 30),
        Home: () => seek(0), End: () => seek(total()),
        " ": () => (audio.paused ? audio.play() : audio.pause()), k: () => (audio.paused ? audio.play() : audio.pause()),
      };
      const act = keys[ev.key];
      if (act) { ev.preventDefault(); const r = act(); if (r && r.catch) r.catch((e) => say("Cannot play: " + e.message)); }
    });
    for (const b of root.querySelectorAll("button[data-seek-ms]")) {
      b.hidden = false;
      b.addEventListener("click", () => { seek(Number(b.dataset.seekMs) / 1000); canvas.focus(); });
    }
    audio.addEventListener("play", () => { if (!frame) frame = requestAnimationFrame(loop); });
    for (const name of ["pause", "seeked", "timeupdate", "ended"]) audio.addEventListener(name, draw);
    audio.addEventListener("loadedmetadata", layout);
    audio.addEventListener("durationchange", layout);
    audio.addEventListener("error", () => {
      const code = audio.error ? audio.error.code : "?";
      say("The audio could not be loaded (media error " + code + "): the grant or the purpose may have been refused.");
    });
    if (typeof ResizeObserver === "function") new ResizeObserver(layout).observe(canvas);
    else window.addEventListener("resize", layout);

    say("Loading the waveform…");
    layout();
    fetch(root.dataset.peaks, { credentials: "same-origin", cache: "no-store" })
      .then((r) => (r.ok ? r.json() : r.json().catch(() => ({})).then((body) => {
        throw new Error((body.rule ? "rule " + body.rule + ": " : "") + (body.message || "HTTP " + r.status));
      })))
      .then((json) => {
        if (!Array.isArray(json.data) || !json.samples_per_pixel) throw new Error("not a peaks file");
        const data = Int8Array.from(json.data);
        let loudest = 1;
        for (let i = 0; i < data.length; i++) loudest = Math.max(loudest, Math.abs(data[i]));
        // quiet telephone audio is scaled up to fill its lane (at most 8x); the audio is untouched
        peaks = { data, length: json.length || 0, spp: json.samples_per_pixel, rate: json.sample_rate || 8000,
                  channels: json.channels || 2, gain: Math.min(8, Math.max(1, 120 / loudest)) };
        layout();
        root.dataset.waveform = "drawn";
        say("");
      })
      .catch((e) => { root.dataset.waveform = "failed"; say("Waveform unavailable: " + e.message); });
  }

  function start() { for (const root of document.querySelectorAll("[data-player]")) Player(root); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
