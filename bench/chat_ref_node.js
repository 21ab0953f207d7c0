// chat_ref_node.js — the reference broadcast chat server of `make
// chat-bench`, on Node ws (the stack a user would otherwise pick), in the
// plain-text protocol of examples/chat/PROTOCOL.md that chat-server
// speaks: the first text message is the username; it is answered with
// "* welcome NAME; online: A, B" and every other logged-in client gets
// "* NAME joined the chat"; each further message goes to every other
// logged-in client as "NAME: text"; a client that leaves is announced as
// "* NAME has left the chat". A name that is online is refused with
// "* name taken" and a close (1008).
//
//   node chat_ref_node.js [PORT]      (default 0: any free port)
//
// Prints "chat-ref-node listening on 127.0.0.1:PORT". Each broadcast line
// is encoded once, as a Buffer sent as text to every recipient (the
// shape of ws's README broadcast example), permessage-deflate off.
'use strict';
const path = require('path');
const peerlib = path.join(__dirname, '..', 'tests', 'interop', 'peerlib.js');
const { loadWs } = require(peerlib);
const WebSocket = loadWs();

const users = new Map(); // lower-cased name -> socket
const names = new Map(); // socket -> name

function broadcast(from, line) {
  const data = Buffer.from(line);
  for (const ws of names.keys())
    if (ws !== from && ws.readyState === WebSocket.OPEN)
      ws.send(data, { binary: false });
}

function login(ws, name) {
  if (!/^[\p{L}\p{N}_-]{1,32}$/u.test(name)) {
    ws.send(`* bad name: ${name}`);
    return ws.close(1008);
  }
  if (users.has(name.toLowerCase())) {
    ws.send('* name taken');
    return ws.close(1008);
  }
  users.set(name.toLowerCase(), ws);
  names.set(ws, name);
  const online = [...names.values()].sort((a, b) =>
    a.toLowerCase().localeCompare(b.toLowerCase()));
  ws.send(`* welcome ${name}; online: ${online.join(', ')}`);
  broadcast(ws, `* ${name} joined the chat`);
}

const wss = new WebSocket.Server({ host: '127.0.0.1',
                                   port: Number(process.argv[2] || 0),
                                   perMessageDeflate: false,
                                   clientTracking: false });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString().replace(/\n$/, '');
    const name = names.get(ws);
    if (name === undefined) login(ws, text);
    else broadcast(ws, `${name}: ${text}`);
  });
  ws.on('close', () => {
    const name = names.get(ws);
    if (name === undefined) return;
    names.delete(ws);
    users.delete(name.toLowerCase());
    broadcast(ws, `* ${name} has left the chat`);
  });
});
wss.on('listening', () => {
  const port = wss.address().port;
  process.stdout.write(`chat-ref-node listening on 127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
