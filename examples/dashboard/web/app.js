'use strict';
// ws-dashboard's page: plain JS, no library. Two WebSockets to the server
// it came from: /ws (the echo this page sends to, fragmented by the
// server at the size chosen) and /events (every frame and message of
// every /ws connection, as the server saw them). Events are stored as
// they arrive and drawn once per animation frame, so a burst of
// thousands of events costs one redraw.
(() => {
  const $ = (id) => document.getElementById(id);
  const KB = 1024;
  const MB = 1024 * 1024;
  const PRESETS = [
    ['1 KB', KB], ['10 KB', 10 * KB], ['64 KB', 64 * KB], ['100 KB', 100 * KB],
    ['1 MB', MB], ['4 MB', 4 * MB], ['16 MB', 16 * MB],
    ['125 B', 125, true], ['126 B', 126, true], ['65535 B', 65535, true],
    ['65536 B', 65536, true],
  ];
  const MAX_HISTORY_ROWS = 500;   // rows in the DOM
  const MAX_RECORDS = 2000;       // messages remembered
  const KEEP_FRAMES = 200;        // of the newest messages, frames kept
  const MAX_FRAMES_PER_MSG = 2000;
  const TABLE_ROWS = 400;
  // wss:// when the page came over https:// (ws-dashboard --tls-cert).
  const WS_SCHEME = location.protocol === 'https:' ? 'wss' : 'ws';
  const WS_BASE = `${WS_SCHEME}://${location.host}`;

  // ------------------------------------------------------------ state
  const S = {
    ws: null, tag: '', myConn: null, fragment: 16384, opening: null,
    ev: null, evBackoff: 250,
    clock: null,                 // {t_us, wall}: server time -> wall clock
    conns: new Map(),            // conn id -> {tag, peer, fragment}
    mine: new Set(),             // conn ids opened by this page
    building: new Map(),         // "conn:dir" -> frames of the message under way
    records: [], nextRec: 1, selected: null,
    sent: [],                    // this page's sends, oldest first
    waitOpen: new Map(),         // tag -> resolve(conn id)
    waitMsg: new Map(),          // "conn:dir" -> [resolve]
    stats: null, live: null, series: [], lastRtt: null,
    eventsReceived: 0, framesSeen: 0, coalescedSeen: 0,
    dirty: { tiles: true, charts: true, history: true, breakdown: true, result: true },
    pendingRows: [], checked: [], lastResult: null, rafPending: false,
    closing: null,
  };

  // ------------------------------------------------------- formatting
  function fmtBytes(n) {
    if (n == null) return '–';
    if (n < KB) return `${n} B`;
    if (n < MB) return `${(n / KB).toFixed(n < 10 * KB ? 2 : 1)} KB`;
    if (n < 1024 * MB) return `${(n / MB).toFixed(n < 10 * MB ? 2 : 1)} MB`;
    return `${(n / (1024 * MB)).toFixed(2)} GB`;
  }
  const fmtInt = (n) => (n == null ? '–' : Number(n).toLocaleString('en-US'));
  function fmtRate(bps) {
    if (!isFinite(bps) || bps <= 0) return '0 B/s';
    return `${fmtBytes(Math.round(bps))}/s`;
  }
  function fmtMs(ms) {
    if (ms == null) return '–';
    if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
    if (ms < 100) return `${ms.toFixed(2)} ms`;
    return `${ms.toFixed(0)} ms`;
  }
  function wallOf(tUs) {
    if (!S.clock) return new Date();
    return new Date(S.clock.wall + (tUs - S.clock.t_us) / 1000);
  }
  function fmtClock(tUs) {
    const d = wallOf(tUs);
    const p = (x, n = 2) => String(x).padStart(n, '0');
    return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
  async function sha256(bytes) { return hex(await crypto.subtle.digest('SHA-256', bytes)); }

  // ------------------------------------------------------- payloads
  const ASCII = 'The quick brown fox jumps over the lazy dog. 0123456789\n';
  const UTF8 = 'héllo wörld — ünïcödé € ✓ 日本語 🚀 ';
  function textOf(size, kind) {
    const unit = kind === 'utf8' ? UTF8 : ASCII;
    const enc = new TextEncoder();
    const unitBytes = enc.encode(unit).length;
    let s = unit.repeat(Math.floor(size / unitBytes));
    let left = size - unitBytes * Math.floor(size / unitBytes);
    // fill the rest a character at a time, never cutting one in two
    for (const ch of unit) {
      const n = enc.encode(ch).length;
      if (n > left) break;
      s += ch;
      left -= n;
    }
    return s + 'x'.repeat(left);
  }
  function binaryOf(size) {
    const b = new Uint8Array(size);
    for (let off = 0; off < size; off += 65536) {
      crypto.getRandomValues(b.subarray(off, Math.min(size, off + 65536)));
    }
    return b;
  }
  async function payloadOf(size, kind) {
    if (kind === 'binary') {
      const b = binaryOf(size);
      return { data: b, bytes: b, sha: await sha256(b) };
    }
    const s = textOf(size, kind);
    const bytes = new TextEncoder().encode(s);
    return { data: s, bytes, sha: await sha256(bytes) };
  }

  // ------------------------------------------------------------ /events
  function connectEvents() {
    const ev = new WebSocket(`${WS_BASE}/events`);
    S.ev = ev;
    setPill('monitor-status', 'wait', 'Monitor connecting…');
    ev.onopen = () => {
      S.evBackoff = 250;
      setPill('monitor-status', 'on', 'Monitor live');
    };
    ev.onmessage = (m) => {
      S.eventsReceived++;
      let e;
      try { e = JSON.parse(m.data); } catch (_) { return; }
      handleEvent(e);
    };
    ev.onclose = () => {
      setPill('monitor-status', 'err', 'Monitor lost — retrying');
      setTimeout(connectEvents, S.evBackoff);
      S.evBackoff = Math.min(S.evBackoff * 2, 5000);
    };
  }

  function handleEvent(e) {
    switch (e.ev) {
      case 'hello':
        S.clock = { t_us: e.t_us, wall: Date.now() };
        $('server-version').textContent = `${e.server} ${e.version}`;
        for (const c of e.conns) S.conns.set(c.conn, c);
        break;
      case 'open': {
        S.conns.set(e.conn.conn, e.conn);
        const w = S.waitOpen.get(e.conn.tag);
        if (w) { S.waitOpen.delete(e.conn.tag); w(e.conn.conn); }
        break;
      }
      case 'close':
        for (const dir of ['in', 'out']) S.building.delete(`${e.conn}:${dir}`);
        break;
      case 'frame': onFrame(e); break;
      case 'coalesced': onCoalesced(e); break;
      case 'message': onMessage(e); break;
      case 'stats': onStats(e); break;
      default: break;
    }
  }

  function building(conn, dir) {
    const key = `${conn}:${dir}`;
    let b = S.building.get(key);
    if (!b) {
      b = { frames: [], controls: [], samples: [], dropped: 0, coalesced: 0, coalescedBytes: 0 };
      S.building.set(key, b);
    }
    return b;
  }

  // Between two stats the tiles count what the events report; each stats
  // event then sets them to the server's exact totals.
  function countLive(dir, frames, bytes, messages) {
    const t = S.live;
    if (!t) return;
    t[`frames_${dir}`] += frames;
    t[`bytes_${dir}`] += bytes;
    t[`messages_${dir}`] += messages;
    S.dirty.tiles = true;
    schedule();
  }

  function onFrame(f) {
    S.framesSeen++;
    countLive(f.dir, 1, f.len, 0);
    const b = building(f.conn, f.dir);
    if (f.opcode >= 8) {
      if (b.controls.length < 50) b.controls.push(f);
      return;
    }
    if (f.opcode !== 0) Object.assign(b, { frames: [], samples: [], dropped: 0, coalesced: 0, coalescedBytes: 0 });
    if (b.frames.length < MAX_FRAMES_PER_MSG) b.frames.push(f);
    else b.dropped++;
  }

  function onCoalesced(c) {
    S.coalescedSeen += c.count;
    countLive(c.dir, c.count, c.bytes, 0);
    const b = building(c.conn, c.dir);
    b.coalesced += c.count;
    b.coalescedBytes += c.bytes;
    for (const f of c.samples) if (f.opcode < 8 && b.samples.length < 3) b.samples.push(f);
  }

  function onMessage(m) {
    const key = `${m.conn}:${m.dir}`;
    const b = S.building.get(key) || { frames: [], controls: [], samples: [], dropped: 0, coalesced: 0, coalescedBytes: 0 };
    S.building.delete(key);
    countLive(m.dir, 0, 0, 1);
    const rec = {
      id: S.nextRec++, conn: m.conn, dir: m.dir, opcode: m.opcode, opname: m.opname,
      size: m.size, frames: m.frames, sizes: m.sizes, sha256: m.sha256,
      utf8_ok: m.utf8_ok, t_first_us: m.t_first_us, t_last_us: m.t_last_us,
      frameList: b.frames, controls: b.controls, listedDropped: b.dropped,
      coalesced: b.coalesced, coalescedBytes: b.coalescedBytes, samples: b.samples,
      tag: (S.conns.get(m.conn) || {}).tag || '', check: null,
    };
    S.records.push(rec);
    trimRecords();
    if (m.conn === S.myConn) matchMine(rec);
    S.pendingRows.push(rec);
    S.dirty.history = true;
    const waiters = S.waitMsg.get(key);
    if (waiters && waiters.length) waiters.shift()(rec);
    if (S.selected == null || S.followLatest) { S.selected = rec.id; S.dirty.breakdown = true; }
    schedule();
  }

  function trimRecords() {
    if (S.records.length > MAX_RECORDS) {
      for (const r of S.records.splice(0, S.records.length - MAX_RECORDS)) r.tr = null;
    }
    const old = S.records.length - KEEP_FRAMES - 1;
    if (old >= 0 && S.records[old].frameList.length && S.records[old].id !== S.selected) {
      S.records[old].frameList = [];
      S.records[old].framesTrimmed = true;
    }
  }

  function onStats(st) {
    if (S.stats) {
      const dt = (st.t_us - S.stats.t_us) / 1e6;
      if (dt > 0) {
        S.series.push({
          t: st.t_us,
          in: (st.bytes_in - S.stats.bytes_in) / dt,
          out: (st.bytes_out - S.stats.bytes_out) / dt,
        });
        if (S.series.length > 60) S.series.shift();
      }
    }
    S.stats = st;
    S.live = {};
    for (const k of ['frames', 'bytes', 'messages']) {
      for (const d of ['in', 'out']) S.live[`${k}_${d}`] = st[`${k}_${d}`];
    }
    const me = st.per_conn.find((p) => p.conn === S.myConn);
    if (me && me.rtt_us != null) S.lastRtt = me.rtt_us / 1000;
    S.dirty.tiles = true;
    S.dirty.charts = true;
    schedule();
  }

  // ------------------------------------------------------------ /ws
  function fragmentChoice() {
    const v = $('fragment').value;
    if (v === 'custom') return Math.max(1, Math.floor(Number($('fragment-custom').value) || 1));
    return Number(v);
  }

  function waitForOpen(tag) {
    return new Promise((resolve) => S.waitOpen.set(tag, resolve));
  }

  function waitForMessage(conn, dir) {
    const key = `${conn}:${dir}`;
    return new Promise((resolve) => {
      if (!S.waitMsg.has(key)) S.waitMsg.set(key, []);
      S.waitMsg.get(key).push(resolve);
    });
  }

  function connect() {
    if (S.ws && S.ws.readyState <= 1) return S.opening || Promise.resolve(S.myConn);
    S.fragment = fragmentChoice();
    S.tag = `page-${Math.random().toString(36).slice(2, 10)}`;
    const url = `${WS_BASE}/ws?fragment=${S.fragment}&tag=${S.tag}`;
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    S.ws = ws;
    S.myConn = null;
    S.sent = []; // echoes owed on the old connection will not come
    setPill('status', 'wait', 'Connecting…');
    const opened = waitForOpen(S.tag);
    S.opening = new Promise((resolve, reject) => {
      ws.onopen = async () => {
        const conn = await opened;
        S.myConn = conn;
        S.mine.add(conn);
        setPill('status', 'on', `Connected · conn #${conn}`);
        $('conn-info').textContent = `${url.replace(WS_BASE, '')} — the server echoes in ` +
          (S.fragment ? `frames of ${fmtInt(S.fragment)} bytes.` : 'one frame per message.');
        updateButtons();
        resolve(conn);
      };
      ws.onerror = () => reject(new Error('WebSocket error'));
    });
    ws.onmessage = (m) => onEcho(m.data);
    ws.onclose = (c) => {
      if (S.ws === ws) {
        S.ws = null;
        // the server's reply repeats our code (RFC 6455 §5.5.1); the
        // reason shown is the one its close frame carried, else ours
        const reason = c.reason || (S.closing ? S.closing.reason : '');
        const normal = c.code === 1000 || (S.closing && c.code === S.closing.code);
        setPill('status', normal ? 'off' : 'err', `Closed ${c.code}${reason ? ` · ${reason}` : ''}`);
        S.closing = null;
        $('conn-info').textContent = 'Not connected.';
        updateButtons();
      }
    };
    updateButtons();
    return S.opening;
  }

  function disconnect() {
    if (!S.ws) return;
    const code = Number($('close-code').value) || 1000;
    S.closing = { code, reason: $('close-reason').value };
    try {
      S.ws.close(code, S.closing.reason);
    } catch (e) { // a code the browser may not send (1000 or 3000-4999)
      S.closing = null;
      setPill('status', 'err', e.message.slice(0, 60));
    }
  }

  function reconnect() {
    if (S.ws) {
      const old = S.ws;
      S.ws = null;
      old.onclose = null;
      old.close(1000, 'new fragment size');
    }
    return connect();
  }

  // This page's own messages, matched in order: the k-th message the
  // server received on our connection is our k-th send, the k-th it sent
  // is its echo.
  async function sendOne(size, kind) {
    await connect();
    const p = await payloadOf(size, kind);
    const entry = {
      size, kind, sha: p.sha, t0: performance.now(),
      echo: null, recIn: null, recOut: null, done: false,
    };
    entry.promise = new Promise((resolve) => { entry.resolve = resolve; });
    S.sent.push(entry);
    S.ws.send(p.data);
    return entry;
  }

  // Echoes are hashed strictly in order: each waits for the one before.
  let echoChain = Promise.resolve();
  function onEcho(data) {
    const t = performance.now();
    echoChain = echoChain.then(async () => {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
      const sha = await sha256(bytes);
      const entry = S.sent.find((s) => !s.echo);
      if (!entry) return;
      entry.echo = { size: bytes.length, sha, t };
      finish(entry);
    });
  }

  function matchMine(rec) {
    const entry = S.sent.find((s) => (rec.dir === 'in' ? !s.recIn : !s.recOut));
    if (!entry) return;
    if (rec.dir === 'in') entry.recIn = rec; else entry.recOut = rec;
    rec.entry = entry;
    finish(entry);
  }

  function finish(entry) {
    if (entry.done || !entry.echo || !entry.recIn || !entry.recOut) return;
    entry.done = true;
    const e = entry.echo;
    entry.rttMs = e.t - entry.t0;
    entry.pass = e.size === entry.size && e.sha === entry.sha &&
      entry.recIn.sha256 === entry.sha && entry.recOut.sha256 === entry.sha;
    entry.recIn.check = entry.pass;
    entry.recOut.check = entry.pass;
    S.checked.push(entry.recIn, entry.recOut);
    while (S.sent.length && S.sent[0].done) S.sent.shift();
    S.lastResult = entry;
    S.dirty.result = true;
    S.dirty.history = true;
    schedule();
    entry.resolve(summary(entry));
  }

  function summary(entry) {
    const r = (rec) => rec && {
      id: rec.id, conn: rec.conn, dir: rec.dir, size: rec.size, frames: rec.frames,
      sizes: rec.sizes, sha256: rec.sha256, coalesced: rec.coalesced,
      frameList: rec.frameList.map((f) => ({
        fin: f.fin, rsv: f.rsv, opcode: f.opcode, masked: f.masked, mask_key: f.mask_key,
        len: f.len, len_form: f.len_form, header: f.header, offset: f.offset,
      })),
    };
    return {
      pass: entry.pass, size: entry.size, kind: entry.kind, sha: entry.sha,
      echoSize: entry.echo.size, echoSha: entry.echo.sha, rttMs: entry.rttMs,
      in: r(entry.recIn), out: r(entry.recOut),
    };
  }

  async function send(size, kind, repeat = 1) {
    const entries = [];
    for (let i = 0; i < repeat; i++) entries.push(await sendOne(size, kind));
    S.followLatest = true;
    const results = await Promise.all(entries.map((e) => e.promise));
    return repeat === 1 ? results[0] : results;
  }

  // The server sends a message of its own making, fragmented, on a
  // connection of its own; the page checks it against the server's hash.
  async function generate(size, kind) {
    const type = kind === 'binary' ? 'binary' : 'text';
    const tag = `gen-${Math.random().toString(36).slice(2, 10)}`;
    const frag = fragmentChoice();
    const ws = new WebSocket(`${WS_BASE}/ws?generate=${size}&type=${type}&fragment=${frag}&tag=${tag}`);
    ws.binaryType = 'arraybuffer';
    const t0 = performance.now();
    const conn = await waitForOpen(tag);
    S.mine.add(conn);
    const recOut = waitForMessage(conn, 'out');
    const data = await new Promise((resolve, reject) => {
      ws.onmessage = (m) => resolve(m.data);
      ws.onclose = (c) => reject(new Error(`closed ${c.code} before the message`));
    });
    const t = performance.now();
    ws.onclose = null;
    ws.close(1000, 'done');
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
    const sha = await sha256(bytes);
    const rec = await recOut;
    const entry = {
      generated: true, size, kind: type, sha: rec.sha256, echo: { size: bytes.length, sha, t },
      t0, rttMs: t - t0, recIn: null, recOut: rec, done: true,
      pass: bytes.length === size && sha === rec.sha256,
    };
    rec.check = entry.pass;
    S.checked.push(rec);
    S.lastResult = entry;
    S.selected = rec.id;
    S.dirty.result = S.dirty.breakdown = S.dirty.history = true;
    schedule();
    return { pass: entry.pass, size: bytes.length, sha, serverSha: rec.sha256, frames: rec.frames };
  }

  // ------------------------------------------------------------- drawing
  function schedule() {
    if (S.rafPending) return;
    S.rafPending = true;
    requestAnimationFrame(render);
  }

  function render() {
    S.rafPending = false;
    if (S.dirty.tiles) { S.dirty.tiles = false; renderTiles(); }
    if (S.dirty.charts) { S.dirty.charts = false; drawThroughput(); drawHistogram(); }
    if (S.dirty.history) { S.dirty.history = false; renderHistory(); }
    if (S.dirty.breakdown) { S.dirty.breakdown = false; renderBreakdown(); }
    if (S.dirty.result) { S.dirty.result = false; renderResult(); }
  }

  function setPill(id, cls, text) {
    const p = $(id);
    p.className = `pill ${cls}`;
    p.textContent = text;
  }

  function updateButtons() {
    const open = !!(S.ws && S.ws.readyState === 1);
    $('connect').disabled = !!S.ws;
    $('disconnect').disabled = !open;
  }

  function pair(id, a, b) {
    $(id).replaceChildren(el('span', 'in', a), el('span', 'sep', ' / '), el('span', 'out', b));
  }

  function renderTiles() {
    const st = S.live;
    if (st) {
      pair('t-msgs', fmtInt(st.messages_in), fmtInt(st.messages_out));
      pair('t-frames', fmtInt(st.frames_in), fmtInt(st.frames_out));
      pair('t-bytes', fmtBytes(st.bytes_in), fmtBytes(st.bytes_out));
      const dataOut = S.records.filter((r) => r.dir === 'out');
      const frames = dataOut.reduce((a, r) => a + r.frames, 0);
      $('t-fpm').textContent = dataOut.length ? (frames / dataOut.length).toFixed(1) : '–';
    }
    $('t-rtt').textContent = fmtMs(S.lastRtt);
  }

  function canvasCtx(c) {
    const dpr = window.devicePixelRatio || 1;
    // the CSS size is data-h (or the height it was written with); the
    // bitmap behind it has device pixels
    if (!c.dataset.h) c.dataset.h = c.getAttribute('height');
    const w = c.clientWidth;
    const h = Number(c.dataset.h);
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    c.style.height = `${h}px`;
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx, w, h };
  }

  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function drawAxes(ctx, left, top, w, h, ticks, label) {
    ctx.strokeStyle = '#e6eaf0';
    ctx.fillStyle = '#8792a2';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ticks.forEach((v, i) => {
      const y = top + h - (h * i) / (ticks.length - 1);
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(left + w, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(label(v), left - 6, y);
    });
  }

  function drawThroughput() {
    const { ctx, w, h } = canvasCtx($('chart-throughput'));
    const L = 66, T = 8, B = 20, R = 8;
    const pw = w - L - R, ph = h - T - B;
    const pts = S.series;
    const max = niceMax(Math.max(1, ...pts.map((p) => Math.max(p.in, p.out))));
    drawAxes(ctx, L, T, pw, ph, [0, max / 4, max / 2, (3 * max) / 4, max], fmtRate);
    ctx.fillStyle = '#8792a2';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText('−60 s', L + 12, T + ph + 5);
    ctx.fillText('now', L + pw - 12, T + ph + 5);
    if (pts.length < 2) {
      ctx.fillText('waiting for the first seconds of data…', L + pw / 2, T + ph / 2 - 6);
      return;
    }
    const x = (i) => L + pw - ((pts.length - 1 - i) * pw) / 59;
    const y = (v) => T + ph - (v / max) * ph;
    for (const [key, color] of [['in', css('--in')], ['out', css('--out')]]) {
      ctx.beginPath();
      pts.forEach((p, i) => (i ? ctx.lineTo(x(i), y(p[key])) : ctx.moveTo(x(i), y(p[key]))));
      ctx.strokeStyle = color;
      ctx.lineWidth = 2;
      ctx.stroke();
      ctx.lineTo(x(pts.length - 1), T + ph);
      ctx.lineTo(x(0), T + ph);
      ctx.closePath();
      ctx.globalAlpha = 0.1;
      ctx.fillStyle = color;
      ctx.fill();
      ctx.globalAlpha = 1;
    }
  }

  function bucketLabel(k) {
    if (k === 0) return '0';
    const lo = 2 ** (k - 1);
    const short = (n) => (n >= MB ? `${n / MB}M` : n >= KB ? `${n / KB}K` : `${n}`);
    return k === 1 ? '1' : `${short(lo)}+`;
  }

  function drawHistogram() {
    const { ctx, w, h } = canvasCtx($('chart-hist'));
    const st = S.stats;
    const L = 44, T = 8, B = 20, R = 8;
    const pw = w - L - R, ph = h - T - B;
    if (!st) return;
    const hin = st.hist_in, hout = st.hist_out;
    let lo = hin.findIndex((v, i) => v || hout[i]);
    if (lo < 0) {
      drawAxes(ctx, L, T, pw, ph, [0, 1], String);
      return;
    }
    let hi = hin.length - 1;
    while (hi > lo && !hin[hi] && !hout[hi]) hi--;
    while (hi - lo < 9) { if (lo > 0) lo--; else hi++; }
    // counts span orders of magnitude (8,389 frames of 125 B beside one
    // of 76 B): a log scale, one grid line a decade, keeps both visible
    const max = Math.max(...hin, ...hout);
    const decades = Math.max(1, Math.ceil(Math.log10(max)));
    const ticks = [0];
    for (let d = 0; d <= decades; d++) ticks.push(10 ** d);
    drawAxes(ctx, L, T, pw, ph, ticks, fmtShort);
    const scale = (v) => (v ? (ph * (1 + Math.log10(v))) / (1 + decades) : 0);
    const n = hi - lo + 1, slot = pw / n, bw = Math.max(2, (slot - 6) / 2);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (let k = lo; k <= hi; k++) {
      const x0 = L + (k - lo) * slot + (slot - 2 * bw) / 2;
      ctx.fillStyle = css('--in');
      const a = scale(hin[k] || 0);
      ctx.fillRect(x0, T + ph - a, bw, a);
      ctx.fillStyle = css('--out');
      const b = scale(hout[k] || 0);
      ctx.fillRect(x0 + bw, T + ph - b, bw, b);
      ctx.fillStyle = '#8792a2';
      const every = Math.ceil(40 / slot); // labels at least 40 px apart
      if ((k - lo) % every === 0) ctx.fillText(bucketLabel(k), L + (k - lo + 0.5) * slot, T + ph + 5);
    }
  }

  function fmtShort(v) {
    if (v >= 1e6) return `${v / 1e6}M`;
    if (v >= 1e3) return `${v / 1e3}k`;
    return String(v);
  }

  // ---------------------------------------------------------- history
  function visible(rec) {
    return !$('only-mine').checked || S.mine.has(rec.conn);
  }

  function checkCell(rec) {
    const td = el('td');
    if (rec.check === true) td.append(el('span', 'badge pass', 'PASS'));
    else if (rec.check === false) td.append(el('span', 'badge fail', 'FAIL'));
    else if (rec.entry && !rec.entry.done) td.append(el('span', 'badge wait', '…'));
    else td.append(el('span', 'muted', rec.opname === 'text' ? (rec.utf8_ok ? 'UTF-8 ✓' : 'UTF-8 ✗') : '—'));
    return td;
  }

  function historyRow(rec) {
    const tr = el('tr');
    rec.tr = tr;
    tr.dataset.id = rec.id;
    if (rec.id === S.selected) tr.classList.add('selected');
    tr.append(el('td', 'mono', fmtClock(rec.t_first_us)));
    tr.append(el('td', null, `#${rec.conn}${rec.tag ? ` ${rec.tag}` : ''}`));
    const d = el('td');
    d.append(el('span', `dir ${rec.dir}`, rec.dir.toUpperCase()));
    tr.append(d);
    tr.append(el('td', null, rec.opname));
    tr.append(el('td', 'num', fmtBytes(rec.size)));
    tr.append(el('td', 'num', fmtInt(rec.frames)));
    tr.append(el('td', 'mono', rec.sha256 ? `${rec.sha256.slice(0, 16)}…` : '–'));
    tr.append(checkCell(rec));
    return tr;
  }

  function renderHistory() {
    const body = $('history').tBodies[0];
    for (const rec of S.checked.splice(0)) {
      if (rec.tr && rec.tr.isConnected) rec.tr.lastChild.replaceWith(checkCell(rec));
    }
    if (S.rebuildHistory) {
      S.rebuildHistory = false;
      S.pendingRows = [];
      const frag = document.createDocumentFragment();
      const shown = S.records.filter(visible).slice(-MAX_HISTORY_ROWS).reverse();
      for (const rec of shown) frag.append(historyRow(rec));
      body.replaceChildren(frag);
      return;
    }
    const rows = S.pendingRows.filter(visible);
    S.pendingRows = [];
    if (!rows.length) return;
    const frag = document.createDocumentFragment();
    for (let i = rows.length - 1; i >= 0 && rows.length - i <= MAX_HISTORY_ROWS; i--) {
      frag.append(historyRow(rows[i]));
    }
    body.prepend(frag);
    while (body.rows.length > MAX_HISTORY_ROWS) body.deleteRow(-1);
    markSelected();
  }

  function markSelected() {
    for (const tr of $('history').tBodies[0].rows) {
      tr.classList.toggle('selected', Number(tr.dataset.id) === S.selected);
    }
  }

  // -------------------------------------------------------- breakdown
  function expandSizes(rec) {
    if (Array.isArray(rec.sizes)) return rec.sizes;
    const out = [];
    for (const [size, count] of rec.sizes.runs) for (let i = 0; i < count; i++) out.push(size);
    return out;
  }

  // The fragments to scale; when they are too thin to see, a second band
  // shows the first ones zoomed in.
  function drawBand(ctx, sizes, total, pal, x, y, w, h) {
    let off = 0;
    const thin = (w * Math.min(...sizes)) / total < 2;
    sizes.forEach((s, i) => {
      const x0 = x + (off / total) * w;
      const x1 = x + ((off + s) / total) * w;
      ctx.fillStyle = pal[i % 2];
      ctx.fillRect(x0, y, Math.max(1, x1 - x0), h);
      if (!thin && i) {
        ctx.fillStyle = '#ffffff';
        ctx.fillRect(Math.round(x0), y, 1, h);
      }
      off += s;
    });
    return thin;
  }

  function drawLabel(ctx, text, x, y) {
    ctx.font = '600 11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    const tw = ctx.measureText(text).width;
    ctx.fillStyle = 'rgba(17, 24, 39, 0.78)';
    ctx.beginPath();
    if (ctx.roundRect) ctx.roundRect(x, y - 9, tw + 14, 18, 5);
    else ctx.rect(x, y - 9, tw + 14, 18);
    ctx.fill();
    ctx.fillStyle = '#ffffff';
    ctx.fillText(text, x + 7, y + 0.5);
  }

  const ZOOM_FRAMES = 40;

  function drawFragBar(rec) {
    const c = $('fragbar');
    const sizes = rec ? expandSizes(rec) : [];
    const total = sizes.reduce((a, b) => a + b, 0);
    const w0 = c.clientWidth;
    const zoom = rec && total > 0 && (w0 * Math.min(...sizes)) / total < 2 && sizes.length > ZOOM_FRAMES;
    c.dataset.h = zoom ? '62' : '34';
    const { ctx, w, h } = canvasCtx(c);
    if (!rec) return;
    const pal = rec.dir === 'in' ? [css('--in'), '#7dd3c8'] : [css('--out'), '#a5b4fc'];
    const frames = `${fmtInt(sizes.length)} frame${sizes.length === 1 ? '' : 's'} · ${fmtBytes(rec.size)}`;
    if (total === 0) {
      ctx.fillStyle = pal[0];
      ctx.fillRect(0, 4, 3, h - 8);
      drawLabel(ctx, `${frames} (empty)`, 10, h / 2);
      return;
    }
    if (!zoom) {
      drawBand(ctx, sizes, total, pal, 0, 4, w, h - 8);
      drawLabel(ctx, frames, 6, h / 2);
      return;
    }
    drawBand(ctx, sizes, total, pal, 0, 4, w, 24);
    drawLabel(ctx, `${frames} · each under 2 px at this scale`, 6, 16);
    const first = sizes.slice(0, ZOOM_FRAMES);
    drawBand(ctx, first, first.reduce((a, b) => a + b, 0), pal, 0, 34, w, 24);
    drawLabel(ctx, `first ${ZOOM_FRAMES} frames, zoomed`, 6, 46);
  }

  function flag(on) {
    return el('td', on ? 'flag-on' : 'flag-off', on ? '1' : '0');
  }

  function frameRow(i, f, t0) {
    const tr = el('tr');
    tr.append(el('td', 'num', i == null ? '…' : String(i + 1)));
    tr.append(el('td', 'num', `+${((f.t_us - t0) / 1000).toFixed(3)} ms`));
    tr.append(flag(f.fin));
    tr.append(el('td', null, String(f.rsv)));
    tr.append(el('td', `op${f.opcode === 0 ? ' cont' : ''}`, `${f.opcode} ${f.opname}`));
    tr.append(flag(f.masked));
    tr.append(el('td', 'mono', f.mask_key || '—'));
    tr.append(el('td', 'num', fmtInt(f.len)));
    tr.append(el('td', null, `${f.len_form}-bit`));
    tr.append(el('td', 'mono', f.header));
    tr.append(el('td', 'num', f.offset == null ? '—' : fmtInt(f.offset)));
    tr.append(el('td', 'mono', f.head == null ? '—' : f.head));
    return tr;
  }

  function renderBreakdown() {
    const rec = S.records.find((r) => r.id === S.selected);
    const body = $('frames').tBodies[0];
    const sum = $('bd-summary');
    if (!rec) {
      body.replaceChildren();
      sum.replaceChildren();
      drawFragBar(null);
      return;
    }
    $('bd-title').textContent = `Message ${rec.id} · conn #${rec.conn} · ${rec.dir === 'in' ? 'received by' : 'sent by'} the server`;
    const items = [
      ['Type', rec.opname], ['Size', `${fmtInt(rec.size)} B`], ['Frames', fmtInt(rec.frames)],
      ['Duration', fmtMs((rec.t_last_us - rec.t_first_us) / 1000)],
      ['SHA-256', rec.sha256 ? rec.sha256 : 'not seen'],
    ];
    sum.replaceChildren(...items.map(([k, v]) => {
      const s = el('span');
      s.append(el('span', 'muted', `${k} `), el('b', k === 'SHA-256' ? 'hash' : null, v));
      return s;
    }));
    if (rec.check != null) {
      const b = el('span', `badge ${rec.check ? 'pass' : 'fail'}`, rec.check ? 'ECHO VERIFIED' : 'MISMATCH');
      sum.append(b);
    }
    drawFragBar(rec);
    const frag = document.createDocumentFragment();
    const list = rec.frameList;
    const t0 = list.length ? list[0].t_us : rec.t_first_us;
    list.slice(0, TABLE_ROWS).forEach((f, i) => frag.append(frameRow(i, f, t0)));
    const samples = list.length < TABLE_ROWS && rec.samples ? rec.samples : [];
    for (const f of samples) {
      const tr = frameRow(null, f, t0);
      tr.classList.add('sample');
      tr.title = 'one of the frames the server coalesced, kept whole as a sample';
      frag.append(tr);
    }
    const notListed = rec.frames - Math.min(list.length, TABLE_ROWS);
    if (notListed > 0) {
      const tr = el('tr', 'more');
      let text = `… ${fmtInt(notListed)} more frame${notListed === 1 ? '' : 's'}`;
      if (rec.coalesced) {
        text += `: coalesced by the server above 200 frames/s (counted, not listed${samples.length
          ? `; ${samples.length} sample${samples.length === 1 ? '' : 's'} above` : ''})`;
      }
      const td = el('td', null, text);
      td.colSpan = 12;
      tr.append(td);
      frag.append(tr);
    }
    body.replaceChildren(frag);
    const notes = [];
    if (rec.framesTrimmed) notes.push('Frame details of older messages are not kept; the sizes above are exact.');
    if (rec.controls.length) notes.push(`Control frames between its fragments: ${rec.controls.map((c) => c.opname).join(', ')}.`);
    $('bd-note').textContent = notes.join(' ');
  }

  function renderResult() {
    const r = S.lastResult;
    const box = $('result');
    if (!r) return;
    box.className = 'result';
    const badge = el('span', `badge big ${r.pass ? 'pass' : 'fail'}`, r.pass ? 'PASS · echo verified' : 'FAIL · echo differs');
    const dl = el('dl');
    const add = (k, v, cls) => { dl.append(el('dt', null, k), el('dd', cls, v)); };
    add(r.generated ? 'Generated' : 'Sent', `${fmtInt(r.size)} B ${r.kind}`);
    add('Received', `${fmtInt(r.echo.size)} B`);
    add('Frames', r.recOut ? `${fmtInt(r.recOut.frames)} from the server` +
      (r.recIn ? `, ${fmtInt(r.recIn.frames)} from the page` : '') : '–');
    add(r.generated ? 'Time' : 'Round trip', fmtMs(r.rttMs));
    add('Throughput', fmtRate((r.size * (r.generated ? 1 : 2)) / (r.rttMs / 1000)));
    add('SHA-256', r.sha || '–', 'hash');
    if (!r.pass) add('Echo hash', r.echo.sha, 'hash');
    box.replaceChildren(badge, dl);
  }

  // -------------------------------------------------------------- UI
  function selectRecord(id) {
    S.selected = id;
    S.followLatest = false;
    S.dirty.breakdown = true;
    markSelected();
    schedule();
  }

  function exportJson() {
    const data = S.records.map((r) => ({
      conn: r.conn, tag: r.tag, dir: r.dir, opcode: r.opcode, opname: r.opname, size: r.size,
      frames: r.frames, sizes: r.sizes, sha256: r.sha256, utf8_ok: r.utf8_ok,
      t_first: wallOf(r.t_first_us).toISOString(), t_last: wallOf(r.t_last_us).toISOString(),
      verified: r.check, coalesced: r.coalesced,
      frame_list: r.frameList.map(({ ev, conn, ...f }) => f),
    }));
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
    const a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = `ws-dashboard-history-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    return data;
  }

  function kindChoice() {
    return document.querySelector('input[name=kind]:checked').value;
  }

  function setBusy(busy) {
    $('send').disabled = busy;
    $('generate').disabled = busy;
  }

  async function guarded(fn) {
    setBusy(true);
    try {
      return await fn();
    } catch (e) {
      const box = $('result');
      box.className = 'result';
      box.replaceChildren(el('span', 'badge big fail', 'ERROR'), el('p', null, e.message));
      return null;
    } finally {
      setBusy(false);
    }
  }

  function setup() {
    const chips = $('presets');
    for (const [label, size, edge] of PRESETS) {
      const b = el('button', `chip${edge ? ' edge' : ''}`, label);
      b.type = 'button';
      b.dataset.size = size;
      b.title = edge ? `${size} bytes: a length-form boundary` : `${fmtInt(size)} bytes`;
      b.onclick = () => { $('size').value = size; markPreset(); };
      chips.append(b);
    }
    const markPreset = () => {
      for (const c of chips.children) c.classList.toggle('active', Number(c.dataset.size) === Number($('size').value));
    };
    $('size').oninput = markPreset;
    markPreset();
    $('fragment').onchange = () => {
      $('fragment-custom-row').hidden = $('fragment').value !== 'custom';
      if (S.ws) reconnect();
    };
    $('fragment-custom').onchange = () => { if (S.ws) reconnect(); };
    $('connect').onclick = () => connect();
    $('disconnect').onclick = () => disconnect();
    $('send').onclick = () => guarded(() => send(Math.max(0, Math.floor(Number($('size').value) || 0)),
      kindChoice(), Number($('repeat').value)));
    $('generate').onclick = () => guarded(() => generate(Math.max(0, Math.floor(Number($('size').value) || 0)),
      kindChoice()));
    $('history').tBodies[0].onclick = (e) => {
      const tr = e.target.closest('tr');
      if (tr) selectRecord(Number(tr.dataset.id));
    };
    $('only-mine').onchange = () => { S.rebuildHistory = true; S.dirty.history = true; schedule(); };
    $('clear').onclick = () => {
      S.records = [];
      S.selected = null;
      S.rebuildHistory = true;
      S.dirty.history = S.dirty.breakdown = true;
      $('bd-title').textContent = 'Select a message in the history.';
      schedule();
    };
    $('export').onclick = () => exportJson();
    window.addEventListener('resize', () => { S.dirty.charts = S.dirty.breakdown = true; schedule(); });
    connectEvents();
    connect().catch(() => {});
    updateButtons();
    schedule();
  }

  // For tests and the curious (devtools): the page's own view, in data.
  window.dash = {
    connect, disconnect, reconnect, send, generate, exportJson,
    setFragment: (n) => {
      const opt = [...$('fragment').options].find((o) => Number(o.value) === n);
      if (opt) {
        $('fragment').value = String(n);
        $('fragment-custom-row').hidden = true;
      } else { $('fragment').value = 'custom'; $('fragment-custom').value = n; $('fragment-custom-row').hidden = false; }
      return reconnect();
    },
    select: selectRecord,
    fullRecord: (id) => {
      const r = S.records.find((x) => x.id === id);
      if (!r) return null;
      const { entry, ...rest } = r;
      return { ...rest, frameList: r.frameList.map(({ ev, ...f }) => f) };
    },
    state: () => ({
      connected: !!(S.ws && S.ws.readyState === 1), myConn: S.myConn, fragment: S.fragment,
      records: S.records.length, eventsReceived: S.eventsReceived, framesSeen: S.framesSeen,
      coalescedSeen: S.coalescedSeen, pendingRender: S.rafPending, selected: S.selected,
      unanswered: S.sent.filter((s) => !s.done).length, stats: S.stats,
    }),
    records: () => S.records.map((r) => ({
      id: r.id, conn: r.conn, tag: r.tag, dir: r.dir, opname: r.opname, size: r.size,
      frames: r.frames, sizes: r.sizes, sha256: r.sha256, check: r.check,
      frameList: r.frameList.map((f) => ({ opcode: f.opcode, fin: f.fin, masked: f.masked, len: f.len })),
    })),
  };

  setup();
})();
