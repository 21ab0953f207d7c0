'use strict';
/*
 * Rooms browser client. One WebSocket to the server that served this page
 * (or the one named by ?ws=ws://host:port/ws) carries the packets of
 * ../PROTOCOL.md as binary messages, each led by one kind byte:
 *   1  a TCRP message (32-byte header, room name, payload), both ways;
 *   2  a room datagram: to the server RoomNameSize | TokenSize | RoomName |
 *      Token | Message, from the server the JSON body of a chat line or a
 *      system notice.
 * The page is one more member of a room, like a UDP CLI client: it keeps
 * its token, sends a heartbeat (an empty message) well inside the idle
 * timeout, and learns the members from the join answer and the notices.
 */

const KIND = { TCRP: 1, DGRAM: 2 };
const OP = { CREATE: 1, JOIN: 2, LEAVE: 3, KICK: 4, CLOSE: 5, LIST: 6 };
const STATE = { REQUEST: 0, RESPONSE: 1, COMPLETE: 2 };
const HEADER = 32;         // RoomNameSize, Operation, State, 29-byte size
const MAX_DGRAM = 4096;    // a room datagram, whole
const MAX_NAME = 255;      // room names and usernames, in UTF-8 bytes
const ANSWER_MS = 10000;   // the server's own transaction limit
const LIST_EVERY_MS = 10000;

const encoder = new TextEncoder();
const strict = new TextDecoder('utf-8', { fatal: true });
const utf8Len = (s) => encoder.encode(s).length;

/* ------------------------------------------------------------ packets */

/* A TCRP message, led by its kind byte. The 29-byte size is big-endian;
 * JavaScript numbers are exact to 2^53, far beyond any payload here. */
function encodeTcrp(op, state, room, payload) {
  const name = encoder.encode(room);
  const body = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const m = new Uint8Array(1 + HEADER + name.length + body.length);
  m[0] = KIND.TCRP;
  m[1] = name.length;
  m[2] = op;
  m[3] = state;
  let n = body.length;
  for (let i = HEADER; i >= 4; i--) { // bytes 3..31 of the header
    m[i] = n % 256;
    n = Math.floor(n / 256);
  }
  m.set(name, 1 + HEADER);
  m.set(body, 1 + HEADER + name.length);
  return m;
}

/* The fields of a TCRP message (without its kind byte), or an Error that
 * says what is wrong with it. */
function decodeTcrp(b) {
  if (b.length < HEADER) {
    return new Error(`TCRP message of ${b.length} bytes, shorter than its header`);
  }
  let size = 0;
  for (let i = 3; i < HEADER; i++) {
    size = size * 256 + b[i];
    if (size > Number.MAX_SAFE_INTEGER) return new Error('TCRP payload size out of range');
  }
  const nameLen = b[0];
  if (HEADER + nameLen + size !== b.length) {
    return new Error(`TCRP message of ${b.length} bytes announces ${HEADER + nameLen + size}`);
  }
  let room;
  try {
    room = strict.decode(b.subarray(HEADER, HEADER + nameLen));
  } catch (e) {
    return new Error('TCRP room name is not UTF-8');
  }
  return { op: b[1], state: b[2], room, payload: b.subarray(HEADER + nameLen) };
}

function encodeDatagram(room, token, text) {
  const name = encoder.encode(room);
  const msg = encoder.encode(text);
  const m = new Uint8Array(3 + name.length + token.length + msg.length);
  m[0] = KIND.DGRAM;
  m[1] = name.length;
  m[2] = token.length;
  m.set(name, 3);
  m.set(token, 3 + name.length);
  m.set(msg, 3 + name.length + token.length);
  return m;
}

/* How many message bytes fit in one datagram of this room. */
function messageRoom(room, token) {
  return MAX_DGRAM - 2 - utf8Len(room) - token.length;
}

