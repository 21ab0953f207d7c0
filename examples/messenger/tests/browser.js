'use strict';
// The messenger's browser client (web/client.html + client.js) in headless
// Chromium (Debian chromium, driven by npm playwright-core from
// tests/interop/node_modules): two pages served by messenger-server
// associate as two IDs and exchange messages through the UI.
//
//   NODE_PATH=tests/interop/node_modules \
//   node browser.js --port P --server-pid PID --profile DIR
//
//   node browser.js --port P --server-pid PID --profile DIR \
//        --server BIN --data-dir DIR --shots DIR
//
// Run by test_messenger.py, which has filled client 23's buffer (100
// messages) beforehand and checks afterwards what the page sent to 24.
// Near the end the page's server is sent SIGTERM (the page must show it,
// and retry), then started again here on the same port and data directory
// (the pages must associate again by themselves), and stopped at the end.
// Screenshots of each step go to --shots. Prints one JSON line per case:
// {"case", "ok", "msg"}.

const { spawn } = require('child_process');
const path = require('path');
const { chromium, CHROMIUM, FLAGS } =
  require(path.join(__dirname, '..', '..', '..', 'tests', 'interop', 'chromium'));

function args() {
  const a = {};
  const v = process.argv.slice(2);
  for (let i = 0; i + 1 < v.length; i += 2) a[v[i].replace(/^--/, '').replace(/-/g, '_')] = v[i + 1];
  return a;
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

function eq(got, want, what) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

function report(kase, ok, msg = '') {
  process.stdout.write(JSON.stringify({ case: kase, ok, msg }) + '\n');
}

let failed = false;
async function run(kase, fn, timeoutMs = 15000) {
  if (failed) { // later cases build on earlier ones
    report(kase, false, 'not run: an earlier case failed');
    return;
  }
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), timeout]);
    report(kase, true);
  } catch (e) {
    failed = true;
    report(kase, false, (e && e.message ? e.message : String(e)).split('\n')[0]);
  } finally {
    clearTimeout(timer);
  }
}

const utf8Len = (s) => Buffer.byteLength(s, 'utf8');

// The UI, one page.
class UI {
  constructor(page, name) {
    this.page = page;
    this.name = name;
    this.pageErrors = [];
    page.on('pageerror', (e) => this.pageErrors.push(e.message));
  }

  text(sel) { return this.page.textContent(sel); }

  logLines(kind) {
    return this.page.$$eval(`#log li${kind ? '.' + kind : ''}`, (els) => els.map((e) => e.textContent));
  }

  inbox() { return this.page.$$eval('#inbox li', (els) => els.map((e) => e.textContent)); }

  async shot(dir, name) {
    await this.page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  }

  async disabled(sel) { return this.page.$eval(sel, (e) => e.disabled); }

  async errorShown() {
    return this.page.$eval('#error', (e) => (e.hidden ? null : e.textContent));
  }

  // A background tab gets no animation frames, and Playwright waits for
  // frames before it clicks: bring the page we act on to the front.
  async front() {
    if (UI.front !== this) {
      await this.page.bringToFront();
      UI.front = this;
    }
  }

  // Run action, then wait for the next received packet's log line.
  async roundTrip(action) {
    const before = (await this.logLines('received')).length;
    await this.front();
    await action();
    await this.page.waitForFunction((n) => document.querySelectorAll('#log li.received').length > n,
      before, { timeout: 5000 });
    const lines = await this.logLines('received');
    eq(lines.length, before + 1, `${this.name}: one reply`);
    return lines[lines.length - 1];
  }

  async associate(id) {
    await this.front();
    await this.page.fill('#client-id', String(id));
    return this.roundTrip(() => this.page.click('#associate'));
  }

  async send(to, text) {
    await this.front();
    await this.page.fill('#to', String(to));
    await this.page.fill('#text', text);
    return this.roundTrip(() => this.page.click('#send'));
  }

  async get() {
    const reply = await this.roundTrip(() => this.page.click('#get'));
    const inbox = await this.inbox();
    return { reply, last: inbox[inbox.length - 1], count: inbox.length };
  }
}

