'use strict';
// The rooms GUI (web/index.html, rooms.css, rooms.js) in headless Chromium
// (Debian chromium driven by npm playwright-core from tests/interop),
// against a real rooms-server and UDP members that speak the protocol of
// ../PROTOCOL.md from this process (TCRP over TCP, datagrams over UDP),
// plus one rooms-client CLI member when --client is given.
//
//   node examples/rooms/tests/browser.js --server BIN [--client BIN] --shots DIR
//
// Page A (desktop) creates "Lounge" and is its host; bob (UDP) and carol
// (the CLI) join it; messages go both ways; A removes bob; A closes the
// room. erin (UDP) hosts the password room "Vault"; page B (phone size)
// is refused with a wrong password, joins, leaves, is removed by erin, and
// sees erin close the room; then it hosts "Last" when the server gets
// SIGINT (the page shows the room closed, then offline). The server runs
// with --idle-timeout 4, so the pages must send heartbeats to stay. The
// page's codec is checked against tests/fixtures/*.hex. Screenshots go to
// --shots. Prints one line per case and "N passed, N failed"; exits 1 if
// any failed.

const { execFileSync, spawn } = require('child_process');
const dgram = require('dgram');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { chromium, CHROMIUM, FLAGS } =
  require(path.join(__dirname, '..', '..', '..', 'tests', 'interop', 'chromium'));

const IDLE_S = 4;
const OP = { CREATE: 1, JOIN: 2, LEAVE: 3, KICK: 4, CLOSE: 5, LIST: 6 };

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i + 1 < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  if (!a.server || !a.shots) {
    process.stderr.write('usage: browser.js --server BIN [--client BIN] --shots DIR\n');
    process.exit(2);
  }
  return a;
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/* Poll fn until it returns a truthy value. */
async function until(fn, what, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const results = { passed: 0, failed: 0 };
let stopped = false;
async function run(kase, fn, timeoutMs = 10000, always = false) {
  if (stopped && !always) { // later cases build on earlier ones
    results.failed++;
    process.stdout.write(`FAIL ${kase}: not run, an earlier case failed\n`);
    return;
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), timeout]);
    results.passed++;
    process.stdout.write(`ok   ${kase}\n`);
  } catch (e) {
    results.failed++;
    stopped = true;
    process.stdout.write(`FAIL ${kase}: ${(e && e.message ? e.message : String(e)).split('\n')[0]}\n`);
  } finally {
    clearTimeout(timer);
  }
}

/* ------------------------------------------------------ the protocol */

