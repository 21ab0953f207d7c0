'use strict';
// Headless Chromium over https:// and wss:// against wsecho --tls-cert
// --static web-tls/: the page and its WebSocket on the same port. The
// test CA is not in Chromium's store, so it runs with
// --ignore-certificate-errors (and playwright's ignoreHTTPSErrors).
//
//   node tls_browser.js --port P --profile DIR
//
// Prints one JSON line per case (see peerlib.js Results).

const path = require('path');
const { Results, args, check } = require('./peerlib');

const { chromium, CHROMIUM, FLAGS: BASE_FLAGS } = require('./chromium');

const FLAGS = BASE_FLAGS.concat(['--ignore-certificate-errors']);

(async () => {
  const a = args();
  const res = new Results('chromium https page -> wsecho (wss)');
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(a.profile, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000, ignoreHTTPSErrors: true,
    });
  } catch (e) {
    res.report('launch headless chromium', false, e.message.split('\n')[0]);
    process.exit(0);
  }
  const page = await ctx.newPage();
  let loaded = false;
  await res.run('page served over https:// (GET / -> index.html)', async () => {
    const resp = await page.goto(`https://localhost:${a.port}/`, { timeout: 10000 });
    check(resp && resp.status() === 200, `GET / status ${resp && resp.status()}`);
    const sec = await resp.securityDetails();
    check(sec && /TLS 1\.[23]/.test(sec.protocol), `protocol ${sec && sec.protocol}`);
    res.note(`chromium: ${sec.protocol}, page ${resp.url()}`);
    await page.waitForFunction(() => window.tlsInterop !== undefined, null, { timeout: 5000 });
    loaded = true;
  });
  if (loaded) {
    const results = await page.evaluate(() => window.tlsInterop.run());
    for (const r of results) {
      if (r.note) res.note(r.note);
      else res.report(r.case, r.ok, r.msg);
    }
  }
  await ctx.close();
  process.exit(0);
})();
