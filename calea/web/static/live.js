/* calea live monitoring: the one script of the console (strict CSP: script-src 'self').
 *
 * This same file runs twice: as the page script (socket, call table, buttons, events) and,
 * loaded by audioWorklet.addModule(), as the AudioWorklet that plays the PCM frames.  Where
 * AudioWorklet is not available (an insecure context) a ScriptProcessor plays them instead.
 *
 * Audio: the server sends binary frames (header: calea/sessions/live_media.py) of signed
 * 16-bit PCM, 8 kHz mono, one per RTP packet and direction.  The target's side plays on the
 * left, the other party's on the right.  Minimization is enforced by the server (rule A2):
 * this page only asks; it never decides what may be heard.
 */
"use strict";

const RATE = 8000;
const SELF = (typeof document !== "undefined" && document.currentScript) ? document.currentScript.src : "/static/live.js";

/* ---------------- the AudioWorklet side ---------------- */
if (typeof registerProcessor === "function") {
  class Ring {
    constructor(size) { this.buf = new Float32Array(size); this.r = 0; this.w = 0; this.n = 0; }
    push(samples) {
      for (let i = 0; i < samples.length; i++) {
        if (this.n === this.buf.length) { this.r = (this.r + 1) % this.buf.length; this.n--; } // drop oldest
        this.buf[this.w] = samples[i]; this.w = (this.w + 1) % this.buf.length; this.n++;
      }
    }
    take() { if (this.n === 0) return 0; const v = this.buf[this.r]; this.r = (this.r + 1) % this.buf.length; this.n--; return v; }
  }
  class CaleaPcm extends AudioWorkletProcessor {
    constructor() {
      super();
      this.rings = new Map(); this.step = RATE / sampleRate; this.phase = 0; this.cur = new Map();
      this.port.onmessage = (e) => {
        const m = e.data;
        if (m.flush) { this.rings.clear(); return; }
        let ring = this.rings.get(m.stream);
        if (!ring) { ring = new Ring(RATE * 2); ring.dir = m.dir; ring.started = false; this.rings.set(m.stream, ring); }
        ring.push(m.samples);
      };
    }
    process(inputs, outputs) {
      const out = outputs[0]; const left = out[0]; const right = out[1] || out[0];
      for (let i = 0; i < left.length; i++) {
        let l = 0, r = 0;
        this.phase += this.step;
        const advance = this.phase >= 1;
        if (advance) this.phase -= 1;
        for (const [key, ring] of this.rings) {
          if (!ring.started) { if (ring.n < RATE / 10) continue; ring.started = true; } // 100 ms jitter buffer
          if (advance || !this.cur.has(key)) this.cur.set(key, ring.take());
          const v = this.cur.get(key);
          if (ring.dir === 0) l += v; else if (ring.dir === 1) r += v; else { l += v; r += v; }
        }
        left[i] = Math.max(-1, Math.min(1, l)); right[i] = Math.max(-1, Math.min(1, r));
      }
      return true;
    }
  }
  registerProcessor("calea-pcm", CaleaPcm);
} else {
  /* ---------------- the page side ---------------- */
  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("live");
    if (!root) return;
    const $ = (id) => document.getElementById(id);
    const form = $("live-start"), purposeInput = $("live-purpose"), connectBtn = $("live-connect");
    const stopBtn = $("live-disconnect"), stateLine = $("live-state"), statsLine = $("live-stats");
    const callsBody = $("live-calls").querySelector("tbody"), eventList = $("live-events");
    const privileges = (root.dataset.privileges || "").split(",").filter(Boolean);
    const calls = new Map();
    let ws = null, audio = null, nextId = 1;
    const stats = { frames: 0, latency: [] };

    function say(text, cls) {
      const li = document.createElement("li");
      li.textContent = new Date().toISOString().slice(11, 19) + "  " + text;
      if (cls) li.className = cls;
      eventList.prepend(li);
      while (eventList.children.length > 200) eventList.lastChild.remove();
    }

    async function startAudio() {
      let ctx;
      try { ctx = new AudioContext({ sampleRate: RATE }); } catch (e) { ctx = new AudioContext(); }
      if (ctx.audioWorklet && window.isSecureContext) {
        await ctx.audioWorklet.addModule(SELF);
        const node = new AudioWorkletNode(ctx, "calea-pcm", { numberOfInputs: 0, outputChannelCount: [2] });
        node.connect(ctx.destination);
        return { ctx, post: (m) => node.port.postMessage(m) };
      }
      // ScriptProcessor fallback: the same mixing, on the main thread.
      const rings = new Map(); const step = RATE / ctx.sampleRate; let phase = 0;
      const proc = ctx.createScriptProcessor(2048, 0, 2);
      proc.onaudioprocess = (e) => {
        const L = e.outputBuffer.getChannelData(0), R = e.outputBuffer.getChannelData(1);
        for (let i = 0; i < L.length; i++) {
          let l = 0, r = 0; phase += step; const adv = phase >= 1; if (adv) phase -= 1;
          for (const ring of rings.values()) {
            if (!ring.started) { if (ring.q.length < RATE / 10) continue; ring.started = true; }
            if (adv || ring.v === undefined) ring.v = ring.q.length ? ring.q.shift() : 0;
            if (ring.dir === 0) l += ring.v; else if (ring.dir === 1) r += ring.v; else { l += ring.v; r += ring.v; }
          }
          L[i] = Math.max(-1, Math.min(1, l)); R[i] = Math.max(-1, Math.min(1, r));
        }
      };
      proc.connect(ctx.destination);
      return { ctx, post: (m) => {
        if (m.flush) { rings.clear(); return; }
        let ring = rings.get(m.stream);
        if (!ring) { ring = { q: [], dir: m.dir, started: false }; rings.set(m.stream, ring); }
        for (const s of m.samples) ring.q.push(s);
        if (ring.q.length > RATE * 2) ring.q.splice(0, ring.q.length - RATE * 2);
      } };
    }

    function onFrame(buf) {
      const dv = new DataView(buf);
      if (dv.getUint8(0) !== 1) return;
      const dir = dv.getUint8(1);
      const arrivalUs = Number(dv.getBigInt64(12));
      const nl = dv.getUint8(28), nc = dv.getUint8(29);
      const dec = new TextDecoder();
      const liid = dec.decode(new Uint8Array(buf, 30, nl)), cin = dec.decode(new Uint8Array(buf, 30 + nl, nc));
      let pos = 30 + nl + nc; pos += pos % 2;
      const n = (buf.byteLength - pos) >> 1;
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = dv.getInt16(pos + 2 * i, true) / 32768;
      stats.frames++;
      stats.latency.push(Date.now() - arrivalUs / 1000);
      if (stats.latency.length > 200) stats.latency.shift();
      if (audio) audio.post({ stream: liid + "|" + cin + "|" + dir, dir, samples }, [samples.buffer]);
    }

    function send(cmd, call, extra) {
      if (!ws || ws.readyState !== WebSocket.OPEN) return;
      const id = nextId++;
      ws.send(JSON.stringify(Object.assign({ id, cmd, liid: call.liid, cin: call.cin }, extra || {})));
      say("→ " + cmd + " " + call.liid + "/" + call.cin);
    }

    function button(label, cls, enabled, onClick) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "sm " + cls; b.textContent = label; b.disabled = !enabled;
      b.addEventListener("click", onClick);
      return b;
    }

    function render() {
      callsBody.replaceChildren();
      if (calls.size === 0) {
        const tr = document.createElement("tr"), td = document.createElement("td");
        td.colSpan = 5; td.className = "empty"; td.textContent = "No active call.";
        tr.append(td); callsBody.append(tr); return;
      }
      for (const call of calls.values()) {
        const st = call.minimization || { minimized: false, privileged: [] };
        const tr = document.createElement("tr");
        const cells = [call.liid + " / " + call.cin, [call.from, call.to].filter(Boolean).join(" → ") || "—", call.state || "—"];
        for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.append(td); }
        const mtd = document.createElement("td");
        let text = st.minimized ? "minimized" : (st.spot_check_until ? "spot check until " + st.spot_check_until.slice(11, 19) : "monitored");
        if (st.minimized && st.next_spot_check_at) text += " · next check " + st.next_spot_check_at.slice(11, 19);
        if (st.privileged && st.privileged.length) text += " · privileged (" + st.privileged.join(", ") + ")";
        mtd.textContent = text; tr.append(mtd);
        const atd = document.createElement("td"); atd.className = "actions";
        const row = document.createElement("div"); row.className = "btn-row";
        const monitored = !st.minimized && !st.spot_check_until, spot = !!st.spot_check_until;
        row.append(button("Minimize", "danger", !st.minimized, () => send("minimize", call)));
        row.append(button("Spot check", "ghost", st.minimized, () => send("spot-check-start", call)));
        row.append(button("End check", "ghost", spot, () => send("spot-check-stop", call)));
        row.append(button("Pertinent", "ghost", spot, () => send("pertinent", call)));
        const sel = document.createElement("select");
        for (const p of privileges) { const o = document.createElement("option"); o.value = p; o.textContent = p; sel.append(o); }
        row.append(sel, button("Privileged", "danger", true, () => send("privileged", call, { category: sel.value })));
        if (monitored) row.title = "being monitored";
        atd.append(row); tr.append(atd); callsBody.append(tr);
      }
    }

    function onMessage(m) {
      const key = m.liid + "/" + m.cin;
      if (m.type === "hello") {
        calls.clear();
        for (const c of m.calls) calls.set(c.liid + "/" + c.cin, c);
        say("connected; rule: " + m.rule.text);
      } else if (m.type === "call") {
        if (m.event === "end") calls.delete(key);
        else {
          const c = calls.get(key) || { liid: m.liid, cin: m.cin };
          if (m.event !== "media" || !c.state) c.state = m.event;
          if (m.from) c.from = m.from; if (m.to) c.to = m.to;
          calls.set(key, c);
        }
        say("call " + key + ": " + m.event);
      } else if (m.type === "minimization") {
        const c = calls.get(key) || { liid: m.liid, cin: m.cin, state: "—" };
        c.minimization = m.status; calls.set(key, c);
        if (m.status.minimized && audio) audio.post({ flush: true });
        say(key + ": " + m.action + " by " + m.by + (m.category ? " (" + m.category + ")" : "") + " [rule " + m.rule + "]");
      } else if (m.type === "ack") {
        say("✓ " + m.events.map((e) => e.action).join(", "));
      } else if (m.type === "refused") {
        say("✗ refused" + (m.rule ? " [rule " + m.rule + "]" : "") + ": " + m.message, "bad");
      }
      render();
    }

    function showStats() {
      const l = stats.latency.slice().sort((a, b) => a - b);
      const p50 = l.length ? Math.round(l[Math.floor(l.length / 2)]) : null;
      statsLine.textContent = stats.frames + " frames" + (p50 !== null ? " · latency ≈ " + p50 + " ms (clock-skew included)" : "");
    }
    setInterval(showStats, 1000);

    async function statePurpose(purpose) {
      const page = "/cases/" + encodeURIComponent(root.dataset.caseId);
      const body = new URLSearchParams({ purpose: purpose, next: page + "/live" });
      const r = await fetch(page + "/reading", { method: "POST", body: body, credentials: "same-origin" });
      const ref = new URL(r.url).searchParams.get("purpose");  // the page it sends back to carries the id
      return r.ok && ref && ref.startsWith("rc-") ? ref : null;
    }

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const purpose = purposeInput.value.trim();
      if (!purpose) return;
      if (!audio) audio = await startAudio().catch((err) => { say("audio unavailable: " + err, "bad"); return null; });
      if (audio && audio.ctx.state === "suspended") await audio.ctx.resume();
      // C5: the purpose is kept on the server (a reading context); the socket's URL carries its id only
      const ref = await statePurpose(purpose).catch(() => null);
      if (!ref) { say("the purpose was not accepted: state it again", "bad"); return; }
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      ws = new WebSocket(scheme + location.host + root.dataset.socket + "?purpose=" + encodeURIComponent(ref));
      ws.binaryType = "arraybuffer";
      connectBtn.disabled = true; stopBtn.disabled = false; stateLine.textContent = "Connecting…";
      ws.onopen = () => { stateLine.textContent = "Connected. Purpose: " + purpose; };
      ws.onmessage = (ev) => { if (typeof ev.data === "string") onMessage(JSON.parse(ev.data)); else onFrame(ev.data); };
      ws.onclose = (ev) => {
        stateLine.textContent = "Closed (" + ev.code + ")" + (ev.reason ? ": " + ev.reason : "");
        if (ev.code !== 1000) say("socket closed " + ev.code + ": " + ev.reason, "bad");
        connectBtn.disabled = false; stopBtn.disabled = true; ws = null;
        if (audio) audio.post({ flush: true });
      };
    });
    stopBtn.addEventListener("click", () => { if (ws) ws.close(1000, "monitor left"); });
  });
}
