'use strict';
// The chat's browser client (examples/chat/web) against a real chat-server,
// in headless Chromium (Debian chromium driven by npm playwright-core from
// tests/interop/node_modules):
//
//   node examples/chat/tests/browser.js --server build/examples/chat/chat-server \
//        --shots build/examples/chat/screenshots
//
// Starts the server on a free loopback port with a fresh data directory,
// then drives three browser profiles (alice and bob on desktop windows,
// carol on a 360×740 phone) through the UI: sign-in and its errors, the
// lobby, presence, typing, PM ticks up to "read", contacts, a refused
// drag-and-drop file and an accepted 5 MiB one (SHA-256 checked by the
// page, the downloaded bytes compared here), then a server restart (the
// pages must show it, sign in again by themselves, and the history must
// come back from the server). Screenshots go to --shots. Prints one line
// per case and "N passed, N failed"; exits 1 if any failed.

const assert = require('assert');
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { parseArgs } = require('util');
const { chromium, CHROMIUM, FLAGS } =
  require(path.join(__dirname, '..', '..', '..', 'tests', 'interop', 'chromium'));
const Sha256 = require(path.join(__dirname, '..', 'web', 'sha256.js'));

function args() {
  const { values } = parseArgs({ options: { server: { type: 'string' }, shots: { type: 'string' } } });
  if (!values.server || !values.shots) {
    process.stderr.write('usage: browser.js --server CHAT_SERVER --shots DIR\n');
    process.exit(2);
  }
  return values;
}

