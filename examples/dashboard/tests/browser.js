'use strict';
// ws-dashboard's page in headless Chromium (Debian chromium, driven by npm
// playwright-core from tests/interop/node_modules):
//   - for each size preset: clicked, sent, the echo verified (length and
//     SHA-256 against what the page sent and what the server hashed both
//     ways), the frame breakdown from /events checked: ceil(size / N)
//     frames, FIN only on the last, opcode 0 on continuations, MASK on the
//     page's frames and not on the server's, 7/16/64-bit length forms at
//     125/126/65535/65536;
//   - a message the server generates, fragmented;
//   - a fragmented message sent by wscat --fragment shows up in the history;
//   - 200 messages in a row: all verified, the page keeps answering;
//   - screenshots, looked at by a person, in --screenshots DIR.
//
//   NODE_PATH=tests/interop/node_modules node browser.js --port P \
//       --wscat build/examples/wscat/wscat --screenshots DIR
//
// Prints one JSON line per case: {"case", "ok", "msg"}, and {"note"}.

const path = require('path');
const { spawnSync } = require('child_process');
// args() and check() are the interop drivers' (tests/interop/peerlib.js)
const { args, check } = require(path.join(__dirname, '..', '..', '..', 'tests', 'interop', 'peerlib'));

const { chromium, CHROMIUM, FLAGS } =
  require(path.join(__dirname, '..', '..', '..', 'tests', 'interop', 'chromium'));

