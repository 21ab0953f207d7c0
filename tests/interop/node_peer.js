'use strict';
// Node ws (npm ws, pinned in package-lock.json) against our code.
//
//   node node_peer.js --echo-port P --small-port P --sigterm-port P
//                     --sigterm-pid PID --wscat PATH
//
// "ws client -> wsecho": the ws client against wsecho.
// "wscat -> ws server": wscat against a ws server defined here, which
// records what it received (messages, pings, close code and reason).
// Prints one JSON line per case (see peerlib.js Results).

const path = require('path');
const {
  SIZES, UNICODE, textOf, binaryOf, sizeName, check, digest, Results, wscat, client, args, tmpfile, loadWs,
} = require('./peerlib');

const { WebSocket, WebSocketServer } = loadWs();

// ------------------------------------------------------ client -> wsecho

async function clientCases(res, a) {
  const url = `ws://127.0.0.1:${a.echo_port}/node`;

  const echo = (msg, binary) => async () => {
    const c = await client(WebSocket, url);
    c.ws.send(msg, { binary });
    const m = await c.next();
    check(m.isBinary === binary, `echo isBinary=${m.isBinary}`);
    check(m.data.equals(Buffer.from(msg)), `echo differs (${m.data.length} vs ${Buffer.byteLength(msg)})`);
    c.ws.close(1000);
    await c.closed;
  };

  for (const n of SIZES) {
    await res.run(`text ${sizeName(n)} (multi-byte UTF-8)`, echo(textOf(n), false));
    await res.run(`binary ${sizeName(n)}`, echo(binaryOf(n), true));
  }
  await res.run('text with 2-, 3-, 4-byte characters', echo(UNICODE, false));

  // ws sends fragments with { fin: false }; a Buffer fragment may end in
  // the middle of a character, which the next one completes.
  const fragmented = (buf, binary, piece) => async () => {
    const c = await client(WebSocket, url);
    for (let off = 0; off < buf.length; off += piece) {
      c.ws.send(buf.subarray(off, off + piece), { binary, fin: off + piece >= buf.length });
    }
    const m = await c.next();
    check(m.data.equals(buf), 'echo of the fragmented message differs');
    c.ws.close(1000);
    await c.closed;
  };
  await res.run('fragmented text, characters split across 7-byte fragments',
    fragmented(Buffer.from(UNICODE.repeat(20)), false, 7));
  await res.run('fragmented binary 1 MiB in 64 KiB fragments',
    fragmented(binaryOf(1 << 20), true, 65536));

  await res.run('ping -> pong with the same payload', async () => {
    const c = await client(WebSocket, url);
    const payload = Buffer.from('node-ping \u0000\u00ff');
    const pong = new Promise((resolve) => c.ws.once('pong', resolve));
    c.ws.ping(payload);
    check((await pong).equals(payload), 'pong payload differs');
    const pong2 = new Promise((resolve) => c.ws.once('pong', resolve));
    c.ws.ping(Buffer.alloc(125, 0x41));
    check((await pong2).length === 125, '125-byte pong');
    c.ws.close(1000);
    await c.closed;
  });

  await res.run('50 messages in a row, echoed in order', async () => {
    const c = await client(WebSocket, url);
    const msgs = [];
    for (let i = 0; i < 50; i++) msgs.push(i % 2 ? textOf(i * 37) : binaryOf(i * 37));
    for (const m of msgs) c.ws.send(m, { binary: typeof m !== 'string' });
    for (let i = 0; i < 50; i++) {
      const m = await c.next();
      check(m.data.equals(Buffer.from(msgs[i])), `message ${i} out of order or wrong`);
    }
    c.ws.close(1000);
    await c.closed;
  });

  const clientClose = (code, reason) => async () => {
    const c = await client(WebSocket, url);
    c.ws.send('before close');
    check((await c.next()).data.toString() === 'before close', 'echo before close');
    c.ws.close(code, reason);
    const cl = await c.closed;
    check(cl.code === code, `server replied close ${cl.code}, want ${code}`);
    check(cl.reason === '', `reply reason '${cl.reason}'`);
  };
  await res.run('client close 1000 -> reply 1000', clientClose(1000, ''));
  await res.run("client close 4000 'client bye' -> reply 4000", clientClose(4000, 'client bye'));
  await res.run('client close 3999 with a UTF-8 reason -> reply 3999', clientClose(3999, 'κόσμε'));

  await res.run('server close: message over --max-message -> 1009 + reason', async () => {
    const c = await client(WebSocket, `ws://127.0.0.1:${a.small_port}/node`);
    c.ws.send(binaryOf(1024));
    check((await c.next()).data.equals(binaryOf(1024)), '1024 B echo');
    c.ws.send(binaryOf(1025));
    const cl = await c.closed;
    check(cl.code === 1009, `close code ${cl.code}, want 1009`);
    check(cl.reason.length > 0, '1009 close without a reason');
  });

  await res.run('server close: invalid UTF-8 in a text message -> 1007', async () => {
    const c = await client(WebSocket, url);
    c.ws.on('error', () => {}); // ws reports the peer's close as it is
    c.ws.send(Buffer.from([0xce, 0xba, 0xed, 0xa0, 0x80]), { binary: false });
    const cl = await c.closed;
    check(cl.code === 1007, `close code ${cl.code}, want 1007`);
  });

  await res.run('server close: SIGTERM -> 1001', async () => {
    const c = await client(WebSocket, `ws://127.0.0.1:${a.sigterm_port}/node`);
    c.ws.send('hi');
    check((await c.next()).data.toString() === 'hi', 'echo before SIGTERM');
    process.kill(Number(a.sigterm_pid), 'SIGTERM');
    const cl = await c.closed;
    check(cl.code === 1001, `close code ${cl.code}, want 1001`);
  }, 8000);

  // RFC 6455 §4.1 lets a server pick no subprotocol; ws fails the
  // handshake then ("Server sent no subprotocol"). Either outcome is
  // consistent; the ws refusal is reported as a note.
  await res.run('subprotocol offered: ws needs one chosen', async () => {
    let c;
    try {
      c = await client(WebSocket, url, ['chat']);
    } catch (e) {
      check(/no subprotocol/i.test(e.message), e.message);
      res.note('ws fails the handshake when the server picks none of the offered subprotocols ' +
        '(RFC 6455 lets it pick none); wsecho picks none');
      return;
    }
    check(c.ws.protocol === 'chat', `protocol '${c.ws.protocol}'`);
    c.ws.send('proto');
    check((await c.next()).data.toString() === 'proto', 'echo');
    c.ws.close(1000);
    await c.closed;
  });
}