// assert's messages, on one line: "what: got X, want Y".
const check = (cond, msg) => assert.ok(cond, msg);
const eq = (got, want, what) => assert.strictEqual(got, want,
  `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);

let passed = 0;
let failedCount = 0;
let onFail = async () => {}; // screenshots of every page, to see why
async function run(kase, fn, timeoutMs = 15000) {
  if (failedCount) { // later cases build on earlier ones
    process.stdout.write(`SKIP ${kase} (an earlier case failed)\n`);
    failedCount++;
    return;
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  const t0 = Date.now();
  try {
    await Promise.race([fn(), timeout]);
    passed++;
    process.stdout.write(`ok   ${kase} (${Date.now() - t0} ms)\n`);
  } catch (e) {
    failedCount++;
    process.stdout.write(`FAIL ${kase}: ${(e && e.message ? e.message : String(e)).split('\n')[0]}\n`);
    await onFail().catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}

// chat-server on host 127.0.0.1; resolves with its port once it listens.
function startServer(bin, port, dataDir) {
  const srv = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir,
    '--fsync', 'never'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    srv.stdout.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve({ srv, port: Number(m[1]) });
    });
    srv.once('exit', (code) => reject(new Error(`chat-server exited with ${code} before listening: ${out}`)));
  });
}

function stopServer(srv) {
  if (srv.exitCode !== null) return Promise.resolve(srv.exitCode);
  const done = new Promise((resolve) => srv.once('exit', (code) => resolve(code)));
  srv.kill('SIGTERM');
  return done;
}

// One signed-in (or signing-in) browser profile.
class User {
  constructor(ctx, page, name) {
    this.ctx = ctx;
    this.page = page;
    this.name = name;
    this.errors = [];
    page.on('pageerror', (e) => this.errors.push(`${name}: ${e.message}`));
    // Chromium logs each refused connection while the server restarts:
    // not the page's doing.
    page.on('console', (m) => {
      if (m.type() === 'error' && !/^WebSocket connection to .* failed/.test(m.text())) {
        this.errors.push(`${name} console: ${m.text()}`);
      }
    });
  }

  async front() {
    if (User.front !== this) {
      await this.page.bringToFront();
      User.front = this;
    }
  }

  wait(fn, arg, ms = 5000) { return this.page.waitForFunction(fn, arg, { timeout: ms }); }

  text(sel) { return this.page.textContent(sel); }

  async login(name) {
    await this.front();
    await this.page.fill('#login-name', name);
    await this.page.click('#login-go');
  }

  async open(key) {
    await this.front();
    await this.page.click(`button.person[data-conv="${key}"]`);
    await this.wait((k) => document.querySelector(`button.person[data-conv="${k}"]`)
      .classList.contains('active'), key);
  }

  async say(text) {
    await this.front();
    await this.page.fill('#text', '');
    await this.page.type('#text', text, { delay: 5 });
    await this.page.press('#text', 'Enter');
  }

  texts(sel) { return this.page.$$eval(sel, (els) => els.map((e) => e.textContent)); }

  lastMine() {
    return this.page.$eval('#message-list .msg.mine:last-of-type .tick', (e) => e.className)
      .catch(() => null);
  }

  async shot(dir, name) {
    await this.page.screenshot({ path: path.join(dir, `${name}.png`) });
  }
}

(async () => {
  const a = args();
  fs.mkdirSync(a.shots, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chat-web-'));
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir);
  let server = null;
  let browser = null;
  const notFound = [];
  const started = Date.now();
  try {
    await run('sha256.js equals node crypto at every split point', async () => {
      const data = crypto.randomBytes(200);
      for (let n = 0; n <= 200; n += 1) {
        const want = crypto.createHash('sha256').update(data.subarray(0, n)).digest('hex');
        for (let s = 0; s <= n; s += (n > 140 ? 7 : 1)) {
          const h = new Sha256();
          h.update(data.subarray(0, s));
          h.update(data.subarray(s, n));
          eq(h.hex(), want, `${n} bytes split at ${s}`);
        }
      }
      eq(new Sha256().update(Buffer.from('abc')).hex(),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'FIPS 180-2 "abc"');
      const big = crypto.randomBytes(3 << 20);
      eq(new Sha256().update(big).hex(), crypto.createHash('sha256').update(big).digest('hex'), '3 MiB');
    });

    ({ srv: server, port: a.port } = await startServer(a.server, 0, dataDir));
    const origin = `http://127.0.0.1:${a.port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, timeout: 30000 });
    const profile = async (name, opts = {}) => {
      const ctx = await browser.newContext(Object.assign({ viewport: { width: 1100, height: 720 },
        acceptDownloads: true }, opts));
      const page = await ctx.newPage();
      page.on('response', (r) => { if (r.status() >= 400) notFound.push(`${r.status()} ${r.url()}`); });
      return new User(ctx, page, name);
    };
    const A = await profile('alice');
    const B = await profile('bob');
    const C = await profile('carol', { viewport: { width: 360, height: 740 }, deviceScaleFactor: 2,
      isMobile: true, hasTouch: true });
    onFail = async () => {
      for (const u of [A, B, C]) await u.shot(a.shots, `FAILED-${u.name}`);
    };

    await run('the page is served at / and alice and bob sign in (tokens kept)', async () => {
      for (const u of [A, B, C]) {
        const r = await u.page.goto(`${origin}/`, { timeout: 10000 });
        eq(r && r.status(), 200, 'GET /');
        eq(await u.page.title(), 'Chat', 'title');
        check(await u.page.isVisible('#login-form'), 'login form shown');
      }
      for (const u of [A, B]) {
        await u.login(u.name);
        await u.wait(() => !document.getElementById('app').hidden);
        eq(await u.text('#me-name'), u.name, '#me-name');
        await u.wait(() => document.getElementById('conn').textContent === 'Online');
        const token = await u.page.evaluate((n) => localStorage.getItem(`chat.token.${n}`), u.name);
        check(/^[0-9a-f]{32}$/.test(token || ''), `${u.name}: token in localStorage: ${token}`);
        u.token = token;
      }
    });

    await run('a taken name and a bad name are refused with a clear message', async () => {
      await C.login('Alice'); // names are unique case-insensitively
      await C.wait(() => !document.getElementById('login-error').hidden);
      const err = await C.text('#login-error');
      check(err.includes('“Alice” is already taken'), `#login-error: ${err}`);
      check(await C.page.isVisible('#login-form'), 'still on the login form');
      await C.shot(a.shots, 'phone-login-name-taken');
      await C.login('bad name!');
      await C.wait(() => document.getElementById('login-error').textContent.includes('spaces'));
      await C.login('system');
      await C.wait(() => document.getElementById('login-error').textContent.includes('reserved'));
      await C.login('carol');
      await C.wait(() => !document.getElementById('app').hidden);
      eq(await C.text('#me-name'), 'carol', '#me-name');
    });

    await run('presence: everyone is in the others\' online list', async () => {
      for (const [u, others] of [[A, ['bob', 'carol']], [B, ['alice', 'carol']]]) {
        await u.wait((o) => o.every((n) => document.querySelector(`#online-list [data-conv="${n}"] .dot`)), others);
        eq(await u.text('#lobby-sub'), '3 online', `${u.name}: lobby line`);
      }
    });

    const hello = 'Hello everyone! Ça va? — Grüße ✓';
    await run('a lobby message each way', async () => {
      await A.say(hello);
      await A.wait(() => document.querySelector('#message-list .msg.mine:last-of-type .tick.sent'));
      await B.wait((t) => [...document.querySelectorAll('#message-list .msg.theirs .text')]
        .some((e) => e.textContent === t), hello);
      eq(await B.page.$eval('#message-list .msg.theirs:last-of-type .author', (e) => e.textContent),
        'alice', 'author shown');
      await B.say('Hi alice, bob here');
      await A.wait(() => [...document.querySelectorAll('#message-list .msg.theirs .text')]
        .some((e) => e.textContent === 'Hi alice, bob here'));
    });

    await run('over 4096 bytes the counter turns red and Send is disabled', async () => {
      await A.front();
      await A.page.fill('#text', 'é'.repeat(2049));
      eq(await A.text('#bytes'), '4098 / 4096', 'byte counter (UTF-8 bytes)');
      check(await A.page.$eval('#bytes', (e) => !e.hidden && e.classList.contains('over')), 'shown as over');
      eq(await A.page.$eval('#send', (e) => e.disabled), true, '#send disabled');
      await A.page.fill('#text', 'é'.repeat(2048));
      eq(await A.page.$eval('#send', (e) => e.disabled), false, '#send enabled at 4096 bytes');
      await A.page.fill('#text', '');
    });

    await run('typing in a PM shows at the peer, in the list and the conversation', async () => {
      await A.open('bob');
      eq(await A.text('#conv-name'), 'bob', 'conversation title');
      await A.front();
      await A.page.type('#text', 'Are you there', { delay: 10 });
      await B.wait(() => {
        const s = document.querySelector('#online-list [data-conv="alice"] .p-sub');
        return s && s.textContent === 'typing…' && s.classList.contains('typing');
      });
      await B.shot(a.shots, 'typing-seen-in-list');
    });

    await run('a PM: ✓✓ delivered, unread badge, then read when bob opens it', async () => {
      await A.front();
      await A.page.type('#text', '? It is private.', { delay: 5 });
      await A.page.press('#text', 'Enter');
      await A.wait(() => document.querySelector('#message-list .msg.mine:last-of-type .tick.delivered'));
      eq(await A.page.$eval('#message-list .msg.mine:last-of-type .tick', (e) => e.textContent),
        '✓✓', 'delivered tick');
      await B.wait(() => {
        const b = document.querySelector('#online-list [data-conv="alice"] .badge');
        return b && b.textContent === '1';
      });
      const sub = await B.text('#online-list [data-conv="alice"] .p-sub');
      eq(sub, 'Are you there? It is private.', 'the PM previewed in the list (typing ended)');
      await new Promise((r) => setTimeout(r, 600));
      check(await A.page.$('#message-list .msg.mine:last-of-type .tick.delivered'),
        'not read while bob has not opened it');
      await B.open('alice');
      await B.wait(() => [...document.querySelectorAll('#message-list .msg.theirs .text')]
        .some((e) => e.textContent === 'Are you there? It is private.'));
      await A.wait(() => document.querySelector('#message-list .msg.mine:last-of-type .tick.read'));
      check(!(await B.page.$('#online-list [data-conv="alice"] .badge')), 'badge gone once read');
    });

    await run('bob types back: alice sees "bob is typing…"; his reply is read at once', async () => {
      await B.front();
      await B.page.type('#text', 'Yes, ', { delay: 10 });
      await A.wait(() => document.getElementById('typing').textContent === 'bob is typing…');
      eq(await A.text('#conv-sub'), 'typing…', 'conversation header');
      await A.shot(a.shots, 'typing-seen-in-conversation');
      await B.page.type('#text', 'I am here.', { delay: 5 });
      await B.page.press('#text', 'Enter');
      await A.wait(() => document.getElementById('typing').textContent === '');
      await A.wait(() => [...document.querySelectorAll('#message-list .msg.theirs .text')]
        .some((e) => e.textContent === 'Yes, I am here.'));
      await B.wait(() => document.querySelector('#message-list .msg.mine:last-of-type .tick.read'));
    });

    await run('contacts: add (with its errors) and remove', async () => {
      await A.front();
      await A.page.fill('#contact-name', 'nobody_at_all');
      await A.page.click('#contact-form button');
      await A.wait(() => document.getElementById('contact-msg').className.includes('bad'));
      check((await A.text('#contact-msg')).length > 5, 'an explanation for an unknown name');
      await A.page.fill('#contact-name', 'bob');
      await A.page.click('#contact-form button');
      await A.wait(() => document.querySelector('#contacts-list [data-conv="bob"] .dot'));
      eq(await A.text('#contact-msg'), 'bob is now in your contacts.', '#contact-msg');
      check(!(await A.page.$('#online-list [data-conv="bob"]')), 'bob moved from Online to Contacts');
      eq(await A.text('#conv-contact'), 'Remove contact', 'header button');
      await B.front();
      await B.page.click('#conv-contact'); // bob adds alice from the conversation
      await B.wait(() => document.querySelector('#contacts-list [data-conv="alice"]'));
      await B.page.hover('#contacts-list li:first-child');
      await B.page.click('#contacts-list li:first-child .remove');
      await B.wait(() => !document.querySelector('#contacts-list [data-conv="alice"]'));
      check(await B.page.isVisible('#contacts-empty'), '"No contacts yet." again');
    });

    await run('a file dropped on the conversation is offered, and bob declines it', async () => {
      await A.front();
      await A.page.evaluate(() => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array(100000).fill(7)], 'notes.txt', { type: 'text/plain' }));
        const target = document.getElementById('messages');
        target.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
        check(!document.getElementById('drop').hidden);
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true }));
        function check(c) { if (!c) throw new Error('the drop zone did not show'); }
      });
      await B.wait(() => document.querySelector('.file-card[data-state="offered"] [data-act="refuse"]'));
      eq(await B.text('.file-card[data-state="offered"] .file-name'), 'notes.txt', 'offered name');
      await B.front();
      await B.page.click('.file-card[data-state="offered"] [data-act="refuse"]');
      await A.wait(() => document.querySelector('.file-card[data-state="refused"]'));
      eq(await A.text('.file-card[data-state="refused"] .file-state'), 'bob declined the file', 'sender');
    });

    await run('an offer the sender cancels shows as cancelled at both ends', async () => {
      await A.front();
      await A.page.setInputFiles('#file-input', { name: 'draft.pdf', mimeType: 'application/pdf',
        buffer: Buffer.alloc(3000, 1) });
      await A.wait(() => document.querySelector('.file-card[data-state="waiting"] [data-act="cancel"]'));
      await B.wait(() => document.querySelector('.file-card[data-state="offered"]'));
      await A.page.click('.file-card[data-state="waiting"] [data-act="cancel"]');
      eq(await A.text('.file-card[data-state="cancelled"] .file-state'), 'You cancelled.', 'sender');
      await B.wait(() => document.querySelector('.file-card[data-state="cancelled"]'));
      check((await B.text('.file-card[data-state="cancelled"] .file-state')).startsWith('Cancelled by alice'),
        'receiver is told who cancelled');
      check(!(await B.page.$('.file-card[data-state="cancelled"] [data-act]')), 'no buttons left');
    });

    const big = crypto.randomBytes(5 << 20);
    const bigSha = crypto.createHash('sha256').update(big).digest('hex');
    const bigPath = path.join(tmp, 'holiday-video.mp4');
    fs.writeFileSync(bigPath, big);
    await run('a 5 MiB file by the picker: progress, SHA-256 checked, download identical', async () => {
      const watch = () => {
        window.seen = [];
        new MutationObserver(() => {
          for (const e of document.querySelectorAll('.file-state')) window.seen.push(e.textContent);
        }).observe(document.getElementById('message-list'), { subtree: true, childList: true, characterData: true });
      };
      await A.page.evaluate(watch);
      await B.page.evaluate(watch);
      await A.front();
      await A.page.setInputFiles('#file-input', bigPath);
      await B.wait(() => document.querySelector('.file-card[data-state="offered"] [data-act="accept"]'));
      eq(await B.text('.file-card[data-state="offered"] .file-size'), '5.0 MB', 'size shown');
      await B.front();
      await B.page.click('.file-card[data-state="offered"] [data-act="accept"]');
      await B.wait(() => document.querySelector('.file-card[data-state="done"]'), null, 30000);
      await A.wait(() => document.querySelector('.file-card[data-state="done"]'), null, 10000);
      eq(await B.page.$eval('.file-card[data-state="done"]', (e) => e.dataset.sha256), bigSha,
        'the SHA-256 the receiving page computed');
      check((await B.text('.file-card[data-state="done"] .file-hash')).endsWith('✓ verified'), 'verified shown');
      eq(await A.text('.file-card[data-state="done"] .file-state'), 'Delivered. bob checked it: intact',
        'sender sees the result');
      const seenB = await B.page.evaluate(() => window.seen);
      const seenA = await A.page.evaluate(() => window.seen);
      check(seenB.some((s) => s.startsWith('Receiving ')), 'receiver showed progress');
      check(seenA.some((s) => s.startsWith('Sending ')), 'sender showed progress');
      const subtle = await B.page.evaluate(async () => {
        const href = document.querySelector('.file-card[data-state="done"] a.download').href;
        const buf = await (await fetch(href)).arrayBuffer();
        const d = await crypto.subtle.digest('SHA-256', buf);
        return [...new Uint8Array(d)].map((x) => x.toString(16).padStart(2, '0')).join('');
      });
      eq(subtle, bigSha, 'crypto.subtle over the Blob');
      const [download] = await Promise.all([
        B.page.waitForEvent('download'),
        B.page.click('.file-card[data-state="done"] a.download'),
      ]);
      eq(download.suggestedFilename(), 'holiday-video.mp4', 'download name');
      const got = fs.readFileSync(await download.path());
      check(got.equals(big), `downloaded ${got.length} bytes differ from the ${big.length} sent`);
      await B.shot(a.shots, 'file-transfer-done-receiver');
      await A.shot(a.shots, 'file-transfer-done-sender');
    }, 40000);

    await run('desktop screenshots of both pages', async () => {
      await A.shot(a.shots, 'desktop-alice');
      await B.shot(a.shots, 'desktop-bob');
    });

    await run('phone size (360×740): list first, the lobby, back, no sideways scrolling', async () => {
      const wide = () => document.documentElement.scrollWidth;
      check(await C.page.isVisible('#sidebar'), 'the list is shown');
      check(!(await C.page.isVisible('#conversation')), 'the conversation is not');
      eq(await C.page.evaluate(wide), 360, 'page width');
      await C.shot(a.shots, 'phone-list');
      await C.page.tap('#lobby-item');
      await C.wait(() => !!document.getElementById('conversation').offsetParent);
      check(!(await C.page.isVisible('#sidebar')), 'the list gives way to the conversation');
      await C.wait((t) => [...document.querySelectorAll('#message-list .text')].some((e) => e.textContent === t), hello);
      await C.page.fill('#text', 'Hello from my phone');
      await C.page.tap('#send');
      await C.wait(() => document.querySelector('#message-list .msg.mine:last-of-type .tick.sent'));
      const box = await C.page.$eval('#send', (e) => e.getBoundingClientRect().right);
      check(box <= 360, `the send button is on screen (right edge ${box})`);
      eq(await C.page.evaluate(wide), 360, 'page width in the conversation');
      await C.shot(a.shots, 'phone-lobby');
      await C.page.tap('#back');
      check(await C.page.isVisible('#sidebar'), 'back to the list');
    });

    await run('server restart: "reconnecting…" shown, then the same login and the history', async () => {
      const port = a.port;
      eq(await stopServer(server), 0, 'chat-server exit status on SIGTERM');
      for (const u of [A, B]) {
        await u.wait(() => /^Reconnecting/.test(document.getElementById('conn').textContent), null, 5000);
        await u.wait(() => !document.getElementById('banner').hidden);
        check((await u.text('#banner-text')).includes('Reconnecting'), `${u.name}: banner`);
        eq(await u.page.$eval('#send', (e) => e.disabled), true, `${u.name}: sending disabled`);
      }
      await A.shot(a.shots, 'reconnecting');
      ({ srv: server } = await startServer(a.server, port, dataDir));
      for (const u of [A, B, C]) {
        await u.wait(() => document.getElementById('conn').textContent === 'Online', null, 12000);
        eq(await u.text('#me-name'), u.name, `${u.name}: same name`);
        check(await u.page.isHidden('#banner'), `${u.name}: banner gone`);
      }
      for (const u of [A, B]) {
        eq(await u.page.evaluate((n) => localStorage.getItem(`chat.token.${n}`), u.name), u.token,
          `${u.name}: the same token`);
      }
      check(await A.page.$('#contacts-list [data-conv="bob"]'), 'alice\'s contact kept by the server');
      // A reload signs in again (sessionStorage) and fetches the history from
      // the restarted server: nothing here comes from the page's memory.
      await B.page.reload();
      await B.wait(() => document.getElementById('conn').textContent === 'Online', null, 8000);
      await B.open('#lobby');
      const lobby = await B.texts('#message-list .text');
      check(lobby.includes(hello) && lobby.includes('Hi alice, bob here') && lobby.includes('Hello from my phone'),
        `lobby history after the restart: ${JSON.stringify(lobby)}`);
      const pm = await B.page.evaluate(() => localStorage.getItem('chat.pm.bob') || '');
      check(pm.includes('Yes, I am here.'), 'PMs kept in localStorage');
      await A.open('#lobby');
      await A.say('after the restart');
      await B.wait(() => [...document.querySelectorAll('#message-list .text')]
        .some((e) => e.textContent === 'after the restart'));
      await B.shot(a.shots, 'after-restart-bob');
    }, 30000);

    await run('60 more lobby messages: the page shows 50, "Load earlier" fetches the rest', async () => {
      const WebSocket = require(path.join(__dirname, '..', '..', '..', 'tests', 'interop', 'node_modules', 'ws'));
      const dave = new WebSocket(`ws://127.0.0.1:${a.port}/`);
      await new Promise((resolve, reject) => { dave.once('open', resolve); dave.once('error', reject); });
      dave.send(JSON.stringify({ type: 'hello', name: 'dave' }));
      for (let i = 0; i < 60; i++) { // 16 a second: inside the rate limit
        dave.send(JSON.stringify({ type: 'msg', text: `line ${i}` }));
        await new Promise((r) => setTimeout(r, 60));
      }
      await B.wait(() => [...document.querySelectorAll('#message-list .text')]
        .some((e) => e.textContent === 'line 59'));
      dave.close();
      await B.page.reload();
      await B.wait(() => document.getElementById('conn').textContent === 'Online', null, 8000);
      await B.open('#lobby');
      eq((await B.texts('#message-list .text')).length, 50, 'messages from the welcome');
      check(await B.page.isVisible('#older'), '"Load earlier messages" shown');
      await B.page.click('#older');
      await B.wait((t) => [...document.querySelectorAll('#message-list .text')]
        .some((e) => e.textContent === t), hello);
      const all = await B.texts('#message-list .text');
      eq(all.indexOf('line 0') < all.indexOf('line 59') && all.indexOf(hello) < all.indexOf('line 0'), true,
        'oldest first');
      check(!(await B.page.isVisible('#older')), 'no more to load');
    }, 20000);

    await run('a second tab signs in as alice with the kept token; the first says so and can take over', async () => {
      const tab = await A.ctx.newPage();
      const T = new User(A.ctx, tab, 'alice (second tab)');
      await tab.goto(`${origin}/`);
      eq(await tab.$eval('#login-name', (e) => e.value), 'alice', 'the last name is filled in');
      await T.login('alice');
      await T.wait(() => document.getElementById('conn').textContent === 'Online');
      await A.wait(() => document.getElementById('conn').textContent === 'Signed in elsewhere');
      check((await A.text('#banner-text')).includes('another window'), 'banner of the replaced tab');
      eq(await A.page.$eval('#send', (e) => e.disabled), true, 'sending disabled there');
      await new Promise((r) => setTimeout(r, 1500));
      eq(await A.text('#conn'), 'Signed in elsewhere', 'no reconnecting back and forth');
      await A.shot(a.shots, 'signed-in-elsewhere');
      await A.front();
      await A.page.click('#banner-action');
      await A.wait(() => document.getElementById('conn').textContent === 'Online');
      await T.wait(() => document.getElementById('conn').textContent === 'Signed in elsewhere');
      await tab.close();
      check(T.errors.length === 0, T.errors.join('; '));
    });

    await run('no page errors and no error answers from the server', async () => {
      const errs = [A, B, C].flatMap((u) => u.errors);
      check(errs.length === 0, errs.join('; '));
      check(notFound.length === 0, notFound.join('; '));
    });
  } catch (e) {
    failedCount++;
    process.stdout.write(`FAIL setting up: ${e.message.split('\n')[0]}\n`);
  } finally {
    if (browser) await browser.close();
    if (server) {
      const code = await stopServer(server);
      if (code !== 0) {
        failedCount++;
        process.stdout.write(`FAIL chat-server exited with ${code}\n`);
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  process.stdout.write(`${passed} passed, ${failedCount} failed (${((Date.now() - started) / 1000).toFixed(1)} s); `
    + `screenshots in ${a.shots}\n`);
  process.exit(failedCount ? 1 : 0);
})();
