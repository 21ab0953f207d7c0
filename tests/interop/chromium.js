'use strict';
// chromium.js — how every browser test starts its browser: Debian's
// chromium (/usr/bin/chromium, or $CHROMIUM), headless, driven by npm
// playwright-core from tests/interop/node_modules (installed by npm ci
// there; npm cannot download a browser here, nor need it).
//
//   const { chromium, CHROMIUM, FLAGS } = require('.../tests/interop/chromium');
//   const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });

const path = require('path');

let chromium;
try {
  ({ chromium } = require(path.join(__dirname, 'node_modules', 'playwright-core')));
} catch (e) {
  process.stderr.write(`${path.basename(process.argv[1] || 'node')}: cannot load `
    + `playwright-core (${e.message}): run npm ci in tests/interop (make interop, `
    + 'messenger-test and dashboard-test do)\n');
  process.exit(2);
}

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];

module.exports = { chromium, CHROMIUM, FLAGS };