// ------------------------------------ permessage-deflate, client -> wsecho

const DEFLATE_SIZES = [0, 125, 64 * 1024, 1 << 20, 4 << 20];

// JSON-looking ASCII text of exactly n bytes.
function jsonOf(n) {
  const parts = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const r = `{"id":${i},"name":"user${i % 97}","ok":true},`;
    parts.push(r);
    len += r.length;
  }
  return parts.join('').slice(0, n);
}

async function deflateClientCases(res, a) {
  const url = `ws://127.0.0.1:${a.echo_port}/node-deflate`;
  const offers = [
    ['default offer', {}, null],
    ['no context takeover, both',
      { serverNoContextTakeover: true, clientNoContextTakeover: true }, 'server_no_context_takeover'],
    ['max window bits 9, both', { serverMaxWindowBits: 9, clientMaxWindowBits: 9 },
      'server_max_window_bits=9'],
    ['max window bits 15, both', { serverMaxWindowBits: 15, clientMaxWindowBits: 15 },
      'server_max_window_bits=15'],
  ];
  for (const [name, opts, want] of offers) {
    await res.run(`deflate ${name}: 0 B - 4 MiB JSON, binary, UTF-8`, async () => {
      const c = await client(WebSocket, url, [], { perMessageDeflate: { threshold: 0, ...opts } });
      check(c.extensions.startsWith('permessage-deflate'),
        `wsecho answered Sec-WebSocket-Extensions '${c.extensions}'`);
      check(want === null || c.extensions.includes(want), `'${want}' not in '${c.extensions}'`);
      for (const n of DEFLATE_SIZES) {
        for (const [msg, binary] of [[jsonOf(n), false], [binaryOf(n), true], [textOf(n), false]]) {
          c.ws.send(msg, { binary });
          const m = await c.next();
          check(m.isBinary === binary && m.data.equals(Buffer.from(msg)),
            `echo of ${sizeName(n)} differs (${m.data.length} vs ${Buffer.byteLength(msg)})`);
        }
      }
      c.ws.close(1000);
      await c.closed;
    }, 60000);
  }
  await res.run('wsecho --no-deflate: offer declined, echo uncompressed', async () => {
    const c = await client(WebSocket, `ws://127.0.0.1:${a.nodeflate_port}/node`, [],
      { perMessageDeflate: true });
    check(c.extensions === '', `wsecho --no-deflate answered '${c.extensions}'`);
    c.ws.send(jsonOf(5000));
    check((await c.next()).data.toString() === jsonOf(5000), 'echo');
    c.ws.close(1000);
    await c.closed;
  });
}