function eq(got, want, what) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: got ${g.slice(0, 300)}, want ${w.slice(0, 300)}`);
}

const report = (kase, ok, msg = '') => process.stdout.write(`${JSON.stringify({ case: kase, ok, msg })}\n`);
const note = (msg) => process.stdout.write(`${JSON.stringify({ note: msg })}\n`);

async function run(kase, fn, timeoutMs = 30000) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout after ${timeoutMs / 1000} s`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), timeout]);
    report(kase, true);
    return true;
  } catch (e) {
    report(kase, false, (e && e.message ? e.message : String(e)).split('\n')[0]);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

// What RFC 6455 §5.2 says the frames of one message look like.
function checkFrames(rec, size, fragment, masked, what) {
  // fragment null: the sender's own choice, not checked
  const want = fragment === null ? rec.frames : fragment ? Math.max(1, Math.ceil(size / fragment)) : 1;
  eq(rec.size, size, `${what}: size`);
  eq(rec.frames, want, `${what}: frames = ceil(size / fragment)`);
  const sizes = Array.isArray(rec.sizes) ? rec.sizes : rec.sizes.runs.flatMap(([s, n]) => Array(n).fill(s));
  eq(sizes.length, want, `${what}: sizes listed`);
  eq(sizes.reduce((a, b) => a + b, 0), size, `${what}: sizes add up`);
  if (fragment) check(sizes.slice(0, -1).every((s) => s === fragment), `${what}: frames of ${fragment}`);
  const list = rec.frameList;
  check(list.length >= Math.min(want, 150), `${what}: ${list.length} frames listed of ${want}`);
  list.forEach((f, i) => {
    const last = i === want - 1;
    eq(f.fin, last, `${what}: FIN of frame ${i + 1}`);
    eq(f.opcode === 0, i > 0, `${what}: opcode 0 on continuations only (frame ${i + 1})`);
    eq(f.masked, masked, `${what}: MASK of frame ${i + 1}`);
    eq(f.len_form, f.len <= 125 ? 7 : f.len <= 65535 ? 16 : 64, `${what}: length form of ${f.len}`);
    if (f.masked) check(/^[0-9a-f]{8}$/.test(f.mask_key), `${what}: mask key`);
    else eq(f.mask_key, null, `${what}: no mask key`);
  });
  return want;
}

async function main() {
  const a = args();
  const base = `http://127.0.0.1:${a.port}/`;
  const shots = a.screenshots;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 }, deviceScaleFactor: 1,
    acceptDownloads: true });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  let allOk = true;
  const step = async (name, fn, t) => { allOk = (await run(name, fn, t)) && allOk; };

  await step('page loads and connects both sockets', async () => {
    await page.goto(base);
    await page.waitForFunction(() => window.dash && window.dash.state().connected
      && document.getElementById('monitor-status').textContent === 'Monitor live', null, { timeout: 10000 });
    const status = await page.textContent('#status');
    check(/^Connected · conn #\d+$/.test(status), `status pill: ${status}`);
    check((await page.$$('#presets .chip')).length === 11, 'eleven size presets');
  });

  // The presets, clicked in the page: the big ones fragmented by 16 KB,
  // the length-form boundaries echoed as one frame each way.
  const presets = [
    ['1 KB', 1024, 16384, 'ascii'], ['10 KB', 10240, 16384, 'utf8'], ['64 KB', 65536, 16384, 'binary'],
    ['100 KB', 102400, 16384, 'ascii'], ['1 MB', 1048576, 16384, 'binary'],
    ['4 MB', 4194304, 65536, 'utf8'], ['16 MB', 16777216, 1048576, 'binary'],
    ['125 B', 125, 0, 'ascii'], ['126 B', 126, 0, 'binary'], ['65535 B', 65535, 0, 'ascii'],
    ['65536 B', 65536, 0, 'binary'],
  ];
  for (const [label, size, fragment, kind] of presets) {
    await step(`preset ${label}, fragment ${fragment || 'none'}, ${kind}`, async () => {
      const st = await page.evaluate(() => window.dash.state());
      if (st.fragment !== fragment) await page.evaluate((n) => window.dash.setFragment(n), fragment);
      await page.click(`#presets .chip:text-is("${label}")`);
      eq(Number(await page.inputValue('#size')), size, 'size field');
      await page.check(`input[name=kind][value=${kind}]`, { force: true });
      const before = await page.evaluate(() => window.dash.state().records);
      await startLag(page);
      await page.click('#send');
      await page.waitForFunction((n) => {
        const badge = document.querySelector('#result .badge');
        return window.dash.state().records >= n + 2 && window.dash.state().unanswered === 0
          && badge && /PASS|FAIL|ERROR/.test(badge.textContent);
      }, before, { timeout: 25000 });
      const badge = await page.textContent('#result .badge');
      check(badge.startsWith('PASS'), `result badge: ${badge}`);
      const lag = await stopLag(page);
      if (size >= 4 * 1048576) {
        note(`${label} echo: longest main-thread stall ${lag.toFixed(0)} ms`);
        check(lag < 3000, `${label}: the page stalled ${lag.toFixed(0)} ms`);
      }
      const recs = await page.evaluate(() => window.dash.records());
      const me = (await page.evaluate(() => window.dash.state())).myConn;
      const mine = recs.filter((r) => r.conn === me);
      const rin = mine.filter((r) => r.dir === 'in').pop();
      const rout = mine.filter((r) => r.dir === 'out').pop();
      eq([rin.check, rout.check], [true, true], 'verified both ways');
      // Chromium fragments big messages itself (in frames of its own
      // choosing), always masked
      const pin = await fullRecord(page, rin.id);
      checkFrames(pin, size, null, true, `${label} page → server`);
      if (size >= 1048576) {
        note(`Chromium sent ${label} in ${pin.frames} frames: ${JSON.stringify(pin.sizes).slice(0, 120)}`);
      }
      checkFrames(await fullRecord(page, rout.id), size, fragment, false, `${label} server → page`);
      if (fragment === 0) {
        const form = size <= 125 ? 7 : size <= 65535 ? 16 : 64;
        const f = (await fullRecord(page, rout.id)).frameList[0];
        eq(f.len_form, form, `${label}: length form`);
        const hdr = f.header;
        eq(hdr.length / 2, 2 + (form === 16 ? 2 : form === 64 ? 8 : 0), `${label}: header bytes ${hdr}`);
      }
      // the breakdown shows the server's side of the last message
      await page.click(`#history tbody tr[data-id="${rout.id}"]`);
      await page.waitForFunction((id) => window.dash.state().selected === id, rout.id);
      const rows = await page.$$eval('#frames tbody tr:not(.more)', (trs) => trs.length);
      eq(rows, Math.min(400, Math.min(rout.frames, rout.frameList.length)), `${label}: frame rows shown`);
      if (size === 1048576 && shots) {
        await page.screenshot({ path: path.join(shots, 'dashboard-1mib-fragmented-echo.png'), fullPage: true });
      }
    }, 40000);
  }

  await step('a 1 MiB message in 125-byte frames: coalesced, all counted', async () => {
    await page.evaluate(() => window.dash.setFragment(125));
    const r = await page.evaluate(() => window.dash.send(1048576, 'binary'));
    check(r.pass, 'echo verified');
    eq(r.out.frames, 8389, 'frames');
    check(r.out.coalesced > 0, `coalesced frames: ${r.out.coalesced}`);
    check(r.out.frameList.length <= 400, `frames listed: ${r.out.frameList.length}`);
    await page.click(`#history tbody tr[data-id="${r.out.id}"]`);
    const more = await page.textContent('#frames tbody tr.more');
    check(/more frames/.test(more) && /coalesced/.test(more), `the table says what is not listed: ${more}`);
    if (shots) await page.screenshot({ path: path.join(shots, 'dashboard-8389-frames-coalesced.png'), fullPage: true });
  }, 40000);

  await step('the server generates a fragmented message', async () => {
    await page.evaluate(() => window.dash.setFragment(4096));
    await page.fill('#size', '100000');
    await page.check('input[name=kind][value=binary]', { force: true });
    await page.click('#generate');
    await page.waitForFunction(() => /Generated/.test(document.getElementById('result').textContent));
    const badge = await page.textContent('#result .badge');
    check(badge.startsWith('PASS'), `result: ${badge}`);
    const recs = await page.evaluate(() => window.dash.records());
    const gen = recs.filter((r) => r.tag.startsWith('gen-')).pop();
    eq([gen.dir, gen.size, gen.frames, gen.check], ['out', 100000, 25, true], 'generated message');
  });

  await step('wscat --fragment shows up on the page', async () => {
    const line = 'fragmented by wscat: 41 bytes in 5 frames';
    const p = spawnSync(a.wscat, ['--fragment', '10', `ws://127.0.0.1:${a.port}/ws?tag=wscat-cli`],
      { input: `${line}\n`, timeout: 15000 });
    eq(p.status, 0, `wscat exit (${String(p.stderr).slice(-200)})`);
    await page.waitForFunction(() => window.dash.records().some((r) => r.tag === 'wscat-cli' && r.dir === 'in'),
      null, { timeout: 5000 });
    const rec = (await page.evaluate(() => window.dash.records())).find((r) => r.tag === 'wscat-cli' && r.dir === 'in');
    eq([rec.size, rec.frames], [Buffer.byteLength(line), Math.ceil(Buffer.byteLength(line) / 10)], 'wscat message');
    eq(rec.frameList.map((f) => [f.opcode, f.fin, f.masked]),
      [[1, false, true], [0, false, true], [0, false, true], [0, false, true], [0, true, true]].slice(0, rec.frames),
      'wscat frames');
    const row = await page.textContent(`#history tbody tr[data-id="${rec.id}"]`);
    check(row.includes('wscat-cli'), `history row: ${row}`);
    await page.click(`#history tbody tr[data-id="${rec.id}"]`);
    if (shots) await page.screenshot({ path: path.join(shots, 'dashboard-wscat-fragmented.png'), fullPage: true });
  });

  await step('200 messages in a row: all verified, the page stays responsive', async () => {
    await page.evaluate(() => window.dash.setFragment(100));
    await startLag(page);
    const t0 = Date.now();
    await page.fill('#size', '1000');
    await page.check('input[name=kind][value=utf8]', { force: true });
    await page.selectOption('#repeat', '200');
    const before = await page.evaluate(() => window.dash.state().records);
    await page.click('#send');
    // while it runs, the page answers
    const probe = Date.now();
    await page.evaluate(() => 1);
    const answer = Date.now() - probe;
    await page.waitForFunction((n) => window.dash.state().records >= n + 400
      && window.dash.state().unanswered === 0, before, { timeout: 30000 });
    const secs = (Date.now() - t0) / 1000;
    const recs = (await page.evaluate(() => window.dash.records())).slice(-400);
    check(recs.every((r) => r.check === true), 'every message verified');
    check(recs.filter((r) => r.dir === 'out').every((r) => r.frames === 10), '10 frames each');
    const lag = await stopLag(page);
    // No backlog: a render may be scheduled for the last events (a frame
    // away on a busy machine), but it must be drawn within a second.
    await page.waitForFunction(() => !window.dash.state().pendingRender, null,
      { timeout: 1000 }).catch(() => {});
    const st = await page.evaluate(() => window.dash.state());
    eq(st.pendingRender, false, 'nothing left to draw within 1 s');
    check(answer < 1000, `page answered in ${answer} ms during the burst`);
    check(lag < 1000, `longest stall ${lag.toFixed(0)} ms`);
    const rows = await page.$$eval('#history tbody tr', (trs) => trs.length);
    check(rows <= 500, `history keeps at most 500 rows (${rows})`);
    note(`200 messages of 1000 B in 10 frames: ${secs.toFixed(1)} s, longest main-thread stall `
      + `${lag.toFixed(0)} ms, ${st.eventsReceived} events received`);
    await page.selectOption('#repeat', '1');
    if (shots) await page.screenshot({ path: path.join(shots, 'dashboard-after-200-messages.png'), fullPage: true });
  }, 60000);

  await step('history exported as JSON', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const file = await download.path();
    const data = JSON.parse(require('fs').readFileSync(file, 'utf8'));
    const n = await page.evaluate(() => window.dash.state().records);
    eq(data.length, n, 'records exported');
    const last = data[data.length - 1];
    for (const k of ['conn', 'dir', 'size', 'frames', 'sizes', 'sha256', 'verified', 'frame_list']) {
      check(k in last, `exported record has ${k}`);
    }
  });

  await step('close with a code and reason', async () => {
    await page.click('.close-opts summary');
    await page.fill('#close-code', '4001');
    await page.fill('#close-reason', 'done testing');
    await page.click('#disconnect');
    await page.waitForFunction(() => /Closed/.test(document.getElementById('status').textContent));
    eq(await page.textContent('#status'), 'Closed 4001 · done testing', 'status after close');
  });

  await step('no errors in the page', async () => {
    eq(errors, [], 'page errors');
  });

  await browser.close();
  process.exit(allOk ? 0 : 1);
}

// A timer in the page that notes how late it runs: a main thread kept
// busy for long shows as a large stall.
function startLag(page) {
  return page.evaluate(() => {
    window.__lag = 0;
    let last = performance.now();
    window.__lagTimer = setInterval(() => {
      const now = performance.now();
      window.__lag = Math.max(window.__lag, now - last - 50);
      last = now;
    }, 50);
  });
}

function stopLag(page) {
  return page.evaluate(() => { clearInterval(window.__lagTimer); return window.__lag; });
}

// The page keeps frames as the server reported them; fetch one record whole.
function fullRecord(page, id) {
  return page.evaluate((rid) => {
    const recs = window.dash.fullRecord(rid);
    return recs;
  }, id);
}

main().catch((e) => {
  process.stderr.write(`browser.js: ${e.stack || e}\n`);
  process.exit(1);
});
