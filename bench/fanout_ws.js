// fanout_ws.js — the reference for bench/fanout: Node ws doing the same
// fan-out, in the shape of ws's own broadcast example
// (wss.clients.forEach(client => client.send(data))).
//
//   node fanout_ws.js CONNS MESSAGES SIZE BATCH
//
// Listens on 127.0.0.1, port 0, and prints "fanout-ws listening on
// 127.0.0.1:PORT". Once CONNS clients are open it prints "open", then
// "go" just before it sends MESSAGES text messages of SIZE bytes to every
// client, BATCH at a time, each batch once every client's send buffer has
// drained (as the wsx server in bench/fanout does). It exits when the
// parent closes its stdin.
'use strict';
const WebSocket = require('ws');

const [conns, messages, size, batch] = process.argv.slice(2).map(Number);
if (!(conns > 0 && messages > 0 && size > 0 && batch > 0)) {
  process.stderr.write('usage: node fanout_ws.js CONNS MESSAGES SIZE BATCH\n');
  process.exit(2);
}
const payload = Buffer.alloc(size);
for (let i = 0; i < size; i++) payload[i] = 97 + (i % 26);

const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0,
                                   perMessageDeflate: false,
                                   clientTracking: true });
let sent = 0;

function drained() {
  for (const client of wss.clients)
    if (client.bufferedAmount > 0) return false;
  return true;
}

// As ws's README broadcasts a message it received: a Buffer, sent as text
// (binary: false), so no client pays for encoding a string.
function broadcast() {
  wss.clients.forEach(function each(client) {
    if (client.readyState === WebSocket.OPEN)
      client.send(payload, { binary: false });
  });
}

function tick() {
  if (sent === messages) return;
  if (drained()) {
    for (let i = 0; i < batch && sent < messages; i++, sent++) broadcast();
  }
  setTimeout(tick, 1);
}

wss.on('listening', () => {
  process.stdout.write(`fanout-ws listening on 127.0.0.1:${wss.address().port}\n`);
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  if (wss.clients.size === conns) {
    process.stdout.write('open\n');
    setTimeout(() => { process.stdout.write('go\n'); tick(); }, 50);
  }
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
