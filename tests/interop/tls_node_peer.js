'use strict';
// Node ws over TLS (wss://) against our code.
//
//   node tls_node_peer.js --echo-port P --wscat PATH --ca FILE --cert FILE --key FILE
//
// "ws client -> wsecho (wss)": the ws client trusting the test CA against
// wsecho --tls-cert. "wscat -> ws server (wss)": wscat wss:// --ca against
// a ws server on Node's https server with the test certificate.
// Prints one JSON line per case (see peerlib.js Results).

const fs = require('fs');
const https = require('https');
const path = require('path');
const {
  SIZES, textOf, binaryOf, sizeName, check, Results, wscat, client, args, tmpfile, loadWs,
} = require('./peerlib');

const { WebSocket, WebSocketServer } = loadWs();

async function clientCases(res, a) {
  const url = `wss://localhost:${a.echo_port}/node`;
  const ca = fs.readFileSync(a.ca);

  const echo = (msg, binary) => async () => {
    const c = await client(WebSocket, url, [], { ca });
    c.ws.send(msg, { binary });
    const m = await c.next();
    check(m.isBinary === binary, `echo isBinary=${m.isBinary}`);
    check(m.data.equals(Buffer.from(msg)), `echo differs (${m.data.length} vs ${Buffer.byteLength(msg)})`);
    c.ws.close(1000);
    const cl = await c.closed;
    check(cl.code === 1000, `close reply ${cl.code}`);
  };
  for (const n of SIZES) {
    await res.run(`text ${sizeName(n)} over TLS`, echo(textOf(n), false));
    await res.run(`binary ${sizeName(n)} over TLS`, echo(binaryOf(n), true));
  }
  await res.run('binary 16 MiB over TLS', echo(binaryOf(16 << 20), true), 60000);

  await res.run('fragmented binary 1 MiB in 64 KiB fragments', async () => {
    const c = await client(WebSocket, url, [], { ca });
    const buf = binaryOf(1 << 20);
    for (let off = 0; off < buf.length; off += 65536) {
      c.ws.send(buf.subarray(off, off + 65536), { binary: true, fin: off + 65536 >= buf.length });
    }
    check((await c.next()).data.equals(buf), 'echo of the fragmented message differs');
    c.ws.close(4000, 'bye');
    check((await c.closed).code === 4000, 'close 4000 echoed');
  });

  await res.run('ping -> pong over TLS', async () => {
    const c = await client(WebSocket, url, [], { ca });
    const pong = new Promise((resolve) => c.ws.once('pong', resolve));
    c.ws.ping(Buffer.from('tls ping'));
    check((await pong).toString() === 'tls ping', 'pong payload');
    res.note(`ws client negotiated ${c.ws._socket.getProtocol()} ${c.ws._socket.getCipher().name}` +
      `, ALPN ${c.ws._socket.alpnProtocol}`);
    c.ws.close(1000);
    await c.closed;
  });

  await res.run('refused without the test CA', async () => {
    try {
      await client(WebSocket, url);
    } catch (e) {
      check(/self.signed|issuer|verify/i.test(e.message), e.message);
      return;
    }
    throw new Error('connected without trusting the test CA');
  });
}

async function serverCases(res, a) {
  const server = https.createServer({ cert: fs.readFileSync(a.cert), key: fs.readFileSync(a.key) });
  const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 64 << 20 });
  const closes = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('close', (code) => closes.push(code));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `wss://localhost:${server.address().port}/`;

  await res.run('wscat lines echoed', async () => {
    const r = await wscat(a.wscat, url, ['--ca', a.ca], { stdin: 'hello\nwörld\n', expect: 13 });
    check(r.code === 0, `wscat exit ${r.code}: ${r.err}`);
    check(r.out.toString() === 'hello\nwörld\n', `wscat printed ${JSON.stringify(r.out.toString())}`);
  });
  await res.run('wscat --binary 3 MiB', async () => {
    const data = binaryOf(3 << 20);
    const src = tmpfile('tls-node-blob', data);
    const dst = tmpfile('tls-node-out', Buffer.alloc(0));
    const r = await wscat(a.wscat, url, ['--ca', a.ca, '--binary', src, '--output', dst], { expect: 0 });
    const got = fs.readFileSync(dst);
    check(r.code === 0 && got.equals(data), `exit ${r.code}, ${got.length} bytes back: ${r.err}`);
  });
  await res.run('wscat closes with 1000', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    check(closes.length === 2 && closes.every((c) => c === 1000), `close codes ${closes}`);
  });
  await res.run('wscat without --ca refuses the certificate', async () => {
    const r = await wscat(a.wscat, url, [], { stdin: 'x\n', expect: null });
    check(r.code === 2 && /certificate verify failed/.test(r.err), `exit ${r.code}: ${r.err}`);
  });
  wss.close();
  server.close();
}

(async () => {
  const a = args();
  await clientCases(new Results('ws client -> wsecho (wss)'), a);
  await serverCases(new Results('wscat -> ws server (wss)'), a);
  process.exit(0);
})();