// ------------------------------------------ wscat --deflate -> ws server

async function deflateWscat(res, a, name, pmd, want) {
  const wss = new WebSocketServer({
    host: '127.0.0.1', port: 0, maxPayload: 64 << 20, perMessageDeflate: { threshold: 0, ...pmd },
  });
  await new Promise((resolve) => wss.on('listening', resolve));
  let hdr = '';
  let rec = null;
  wss.on('headers', (h) => { hdr = h.find((l) => /^sec-websocket-extensions:/i.test(l)) || ''; });
  wss.on('connection', (ws) => {
    const r = { msgs: [] };
    ws.on('message', (data, isBinary) => {
      r.msgs.push(Buffer.from(data));
      ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code) => { r.code = code; rec = r; });
  });
  const port = wss.address().port;
  await res.run(name, async () => {
    const texts = DEFLATE_SIZES.map(jsonOf).concat([textOf(1 << 20)]);
    const data = binaryOf(1 << 20);
    const file = tmpfile('node-wscat-deflate.bin', data);
    const stdin = Buffer.from(texts.map((t) => `${t}\n`).join(''));
    const want0 = Buffer.concat([Buffer.from(`${data.toString('hex')}\n`), stdin]);
    const r = await wscat(a.wscat, `ws://127.0.0.1:${port}/d`, ['--deflate', '-v', '--binary', file],
      { stdin, expect: want0.length, timeoutMs: 60000 });
    check(/^sec-websocket-extensions: permessage-deflate/i.test(hdr), `ws answered '${hdr}'`);
    check(!want || hdr.includes(want), `'${want}' not in '${hdr}'`);
    check(r.err.includes('extensions permessage-deflate'), `wscat -v: '${r.err.slice(-300)}'`);
    for (let i = 0; i < 50 && !rec; i++) await new Promise((ok) => setTimeout(ok, 100));
    check(rec && rec.msgs.length === texts.length + 1 && rec.msgs[0].equals(data)
      && rec.msgs.slice(1).every((m, i) => m.toString() === texts[i]),
    `server got ${rec ? rec.msgs.map((m) => m.length).slice(0, 6) : 'nothing'}`);
    check(r.out.equals(want0), `wscat printed ${r.out.length} bytes, want ${want0.length}`);
    check(r.code === 0 && rec.code === 1000, `wscat exit ${r.code}, close ${rec.code}: ${r.err.slice(-200)}`);
  }, 70000);
  await new Promise((resolve) => wss.close(resolve));
}

