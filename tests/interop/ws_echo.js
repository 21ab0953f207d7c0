'use strict';
// A Node ws echo server with ws's default options, for strictness.py:
// prints "ws listening on 127.0.0.1:PORT", echoes every message.
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, 'node_modules', 'ws'));

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
wss.on('listening', () => {
  process.stdout.write(`ws listening on 127.0.0.1:${wss.address().port}\n`);
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
