'use strict';
// Shared by the Node drivers: payloads, results, running wscat, a promise
// wrapper around a ws client. Mirrors peerlib.py.

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const SIZES = [0, 125, 64 * 1024, 1024 * 1024];
const UNICODE = 'κόσμε — 日本語 😀 \u{10FFFF} \uFFFE ü';

// A string whose UTF-8 encoding is exactly n bytes, mostly multi-byte.
function textOf(n) {
  const unit = 'aé€😀'; // 1 + 2 + 3 + 4 bytes
  const s = unit.repeat(Math.floor(n / 10));
  return s + 'x'.repeat(n - Buffer.byteLength(s));
}

function binaryOf(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + Math.floor(i / 256)) & 0xff;
  return b;
}

function sizeName(n) {
  if (n >= 1 << 20) return `${n >> 20} MiB`;
  if (n >= 1024) return `${n >> 10} KiB`;
  return `${n} B`;
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function digest(b) {
  return crypto.createHash('sha256').update(b).digest('hex').slice(0, 16);
}

class Results {
  constructor(dir) { this.dir = dir; }

  report(kase, ok, msg = '') {
    process.stdout.write(JSON.stringify({ dir: this.dir, case: kase, ok, msg }) + '\n');
  }

  // A behaviour worth knowing that is not a failure (a peer stricter or
  // looser than we are); the orchestrator lists notes after the table.
  note(text) {
    process.stdout.write(JSON.stringify({ dir: this.dir, note: text }) + '\n');
  }

  async run(kase, fn, timeoutMs = 20000) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      await Promise.race([fn(), timeout]);
      this.report(kase, true);
    } catch (e) {
      this.report(kase, false, e && e.message ? e.message : String(e));
    } finally {
      clearTimeout(timer);
    }
  }
}

// Run wscat like a person at a terminal (see peerlib.py's wscat()).
function wscat(bin, url, args, { stdin = '', expect = null, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [...args, url], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let outLen = 0;
    let err = '';
    let ended = false;
    const endInput = () => { if (!ended) { ended = true; p.stdin.end(); } };
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`wscat did not exit within ${timeoutMs / 1000} s (printed ${outLen} bytes)`));
    }, timeoutMs);
    p.stdin.on('error', () => {});
    p.stdout.on('data', (d) => {
      out.push(d);
      outLen += d.length;
      if (expect !== null && outLen >= expect) endInput();
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out: Buffer.concat(out), err });
    });
    p.stdin.write(stdin);
    if (expect !== null && expect <= 0) endInput();
  });
}

// A ws client as promises: next() gives the next message, closed the
// close event.
function client(WebSocket, url, protocols = [], options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
    const queue = [];
    const waiters = [];
    const c = { ws, extensions: '' };
    // The server's Sec-WebSocket-Extensions, to assert what was agreed.
    ws.on('upgrade', (r) => { c.extensions = r.headers['sec-websocket-extensions'] || ''; });
    c.closed = new Promise((res) => {
      ws.on('close', (code, reason) => {
        res({ code, reason: reason.toString() });
        while (waiters.length) waiters.shift().reject(new Error(`closed ${code} ${reason}`));
      });
    });
    ws.on('message', (data, isBinary) => {
      const m = { data: Buffer.isBuffer(data) ? data : Buffer.concat(data), isBinary };
      if (waiters.length) waiters.shift().resolve(m);
      else queue.push(m);
    });
    c.next = () => (queue.length ? Promise.resolve(queue.shift())
      : new Promise((res, rej) => waiters.push({ resolve: res, reject: rej })));
    ws.on('open', () => resolve(c));
    ws.on('error', (e) => reject(e));
  });
}

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i + 1 < v.length; i += 2) a[v[i].replace(/^--/, '').replace(/-/g, '_')] = v[i + 1];
  return a;
}

function tmpfile(name, data) {
  const p = path.join(process.env.INTEROP_TMP || os.tmpdir(), name);
  fs.writeFileSync(p, data);
  return p;
}

// The Node ws package from this directory's node_modules (npm ci), or an
// exit with a line saying how to get it.
function loadWs() {
  try {
    return require(path.join(__dirname, 'node_modules', 'ws'));
  } catch (e) {
    process.stderr.write(`node driver: cannot load ws (${e.message}): run npm ci in tests/interop\n`);
    process.exit(2);
  }
}

module.exports = {
  SIZES, UNICODE, textOf, binaryOf, sizeName, check, digest, Results, wscat, client, args, tmpfile,
  loadWs,
};