/* The bytes of one of rooms' golden vectors: hex pairs, # comments. */
function fixture(name) {
  const text = fs.readFileSync(path.join(__dirname, 'fixtures', `${name}.hex`), 'utf8');
  return Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/* A TCRP message: the 32-byte header (RoomNameSize, Operation, State and
 * the payload size as a 29-byte big-endian number), room name, payload. */
function tcrp(op, state, room, payload) {
  const name = Buffer.from(room, 'utf8');
  const body = Buffer.from(payload, 'utf8');
  const h = Buffer.alloc(32);
  h[0] = name.length;
  h[1] = op;
  h[2] = state;
  h.writeUInt32BE(body.length, 28); // the 25 bytes above stay zero
  return Buffer.concat([h, name, body]);
}

/* The whole TCRP messages at the start of buf, and the rest. */
function splitTcrp(buf) {
  const out = [];
  for (;;) {
    if (buf.length < 32) break;
    let size = 0n;
    for (let i = 3; i < 32; i++) size = size * 256n + BigInt(buf[i]);
    const end = 32 + buf[0] + Number(size);
    if (buf.length < end) break;
    out.push({ op: buf[1], state: buf[2], room: buf.subarray(32, 32 + buf[0]).toString(),
      payload: buf.subarray(32 + buf[0], end) });
    buf = buf.subarray(end);
  }
  return { messages: out, rest: buf };
}

/* One TCRP transaction over TCP: the state-1 JSON, and for a successful
 * create or join the state-2 token. */
function tcrpTcp(port, op, room, obj) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let json = null;
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no TCRP answer to op ${op}`)); }, 5000);
    const done = (v) => { clearTimeout(timer); s.destroy(); resolve(v); };
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
    s.on('data', (d) => {
      const r = splitTcrp(Buffer.concat([buf, d]));
      buf = r.rest;
      for (const m of r.messages) {
        if (m.state === 1) {
          json = JSON.parse(m.payload.toString());
          if (!(json.status === 200 && (op === OP.CREATE || op === OP.JOIN))) done({ json, token: null });
        } else if (m.state === 2 && json) {
          done({ json, token: Buffer.from(m.payload) });
        }
      }
    });
    s.write(tcrp(op, 0, room, obj === null ? '' : JSON.stringify(obj)));
  });
}

/* A room member that speaks the protocol itself: TCRP over TCP to get in,
 * then datagrams from its own UDP socket, with a heartbeat every second. */
class UdpMember {
  constructor(name, ports) {
    this.name = name;
    this.ports = ports;
    this.got = []; // every JSON body received
  }

  async enter(op, room, password) {
    const body = { username: this.name };
    if (password) body.password = password;
    const a = await tcrpTcp(this.ports.tcp, op, room, body);
    eq(a.json.status, 200, `${this.name}: ${op === OP.CREATE ? 'create' : 'join'} ${room} status`);
    this.room = room;
    this.token = a.token;
    this.sock = dgram.createSocket('udp4');
    this.sock.on('message', (m) => this.got.push(JSON.parse(m.toString())));
    await new Promise((r) => this.sock.bind(0, '127.0.0.1', r));
    this.say(''); // the first datagram binds the token to this address
    this.beat = setInterval(() => this.say(''), 1000);
    return a.json;
  }

  datagram(text) {
    const name = Buffer.from(this.room);
    return Buffer.concat([Buffer.from([name.length, this.token.length]), name, this.token,
      Buffer.from(text)]);
  }

  say(text) {
    this.sock.send(this.datagram(text), this.ports.udp, '127.0.0.1');
  }

  async op(op, extra) {
    return (await tcrpTcp(this.ports.tcp, op, this.room,
      { token: this.token.toString(), ...extra })).json;
  }

  waitFor(pred, what, ms = 5000) {
    return until(() => this.got.find(pred), `${this.name} to receive ${what}`, ms);
  }

  stop() {
    clearInterval(this.beat);
    if (this.sock) this.sock.close();
    this.sock = null;
  }
}

/* carol: the rooms-client CLI, driven by its stdin and read on its
 * stdout ("<from>: <text>" for chat, "* <text>" for notices). */
class CliMember {
  constructor(bin, name, ports) {
    this.bin = bin;
    this.name = name;
    this.ports = ports;
    this.lines = [];
  }

  enter(room) {
    this.p = spawn(this.bin, ['join', room, this.name, '--host', '127.0.0.1',
      '--tcp-port', String(this.ports.tcp), '--udp-port', String(this.ports.udp),
      '--heartbeat', '1'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
    let part = '';
    this.p.stdout.on('data', (d) => {
      const v = (part + d.toString()).split('\n');
      part = v.pop();
      this.lines.push(...v);
    });
    this.err = '';
    this.p.stderr.on('data', (d) => { this.err += d.toString(); });
    this.exit = new Promise((r) => this.p.once('exit', (code) => r(code)));
  }

  say(text) { this.p.stdin.write(`${text}\n`); }

  waitFor(pred, what, ms = 5000) {
    return until(() => this.lines.find(pred), `${this.name} (CLI) to print ${what}`, ms);
  }

  stop() { if (this.p.exitCode === null) this.p.kill('SIGTERM'); }
}

/* ------------------------------------------------------------ the UI */

class Page {
  constructor(page, name) {
    this.page = page;
    this.name = name;
    this.errors = [];
    page.on('pageerror', (e) => this.errors.push(`${name}: ${e.message}`));
    page.on('response', (r) => { if (r.status() >= 400) this.errors.push(`${name}: ${r.status()} ${r.url()}`); });
  }

  text(sel) { return this.page.textContent(sel); }

  visible(sel) { return this.page.isVisible(sel); }

  members() {
    return this.page.$$eval('#member-list li', (els) => els.map((e) => e.dataset.name));
  }

  rooms() {
    return this.page.$$eval('#room-list li', (els) => els.map((e) => [e.dataset.room,
      e.querySelector('.room-members').textContent, Boolean(e.querySelector('.lock'))]));
  }

  chats() {
    return this.page.$$eval('#messages li.msg', (els) => els.map((e) =>
      [e.querySelector('.from').textContent, e.querySelector('.text').textContent]));
  }

  notices() {
    return this.page.$$eval('#messages li.system', (els) => els.map((e) => e.textContent));
  }

  waitText(sel, pred, what, ms = 5000) {
    return until(async () => {
      const t = await this.page.textContent(sel);
      return pred(t) ? t : null;
    }, `${this.name}: ${what}`, ms);
  }

  waitChat(from, text) {
    return until(async () => (await this.chats()).some(([f, t]) => f === from && t === text),
      `${this.name} to show ${from}: ${text}`);
  }

  async waitMembers(want) {
    try {
      await until(async () => JSON.stringify(await this.members()) === JSON.stringify(want),
        'members');
    } catch (e) {
      eq(await this.members(), want, `${this.name}: members`);
    }
  }

  async enter(button, username, room, password) {
    await this.page.bringToFront();
    await this.page.fill('#username', username);
    await this.page.fill('#room', room);
    await this.page.fill('#password', password || '');
    await this.page.click(button);
  }

  async formError() {
    return until(async () => (await this.visible('#form-error')) && this.text('#form-error'),
      `${this.name}: a form error`);
  }

  async inRoom(room) {
    await this.page.waitForSelector('#room-view', { state: 'visible', timeout: 5000 });
    eq(await this.text('#room-title'), room, `${this.name}: room title`);
  }

  async shot(dir, name) {
    await this.page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  }
}

/* -------------------------------------------------------- the server */

const servers = []; // every rooms-server started, for the 90 s guard

function startServer(bin, extra = []) {
  const p = spawn(bin, ['--host', '127.0.0.1', '--chat-port', '0', '--udp-port', '0',
    '--tcp-port', '0', '--http-port', '0', '--idle-timeout', String(IDLE_S), ...extra],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => { log += d.toString(); });
  const re = /^rooms-server listening chat=127\.0\.0\.1:(\d+) udp=127\.0\.0\.1:(\d+) tcp=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+)$/m;
  const ports = new Promise((resolve, reject) => {
    let out = '';
    p.stdout.on('data', (d) => {
      out += d.toString();
      const m = re.exec(out);
      if (m) resolve({ chat: +m[1], udp: +m[2], tcp: +m[3], http: +m[4] });
    });
    p.once('exit', (code) => reject(new Error(`rooms-server exited with ${code}: ${log}`)));
    setTimeout(() => reject(new Error(`no "listening" line from rooms-server: ${out}`)), 5000);
  });
  servers.push({ p });
  return { p, ports, log: () => log };
}

/* ------------------------------------------------------------- cases */

(async () => {
  const a = args();
  const srv = startServer(a.server);
  const guard = setTimeout(() => {
    process.stdout.write('FAIL the whole test: over 90 s\n');
    for (const x of servers) if (x.p.exitCode === null) x.p.kill('SIGKILL');
    process.exit(1);
  }, 90000);
  let ports;
  let browser;
  const members = [];
  const cleanup = () => { for (const m of members) m.stop(); };

  await run('rooms-server starts on free ports and prints them', async () => {
    ports = await srv.ports;
  });
  await run('headless Chromium starts', async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30000 });
  }, 30000);
  const origin = () => `http://127.0.0.1:${ports.http}`;
  let A;
  let B;

  await run('page A is served at / with its CSS, script and icon, and connects', async () => {
    A = new Page(await browser.newPage({ viewport: { width: 1280, height: 800 } }), 'page A');
    const resp = await A.page.goto(`${origin()}/`, { timeout: 5000 });
    eq(resp.status(), 200, 'GET / status');
    eq(await A.page.title(), 'Rooms', 'title');
    await A.waitText('#status', (t) => t === 'Connected', 'status Connected');
    eq(await A.page.$eval('#status', (e) => e.className), 'pill pill-on', 'status class');
    await until(() => A.page.isEnabled('#create'), 'Create enabled');
    await A.waitText('#rooms-updated', (t) => t.startsWith('Updated at'), 'a room list');
    eq(await A.rooms(), [], 'no rooms yet');
    check(await A.visible('#rooms-empty'), '"No rooms yet" shown');
    for (const f of ['/rooms.css', '/rooms.js', '/favicon.svg']) {
      const r = await A.page.request.get(`${origin()}${f}`);
      eq(r.status(), 200, `${f} status`);
    }
  });

  await run('the page encodes and decodes the golden vectors (tests/fixtures/*.hex)', async () => {
    const fx = (name) => fixture(name).toString('hex');
    const token = 'Tok3n-0f-32-printable-characters';
    const got = await A.page.evaluate((tok) => {
      const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const t = new TextEncoder().encode(tok);
      return {
        create: hex(encodeTcrp(OP.CREATE, STATE.REQUEST, 'lobby',
          JSON.stringify({ username: 'alice', password: 's3cret' }))),
        join: hex(encodeTcrp(OP.JOIN, STATE.REQUEST, 'lobby', JSON.stringify({ username: 'bob' }))),
        kick: hex(encodeTcrp(OP.KICK, STATE.REQUEST, 'lobby',
          JSON.stringify({ token: tok, username: 'bob' }))),
        list: hex(encodeTcrp(OP.LIST, STATE.REQUEST, '', '')),
        dgram: hex(encodeDatagram('lobby', t, 'hi all')),
        heartbeat: hex(encodeDatagram('lobby', t, '')),
      };
    }, token);
    eq(got.create, `01${fx('tcrp_create_request')}`, 'create request');
    eq(got.join, `01${fx('tcrp_join_request')}`, 'join request');
    eq(got.kick, `01${fx('tcrp_kick_request')}`, 'kick request');
    eq(got.list, `01${fx('tcrp_list_request')}`, 'list request');
    eq(got.dgram, `02${fx('room_dgram')}`, 'room datagram');
    eq(got.heartbeat, `02${fx('room_heartbeat')}`, 'heartbeat');
    const dec = await A.page.evaluate((v) => v.map((h) => {
      const m = decodeTcrp(Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16)));
      if (m instanceof Error) return 'error';
      return [m.op, m.state, m.room, new TextDecoder().decode(m.payload)];
    }), ['tcrp_create_response', 'tcrp_create_complete', 'tcrp_list_response',
      'tcrp_size_huge', 'tcrp_truncated_header'].map(fx));
    eq(dec[0].slice(0, 3), [1, 1, 'lobby'], 'create answer header');
    eq(JSON.parse(dec[0][3]).host, 'alice', 'create answer host');
    eq(dec[1], [1, 2, 'lobby', token], 'create complete: the token');
    eq(JSON.parse(dec[2][3]).rooms, [{ name: 'lobby', members: 2, password: true }], 'list answer');
    eq(dec.slice(3), ['error', 'error'], 'a 29-byte size beyond 64 bits, a truncated header');
  });

  await run('page A creates "Lounge" and is its host', async () => {
    await A.enter('#create', 'alice', 'Lounge');
    await A.inRoom('Lounge');
    eq(await A.page.title(), 'Lounge · Rooms', 'title in the room');
    eq(await A.members(), ['alice'], 'members');
    check(await A.visible('#member-list li[data-name="alice"] .host-badge'), 'host badge on alice');
    check(await A.visible('#close-room'), 'Close room shown to the host');
    check(await A.visible('#host-hint'), 'host hint');
    eq(await A.text('#me-line'), 'You are alice, the host', '#me-line');
    const tokenLen = await A.page.evaluate(() => state.room.token.length);
    check(tokenLen > 0 && tokenLen <= 255, `token of ${tokenLen} bytes`);
    eq(await A.text('#byte-max'), String(4096 - 2 - 6 - tokenLen), 'message room in one datagram');
  });

  let bob;
  let carol;
  await run('bob (UDP) and carol (CLI) join Lounge; the page lists them', async () => {
    bob = new UdpMember('bob', ports);
    members.push(bob);
    const j = await bob.enter(OP.JOIN, 'Lounge');
    eq(j.host, 'alice', 'join answer: host');
    eq(j.members.slice().sort(), ['alice', 'bob'], 'join answer: members');
    await A.waitMembers(['alice', 'bob']);
    if (a.client) {
      carol = new CliMember(a.client, 'carol', ports);
    } else {
      carol = new UdpMember('carol', ports);
      await carol.enter(OP.JOIN, 'Lounge');
    }
    members.push(carol);
    if (a.client) {
      carol.enter('Lounge');
      const first = await carol.waitFor((l) => l.startsWith('* '), 'its first line');
      check(first.startsWith("* joined room 'Lounge' as carol (host: alice, 3 members"),
        `the CLI's first line: ${first}`);
    }
    await A.waitMembers(['alice', 'bob', 'carol']);
    eq(await A.text('#member-count'), '3', 'member count');
    check(await A.visible('#member-list li[data-name="bob"] button.kick'), 'Remove for bob');
    check(!(await A.visible('#member-list li[data-name="alice"] button.kick')), 'no Remove for self');
    const n = await A.notices();
    check(n.includes('bob joined') || n.some((t) => t.includes('bob')), `notice of bob: ${n}`);
  });

  const hello = 'héllo from the browser ✓ привет 😀'; // 2, 3 and 4-byte UTF-8
  await run('the page\'s message reaches bob (exact JSON) and carol', async () => {
    await A.page.fill('#text', hello);
    eq(await A.text('#byte-count'), String(Buffer.byteLength(hello)), 'byte counter');
    await A.page.click('#send');
    const m = await bob.waitFor((x) => x.type === 'chat' && x.text === hello, 'the page\'s line');
    eq(m, { type: 'chat', from: 'alice', text: hello }, 'datagram body');
    if (a.client) await carol.waitFor((l) => l === `alice: ${hello}`, 'the page\'s line');
    else await carol.waitFor((x) => x.type === 'chat' && x.text === hello, 'the page\'s line');
    eq((await A.chats()).slice(-1), [['You', hello]], 'own line shown once');
    eq(await A.page.inputValue('#text'), '', 'input cleared');
  });

  await run('bob\'s and carol\'s messages show on the page', async () => {
    bob.say('hi alice 😀');
    await A.waitChat('bob', 'hi alice 😀');
    carol.say('carol here, over the CLI');
    await A.waitChat('carol', 'carol here, over the CLI');
    await bob.waitFor((x) => x.type === 'chat' && x.from === 'carol', 'carol\'s line');
  });

  await run('a message too long for one datagram cannot be sent', async () => {
    const max = Number(await A.text('#byte-max'));
    await A.page.fill('#text', 'é'.repeat(Math.ceil((max + 1) / 2)));
    check(await A.page.isDisabled('#send'), 'Send disabled');
    check(await A.page.$eval('#byte-count', (e) => e.parentElement.classList.contains('over')),
      'counter marked');
    await A.page.fill('#text', 'x'.repeat(max));
    check(await A.page.isEnabled('#send'), `Send enabled at ${max} bytes`);
    await A.page.fill('#text', '');
    await A.shot(a.shots, 'desktop-room');
  });

  let erin;
  await run('page B (phone) lists the rooms with members and a lock for "Vault"', async () => {
    erin = new UdpMember('erin', ports);
    members.push(erin);
    await erin.enter(OP.CREATE, 'Vault', 's3cret');
    B = new Page(await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true,
      hasTouch: true, deviceScaleFactor: 2 }), 'page B');
    await B.page.goto(`${origin()}/`, { timeout: 5000 });
    await B.waitText('#rooms-updated', (t) => t.startsWith('Updated at'), 'a room list');
    eq(await B.rooms(), [['Lounge', '3 members', false], ['Vault', '1 member', true]], 'rooms');
    const noScroll = await B.page.evaluate(() => document.documentElement.scrollWidth <= innerWidth);
    check(noScroll, 'no sideways scrolling at phone width');
    // The same lobby at desktop size, for the screenshot.
    const C = new Page(await browser.newPage({ viewport: { width: 1280, height: 800 } }), 'page C');
    await C.page.goto(`${origin()}/`, { timeout: 5000 });
    await C.waitText('#rooms-updated', (t) => t.startsWith('Updated at'), 'a room list');
    await C.page.fill('#username', 'dave');
    await C.page.click('#room-list li[data-room="Vault"] button');
    await C.shot(a.shots, 'desktop-lobby');
    await C.page.close();
    check(C.errors.length === 0, C.errors.join('; '));
  });

  await run('page B: wrong password 401, missing room 404, taken name 409, a NUL 400, too long refused', async () => {
    await B.page.click('#room-list li[data-room="Vault"] button');
    eq(await B.page.inputValue('#room'), 'Vault', 'a click on a room fills it in');
    await B.enter('#join', 'dave', 'Vault', 'wrong');
    check((await B.formError()).startsWith('Wrong password for room “Vault”'), 'the 401 error');
    await B.shot(a.shots, 'phone-wrong-password');
    await B.enter('#join', 'dave', 'Nowhere');
    await B.waitText('#form-error', (t) => t.startsWith('There is no room “Nowhere”'), 'the 404 error');
    await B.enter('#create', 'dave', 'Lounge');
    await B.waitText('#form-error', (t) => t.startsWith('Room “Lounge” already exists'), 'the 409 error');
    await B.enter('#join', 'da\u0000ve', 'Vault', 's3cret'); // the server's rule, not the page's
    await B.waitText('#form-error', (t) => t ===
      'The server refused the request: "username" must be a string of 1-255 bytes.', 'the 400 error');
    await B.enter('#join', 'é'.repeat(128), 'Vault', 's3cret'); // 256 bytes
    await B.waitText('#form-error', (t) => t === 'Your name is 256 bytes long; at most 255.',
      'the length error');
    check(await B.visible('#lobby'), 'still in the lobby');
  });

  await run('page B joins Vault with the password and chats with erin', async () => {
    await B.enter('#join', 'dave', 'Vault', 's3cret');
    await B.inRoom('Vault');
    check(await B.visible('#room-lock'), 'lock on the title');
    eq(await B.members(), ['erin', 'dave'], 'host first');
    check(await B.visible('#member-list li[data-name="erin"] .host-badge'), 'host badge on erin');
    check(!(await B.visible('#close-room')), 'no Close room for a member');
    eq(await B.page.$$eval('button.kick', (e) => e.length), 0, 'no Remove for a member');
    await erin.waitFor((x) => x.type === 'system' && x.event === 'join' && x.user === 'dave', 'dave joined');
    await B.page.fill('#text', 'hello erin');
    await B.page.press('#text', 'Enter');
    await erin.waitFor((x) => x.type === 'chat' && x.from === 'dave' && x.text === 'hello erin', 'dave\'s line');
    erin.say('welcome, dave');
    await B.waitChat('erin', 'welcome, dave');
    await B.shot(a.shots, 'phone-room');
  });

  await run(`heartbeats keep both pages in their rooms past the ${IDLE_S} s idle timeout`, async () => {
    await sleep((IDLE_S + 2) * 1000);
    bob.say('still there?');
    try {
      await A.waitChat('bob', 'still there?');
    } catch (e) {
      throw new Error(`${e.message}; page A notices ${JSON.stringify(await A.notices())}, ` +
        `bob got ${JSON.stringify(bob.got.filter((x) => x.type === 'system'))}`);
    }
    eq(await A.members(), ['alice', 'bob', 'carol'], 'page A members');
    eq(await B.members(), ['erin', 'dave'], 'page B members');
    const left = bob.got.concat(erin.got).filter((x) => x.type === 'system' && x.event !== 'join');
    eq(left, [], 'notices other than joins');
  }, 15000);

  await run('host A removes bob: bob is told, the list updates, bob is no longer relayed', async () => {
    await A.page.bringToFront();
    await A.page.click('#member-list li[data-name="bob"] button.kick');
    await bob.waitFor((x) => x.type === 'system' && x.event === 'kick' && x.user === 'bob', 'his kick');
    await A.waitMembers(['alice', 'carol']);
    if (a.client) await carol.waitFor((l) => l.startsWith('* ') && l.includes('bob'), 'the kick of bob');
    bob.say('ghost');
    await sleep(200);
    carol.say('after the kick');
    await A.waitChat('carol', 'after the kick');
    await sleep(200);
    check(!(await A.chats()).some(([, t]) => t === 'ghost'), 'bob\'s datagram was relayed');
    bob.stop();
  });

  await run('page B leaves Vault: erin is told, B is back in the lobby', async () => {
    await B.page.bringToFront();
    await B.page.click('#leave');
    await B.page.waitForSelector('#lobby', { state: 'visible', timeout: 5000 });
    eq(await B.text('#notice'), 'You left “Vault”.', 'the lobby notice');
    await erin.waitFor((x) => x.type === 'system' && x.event === 'leave' && x.user === 'dave', 'dave left');
    await B.page.click('#refresh');
    await until(async () => JSON.stringify(await B.rooms()) === JSON.stringify(
      [['Lounge', '2 members', false], ['Vault', '1 member', true]]), 'the refreshed list');
  });

  await run('erin (host) removes page B: the page says so', async () => {
    await B.enter('#join', 'dave', 'Vault', 's3cret');
    await B.inRoom('Vault');
    await erin.waitFor((x) => x.event === 'join' && x.user === 'dave' &&
      erin.got.filter((y) => y.event === 'join').length >= 2, 'dave again');
    eq((await erin.op(OP.KICK, { username: 'dave' })).status, 200, 'kick status');
    await B.waitText('#ended-text', (t) => t === 'The host removed you from “Vault”.', 'the kicked notice');
    check(await B.page.isDisabled('#text'), 'composer disabled');
    await B.shot(a.shots, 'phone-kicked');
  });

  await run('erin closes Vault with page B in it: the page shows the room closed', async () => {
    await B.page.click('#back');
    await B.enter('#join', 'dave', 'Vault', 's3cret');
    await B.inRoom('Vault');
    await until(() => erin.got.filter((y) => y.event === 'join').length >= 3, 'dave a third time');
    eq((await erin.op(OP.CLOSE, {})).status, 200, 'close status');
    await B.waitText('#ended-text', (t) => t === 'The room “Vault” was closed by its host.', 'the closed notice');
    await B.shot(a.shots, 'phone-room-closed');
    erin.stop();
    await B.page.click('#back');
    await until(async () => JSON.stringify(await B.rooms()) ===
      JSON.stringify([['Lounge', '2 members', false]]), 'Vault gone from the list');
  });

  await run('host A closes Lounge: carol is told, the page shows it', async () => {
    await A.page.bringToFront();
    await A.page.click('#close-room');
    eq(await A.text('#close-room'), 'Close for everyone?', 'the first click asks');
    await A.shot(a.shots, 'desktop-close-confirm');
    check(await A.visible('#room-view') && (await A.notices()).every((t) => !t.startsWith('room closed')),
      'nothing closed yet');
    await A.page.click('#close-room');
    await A.waitText('#ended-text', (t) => t === 'You closed “Lounge”.', 'the closed notice');
    if (a.client) {
      await carol.waitFor((l) => l.startsWith('* '), 'a notice', 3000);
      eq(await Promise.race([carol.exit, sleep(3000).then(() => 'still running')]), 0,
        'the CLI exits 0 once the room is closed');
    } else {
      await carol.waitFor((x) => x.type === 'system' && x.event === 'close', 'the close');
    }
    await A.shot(a.shots, 'desktop-room-closed');
    await A.page.click('#back');
    await A.page.waitForSelector('#lobby', { state: 'visible' });
    eq(await A.text('#notice'), 'You closed “Lounge”.', 'the lobby notice');
    await A.shot(a.shots, 'desktop-back-in-lobby');
  });

  // Built without OpenSSL, the server has no --tls-cert (and says so in
  // --help): the case is then skipped, and said to be.
  const haveTls = execFileSync(a.server, ['--help']).toString().includes('--tls-cert');
  if (!haveTls) process.stdout.write('skip over TLS: rooms-server was built without TLS\n');
  if (haveTls) await run('over TLS: the page at https:// talks wss:// to a UDP member', async () => {
    // A certificate for 127.0.0.1 made now, trusted by nobody: the page's
    // context ignores certificate errors, as tests/interop/tls_browser.js.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rooms-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt',
      'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const tls = startServer(a.server, ['--tls-cert', cert, '--tls-key', key]);
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const tp = await tls.ports;
      const T = new Page(await ctx.newPage(), 'page T');
      const r = await T.page.goto(`https://127.0.0.1:${tp.http}/`, { timeout: 5000 });
      eq(r.status(), 200, 'GET / over https');
      await T.waitText('#status', (t) => t === 'Connected', 'status Connected');
      eq(await T.page.getAttribute('#status', 'title'), `wss://127.0.0.1:${tp.http}/ws`, 'the URL');
      await T.enter('#create', 'tess', 'Secure');
      await T.inRoom('Secure');
      const ulla = new UdpMember('ulla', tp);
      members.push(ulla);
      await ulla.enter(OP.JOIN, 'Secure');
      await T.waitMembers(['tess', 'ulla']);
      await T.page.fill('#text', 'over wss ✓');
      await T.page.press('#text', 'Enter');
      await ulla.waitFor((x) => x.type === 'chat' && x.from === 'tess' && x.text === 'over wss ✓',
        'the page\'s line');
      ulla.say('and back over UDP');
      await T.waitChat('ulla', 'and back over UDP');
      ulla.stop();
      check(T.errors.length === 0, T.errors.join('; '));
    } finally {
      await ctx.close();
      if (tls.p.exitCode === null) {
        const code = new Promise((res) => tls.p.once('exit', res));
        tls.p.kill('SIGINT');
        await code;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  const exited = new Promise((r) => srv.p.once('exit', (c) => r(c)));
  await run('SIGINT with page B hosting "Last": B shows the room closed, then offline', async () => {
    await B.page.bringToFront();
    await B.enter('#create', 'dave', 'Last');
    await B.inRoom('Last');
    srv.p.kill('SIGINT');
    await B.waitText('#ended-text', (t) => t ===
      'The room “Last” was closed (the server is shutting down).', 'the shutdown notice');
    await B.waitText('#status', (t) => t.startsWith('Disconnected'), 'status Disconnected');
    eq(await B.page.$eval('#status', (e) => e.className), 'pill pill-off', 'status class');
    check(await B.page.isDisabled('#text'), 'composer disabled');
    check(await B.page.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
      'no sideways scrolling');
    await B.shot(a.shots, 'phone-server-stopped');
  });

  let again = null;
  await run('the server is back on the same port: the page reconnects by itself', async () => {
    eq(await exited, 0, 'rooms-server exit status after SIGINT');
    again = startServer(a.server, ['--http-port', String(ports.http)]);
    await again.ports;
    await B.waitText('#status', (t) => t === 'Connected', 'status Connected again', 12000);
    eq(await B.visible('#error'), false, 'the lost-connection toast is gone');
    await B.page.click('#back');
    eq(await B.text('#notice'), 'The room “Last” was closed (the server is shutting down).',
      'the lobby notice');
    await B.waitText('#rooms-updated', (t) => t.startsWith('Updated at'), 'a room list');
    eq(await B.rooms(), [], 'a new server, no rooms');
    await B.enter('#create', 'dave', 'Again');
    await B.inRoom('Again');
  }, 20000);

  await run('no page errors and no error answers', async () => {
    const errs = (A ? A.errors : []).concat(B ? B.errors : []);
    check(errs.length === 0, errs.join('; '));
  });

  cleanup();
  if (browser) await browser.close();
  await run('rooms-server exits 0 on SIGINT', async () => {
    for (const x of [srv, again]) {
      if (!x || x.p.exitCode !== null) continue; // SIGINT came, or it is gone
      const code = new Promise((r) => x.p.once('exit', r));
      x.p.kill('SIGINT');
      eq(await code, 0, 'exit status');
    }
    eq(srv.p.exitCode, 0, 'the first server\'s exit status');
  }, 5000, true);
  for (const x of [srv, again]) if (x && x.p.exitCode === null) x.p.kill('SIGKILL');
  clearTimeout(guard);
  if (results.failed) process.stdout.write(`rooms-server's log:\n${srv.log()}`);
  process.stdout.write(`${results.passed} passed, ${results.failed} failed\n`);
  process.exit(results.failed ? 1 : 0);
})();