(async () => {
  const a = args();
  const origin = `http://127.0.0.1:${a.port}`;
  const wsUrl = `ws://127.0.0.1:${a.port}/`;
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(a.profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000,
    });
  } catch (e) {
    report('launch headless chromium', false, e.message.split('\n')[0]);
    process.exit(0);
  }
  const A = new UI(await ctx.newPage(), 'page A');
  const B = new UI(await ctx.newPage(), 'page B');
  const notFound = []; // every answer of 400 and more any page got
  for (const ui of [A, B]) {
    ui.page.on('response', (r) => { if (r.status() >= 400) notFound.push(`${r.status()} ${r.url()}`); });
  }

  await run('pages served by the server at / connect to its own host:port', async () => {
    for (const ui of [A, B]) {
      const resp = await ui.page.goto(`${origin}/`, { timeout: 10000 });
      check(resp && resp.status() === 200, `GET / status ${resp && resp.status()}`);
      eq(await ui.page.title(), 'Messenger', 'title');
      await ui.page.waitForFunction((u) => document.getElementById('status').textContent
        === `Connected to ${u}`, wsUrl, { timeout: 5000 });
      eq(await ui.page.$eval('#status', (e) => e.className), 'status connected', '#status class');
      eq(await ui.disabled('#associate'), false, '#associate enabled once connected');
      eq(await ui.disabled('#send'), true, '#send disabled before association');
      eq(await ui.disabled('#get'), true, '#get disabled before association');
      eq(await ui.text('#me'), 'Not associated.', '#me');
      check((await ui.logLines('note')).includes(`connected to ${wsUrl}`), 'log: connected');
    }
  });

  await run('page A associates as 21', async () => {
    const r = await A.associate(21);
    await A.shot(a.shots, '01-associated');
    eq(r, 'ASSOCIATIONSUCCESS for 21  [00 01 00 15 00]', 'log line of the reply');
    check((await A.logLines('sent')).includes('ASSOCIATE as 21  [00 00 15 00 00]'), 'log of ASSOCIATE');
    eq(await A.text('#me'), 'You are client 21.', '#me');
    eq(await A.disabled('#associate'), true, '#associate disabled once associated');
    eq(await A.disabled('#get'), false, '#get enabled');
  });

  await run('page B asking for 21 gets ASSOCIATIONFAILED, shown in #error', async () => {
    const r = await B.associate(21);
    eq(r, 'ASSOCIATIONFAILED for 21  [00 02 00 15 00]', 'log line');
    const err = await B.errorShown();
    check(err && err.includes('Could not associate as 21'), `#error: ${err}`);
    eq(await B.text('#me'), 'Not associated.', '#me');
    eq(await B.disabled('#associate'), false, '#associate usable again');
    eq(await B.disabled('#get'), true, '#get still disabled');
  });

  await run('page B associates as 22', async () => {
    eq(await B.associate(22), 'ASSOCIATIONSUCCESS for 22  [00 01 00 16 00]', 'log line');
    eq(await B.text('#me'), 'You are client 22.', '#me');
  });

  await run('the byte counter counts UTF-8 bytes and refuses more than 254', async () => {
    await A.front();
    await A.page.fill('#to', '22');
    const cases = [
      ['', 0], ['abc', 3], ['é'.repeat(127), 254], ['é'.repeat(127) + 'a', 255],
      ['€'.repeat(84) + 'ab', 254], ['€'.repeat(85), 255], ['😀'.repeat(63) + 'é', 254],
      ['😀'.repeat(64), 256], ['x'.repeat(254), 254], ['x'.repeat(253) + 'é', 255],
    ];
    for (const [s, n] of cases) {
      eq(utf8Len(s), n, 'test data');
      await A.page.fill('#text', s);
      eq(await A.text('#byte-count'), String(n), `#byte-count for ${n} bytes`);
      const over = await A.page.$eval('#byte-count', (e) => e.parentElement.classList.contains('over'));
      eq(over, n > 254, `"over" marker at ${n} bytes`);
      if (s !== '') eq(await A.disabled('#send'), n > 254, `#send disabled at ${n} bytes`);
    }
    // Submitting anyway (Enter, a script) is refused without a packet.
    await A.page.fill('#text', '€'.repeat(85));
    const sent = (await A.logLines('sent')).length;
    await A.page.$eval('#send-form', (f) => f.requestSubmit());
    const err = await A.errorShown();
    check(err && err.includes('255 bytes') && err.includes('254'), `#error: ${err}`);
    eq((await A.logLines('sent')).length, sent, 'no packet sent');
    eq(await A.page.$eval('#text', (e) => e.value), '€'.repeat(85), 'the text is kept');
  });

  const hello = 'héllo wörld ✓ 日本語 😀';
  await run('A sends to 22, B gets it (multi-byte UTF-8); Send is confirmed', async () => {
    check(await A.errorShown(), 'the last case left an alert');
    const r = await A.send(22, hello);
    eq(r, 'POSITIVEACK for 21  [01 02 00 15 00]', 'reply');
    eq(await A.errorShown(), null, 'a new request clears the last alert');
    eq(await A.text('#send-status'), '✓ Sent to 22: stored on the server until 22 gets it.',
      '#send-status after POSITIVEACK');
    eq(await A.page.$eval('#send-status', (e) => e.className), 'hint ok', '#send-status class');
    check(await A.page.isVisible('#send-status'), '#send-status visible');
    await A.shot(a.shots, '02-sent-confirmed');
    const sent = await A.logLines('sent');
    const n = utf8Len(hello);
    check(sent[sent.length - 1].startsWith(`PUSH from 21 to 22 "${hello}" (${n} bytes)  [02 01 15 16 ${n.toString(16)}`),
      `log of PUSH: ${sent[sent.length - 1]}`);
    check((await A.logLines('note')).includes('message to 22 stored on the server'), 'note');
    eq(await A.page.$eval('#text', (e) => e.value), '', 'text cleared after sending');
    const g = await B.get();
    check(g.reply.startsWith(`GETRESPONSE from 21 "${hello}"  [02 00 15 16 ${n.toString(16)}`), `reply: ${g.reply}`);
    eq(g.last, `from 21:${hello}`, 'inbox');
    eq(await B.page.$eval('#inbox li:first-child .from', (e) => e.textContent), 'from 21:', 'sender shown');
  });

  await run('B gets again: buffer empty, said once, not piled up in the inbox', async () => {
    for (let i = 0; i < 3; i++) {
      const g = await B.get();
      eq(g.reply, 'BUFFEREMPTY for 22  [01 01 00 16 00]', 'reply');
      eq(g.count, 1, 'inbox entries after an empty Get');
      check((await B.text('#inbox-status')).startsWith('No messages waiting (asked at '),
        `#inbox-status: ${await B.text('#inbox-status')}`);
    }
    await B.shot(a.shots, '03-empty-not-piled-up');
  });

  await run('254-byte multi-byte message goes through intact', async () => {
    const s = '😀'.repeat(50) + 'é'.repeat(27);
    eq(utf8Len(s), 254, 'test data');
    eq(await A.send(22, s), 'POSITIVEACK for 21  [01 02 00 15 00]', 'reply');
    const g = await B.get();
    eq(g.last, `from 21:${s}`, 'inbox');
    eq(await B.text('#inbox-status'), '', 'no stale "No messages waiting"');
    eq(await B.page.$eval('#inbox', (e) => e.scrollWidth <= e.clientWidth), true,
      'a long word wraps inside the inbox instead of running out of it');
  });

  await run('FIFO: three messages come out oldest first', async () => {
    for (const m of ['one', 'two', 'three']) eq(await A.send(22, m), 'POSITIVEACK for 21  [01 02 00 15 00]', m);
    const got = [];
    for (let i = 0; i < 3; i++) got.push((await B.get()).last);
    eq(JSON.stringify(got), JSON.stringify(['from 21:one', 'from 21:two', 'from 21:three']), 'order');
    eq((await B.inbox()).slice(-3).join('|'), 'from 21:one|from 21:two|from 21:three',
      'listed oldest first, as the card says: the newest at the bottom');
    check((await B.text('#h-get ~ .hint')).includes('oldest first'), 'the card says oldest first');
    await B.shot(a.shots, '04-inbox-oldest-first');
  });

  await run('Get all fetches until the buffer is empty, and says how many', async () => {
    for (const m of ['four', 'five', 'six']) eq(await A.send(22, m), 'POSITIVEACK for 21  [01 02 00 15 00]', m);
    await B.front();
    const before = (await B.inbox()).length;
    const gets = (await B.logLines('sent')).length;
    await B.page.click('#get-all');
    await B.page.waitForFunction(() => document.getElementById('inbox-status').textContent
      .startsWith('Got '), null, { timeout: 5000 });
    eq(await B.text('#inbox-status'), 'Got 3 messages; none left waiting.', '#inbox-status');
    eq((await B.inbox()).slice(before).join('|'), 'from 21:four|from 21:five|from 21:six', 'inbox');
    eq((await B.logLines('sent')).length, gets + 4, 'three GETs answered, a fourth: BUFFEREMPTY');
    eq(await B.disabled('#get-all'), false, '#get-all usable again');
    await B.page.click('#get-all');
    await B.page.waitForFunction(() => document.getElementById('inbox-status').textContent
      === 'Got 0 messages; none left waiting.', null, { timeout: 5000 });
    await B.page.click('#get');
    await B.page.waitForFunction(() => document.getElementById('inbox-status').textContent
      .startsWith('No messages'), null, { timeout: 5000 });
    await B.page.click('#get-all');
    await B.page.waitForFunction(() => document.getElementById('inbox-status').textContent
      === 'Got 0 messages; none left waiting.', null, { timeout: 5000 });
    eq((await B.inbox()).length, before + 3, 'nothing more in the inbox');
    for (const m of ['seven', 'eight']) await A.send(22, m);
    await B.front();
    await B.page.click('#get-all');
    await B.page.waitForFunction(() => document.getElementById('inbox-status').textContent
      === 'Got 2 messages; none left waiting.', null, { timeout: 5000 });
    await B.shot(a.shots, '05-get-all');
  });

  await run('B replies to 21, A gets it', async () => {
    eq(await B.send(21, 'réponse'), 'POSITIVEACK for 22  [01 02 00 16 00]', 'reply');
    eq((await A.get()).last, 'from 22:réponse', 'A inbox');
  });

  await run('a full buffer (23 holds 100) shows BUFFERFULL in #error and under Send', async () => {
    eq(await A.send(23, 'no room'), 'BUFFERFULL for 21  [01 03 00 15 00]', 'reply');
    const err = await A.errorShown();
    check(err && err.includes("Client 23's buffer is full"), `#error: ${err}`);
    eq(await A.text('#send-status'), "✗ Not sent: client 23's buffer is full.", '#send-status');
    eq(await A.page.$eval('#send-status', (e) => e.className), 'hint bad', '#send-status class');
    await A.shot(a.shots, '06-buffer-full');
  });

  await run('a message for offline 24 (checked by the test afterwards)', async () => {
    eq(await A.send(24, 'für Python ✓'), 'POSITIVEACK for 21  [01 02 00 15 00]', 'reply');
  });

  await run('bad IDs are refused by the page', async () => {
    await A.front();
    await A.page.fill('#to', '256');
    await A.page.fill('#text', 'x');
    const sent = (await A.logLines('sent')).length;
    await A.page.click('#send'); // the form's own validation stops it
    eq(await A.page.$eval('#to', (e) => e.matches(':invalid')), true, '#to 256 is invalid');
    await A.page.$eval('#to', (e) => { e.type = 'text'; e.value = '1e2'; });
    await A.page.$eval('#send-form', (f) => f.requestSubmit()); // and client.js's
    const err = await A.errorShown();
    check(err && err.includes('from 0 to 255'), `#error: ${err}`);
    eq((await A.logLines('sent')).length, sent, 'no packet sent');
  });

  await run('a favicon is served (the page links it; /favicon.ico too)', async () => {
    eq(await A.page.$eval('link[rel=icon]', (e) => e.getAttribute('href')), 'favicon.svg', 'link');
    for (const p of ['/favicon.svg', '/favicon.ico']) {
      const r = await A.page.request.get(`${origin}${p}`);
      eq(r.status(), 200, `${p} status`);
      eq(r.headers()['content-type'], 'image/svg+xml', `${p} type`);
      check((await r.text()).startsWith('<svg'), `${p} is the SVG`);
    }
    const icon = await ctx.newPage();
    await icon.setViewportSize({ width: 64, height: 64 });
    await icon.goto(`${origin}/favicon.svg`);
    await icon.screenshot({ path: path.join(a.shots, '07-favicon.png') });
    await icon.close();
  });

  await run('no page errors and no 404 (or other error) answers', async () => {
    const errs = A.pageErrors.concat(B.pageErrors);
    check(errs.length === 0, errs.join('; '));
    check(notFound.length === 0, notFound.join('; '));
  });

  await run('the server stops (SIGTERM): status shows it, controls disabled, one log line', async () => {
    process.kill(Number(a.server_pid), 'SIGTERM');
    for (const ui of [A, B]) {
      await ui.page.waitForFunction(() => document.getElementById('status').textContent
        .startsWith('Disconnected (closed 1001'), null, { timeout: 5000 });
      eq(await ui.page.$eval('#status', (e) => e.className), 'status disconnected', '#status class');
      eq(await ui.disabled('#send'), true, '#send disabled');
      eq(await ui.disabled('#get'), true, '#get disabled');
      eq(await ui.disabled('#get-all'), true, '#get-all disabled');
      eq(await ui.text('#me'), 'Not associated.', '#me');
      const err = await ui.errorShown();
      check(err && err.includes('associating again as'), `#error: ${err}`);
    }
    // Retries fail (0.5 s, 1 s, 2 s apart) while the server is down: they
    // count in the status line, not in the log.
    await A.front();
    await A.page.waitForFunction(() => /\(3 attempts failed\)$/.test(
      document.getElementById('status').textContent), null, { timeout: 8000 });
    await A.shot(a.shots, '08-server-down-retrying');
    for (const ui of [A, B]) {
      const notes = (await ui.logLines('note')).filter((l) => l.startsWith('disconnected'));
      eq(JSON.stringify(notes), JSON.stringify(['disconnected: closed 1001 server shutting down']),
        `${ui.name}: log lines for the lost connection`);
    }
  }, 20000);

  let server2 = null;
  await run('the server is back: the pages reconnect and associate again by themselves', async () => {
    server2 = spawn(a.server, ['--host', '127.0.0.1', '--port', a.port, '--data-dir', a.data_dir,
      '--fsync', 'never'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      server2.stdout.once('data', resolve);
      server2.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
    });
    for (const [ui, id] of [[A, 21], [B, 22]]) {
      await ui.front();
      await ui.page.waitForFunction((t) => document.getElementById('me').textContent === t,
        `You are client ${id}.`, { timeout: 12000 });
      const notes = await ui.logLines('note');
      check(notes.includes(`associating again as ${id}`), `${ui.name}: note`);
      const got = await ui.logLines('received');
      eq(got[got.length - 1], `ASSOCIATIONSUCCESS for ${id}  [00 01 00 ${id.toString(16)} 00]`, 'reply');
      eq(await ui.errorShown(), null, `${ui.name}: the "Disconnected" alert is gone`);
      eq(await ui.disabled('#send'), false, '#send enabled');
      eq(await ui.text('#status'), `Connected to ${wsUrl}`, '#status');
    }
    eq(await A.send(22, 'after the restart'), 'POSITIVEACK for 21  [01 02 00 15 00]', 'send');
    eq((await B.get()).last, 'from 21:after the restart', 'B gets it');
    await A.shot(a.shots, '09-reassociated-A');
    await B.shot(a.shots, '10-reassociated-B');
  }, 25000);

  await run('no page errors after the restart', async () => {
    const errs = A.pageErrors.concat(B.pageErrors);
    check(errs.length === 0, errs.join('; '));
  });

  await ctx.close();
  if (server2 && server2.exitCode === null) {
    const done = new Promise((resolve) => server2.once('exit', resolve));
    server2.kill('SIGTERM');
    const code = await done;
    report('the restarted server exits 0 on SIGTERM', code === 0, `exit ${code}`);
  }
  process.exit(0);
})();
