'use strict';
// Headless Chromium (Debian chromium, driven by npm playwright-core)
// against wsecho: the page web/index.html is served by `wsecho --static`
// and opens WebSockets to the host and port it came from.
//
//   node browser.js --static-port P --small-port P --sigterm-port P
//                   --sigterm-pid PID --profile DIR
//
// Prints one JSON line per case (see peerlib.js Results).

const path = require('path');
const { Results, args, check } = require('./peerlib');

const { chromium, CHROMIUM, FLAGS } = require('./chromium');

(async () => {
  const a = args();
  const res = new Results('chromium page -> wsecho');
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(a.profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000,
    });
  } catch (e) {
    res.report('launch headless chromium', false, e.message.split('\n')[0]);
    process.exit(0);
  }
  const page = await ctx.newPage();
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(e.message));

  const origin = `http://127.0.0.1:${a.static_port}`;
  let loaded = false;
  await res.run('page served by wsecho --static (GET / -> index.html)', async () => {
    const resp = await page.goto(`${origin}/`, { timeout: 10000 });
    check(resp && resp.status() === 200, `GET / status ${resp && resp.status()}`);
    await page.waitForFunction(() => window.interop !== undefined, null, { timeout: 5000 });
    loaded = true;
  });

  if (loaded) {
    const results = await page.evaluate((p) => window.interop.run(p), Number(a.small_port));
    for (const r of results) {
      if (r.note) res.note(r.note);
      else res.report(r.case, r.ok, r.msg);
    }
    await res.run('server closes 1001 on SIGTERM -> page sees 1001', async () => {
      const hi = await page.evaluate((p) => window.interop.openSigterm(p), Number(a.sigterm_port));
      check(hi === 'hi', `echo before SIGTERM '${hi}'`);
      process.kill(Number(a.sigterm_pid), 'SIGTERM');
      const cl = await page.evaluate(() => window.interop.sigtermClose());
      check(cl.code === 1001, `close code ${cl.code}, want 1001`);
    }, 10000);
    if (consoleErrors.length) res.report('no page errors', false, consoleErrors.join('; '));
  }
  await ctx.close();
  process.exit(0);
})();