/* ----------------------------------------------------------------- UI */

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'), lobby: $('lobby'), roomView: $('room-view'),
  refresh: $('refresh'), roomList: $('room-list'), roomsEmpty: $('rooms-empty'),
  roomsUpdated: $('rooms-updated'), notice: $('notice'), form: $('enter-form'),
  username: $('username'), room: $('room'), password: $('password'),
  formError: $('form-error'), join: $('join'), create: $('create'),
  roomTitle: $('room-title'), roomLock: $('room-lock'), meLine: $('me-line'),
  closeRoom: $('close-room'), leave: $('leave'), ended: $('ended'),
  endedText: $('ended-text'), back: $('back'), messages: $('messages'),
  compose: $('compose'), text: $('text'), send: $('send'),
  byteCount: $('byte-count'), byteMax: $('byte-max'), memberCount: $('member-count'),
  memberList: $('member-list'), members: document.querySelector('.members'),
  hostHint: $('host-hint'), error: $('error'),
};

const state = {
  ws: null,
  open: false,
  pending: [],   // requests waiting for their answer, oldest first
  room: null,    // { name, username, token, host, members:Set, locked, ended }
  heartbeat: null,
  listTimer: null,
  retryMs: 500,
  busy: false,   // a create or join is on its way
};

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function clock() {
  return new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

let toastTimer = null;
function showError(text) {
  ui.error.textContent = text;
  ui.error.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { ui.error.hidden = true; }, 6000);
}

function formError(text) {
  ui.formError.textContent = text || '';
  ui.formError.hidden = !text;
}

function setStatus(text, on, detail) {
  ui.status.textContent = text;
  ui.status.title = detail || '';
  ui.status.className = `pill ${on ? 'pill-on' : 'pill-off'}`;
}

function setNotice(text) {
  ui.notice.textContent = text || '';
  ui.notice.hidden = !text;
}

function updateControls() {
  const can = state.open && !state.busy;
  ui.join.disabled = !can;
  ui.create.disabled = !can;
  ui.refresh.disabled = !state.open;
  const r = state.room;
  const live = r && !r.ended && state.open;
  ui.text.disabled = !live;
  ui.send.disabled = !live || ui.text.value === '' ||
    utf8Len(ui.text.value) > messageRoom(r.name, r.token);
  ui.leave.disabled = !live;
  ui.leave.hidden = Boolean(r && r.ended); // the banner's Back takes over
  ui.closeRoom.hidden = !(r && r.host === r.username) || ui.leave.hidden;
  ui.closeRoom.disabled = !live;
}

/* ---------------------------------------------------------- the lobby */

function renderRooms(rooms) {
  ui.roomList.replaceChildren();
  const sorted = rooms.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const r of sorted) {
    const li = el('li', 'room-item');
    li.dataset.room = r.name;
    const pick = el('button', 'room-pick');
    pick.type = 'button';
    const name = el('span', 'room-name', r.name);
    if (r.password) {
      const lock = el('span', 'lock');
      lock.title = 'Password room';
      lock.setAttribute('role', 'img');
      lock.setAttribute('aria-label', 'password room');
      name.append(lock);
    }
    const n = Number(r.members) || 0;
    pick.append(name, el('span', 'room-members', `${n} ${n === 1 ? 'member' : 'members'}`));
    pick.addEventListener('click', () => {
      ui.room.value = r.name;
      ui.password.placeholder = r.password ? 'This room needs its password' : '';
      formError('');
      (ui.username.value ? (r.password ? ui.password : ui.join) : ui.username).focus();
    });
    li.append(pick);
    ui.roomList.append(li);
  }
  ui.roomsEmpty.hidden = rooms.length > 0;
  ui.roomsUpdated.textContent = `Updated at ${clock()}`;
}

async function listRooms() {
  if (!state.open) return;
  try {
    const a = await request(OP.LIST, '', '');
    if (a.json.status === 200 && Array.isArray(a.json.rooms)) renderRooms(a.json.rooms);
    else showError(`Could not list the rooms: ${describeStatus(a.json, '')}`);
  } catch (e) {
    showError(`Could not list the rooms: ${e.message}`);
  }
}