async function deflateWscatCases(res, a) {
  await deflateWscat(res, a, '--deflate: lines 0 B - 4 MiB and a 1 MiB --binary, compressed', {}, null);
  await deflateWscat(res, a, '--deflate against a server that demands no context takeover and 9-bit windows',
    {
      serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 9,
    }, 'client_max_window_bits=9');
}

// ------------------------------------------------------ wscat -> server

async function wscatCases(res, a) {
  const records = new Map();
  const waiters = new Map();
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    maxPayload: 64 << 20,
    handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false),
    verifyClient: (info, cb) => (info.req.url.startsWith('/reject') ? cb(false, 403, 'refused') : cb(true)),
  });
  await new Promise((resolve) => wss.on('listening', resolve));
  const port = wss.address().port;

  wss.on('connection', (ws, req) => {
    const id = new URL(req.url, 'http://x').searchParams.get('id');
    const rec = { msgs: [], pings: [], protocol: ws.protocol };
    if (req.url.startsWith('/badutf8')) {
      ws.send(Buffer.from([0x6f, 0x6b, 0xed, 0xa0, 0x80]), { binary: false });
    }
    ws.on('message', (data, isBinary) => {
      rec.msgs.push({ data: Buffer.from(data), isBinary });
      if (req.url.startsWith('/close')) {
        ws.send('closing');
        ws.close(4001, 'server bye');
      } else {
        ws.send(data, { binary: isBinary });
      }
    });
    ws.on('ping', (d) => rec.pings.push(Buffer.from(d)));
    ws.on('close', (code, reason) => {
      rec.code = code;
      rec.reason = reason.toString();
      records.set(id, rec);
      if (waiters.has(id)) waiters.get(id)(rec);
    });
  });
  const wait = (id) => new Promise((resolve, reject) => {
    if (records.has(id)) return resolve(records.get(id));
    waiters.set(id, resolve);
    setTimeout(() => reject(new Error('server saw no close from wscat within 5 s')), 5000);
  });
  let seq = 0;
  const url = (p = '/echo') => { seq += 1; return [`ws://127.0.0.1:${port}${p}?id=${seq}`, String(seq)]; };

  const lines = (texts, extra = []) => async () => {
    const [u, id] = url();
    const stdin = Buffer.from(texts.map((t) => `${t}\n`).join(''));
    const r = await wscat(a.wscat, u, extra, { stdin, expect: stdin.length });
    const rec = await wait(id);
    check(rec.msgs.length === texts.length && rec.msgs.every((m, i) => !m.isBinary && m.data.toString() === texts[i]),
      `server got ${rec.msgs.length} messages, sent ${texts.length}`);
    check(r.out.equals(stdin), `wscat printed ${r.out.length} bytes, want the ${stdin.length} sent back`);
    check(r.code === 0, `wscat exit ${r.code}: ${r.err.trim().slice(-200)}`);
    check(rec.code === 1000, `wscat closed with ${rec.code}, want 1000`);
  };
  for (const n of SIZES) if (n) await res.run(`text line ${sizeName(n)} (multi-byte UTF-8)`, lines([textOf(n)]));
  await res.run('empty line -> 0 B text', lines(['', 'after empty']));
  await res.run('lines with 2-, 3-, 4-byte characters', lines([UNICODE, 'plain', UNICODE.repeat(3)]));
  await res.run('--fragment 100: 64 KiB line arrives whole', lines([textOf(65536)], ['--fragment', '100']));

  const binary = (n, extra = []) => async () => {
    const data = binaryOf(n);
    const file = tmpfile(`node-wscat-${n}.bin`, data);
    const [u, id] = url();
    const r = await wscat(a.wscat, u, ['--binary', file, ...extra], { expect: 2 * n + 1 });
    const rec = await wait(id);
    check(rec.msgs.length === 1 && rec.msgs[0].isBinary && rec.msgs[0].data.equals(data),
      `server got ${rec.msgs.map((m) => m.data.length)}, want ${n} B (${digest(data)})`);
    check(r.out.toString() === `${data.toString('hex')}\n`, `wscat printed ${r.out.length} bytes, want the hex echo`);
    check(r.code === 0, `wscat exit ${r.code}: ${r.err.trim().slice(-200)}`);
    check(rec.code === 1000, `wscat closed with ${rec.code}`);
  };
  for (const n of SIZES) await res.run(`--binary ${sizeName(n)}`, binary(n));
  await res.run('--binary 1 MiB --fragment 4096 arrives whole', binary(1 << 20, ['--fragment', '4096']));

  await res.run('--ping: server gets a ping', async () => {
    const [u, id] = url();
    const r = await wscat(a.wscat, u, ['--ping'], { stdin: 'x\n', expect: 2 });
    const rec = await wait(id);
    check(rec.pings.length >= 1, 'server got no ping');
    check(r.code === 0, `wscat exit ${r.code}: ${r.err.trim().slice(-200)}`);
  });

  await res.run("server close 4001 'server bye' -> wscat replies 4001, reports it", async () => {
    const [u, id] = url('/close');
    const r = await wscat(a.wscat, u, [], { stdin: 'hello\n' });
    const rec = await wait(id);
    check(rec.msgs.length === 1 && rec.msgs[0].data.toString() === 'hello', 'server got the message');
    check(r.out.toString().startsWith('closing\n'), `wscat printed '${r.out.toString().slice(0, 60)}'`);
    check(rec.code === 4001, `wscat replied close ${rec.code}, want 4001`);
    check(r.err.includes('4001') && r.err.includes('server bye'),
      `wscat did not report close 4001 'server bye' (stderr '${r.err.slice(-200)}')`);
  });

  await res.run('server sends invalid UTF-8 text -> wscat closes 1007, fails', async () => {
    const [u, id] = url('/badutf8');
    const r = await wscat(a.wscat, u, [], { stdin: '' });
    const rec = await wait(id);
    check(rec.code === 1007, `wscat closed with ${rec.code}, want 1007`);
    check(r.code !== 0, 'wscat exit 0 after the server broke the protocol');
    check(r.err.trim().length > 0, 'wscat gave no message');
  });

  await res.run('--subprotocol chat negotiated', async () => {
    const [u, id] = url();
    const r = await wscat(a.wscat, u, ['--subprotocol', 'chat'], { stdin: 'p\n', expect: 2 });
    const rec = await wait(id);
    check(rec.protocol === 'chat', `server selected '${rec.protocol}'`);
    check(r.code === 0 && r.out.toString() === 'p\n', `wscat exit ${r.code} out '${r.out}': ${r.err.slice(-200)}`);
  });

  await res.run('handshake refused with 403 -> wscat fails with a message', async () => {
    const [u] = url('/reject');
    const r = await wscat(a.wscat, u, [], { stdin: 'x\n', expect: 0 });
    check(r.code !== 0, 'wscat exit 0 on a 403');
    check(r.err.trim().length > 0, 'wscat gave no message on a 403');
  });

  await new Promise((resolve) => wss.close(resolve));
}

(async () => {
  const a = args();
  for (const k of ['echo_port', 'small_port', 'sigterm_port', 'sigterm_pid', 'wscat', 'nodeflate_port']) {
    if (!a[k]) {
      process.stderr.write(`node driver: missing --${k.replace(/_/g, '-')}\n`);
      process.exit(2);
    }
  }
  await clientCases(new Results('ws client -> wsecho'), a);
  await deflateClientCases(new Results('ws client -> wsecho'), a);
  await wscatCases(new Results('wscat -> ws server'), a);
  await deflateWscatCases(new Results('wscat -> ws server'), a);
  process.exit(0);
})();
