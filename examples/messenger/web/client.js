'use strict';
/*
 * Messenger browser client. Speaks the packet format of PROTOCOL.md over
 * one WebSocket to the server that served this page (or the one named by
 * ?ws=ws://host:port/). Every packet sent and received is logged with its
 * meaning. When the connection is lost it reconnects, with a growing
 * delay, and associates again as the same ID.
 */

const MAX_PAYLOAD = 254;
const HEADER = 5;
const TYPE = { MANAGEMENT: 0, CONTROL: 1, DATA: 2 };
const CODE = {
  ASSOCIATE: [0, 0], ASSOCIATIONSUCCESS: [0, 1], ASSOCIATIONFAILED: [0, 2],
  UNKNOWNERROR: [0, 3], GET: [1, 0], BUFFEREMPTY: [1, 1], POSITIVEACK: [1, 2],
  BUFFERFULL: [1, 3], PUSH: [2, 1], GETRESPONSE: [2, 0],
};
const NAME = Object.fromEntries(
  Object.entries(CODE).map(([name, [type, code]]) => [`${type}:${code}`, name]));

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/* ------------------------------------------------------------ packets */

function encodePacket(name, sender, receiver, payload = new Uint8Array(0)) {
  const [type, code] = CODE[name];
  const p = new Uint8Array(HEADER + payload.length);
  p.set([type, code, sender, receiver, payload.length]);
  p.set(payload, HEADER);
  return p;
}

/* Returns the packet's fields, or null when it breaks PROTOCOL.md. */
function decodePacket(bytes) {
  if (bytes.length < HEADER || bytes[4] !== bytes.length - HEADER) return null;
  const name = NAME[`${bytes[0]}:${bytes[1]}`];
  if (!name) return null;
  return { name, sender: bytes[2], receiver: bytes[3], payload: bytes.subarray(HEADER) };
}

function hex(bytes) {
  return Array.from(bytes.subarray(0, 16), b => b.toString(16).padStart(2, '0')).join(' ')
    + (bytes.length > 16 ? ' …' : '');
}

function describe(p) {
  const text = p.payload.length ? ` "${decoder.decode(p.payload)}"` : '';
  switch (p.name) {
    case 'ASSOCIATE': return `ASSOCIATE as ${p.sender}`;
    case 'PUSH': return `PUSH from ${p.sender} to ${p.receiver}${text} (${p.payload.length} bytes)`;
    case 'GET': return `GET for ${p.sender}`;
    case 'GETRESPONSE': return `GETRESPONSE from ${p.sender}${text}`;
    default: return `${p.name} for ${p.receiver}`;
  }
}

/* ----------------------------------------------------------------- UI */

const $ = id => document.getElementById(id);
const ui = {
  status: $('status'), me: $('me'), clientId: $('client-id'), associate: $('associate'),
  to: $('to'), text: $('text'), byteCount: $('byte-count'), send: $('send'),
  sendStatus: $('send-status'), get: $('get'), getAll: $('get-all'),
  inboxStatus: $('inbox-status'), inbox: $('inbox'), log: $('log'), error: $('error'),
};

const state = {
  ws: null,
  myId: null,        // our ID once associated
  wantId: null,      // the ID to associate as again after a reconnect
  asking: null,      // the ID an ASSOCIATE is pending for
  pending: [],       // requests waiting for their reply, in order
  getAll: null,      // { count } while "Get all" is fetching
  retryMs: 500,
  attempts: 0,       // failed connection attempts since the last open
};

function log(kind, line) {
  const li = document.createElement('li');
  li.className = kind;
  li.textContent = line;
  ui.log.append(li);
  ui.log.scrollTop = ui.log.scrollHeight;
}

function showError(message) {
  ui.error.textContent = message;
  ui.error.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { ui.error.hidden = true; }, 6000);
}

function setStatus(text, connected) {
  ui.status.textContent = text;
  ui.status.className = `status ${connected ? 'connected' : 'disconnected'}`;
}

/* A line under a card's button: what the last action came to. */
function say(el, text, kind = '') {
  el.textContent = text;
  el.className = `hint ${kind}`.trim();
}

function validId(input) {
  const v = input.value.trim();
  if (!/^\d{1,3}$/.test(v) || Number(v) > 255) return null;
  return Number(v);
}

function refreshControls() {
  const open = state.ws && state.ws.readyState === WebSocket.OPEN;
  const bytes = encoder.encode(ui.text.value).length;
  ui.byteCount.textContent = String(bytes);
  ui.byteCount.parentElement.classList.toggle('over', bytes > MAX_PAYLOAD);
  ui.associate.disabled = !open || state.myId !== null || state.asking !== null;
  ui.send.disabled = !open || state.myId === null || bytes > MAX_PAYLOAD;
  ui.get.disabled = !open || state.myId === null || state.getAll !== null;
  ui.getAll.disabled = ui.get.disabled;
  ui.me.textContent = state.myId === null ? 'Not associated.' : `You are client ${state.myId}.`;
}

/* ------------------------------------------------------------ network */