/* What an answer other than 200 means for the user. The server's own
 * message is added where the status alone does not say what to fix. */
function describeStatus(json, room) {
  const why = json.message ? `: ${json.message}` : '';
  switch (json.status) {
    case 400: return `The server refused the request${why}.`;
    case 401: return `Wrong password for room “${room}”.`;
    case 403: return `Only the host of “${room}” can do that.`;
    case 404: return `There is no room “${room}”: create it instead.`;
    case 409: return `Room “${room}” already exists: join it instead.`;
    default: return `The server answered ${json.status}${why}.`;
  }
}

function checkNames(username, room) {
  if (!username) return 'Enter your name.';
  if (!room) return 'Enter a room name.';
  const long = (what, s) => `${what} is ${utf8Len(s)} bytes long; at most ${MAX_NAME}.`;
  if (utf8Len(username) > MAX_NAME) return long('Your name', username);
  if (utf8Len(room) > MAX_NAME) return long('The room name', room);
  return null;
}

async function enter(op) {
  const username = ui.username.value.trim();
  const room = ui.room.value.trim();
  const password = ui.password.value;
  const bad = checkNames(username, room);
  formError(bad);
  if (bad || !state.open || state.busy) return;
  const body = { username };
  if (password) body.password = password;
  state.busy = true;
  updateControls();
  setNotice('');
  try {
    const a = await request(op, room, JSON.stringify(body));
    if (a.json.status !== 200) {
      formError(describeStatus(a.json, room));
      return;
    }
    ui.password.value = '';
    try { localStorage.setItem('rooms.username', username); } catch (e) { /* private mode */ }
    joined(a, op, room, username, Boolean(password));
  } catch (e) {
    formError(`No answer to ${op === OP.CREATE ? 'create' : 'join'}: ${e.message}`);
  } finally {
    state.busy = false;
    updateControls();
  }
}

/* ----------------------------------------------------------- the room */

function joined(answer, op, name, username, locked) {
  const j = answer.json;
  const members = new Set(Array.isArray(j.members) ? j.members.map(String) : []);
  members.add(username);
  const host = typeof j.host === 'string' ? j.host : op === OP.CREATE ? username : null;
  if (host) members.add(host);
  state.room = {
    name, username, token: answer.token, host, members,
    locked: typeof j.password === 'boolean' ? j.password : locked, ended: false,
  };
  ui.messages.replaceChildren();
  ui.ended.hidden = true;
  ui.roomTitle.textContent = name;
  ui.roomLock.hidden = !state.room.locked;
  ui.byteMax.textContent = String(messageRoom(name, answer.token));
  ui.text.value = '';
  ui.byteCount.textContent = '0';
  systemLine(op === OP.CREATE ? `You created “${name}”: you are its host.`
    : `You joined “${name}”.`);
  renderMembers();
  showRoom(true);
  startHeartbeat(Number(j.idle_timeout) || 60);
  updateControls();
  ui.text.focus();
}

function showRoom(inRoom) {
  document.title = inRoom ? `${state.room.name} · Rooms` : 'Rooms';
  ui.lobby.hidden = inRoom;
  ui.roomView.hidden = !inRoom;
  document.body.classList.toggle('in-room', inRoom);
  if (inRoom) {
    clearInterval(state.listTimer);
    state.listTimer = null;
  } else {
    startListing();
  }
}

function startListing() {
  clearInterval(state.listTimer);
  state.listTimer = setInterval(() => { if (!ui.lobby.hidden) listRooms(); }, LIST_EVERY_MS);
  listRooms();
}

/* The idle timeout counts from the last datagram; a third of it leaves
 * room for two lost heartbeats. */
function startHeartbeat(timeoutS) {
  clearInterval(state.heartbeat);
  const ms = Math.max(500, Math.min(20000, (timeoutS * 1000) / 3));
  state.heartbeat = setInterval(() => {
    const r = state.room;
    if (r && !r.ended && state.open) state.ws.send(encodeDatagram(r.name, r.token, ''));
  }, ms);
}

function renderMembers() {
  const r = state.room;
  ui.memberList.replaceChildren();
  const names = Array.from(r.members).sort((a, b) => {
    if (a === r.host) return -1;
    if (b === r.host) return 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  const iAmHost = r.host === r.username;
  for (const name of names) {
    const li = el('li', 'member');
    li.dataset.name = name;
    const avatar = el('span', 'avatar', Array.from(name)[0].toUpperCase());
    avatar.style.background = colourOf(name);
    const who = el('span', 'member-name', name);
    li.append(avatar, who);
    if (name === r.username) who.append(el('span', 'you', ' (you)'));
    if (name === r.host) li.append(el('span', 'badge host-badge', 'host'));
    if (iAmHost && name !== r.username && !r.ended) {
      const kick = el('button', 'kick ghost', 'Remove');
      kick.type = 'button';
      kick.title = `Remove ${name} from the room`;
      kick.addEventListener('click', () => kickMember(name, kick));
      li.append(kick);
    }
    ui.memberList.append(li);
  }
  ui.memberCount.textContent = String(r.members.size);
  ui.hostHint.hidden = !iAmHost || r.ended;
  ui.members.classList.toggle('is-ended', r.ended);
  ui.meLine.textContent = `You are ${r.username}${iAmHost ? ', the host' : ''}` +
    (r.host && !iAmHost ? ` · host: ${r.host}` : '');
}

/* A stable colour per name, so a member is easy to follow in the chat. */
function colourOf(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${h} 55% 45%)`;
}

function scrollDown() {
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function chatLine(from, text, mine) {
  const li = el('li', mine ? 'msg mine' : 'msg');
  const head = el('div', 'msg-head');
  const who = el('span', 'from', mine ? 'You' : from);
  if (!mine) who.style.color = colourOf(from);
  head.append(who, el('time', 'time', clock()));
  li.append(head, el('div', 'text', text));
  ui.messages.append(li);
  scrollDown();
}

function systemLine(text) {
  ui.messages.append(el('li', 'system', text));
  scrollDown();
}

function endRoom(text) {
  const r = state.room;
  if (!r || r.ended) return;
  r.ended = true;
  disarmClose();
  clearInterval(state.heartbeat);
  ui.endedText.textContent = text;
  ui.ended.hidden = false;
  renderMembers();
  updateControls();
}

/* The banner of a closed room. The notice's text says why ("room closed:
 * WHY"); we know it best when we closed it ourselves. */
function closedText(r, text) {
  if (r.closing) return `You closed “${r.name}”.`;
  const why = text.replace(/^room closed:\s*/, '');
  if (why === 'closed by the host') return `The room “${r.name}” was closed by its host.`;
  return `The room “${r.name}” was closed${why ? ` (${why})` : ''}.`;
}

/* A notice may name its event and member ("event", "user"); without them
 * it is shown and nothing else changes. */
function onNotice(j) {
  const r = state.room;
  systemLine(String(j.text || ''));
  const user = typeof j.user === 'string' ? j.user : null;
  switch (j.event) {
    case 'join':
      if (user) r.members.add(user);
      break;
    case 'leave': case 'timeout': case 'kick':
      if (user === r.username) {
        endRoom(j.event === 'kick' ? `The host removed you from “${r.name}”.`
          : `You are no longer in “${r.name}” (timed out).`);
        return;
      }
      if (user) r.members.delete(user);
      break;
    case 'close':
      endRoom(closedText(r, String(j.text || '')));
      return;
    default:
      return;
  }
  renderMembers();
}

function onDatagram(bytes) {
  const r = state.room;
  if (!r || r.ended) return;
  let j;
  try {
    j = JSON.parse(strict.decode(bytes));
  } catch (e) {
    showError('The server sent a room message that is not UTF-8 JSON; ignored.');
    return;
  }
  if (j && j.type === 'chat') {
    const from = String(j.from);
    if (!r.members.has(from)) { // a member from before the join answer listed them
      r.members.add(from);
      renderMembers();
    }
    chatLine(from, String(j.text), false);
  } else if (j && j.type === 'system') {
    onNotice(j);
  }
}

async function roomRequest(op, extra) {
  const r = state.room;
  const token = String.fromCharCode(...r.token);
  const a = await request(op, r.name, JSON.stringify({ token, ...extra }));
  return a.json;
}

async function kickMember(name, button) {
  button.disabled = true;
  try {
    const j = await roomRequest(OP.KICK, { username: name });
    if (j.status !== 200) {
      showError(`Could not remove ${name}: ${describeStatus(j, state.room.name)}`);
      button.disabled = false;
      return;
    }
    if (state.room.members.delete(name)) renderMembers();
  } catch (e) {
    showError(`Could not remove ${name}: ${e.message}`);
    button.disabled = false;
  }
}

/* Leave or close: the room's own operations, which end it for us. A host
 * leaving closes the room too, so the close notice may come first. */
async function endByUs(op, what, button, done) {
  const r = state.room;
  button.disabled = true;
  r.closing = op === OP.CLOSE || r.host === r.username;
  try {
    const j = await roomRequest(op, {});
    if (j.status === 200) {
      done(r);
      return;
    }
    showError(`Could not ${what}: ${describeStatus(j, r.name)}`);
  } catch (e) {
    showError(`Could not ${what}: ${e.message}`);
  }
  r.closing = false;
  updateControls();
}

function leaveRoom() {
  return endByUs(OP.LEAVE, 'leave', ui.leave, (r) => backToLobby(r.host === r.username
    ? `You left “${r.name}”; it is closed.` : `You left “${r.name}”.`));
}

/* Closing ends the room for everyone: the first click asks, a second
 * one within a few seconds does it. */
let closeArmed = null;
function disarmClose() {
  clearTimeout(closeArmed);
  closeArmed = null;
  ui.closeRoom.textContent = 'Close room';
  ui.closeRoom.classList.remove('armed');
}

function closeRoom() {
  if (!closeArmed) {
    ui.closeRoom.textContent = 'Close for everyone?';
    ui.closeRoom.classList.add('armed');
    closeArmed = setTimeout(disarmClose, 4000);
    return null;
  }
  disarmClose();
  return endByUs(OP.CLOSE, 'close the room', ui.closeRoom,
    (r) => endRoom(`You closed “${r.name}”.`));
}

function backToLobby(notice) {
  clearInterval(state.heartbeat);
  if (state.room) ui.room.value = state.room.name;
  state.room = null;
  setNotice(notice);
  showRoom(false);
  updateControls();
}

function sendMessage() {
  const r = state.room;
  const text = ui.text.value;
  if (!r || r.ended || !state.open || text === '') return;
  const n = utf8Len(text);
  const max = messageRoom(r.name, r.token);
  if (n > max) {
    showError(`The message is ${n} bytes long; at most ${max} fit in one datagram.`);
    return;
  }
  state.ws.send(encodeDatagram(r.name, r.token, text));
  chatLine(r.username, text, true);
  ui.text.value = '';
  ui.byteCount.textContent = '0';
  updateControls();
}

/* ----------------------------------------------------- the connection */

/* Send a TCRP request; resolves with { json, token } once answered:
 * state 1 (JSON), and for a successful create or join state 2 (token). */
function request(op, room, payload) {
  return new Promise((resolve, reject) => {
    if (!state.open) {
      reject(new Error('not connected to the server'));
      return;
    }
    const p = { op, resolve, reject, json: null };
    p.timer = setTimeout(() => {
      state.pending.splice(state.pending.indexOf(p), 1);
      reject(new Error(`the server did not answer within ${ANSWER_MS / 1000} s`));
    }, ANSWER_MS);
    state.pending.push(p);
    state.ws.send(encodeTcrp(op, STATE.REQUEST, room, payload));
  });
}

function settle(p, value) {
  clearTimeout(p.timer);
  state.pending.splice(state.pending.indexOf(p), 1);
  p.resolve(value);
}

function onTcrp(m) {
  if (m.state === STATE.RESPONSE) {
    const p = state.pending.find((q) => q.op === m.op && q.json === null);
    if (!p) return;
    let j;
    try {
      j = JSON.parse(strict.decode(m.payload));
    } catch (e) {
      j = { status: 0, message: 'unreadable answer' };
    }
    if (j.status === 200 && (m.op === OP.CREATE || m.op === OP.JOIN)) p.json = j; // a token follows
    else settle(p, { json: j, token: null });
  } else if (m.state === STATE.COMPLETE) {
    const p = state.pending.find((q) => q.op === m.op && q.json !== null);
    if (p) settle(p, { json: p.json, token: m.payload.slice() });
  }
}

function onMessage(ev) {
  if (!(ev.data instanceof ArrayBuffer)) return;
  const b = new Uint8Array(ev.data);
  if (b.length === 0) return;
  if (b[0] === KIND.TCRP) {
    const m = decodeTcrp(b.subarray(1));
    if (m instanceof Error) showError(`Bad message from the server: ${m.message}`);
    else onTcrp(m);
  } else if (b[0] === KIND.DGRAM) {
    onDatagram(b.subarray(1));
  }
}

function wsUrl() {
  const q = new URLSearchParams(location.search).get('ws');
  if (q) return q;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
}

function connect() {
  const url = wsUrl();
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  state.ws = ws;
  ws.onopen = () => {
    state.open = true;
    state.retryMs = 500;
    setStatus('Connected', true, url);
    ui.error.hidden = true;
    updateControls();
    if (!state.room) startListing();
  };
  ws.onmessage = onMessage;
  ws.onclose = (ev) => {
    const was = state.open;
    state.open = false;
    state.ws = null;
    for (const p of state.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(new Error('the connection was lost'));
    }
    setStatus('Disconnected, retrying…', false,
      `closed ${ev.code}${ev.reason ? ` ${ev.reason}` : ''}; ` +
      `next try in ${state.retryMs / 1000} s`);
    if (state.room) endRoom('The connection to the server was lost: you are out of the room.');
    if (was) showError('Lost the connection to the server; reconnecting.');
    updateControls();
    setTimeout(connect, state.retryMs);
    state.retryMs = Math.min(state.retryMs * 2, 8000);
  };
}

/* -------------------------------------------------------------- wiring */

ui.form.addEventListener('submit', (e) => { e.preventDefault(); enter(OP.JOIN); });
ui.create.addEventListener('click', () => enter(OP.CREATE));
ui.refresh.addEventListener('click', listRooms);
ui.compose.addEventListener('submit', (e) => { e.preventDefault(); sendMessage(); });
ui.text.addEventListener('input', () => {
  const r = state.room;
  const n = utf8Len(ui.text.value);
  ui.byteCount.textContent = String(n);
  const over = Boolean(r) && n > messageRoom(r.name, r.token);
  ui.byteCount.parentElement.classList.toggle('over', over);
  updateControls();
});
ui.leave.addEventListener('click', leaveRoom);
ui.closeRoom.addEventListener('click', closeRoom);
ui.back.addEventListener('click', () => {
  const r = state.room;
  backToLobby(r ? ui.endedText.textContent : '');
});
ui.error.addEventListener('click', () => { ui.error.hidden = true; });

try { ui.username.value = localStorage.getItem('rooms.username') || ''; } catch (e) { /* none */ }
updateControls();
connect();