function serverUrl() {
  const override = new URLSearchParams(location.search).get('ws');
  if (override) return override;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/`;
}

function send(packet, request) {
  const p = decodePacket(packet);
  ui.error.hidden = true; // a new request: the last one's alert is stale
  clearTimeout(showError.timer);
  log('sent', `${describe(p)}  [${hex(packet)}]`);
  state.pending.push(request);
  state.ws.send(packet);
}

function connect() {
  const url = serverUrl();
  setStatus(`Connecting to ${url}…`, false);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  let opened = false;
  ws.onopen = () => {
    opened = true;
    state.retryMs = 500;
    state.attempts = 0;
    setStatus(`Connected to ${url}`, true);
    log('note', `connected to ${url}`);
    if (state.wantId !== null) { // the server restarted: carry on as before
      log('note', `associating again as ${state.wantId}`);
      state.asking = state.wantId;
      send(encodePacket('ASSOCIATE', state.wantId, 0), { kind: 'associate', id: state.wantId });
    }
    refreshControls();
  };
  ws.onmessage = ev => {
    if (typeof ev.data === 'string') {
      log('received', `text message (not a packet): ${ev.data}`);
      return;
    }
    onPacket(new Uint8Array(ev.data));
  };
  ws.onclose = ev => {
    state.myId = null;
    state.asking = null;
    state.pending = [];
    state.getAll = null;
    const why = ev.code === 1006 ? 'connection lost' : `closed ${ev.code} ${ev.reason}`.trim();
    if (opened) { // one log line per lost connection, not one per retry
      log('note', `disconnected: ${why}`);
      if (state.wantId !== null) {
        showError(`Disconnected; reconnecting, then associating again as ${state.wantId}.`);
      }
      setStatus(`Disconnected (${why}); retrying in ${state.retryMs / 1000}s`, false);
    } else {
      state.attempts++;
      setStatus(`Disconnected; retrying in ${state.retryMs / 1000}s `
        + `(${state.attempts} attempt${state.attempts === 1 ? '' : 's'} failed)`, false);
    }
    refreshControls();
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 8000);
  };
}

function onPacket(bytes) {
  const p = decodePacket(bytes);
  if (!p) {
    log('received', `malformed packet [${hex(bytes)}]`);
    showError('The server sent a packet this client cannot read.');
    return;
  }
  log('received', `${describe(p)}  [${hex(bytes)}]`);
  const request = state.pending.shift() || { kind: 'unsolicited' };
  switch (p.name) {
    case 'ASSOCIATIONSUCCESS':
      state.myId = state.wantId = p.receiver;
      state.asking = null;
      break;
    case 'ASSOCIATIONFAILED':
      state.asking = null;
      if (state.wantId === p.receiver) state.wantId = null; // taken while we were away
      showError(`Could not associate as ${p.receiver}: that ID is in use by another connection.`);
      break;
    case 'POSITIVEACK':
      log('note', `message to ${request.to} stored on the server`);
      say(ui.sendStatus, `✓ Sent to ${request.to}: stored on the server until ${request.to} gets it.`, 'ok');
      break;
    case 'BUFFERFULL':
      say(ui.sendStatus, `✗ Not sent: client ${request.to}'s buffer is full.`, 'bad');
      showError(`Client ${request.to}'s buffer is full (100 messages): the message was not stored.`);
      break;
    case 'GETRESPONSE':
      addInbox(p.sender, decoder.decode(p.payload));
      if (state.getAll) {
        state.getAll.count++;
        send(encodePacket('GET', state.myId, 0), { kind: 'get' });
      } else {
        say(ui.inboxStatus, '');
      }
      break;
    case 'BUFFEREMPTY':
      if (state.getAll) {
        const n = state.getAll.count;
        say(ui.inboxStatus, `Got ${n} message${n === 1 ? '' : 's'}; none left waiting.`, 'ok');
        state.getAll = null;
      } else {
        say(ui.inboxStatus, `No messages waiting (asked at ${new Date().toLocaleTimeString()}).`);
      }
      break;
    case 'UNKNOWNERROR':
      state.asking = null;
      state.getAll = null;
      if (request.kind === 'push') say(ui.sendStatus, '✗ Not sent: the server refused the packet.', 'bad');
      showError('The server did not accept the last packet (UNKNOWNERROR).');
      break;
    default:
      showError(`Unexpected ${p.name} from the server.`);
  }
  refreshControls();
}

/* Messages are listed as they come, oldest first: the newest at the end. */
function addInbox(from, text) {
  const li = document.createElement('li');
  const who = document.createElement('span');
  who.className = 'from';
  who.textContent = `from ${from}:`;
  li.append(who, document.createTextNode(text));
  ui.inbox.append(li);
  ui.inbox.scrollTop = ui.inbox.scrollHeight;
}

/* ------------------------------------------------------------ actions */

$('assoc-form').addEventListener('submit', ev => {
  ev.preventDefault();
  const id = validId(ui.clientId);
  if (id === null) return showError('A client ID is a whole number from 0 to 255.');
  state.asking = id;
  send(encodePacket('ASSOCIATE', id, 0), { kind: 'associate', id });
  refreshControls();
});

$('send-form').addEventListener('submit', ev => {
  ev.preventDefault();
  const to = validId(ui.to);
  if (to === null) return showError('The receiver is a client ID from 0 to 255.');
  const payload = encoder.encode(ui.text.value);
  if (payload.length > MAX_PAYLOAD) {
    return showError(`The message is ${payload.length} bytes; at most ${MAX_PAYLOAD} fit in a packet.`);
  }
  send(encodePacket('PUSH', state.myId, to, payload), { kind: 'push', to });
  say(ui.sendStatus, `Sending to ${to}…`);
  ui.text.value = '';
  refreshControls();
});

ui.get.addEventListener('click', () => {
  send(encodePacket('GET', state.myId, 0), { kind: 'get' });
});

ui.getAll.addEventListener('click', () => {
  state.getAll = { count: 0 };
  say(ui.inboxStatus, 'Getting every waiting message…');
  send(encodePacket('GET', state.myId, 0), { kind: 'get' });
  refreshControls();
});

ui.text.addEventListener('input', refreshControls);

connect();
refreshControls();
