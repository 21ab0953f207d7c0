'use strict';
// chat.js — the browser client of chat-server, in its JSON mode
// (examples/chat/PROTOCOL.md). One WebSocket to the host that served the
// page; the name's token in localStorage; PMs kept in localStorage per
// name (the server keeps no PM history for us); reconnects with backoff.
// Plain DOM, no framework: state in S, one render function per region.

(function () {
  const $ = (id) => document.getElementById(id);
  const LOBBY = '#lobby';
  const CHUNK = 65536; // PROTOCOL.md: 1–65536 data bytes per binary message
  const MAX_TEXT = 4096; // bytes of UTF-8
  const TYPING_REFRESH = 3000; // the server relays one typing event per 3 s
  const TYPING_PAUSE = 4000; // no keystroke for this long: "paused"
  const TYPING_EXPIRE = 7000; // the server expires at 6 s; this is our guard
  const BACKOFF = [500, 1000, 2000, 4000, 8000, 15000];
  const NAME_RE = /^[\p{L}\p{N}_-]{1,32}$/u;
  const PM_KEEP = 300; // messages kept per conversation in localStorage
  const fold = (n) => String(n).toLowerCase();
  const utf8 = new TextEncoder();
  const phone = window.matchMedia('(max-width: 720px)');

  // localStorage may be missing (privacy settings) or full: never fatal.
  const store = {
    get(k) { try { return localStorage.getItem(k); } catch (e) { return null; } },
    set(k, v) { try { localStorage.setItem(k, v); } catch (e) { /* keep going */ } },
    del(k) { try { localStorage.removeItem(k); } catch (e) { /* keep going */ } },
  };
  const session = {
    get(k) { try { return sessionStorage.getItem(k); } catch (e) { return null; } },
    set(k, v) { try { sessionStorage.setItem(k, v); } catch (e) { /* keep going */ } },
    del(k) { try { sessionStorage.removeItem(k); } catch (e) { /* keep going */ } },
  };
  const tokenKey = (name) => 'chat.token.' + fold(name);

  const S = {
    ws: null,
    wantName: null, // the name to sign in as (again, after a reconnect)
    me: null, // the spelling the server stored
    loggedIn: false,
    stopped: false, // signed out, or replaced: do not reconnect
    attempt: 0,
    retryTimer: null,
    retryAt: 0,
    lastClose: '',
    users: new Map(), // fold(name) -> name, everyone online
    contacts: new Map(), // fold(name) -> name
    convs: new Map(), // key (LOBBY or fold(name)) -> conversation
    active: LOBBY,
    byRef: new Map(), // my request id -> my message
    bySeq: new Map(), // seq of my message -> my message
    transfers: new Map(), // local id -> file transfer
    files: new Map(), // server's transfer number -> file transfer
    offers: new Map(), // my offer id -> file transfer, until file_status
    typingOut: { key: null, state: 'done', at: 0, timer: null },
    readQueue: [],
    readTimer: null,
    contactReq: null,
    historyReq: null,
    moreHistory: false,
    idBase: Date.now().toString(36) + '-',
    nextId: 0,
    nextTid: 0,
    saveTimer: null,
  };

  const newId = () => S.idBase + (++S.nextId).toString(36);

  /* ------------------------------------------------------------ helpers */

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function hue(name) {
    let h = 0;
    for (const ch of fold(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
  }

  function avatar(node, name) {
    node.textContent = [...name][0].toUpperCase();
    node.style.background = `hsl(${hue(name)} 55% 48%)`;
    node.classList.remove('lobby');
  }

  function fmtSize(n) {
    if (n < 1024) return `${n} B`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let v = n / 1024;
    let u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
  }

  const fmtTime = (ts) => new Date(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

  function fmtDay(ts) {
    const d = new Date(ts);
    const today = new Date();
    const yesterday = new Date(today.getTime() - 86400000);
    if (d.toDateString() === today.toDateString()) return 'Today';
    if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
    return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
  }

  function toast(text, kind = 'error', ms = 7000) {
    const t = el('div', `toast ${kind}`);
    t.appendChild(el('span', '', text));
    const x = el('button', 'toast-x', '×');
    x.type = 'button';
    x.setAttribute('aria-label', 'Dismiss');
    x.onclick = () => t.remove();
    t.appendChild(x);
    $('toasts').appendChild(t);
    setTimeout(() => t.remove(), ms);
  }

  // A server error as a sentence a person can act on.
  function describe(m) {
    const why = m.message ? ` (${m.message})` : '';
    switch (m.code) {
      case 'rate_limited': return 'You are sending too fast. Wait a moment and try again.';
      case 'too_long': return `That is too long: at most ${MAX_TEXT} bytes.`;
      case 'empty': return 'An empty message is not sent.';
      case 'no_such_user': return m.message || 'There is no user with that name.';
      case 'not_a_contact': return m.message || 'That name is not in your contacts.';
      case 'too_many_contacts': return 'You have too many contacts (1000 at most).';
      case 'no_such_file': return 'That file transfer is over.';
      case 'not_logged_in': return 'You are not signed in any more; signing in again…';
      case 'internal': return `The server had a problem${why}. Try again.`;
      default: return `The server refused a request: ${m.code || 'error'}${why}.`;
    }
  }

  /* ------------------------------------------------------- connection */

  function wsUrl() {
    const q = new URLSearchParams(location.search).get('server');
    if (q) return q;
    if (location.protocol === 'https:') return `wss://${location.host}/`;
    if (location.protocol === 'http:') return `ws://${location.host}/`;
    return 'ws://127.0.0.1:8000/'; // opened as a file: the server's default
  }

  function connect() {
    clearTimeout(S.retryTimer);
    S.retryTimer = null;
    if (S.ws) return;
    let ws;
    try {
      ws = new WebSocket(wsUrl());
    } catch (e) {
      loginMessage(`Cannot connect to ${wsUrl()}: ${e.message}`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    S.ws = ws;
    setConn(S.me ? 'reconnecting' : 'connecting');
    ws.onopen = () => { if (ws === S.ws) sendHello(); };
    ws.onmessage = (ev) => {
      if (ws !== S.ws) return;
      if (typeof ev.data === 'string') onText(ev.data);
      else onBinary(ev.data);
    };
    ws.onclose = (ev) => { if (ws === S.ws) onClosed(ev); };
  }

  function send(obj) {
    if (!S.ws || S.ws.readyState !== WebSocket.OPEN) return false;
    S.ws.send(JSON.stringify(obj));
    return true;
  }

  function sendHello() {
    if (!S.wantName) return;
    const m = { type: 'hello', name: S.wantName, id: newId() };
    const token = store.get(tokenKey(S.wantName));
    if (token) m.token = token;
    send(m);
  }

  function onClosed(ev) {
    S.ws = null;
    S.loggedIn = false;
    S.lastClose = closeText(ev);
    S.users.clear(); // presence is unknown until the next welcome
    endTransfers('The connection was lost; the transfer stopped.');
    unconfirmed();
    clearTimeout(S.typingOut.timer);
    S.typingOut.state = 'done';
    for (const c of S.convs.values()) clearTyping(c);
    if (S.stopped || !S.wantName) {
      if (S.conn !== 'replaced') setConn('offline');
      renderAll();
      return;
    }
    const base = BACKOFF[Math.min(S.attempt, BACKOFF.length - 1)];
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    S.attempt++;
    S.retryAt = Date.now() + delay;
    S.retryTimer = setTimeout(connect, delay);
    setConn('waiting');
    renderAll();
  }

  // RFC 6455 §7.4.1 close codes, as a reason a person understands.
  function closeText(ev) {
    const why = ev.reason ? `: ${ev.reason}` : '';
    switch (ev.code) {
      case 1000: return `the server closed the connection${why}`;
      case 1001: return 'the server is restarting';
      case 1006: return 'no answer from the server';
      case 1008: return `the server refused the connection${why}`;
      case 1009: return 'a message was too big for the server';
      case 1011: return `the server had an error${why}`;
      default: return `closed with code ${ev.code}${why}`;
    }
  }

  // Messages the server had not confirmed when the connection went: say so
  // (a lobby one that did arrive comes back in the welcome's history, where
  // adopt() finds it).
  function unconfirmed() {
    for (const c of S.convs.values()) {
      for (const i of c.items) {
        if (i.kind === 'msg' && i.status === 'pending') {
          i.status = 'failed';
          i.error = 'The connection was lost before the server confirmed this message.';
          updateItem(i);
        }
      }
    }
  }

  function retryNow() {
    if (S.ws) return;
    S.attempt = Math.max(0, S.attempt - 1);
    connect();
  }

  // The connection state, in the sidebar's header, the banner and (before
  // the first sign-in) the login card.
  function setConn(state) {
    S.conn = state;
    const c = $('conn');
    const secs = Math.max(1, Math.ceil((S.retryAt - Date.now()) / 1000));
    const text = {
      online: 'Online',
      connecting: 'Connecting…',
      reconnecting: 'Reconnecting…',
      waiting: `Reconnecting in ${secs} s…`,
      replaced: 'Signed in elsewhere',
      offline: 'Offline',
    }[state];
    c.textContent = text;
    c.className = `conn ${state}`;
    document.body.classList.toggle('is-offline', state !== 'online');
    if (state === 'online') banner(null);
    else if (state === 'replaced') {
      banner(`You signed in as ${S.me} in another window, so this one stopped.`, 'Use here', () => {
        S.stopped = false;
        S.attempt = 0;
        connect();
      });
    } else if (S.me && (state === 'waiting' || state === 'reconnecting')) {
      const what = state === 'waiting'
        ? `Connection lost: ${S.lastClose}. Reconnecting in ${secs} s…`
        : 'Reconnecting…';
      banner(what, state === 'waiting' ? 'Try now' : null, retryNow, 'warn');
    }
    if (!S.me && state === 'waiting') {
      loginMessage(`Cannot reach the server at ${wsUrl()}: ${S.lastClose}. Trying again in ${secs} s…`);
      $('login-go').disabled = false;
    }
    updateComposer();
  }

  setInterval(() => { if (S.conn === 'waiting') setConn('waiting'); }, 1000);

  function banner(text, action, fn, kind = 'warn') {
    const b = $('banner');
    b.hidden = !text;
    if (!text) return;
    b.className = `banner ${kind}`;
    $('banner-text').textContent = text;
    const btn = $('banner-action');
    btn.hidden = !action;
    if (action) {
      btn.textContent = action;
      btn.onclick = fn;
    }
  }

  /* ------------------------------------------------------------ login */

  function loginMessage(text, isError) {
    $('login-status').textContent = isError ? '' : text;
    const e = $('login-error');
    e.hidden = !isError;
    if (isError) e.textContent = text;
  }

  function showLogin(errorText) {
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-go').disabled = false;
    if (errorText) loginMessage(errorText, true);
    $('login-name').focus();
  }

  function nameProblem(name) {
    if (!name) return 'Type a name to sign in with.';
    if ([...name].length > 32) return 'A name has at most 32 characters.';
    if (/\s/.test(name)) return 'A name cannot contain spaces: use _ or - instead.';
    if (!NAME_RE.test(name)) return 'A name uses only letters, digits, _ and - (no punctuation or symbols).';
    if (['server', 'system'].includes(fold(name))) return `“${name}” is reserved. Pick another name.`;
    return null;
  }

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('login-name').value.trim();
    const problem = nameProblem(name);
    if (problem) {
      loginMessage(problem, true);
      $('login-name').focus();
      return;
    }
    startLogin(name);
  });

  function startLogin(name) {
    S.wantName = name;
    S.stopped = false;
    S.attempt = 0;
    loginMessage(`Signing in as ${name}…`);
    $('login-go').disabled = true;
    if (S.ws && S.ws.readyState === WebSocket.OPEN) sendHello();
    else connect();
  }

  function loginRefused(m) {
    const name = S.wantName;
    const text = {
      name_taken: `The name “${name}” is already taken. If it is yours, sign in from the browser `
        + 'where you first used it: that browser holds its key.',
      bad_name: `“${name}” cannot be used as a name: ${m.message || 'use 1–32 letters, digits, _ or -.'}`,
      reserved_name: `“${name}” is reserved. Pick another name.`,
    }[m.code] || describe(m);
    S.wantName = null; // stay connected (the server allows another try)
    session.del('chat.session');
    if (S.me) resetState();
    showLogin(text);
  }

  function signOut() {
    S.stopped = true;
    S.wantName = null;
    session.del('chat.session');
    const ws = S.ws;
    S.ws = null;
    if (ws) ws.close(1000, 'signed out');
    clearTimeout(S.retryTimer);
    resetState();
    setConn('offline');
    loginMessage('You signed out.');
    showLogin();
  }

  $('logout').addEventListener('click', signOut);

  function resetState() {
    savePMsNow();
    for (const t of S.transfers.values()) if (t.url) URL.revokeObjectURL(t.url);
    S.me = null;
    S.users.clear();
    S.contacts.clear();
    S.convs.clear();
    S.byRef.clear();
    S.bySeq.clear();
    S.transfers.clear();
    S.files.clear();
    S.offers.clear();
    S.readQueue = [];
    S.active = LOBBY;
    S.moreHistory = false;
    $('message-list').textContent = '';
    document.title = 'Chat';
  }

  /* ---------------------------------------------------- conversations */

  function getConv(key, name) {
    let c = S.convs.get(key);
    if (!c) {
      c = { key, name: key === LOBBY ? 'Lobby' : name, items: [], unread: 0, typing: new Map() };
      S.convs.set(key, c);
    }
    return c;
  }

  const isPm = (m) => typeof m.to === 'string' && m.to !== '';
  const isMe = (name) => S.me !== null && fold(name) === fold(S.me);

  function convFor(m) {
    if (!isPm(m)) return getConv(LOBBY);
    const peer = isMe(m.from) ? m.to : m.from;
    return getConv(fold(peer), peer);
  }

  function convShown(c) {
    return c.key === S.active && document.visibilityState === 'visible'
      && !$('app').hidden && (!phone.matches || $('app').classList.contains('show-conv'));
  }

  function hasSeq(c, seq) {
    return seq !== undefined && c.items.some((i) => i.seq === seq);
  }

  // A received or stored message into its conversation. live: it just
  // happened (counts as unread, ends the sender's typing).
  function addMessage(m, live) {
    const c = convFor(m);
    if (hasSeq(c, m.seq) || adopt(c, m)) return;
    const item = {
      kind: 'msg', seq: m.seq, ts: m.ts || Date.now(), from: m.from, to: m.to,
      text: m.text, mine: isMe(m.from), status: isMe(m.from) ? 'sent' : undefined,
    };
    if (item.mine && item.seq !== undefined) S.bySeq.set(item.seq, item);
    if (!live) {
      insertSorted(c, item);
      return;
    }
    c.typing.delete(fold(m.from));
    appendItem(c, item);
    if (!item.mine) {
      if (convShown(c)) markRead(c);
      else c.unread++;
    }
    if (c.key !== LOBBY) savePMs();
    renderSidebar();
    if (c.key === S.active) renderConvHead();
  }

  // A stored message of mine that the page still shows as unconfirmed.
  function adopt(c, m) {
    if (!isMe(m.from) || m.seq === undefined) return false;
    const i = c.items.find((x) => x.kind === 'msg' && x.mine && x.seq === undefined && x.text === m.text);
    if (!i) return false;
    i.seq = m.seq;
    i.status = 'sent';
    i.error = undefined;
    S.bySeq.set(m.seq, i);
    updateItem(i);
    return true;
  }

  function insertSorted(c, item) {
    let i = c.items.length;
    while (i > 0 && order(c.items[i - 1], item) > 0) i--;
    c.items.splice(i, 0, item);
  }

  // Stored messages by seq; a message without one (still pending, or a
  // note) by time.
  function order(a, b) {
    if (a.seq !== undefined && b.seq !== undefined) return a.seq - b.seq;
    return a.ts - b.ts;
  }

  function appendItem(c, item) {
    c.items.push(item);
    if (c.key !== S.active) return;
    const box = $('messages');
    const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const prev = c.items.length > 1 ? c.items[c.items.length - 2] : null;
    renderItemInto($('message-list'), item, prev);
    if (atEnd || item.mine) box.scrollTop = box.scrollHeight;
  }

  function note(c, text) {
    appendItem(c, { kind: 'note', ts: Date.now(), text });
  }

  // A reload or a brief drop is "left" then "joined" a moment later:
  // take back the "left" instead of saying both.
  function unsayLeft(c, name) {
    const last = c.items[c.items.length - 1];
    if (!last || last.kind !== 'note' || last.text !== `${name} left` || Date.now() - last.ts > 15000) return false;
    c.items.pop();
    if (last.el) last.el.remove();
    return true;
  }

  /* ------------------------------------------------------ read receipts */

  function markRead(c) {
    if (c.unread) {
      c.unread = 0;
      renderSidebar();
    }
    if (c.key === LOBBY) return;
    let changed = false;
    for (const i of c.items) {
      if (i.kind === 'msg' && !i.mine && i.seq !== undefined && !i.readSent) {
        i.readSent = true;
        S.readQueue.push(i.seq);
        changed = true;
      }
    }
    if (changed) {
      savePMs();
      flushReads();
    }
  }

  // One `read` per PM; paced so that a backlog of offline PMs stays well
  // inside the server's rate limit (20/s, burst 40).
  function flushReads() {
    if (S.readTimer || !S.readQueue.length) return;
    if (!S.loggedIn) return; // sent after the next welcome
    for (let n = 0; n < 10 && S.readQueue.length; n++) send({ type: 'read', seq: S.readQueue.shift() });
    if (S.readQueue.length) {
      S.readTimer = setTimeout(() => {
        S.readTimer = null;
        flushReads();
      }, 600);
    }
  }

  document.addEventListener('visibilitychange', () => {
    const c = S.convs.get(S.active);
    if (c && convShown(c)) markRead(c);
  });

  /* ------------------------------------------------------------ typing */

  function typingOut(state) {
    const T = S.typingOut;
    const now = Date.now();
    if (T.key !== S.active && T.state !== 'done') sendTyping(T.key, 'done');
    if (T.key !== S.active) T.state = 'done';
    T.key = S.active;
    if (state === T.state && (state !== 'active' || now - T.at < TYPING_REFRESH)) return;
    if (sendTyping(T.key, state)) {
      T.state = state;
      T.at = now;
    }
  }

  function sendTyping(key, state) {
    const m = { type: 'typing', state };
    if (key !== LOBBY) {
      const c = S.convs.get(key);
      if (!c) return false;
      m.to = c.name;
    }
    return S.loggedIn && send(m);
  }

  function peerTyping(c, from, state) {
    const k = fold(from);
    const old = c.typing.get(k);
    if (old) clearTimeout(old.timer);
    if (state === 'active') {
      const timer = setTimeout(() => {
        c.typing.delete(k);
        renderTyping();
      }, TYPING_EXPIRE);
      c.typing.set(k, { name: from, timer });
    } else {
      c.typing.delete(k);
    }
    renderTyping();
  }

  function clearTyping(c) {
    for (const t of c.typing.values()) clearTimeout(t.timer);
    c.typing.clear();
  }

  function typingText(c) {
    const names = [...c.typing.values()].map((t) => t.name);
    if (!names.length) return '';
    if (names.length === 1) return `${names[0]} is typing…`;
    if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
    return `${names.length} people are typing…`;
  }

  function renderTyping() {
    const c = S.convs.get(S.active);
    $('typing').textContent = c ? typingText(c) : '';
    renderSidebar();
    renderConvHead();
  }

  /* --------------------------------------------------- incoming events */

  function onText(data) {
    let m;
    try {
      m = JSON.parse(data);
    } catch (e) {
      return; // not ours to show; the server speaks JSON to us
    }
    const handler = handlers[m && m.type];
    if (handler) handler(m);
  }

  const handlers = {
    welcome(m) {
      const sameUser = S.me !== null && fold(S.me) === fold(m.name);
      if (!sameUser) {
        if (S.me) resetState();
        S.me = m.name;
        loadPMs();
      }
      S.me = m.name;
      S.wantName = m.name;
      S.loggedIn = true;
      S.attempt = 0;
      if (m.token) store.set(tokenKey(m.name), m.token);
      store.set('chat.lastName', m.name);
      session.set('chat.session', m.name);
      S.users = new Map((m.users || []).map((n) => [fold(n), n]));
      S.users.set(fold(m.name), m.name);
      setContacts(m.contacts || []);
      for (const h of m.history || []) addMessage(h, false);
      S.moreHistory = (m.history || []).length >= 50;
      showApp(!sameUser);
      setConn('online');
      renderAll();
      if (m.claimed) toast(`The name ${m.name} is now yours. This browser keeps its key.`, 'ok', 3500);
      const c = S.convs.get(S.active);
      if (c && convShown(c)) markRead(c);
      flushReads();
    },

    error(m) {
      if (!S.loggedIn && ['bad_name', 'name_taken', 'reserved_name'].includes(m.code)) {
        loginRefused(m);
        return;
      }
      if (m.code === 'already_logged_in') return;
      if (m.code === 'replaced') {
        S.stopped = true;
        setConn('replaced');
        return;
      }
      const mine = m.ref && S.byRef.get(m.ref);
      if (mine) {
        mine.status = 'failed';
        mine.error = describe(m);
        updateItem(mine);
        savePMs();
        return;
      }
      const offer = m.ref && S.offers.get(m.ref);
      if (offer) {
        S.offers.delete(m.ref);
        fileState(offer, 'failed', describe(m));
        return;
      }
      if (S.contactReq && m.ref === S.contactReq.id) {
        contactMessage(describe(m), true);
        S.contactReq = null;
        return;
      }
      toast(describe(m));
    },

    msg(m) { addMessage(m, true); },

    status(m) {
      const item = (m.ref && S.byRef.get(m.ref)) || (m.seq !== undefined && S.bySeq.get(m.seq));
      if (!item) return;
      if (m.seq !== undefined && item.seq === undefined) {
        item.seq = m.seq;
        S.bySeq.set(m.seq, item);
      }
      if (m.ts && item.status === 'pending') item.ts = m.ts;
      if (RANK[m.status] > (RANK[item.status] || 0)) item.status = m.status;
      updateItem(item);
      if (isPm(item)) savePMs();
    },

    join(m) {
      S.users.set(fold(m.name), m.name);
      if (!isMe(m.name) && !unsayLeft(getConv(LOBBY), m.name)) note(getConv(LOBBY), `${m.name} joined`);
      renderSidebar();
      renderConvHead();
    },

    leave(m) {
      S.users.delete(fold(m.name));
      for (const c of S.convs.values()) if (c.typing.has(fold(m.name))) peerTyping(c, m.name, 'done');
      note(getConv(LOBBY), `${m.name} left`);
      renderSidebar();
      renderConvHead();
    },

    users(m) {
      S.users = new Map((m.users || []).map((n) => [fold(n), n]));
      renderSidebar();
    },

    typing(m) {
      if (isMe(m.from)) return;
      const c = isPm(m) ? getConv(fold(m.from), m.from) : getConv(LOBBY);
      peerTyping(c, m.from, m.state);
    },

    contacts(m) {
      setContacts(m.contacts || []);
      if (S.contactReq && m.ref === S.contactReq.id) {
        const r = S.contactReq;
        S.contactReq = null;
        if (r.op === 'add') {
          $('contact-name').value = '';
          contactMessage(`${r.name} is now in your contacts.`, false);
        } else {
          contactMessage(`${r.name} was removed from your contacts.`, false);
        }
      }
      renderSidebar();
      renderConvHead();
    },

    history(m) {
      const msgs = m.messages || [];
      for (const h of msgs) addMessage(h, false);
      S.moreHistory = S.historyReq !== null && msgs.length >= S.historyReq;
      S.historyReq = null;
      renderConvHead();
      if (S.active === LOBBY) {
        const box = $('messages');
        const fromEnd = box.scrollHeight - box.scrollTop;
        renderMessages();
        box.scrollTop = box.scrollHeight - fromEnd; // keep what was on screen in place
      }
    },

    system(m) {
      banner(m.text ? `Server: ${m.text}` : 'Message from the server', null, null, 'info');
    },

    file_offer(m) { incomingOffer(m); },
    file_status(m) { offerAnswered(m); },
    file_accept(m) { offerAccepted(m); },
    file_refuse(m) {
      const t = S.files.get(m.file);
      if (!t) return;
      S.files.delete(m.file);
      fileState(t, 'refused');
    },
    file_progress(m) {
      const t = S.files.get(m.file);
      if (!t || t.dir !== 'out') return;
      t.acked = Math.max(t.acked, m.bytes || 0);
      if (t.acked >= t.size && t.state === 'sending') fileState(t, 'verifying');
      else fileProgress(t);
      pump(t);
    },
    file_result(m) {
      const t = S.files.get(m.file);
      if (!t || t.dir !== 'out') return;
      S.files.delete(m.file);
      fileState(t, m.ok ? 'done' : 'bad');
    },
    file_cancel(m) {
      const t = S.files.get(m.file);
      if (!t) return;
      S.files.delete(m.file);
      t.chunks = null;
      const by = m.by && !isMe(m.by) && m.by !== 'server' ? m.by : null;
      const reason = m.reason && m.reason !== 'cancelled' ? `: ${m.reason}` : '';
      let text = by ? `Cancelled by ${by}${reason}.` : `Cancelled${reason || ' by the server'}.`;
      if (by && m.reason === 'disconnected') text = `${by} went offline; the transfer stopped.`;
      fileState(t, 'cancelled', text);
    },
  };

  const RANK = { pending: 0, failed: 0, sent: 1, offline: 2, delivered: 3, read: 4 };

  /* ---------------------------------------------------------- contacts */

  function setContacts(list) {
    S.contacts = new Map(list.map((c) => [fold(c.name), c.name]));
  }

  function contactMessage(text, isError) {
    const p = $('contact-msg');
    p.textContent = text;
    p.className = `form-msg ${isError ? 'bad' : 'ok'}`;
    clearTimeout(contactMessage.timer);
    contactMessage.timer = setTimeout(() => { p.textContent = ''; }, 6000);
  }

  function contactRequest(op, name) {
    if (!S.loggedIn) {
      contactMessage('Not connected: try again once the chat is back online.', true);
      return;
    }
    const id = newId();
    S.contactReq = { id, op, name };
    send({ type: op === 'add' ? 'contact_add' : 'contact_remove', name, id });
  }

  $('contact-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const name = $('contact-name').value.trim();
    const problem = name ? nameProblem(name) : 'Type the name of the person to add.';
    if (problem) contactMessage(problem, true);
    else if (isMe(name)) contactMessage('That is you.', true);
    else if (S.contacts.has(fold(name))) contactMessage(`${S.contacts.get(fold(name))} is already a contact.`, true);
    else contactRequest('add', name);
  });

  $('conv-contact').addEventListener('click', () => {
    const c = S.convs.get(S.active);
    if (!c || c.key === LOBBY) return;
    contactRequest(S.contacts.has(c.key) ? 'remove' : 'add', c.name);
  });

  /* ----------------------------------------------------------- sending */

  function textBytes() { return utf8.encode($('text').value).length; }

  function updateComposer() {
    const n = textBytes();
    const b = $('bytes');
    b.hidden = n < MAX_TEXT - 600;
    b.textContent = `${n} / ${MAX_TEXT}`;
    b.classList.toggle('over', n > MAX_TEXT);
    const online = S.conn === 'online';
    $('send').disabled = !online || n > MAX_TEXT || !$('text').value.trim();
    $('attach').disabled = !online || S.active === LOBBY;
    $('attach').title = S.active === LOBBY ? 'Files go to one person: open a conversation with them'
      : 'Send a file';
  }

  function autoGrow() {
    const t = $('text');
    t.style.height = 'auto';
    t.style.height = `${Math.min(t.scrollHeight, 160)}px`;
  }

  $('text').addEventListener('input', () => {
    autoGrow();
    updateComposer();
    const T = S.typingOut;
    clearTimeout(T.timer);
    if (!$('text').value.trim()) {
      typingOut('done');
      return;
    }
    typingOut('active');
    T.timer = setTimeout(() => typingOut('paused'), TYPING_PAUSE);
  });

  $('text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });

  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('text').value.replace(/\s+$/, '');
    if (!text.trim()) return;
    if (utf8.encode(text).length > MAX_TEXT) {
      toast(`That message is ${utf8.encode(text).length} bytes; the limit is ${MAX_TEXT}.`);
      return;
    }
    if (!S.loggedIn) {
      toast('Not connected: the message stays in the box until the chat is back online.');
      return;
    }
    const c = S.convs.get(S.active);
    const id = newId();
    const m = { type: 'msg', id, text };
    if (c.key !== LOBBY) m.to = c.name;
    send(m);
    const item = { kind: 'msg', id, ts: Date.now(), from: S.me, to: m.to, text, mine: true, status: 'pending' };
    S.byRef.set(id, item);
    appendItem(c, item);
    $('text').value = '';
    autoGrow();
    clearTimeout(S.typingOut.timer);
    S.typingOut.state = 'done'; // PROTOCOL.md: a msg ends typing
    updateComposer();
    if (c.key !== LOBBY) savePMs();
    renderSidebar();
  });

  /* ------------------------------------------------------------- files */

  function newTransfer(t) {
    t.tid = ++S.nextTid;
    S.transfers.set(t.tid, t);
    const c = getConv(fold(t.peer), t.peer);
    t.item = { kind: 'file', ts: Date.now(), from: t.dir === 'out' ? S.me : t.peer, mine: t.dir === 'out', t };
    appendItem(c, t.item);
    return t;
  }

  async function offerFile(file) {
    const c = S.convs.get(S.active);
    if (!c || c.key === LOBBY) {
      toast('Files go to one person: open a conversation with them first.');
      return;
    }
    if (!S.loggedIn) {
      toast('Not connected: send the file again once the chat is back online.');
      return;
    }
    const t = newTransfer({
      dir: 'out', peer: c.name, name: file.name, size: file.size, file,
      state: 'hashing', done: 0, sent: 0, acked: 0, num: null, window: 0,
    });
    renderSidebar();
    try {
      const h = new Sha256();
      const step = 1 << 22;
      for (let off = 0; off < file.size; off += step) {
        h.update(new Uint8Array(await file.slice(off, off + step).arrayBuffer()));
        if (t.state !== 'hashing') return; // cancelled meanwhile
        t.done = Math.min(file.size, off + step);
        fileProgress(t);
      }
      t.sha256 = h.hex();
    } catch (e) {
      fileState(t, 'failed', `Could not read the file: ${e.message}`);
      return;
    }
    t.id = newId();
    S.offers.set(t.id, t);
    const sent = send({ type: 'file_offer', id: t.id, to: t.peer, name: t.name, size: t.size, sha256: t.sha256 });
    fileState(t, sent ? 'offering' : 'failed', sent ? '' : 'Not connected: the file was not offered.');
  }

  function offerAnswered(m) {
    const t = S.offers.get(m.ref);
    if (!t) return;
    S.offers.delete(m.ref);
    if (m.status === 'offered') {
      t.num = m.file;
      S.files.set(m.file, t);
      fileState(t, 'waiting');
    } else if (m.status === 'offline') {
      fileState(t, 'failed', `${t.peer} is offline. Files are not stored: send it when they are online.`);
    } else if (m.status === 'unsupported') {
      fileState(t, 'failed', `${t.peer} uses a client that cannot receive files.`);
    } else {
      fileState(t, 'failed', `The server answered “${m.status}”.`);
    }
  }

  function offerAccepted(m) {
    const t = S.files.get(m.file);
    if (!t || t.dir !== 'out' || t.state !== 'waiting') return;
    t.window = m.window > 0 ? m.window : 262144;
    t.started = Date.now();
    fileState(t, t.size === 0 ? 'verifying' : 'sending');
    pump(t);
  }

  // Send chunks while fewer than `window` bytes are unacknowledged
  // (PROTOCOL.md, Files step 3); file_progress calls this again.
  async function pump(t) {
    if (t.pumping) return;
    t.pumping = true;
    try {
      while (t.state === 'sending' && t.sent < t.size) {
        const len = Math.min(CHUNK, t.size - t.sent, t.window);
        if (t.sent + len - t.acked > t.window) break;
        const ws = S.ws;
        const data = new Uint8Array(await t.file.slice(t.sent, t.sent + len).arrayBuffer());
        if (t.state !== 'sending' || !ws || ws !== S.ws || ws.readyState !== WebSocket.OPEN) break;
        const frame = new Uint8Array(4 + len);
        new DataView(frame.buffer).setUint32(0, t.num);
        frame.set(data, 4);
        ws.send(frame);
        t.sent += len;
      }
    } catch (e) {
      cancelTransfer(t, `Could not read the file: ${e.message}`);
    } finally {
      t.pumping = false;
    }
  }

  function incomingOffer(m) {
    const t = newTransfer({
      dir: 'in', peer: m.from, num: m.file, name: String(m.name || 'file'), size: m.size,
      sha256: String(m.sha256 || '').toLowerCase(), state: 'offered', got: 0,
    });
    S.files.set(m.file, t);
    const c = getConv(fold(m.from), m.from);
    if (!convShown(c)) c.unread++;
    renderSidebar();
    if (c.key !== S.active) toast(`${m.from} wants to send you ${t.name} (${fmtSize(t.size)}).`, 'info', 5000);
  }

  function acceptFile(t) {
    if (!send({ type: 'file_accept', file: t.num })) {
      toast('Not connected: the file cannot be received now.');
      return;
    }
    t.chunks = [];
    t.hash = new Sha256();
    t.started = Date.now();
    fileState(t, 'receiving');
    if (t.size === 0) finishReceive(t);
  }

  function onBinary(buf) {
    if (buf.byteLength < 4) return;
    const t = S.files.get(new DataView(buf).getUint32(0));
    if (!t || t.dir !== 'in' || t.state !== 'receiving') return;
    const data = new Uint8Array(buf, 4);
    if (t.got + data.length > t.size) {
      cancelTransfer(t, 'More data arrived than was offered.');
      return;
    }
    t.chunks.push(data);
    t.hash.update(data);
    t.got += data.length;
    if (t.got === t.size) finishReceive(t);
    else fileProgress(t);
  }

  // PROTOCOL.md, Files step 4: the receiver checks the SHA-256 and says so.
  function finishReceive(t) {
    t.gotSha = t.hash.hex();
    const ok = t.gotSha === t.sha256;
    send({ type: 'file_result', file: t.num, ok });
    S.files.delete(t.num);
    if (ok) t.url = URL.createObjectURL(new Blob(t.chunks, { type: 'application/octet-stream' }));
    t.chunks = null;
    fileState(t, ok ? 'done' : 'bad');
  }

  function cancelTransfer(t, why) {
    if (t.num !== null && S.files.has(t.num)) {
      send({ type: 'file_cancel', file: t.num });
      S.files.delete(t.num);
    }
    t.chunks = null;
    fileState(t, 'cancelled', why || 'You cancelled.');
  }

  function endTransfers(why) {
    for (const t of S.transfers.values()) {
      if (['hashing', 'offering', 'waiting', 'sending', 'verifying', 'offered', 'receiving'].includes(t.state)) {
        t.chunks = null;
        fileState(t, 'failed', why);
      }
    }
    S.files.clear();
    S.offers.clear();
  }

  function fileState(t, state, why) {
    t.state = state;
    t.why = why || '';
    updateItem(t.item);
  }

  // Progress is drawn at most ten times a second: a 64 KiB chunk can
  // arrive every few hundred microseconds.
  function fileProgress(t) {
    const now = Date.now();
    if (now - (t.drawn || 0) < 100) return;
    t.drawn = now;
    const card = t.item.el && t.item.el.querySelector('.file-card');
    if (!card) return;
    card.querySelector('.bar').style.width = `${fileFraction(t) * 100}%`;
    card.querySelector('.file-state').textContent = fileStateText(t);
  }

  function fileFraction(t) {
    if (t.size === 0 || t.state === 'done' || t.state === 'verifying') return 1;
    if (t.state === 'hashing') return t.done / t.size;
    return (t.dir === 'out' ? t.acked : t.got) / t.size;
  }

  function speed(t, bytes) {
    const s = (Date.now() - t.started) / 1000;
    return s > 0.5 ? ` · ${fmtSize(Math.round(bytes / s))}/s` : '';
  }

  function fileStateText(t) {
    const p = t.peer;
    switch (t.state) {
      case 'hashing': return `Preparing… ${Math.floor((t.done / (t.size || 1)) * 100)}%`;
      case 'offering': return 'Offering…';
      case 'waiting': return `Waiting for ${p} to accept`;
      case 'sending': return `Sending ${fmtSize(t.acked)} of ${fmtSize(t.size)}${speed(t, t.acked)}`;
      case 'verifying': return `Sent. ${p} is checking it…`;
      case 'offered': return `${p} wants to send you this file`;
      case 'receiving': return `Receiving ${fmtSize(t.got)} of ${fmtSize(t.size)}${speed(t, t.got)}`;
      case 'done': return t.dir === 'out' ? `Delivered. ${p} checked it: intact` : 'Received and checked: intact';
      case 'bad': return t.dir === 'out' ? `${p} received it damaged (SHA-256 mismatch)`
        : 'It arrived damaged (SHA-256 mismatch) and was discarded';
      case 'refused': return t.dir === 'out' ? `${p} declined the file` : 'You declined the file';
      default: return t.why || t.state;
    }
  }

  $('attach').addEventListener('click', () => $('file-input').click());
  $('file-input').addEventListener('change', () => {
    for (const f of $('file-input').files) offerFile(f);
    $('file-input').value = '';
  });

  // Drag and drop onto the conversation; anywhere else a dropped file must
  // not replace the page.
  const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  window.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  window.addEventListener('drop', (e) => { if (hasFiles(e)) e.preventDefault(); });
  const conv = $('conversation');
  conv.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    const c = S.convs.get(S.active);
    $('drop-text').textContent = S.active === LOBBY
      ? 'Files go to one person: open a conversation with them first.'
      : `Drop to send to ${c.name}`;
    $('drop').hidden = false;
    $('drop').classList.toggle('no', S.active === LOBBY);
  });
  conv.addEventListener('dragover', (e) => { if (hasFiles(e)) e.preventDefault(); });
  $('drop').addEventListener('dragleave', (e) => {
    if (!e.relatedTarget || !conv.contains(e.relatedTarget)) $('drop').hidden = true;
  });
  conv.addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    $('drop').hidden = true;
    for (const f of e.dataTransfer.files) offerFile(f);
  });

  $('message-list').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-act]');
    if (!b) return;
    const t = S.transfers.get(Number(b.dataset.tid));
    if (!t) return;
    if (b.dataset.act === 'accept' && t.state === 'offered') acceptFile(t);
    else if (b.dataset.act === 'refuse' && t.state === 'offered') {
      send({ type: 'file_refuse', file: t.num });
      S.files.delete(t.num);
      fileState(t, 'refused');
    } else if (b.dataset.act === 'cancel') {
      if (t.state === 'hashing') fileState(t, 'cancelled', 'You cancelled.');
      else cancelTransfer(t);
    }
  });

  /* -------------------------------------------------------- persistence */

  const pmKey = () => 'chat.pm.' + fold(S.me);

  function savePMs() {
    clearTimeout(S.saveTimer);
    S.saveTimer = setTimeout(savePMsNow, 300);
  }

  function savePMsNow() {
    clearTimeout(S.saveTimer);
    if (!S.me) return;
    const out = {};
    for (const c of S.convs.values()) {
      if (c.key === LOBBY) continue;
      const items = c.items.filter((i) => i.kind === 'msg').slice(-PM_KEEP).map((i) => ({
        seq: i.seq, ts: i.ts, from: i.from, to: i.to, text: i.text, mine: i.mine,
        id: i.id, status: i.status, error: i.error, readSent: i.readSent,
      }));
      if (items.length) out[c.key] = { name: c.name, items };
    }
    store.set(pmKey(), JSON.stringify(out));
  }

  function loadPMs() {
    let saved;
    try {
      saved = JSON.parse(store.get(pmKey()) || '{}');
    } catch (e) {
      return;
    }
    for (const [key, v] of Object.entries(saved)) {
      const c = getConv(key, v.name);
      for (const i of v.items || []) {
        const item = Object.assign({ kind: 'msg' }, i);
        if (item.status === 'pending') {
          item.status = 'failed';
          item.error = 'The page closed before the server confirmed this message.';
        }
        if (item.mine && item.id) S.byRef.set(item.id, item);
        if (item.mine && item.seq !== undefined) S.bySeq.set(item.seq, item);
        if (!item.mine && !item.readSent) c.unread++;
        c.items.push(item);
      }
    }
  }

  window.addEventListener('pagehide', savePMsNow);

  /* ---------------------------------------------------------- rendering */

  function showApp(fresh) {
    $('login').hidden = true;
    $('app').hidden = false;
    loginMessage('');
    if (fresh) {
      S.active = LOBBY;
      $('app').classList.remove('show-conv');
    }
    avatar($('me-avatar'), S.me);
    $('me-name').textContent = S.me;
  }

  function renderAll() {
    if (!S.me) return;
    renderSidebar();
    renderConvHead();
    renderMessages();
    updateComposer();
  }

  function personSub(key) {
    const c = S.convs.get(key);
    if (c && c.typing.size) return { text: 'typing…', cls: 'typing' };
    const last = c && [...c.items].reverse().find((i) => i.kind !== 'note');
    if (last) {
      const what = last.kind === 'file' ? `File: ${last.t.name}` : last.text;
      return { text: (last.mine ? 'You: ' : '') + what, cls: '' };
    }
    return { text: S.users.has(key) ? 'Online' : 'Offline', cls: '' };
  }

  function personRow(key, name, isContact) {
    const li = el('li');
    const b = el('button', 'person');
    b.type = 'button';
    b.dataset.conv = key;
    if (key === S.active) b.classList.add('active');
    const av = el('span', 'avatar');
    avatar(av, name);
    if (S.users.has(key)) av.appendChild(el('span', 'dot'));
    b.appendChild(av);
    const txt = el('span', 'p-text');
    txt.appendChild(el('span', 'p-name', name));
    const sub = personSub(key);
    txt.appendChild(el('span', `p-sub ${sub.cls}`, sub.text));
    b.appendChild(txt);
    const c = S.convs.get(key);
    if (c && c.unread) b.appendChild(el('span', 'badge', String(c.unread)));
    b.onclick = () => openConv(key, name);
    li.appendChild(b);
    if (isContact) {
      const x = el('button', 'remove', '×');
      x.type = 'button';
      x.title = `Remove ${name} from contacts`;
      x.setAttribute('aria-label', x.title);
      x.onclick = () => contactRequest('remove', name);
      li.appendChild(x);
    }
    return li;
  }

  function renderSidebar() {
    if (!S.me) return;
    const lobby = getConv(LOBBY);
    const lb = $('lobby-item');
    lb.classList.toggle('active', S.active === LOBBY);
    const lt = typingText(lobby);
    const sub = $('lobby-sub');
    sub.textContent = lt || (S.loggedIn ? `${S.users.size} online` : 'Not connected');
    sub.classList.toggle('typing', !!lt);
    const badge = lb.querySelector('.badge');
    badge.hidden = !lobby.unread;
    badge.textContent = lobby.unread;

    const byName = (a, b) => a[1].localeCompare(b[1]);
    const contacts = [...S.contacts.entries()].sort(byName);
    const online = [...S.users.entries()].filter(([k]) => !S.contacts.has(k) && k !== fold(S.me)).sort(byName);
    const recent = [...S.convs.values()]
      .filter((c) => c.key !== LOBBY && !S.contacts.has(c.key) && !S.users.has(c.key) && c.items.length)
      .map((c) => [c.key, c.name]).sort(byName);
    fillList('contacts-list', contacts, true);
    fillList('online-list', online, false);
    fillList('recent-list', recent, false);
    $('contacts-empty').hidden = contacts.length > 0;
    $('online-empty').hidden = online.length > 0;
    $('recent-head').hidden = recent.length === 0;
    $('online-count').textContent = online.length ? String(online.length) : '';

    let unread = 0;
    for (const c of S.convs.values()) unread += c.unread;
    document.title = `${unread ? `(${unread}) ` : ''}Chat · ${S.me}`;
  }

  function fillList(id, rows, isContact) {
    const ul = $(id);
    ul.textContent = '';
    for (const [key, name] of rows) ul.appendChild(personRow(key, name, isContact));
  }

  function renderConvHead() {
    if (!S.me) return;
    const c = getConv(S.active, S.active);
    const av = $('conv-avatar');
    const btn = $('conv-contact');
    $('conv-name').textContent = c.name;
    const sub = $('conv-sub');
    const typing = typingText(c);
    sub.classList.toggle('typing', !!typing);
    if (c.key === LOBBY) {
      av.textContent = '#';
      av.style.background = '';
      av.classList.add('lobby');
      sub.classList.remove('online');
      sub.textContent = typing || (S.loggedIn ? `${S.users.size} online · everyone sees these messages`
        : 'Not connected');
      btn.hidden = true;
      $('text').placeholder = 'Message the lobby';
    } else {
      avatar(av, c.name);
      const online = S.users.has(c.key);
      sub.textContent = typing ? 'typing…' : (online ? 'Online'
        : S.loggedIn ? 'Offline · messages wait for them' : 'Not connected');
      sub.classList.toggle('online', online && !typing);
      btn.hidden = false;
      btn.textContent = S.contacts.has(c.key) ? 'Remove contact' : 'Add contact';
      $('text').placeholder = `Message ${c.name}`;
    }
    $('typing').textContent = typing;
    $('older').hidden = !(c.key === LOBBY && S.moreHistory);
    updateComposer();
  }

  function renderMessages() {
    const c = getConv(S.active, S.active);
    const list = $('message-list');
    list.textContent = '';
    let prev = null;
    for (const i of c.items) {
      renderItemInto(list, i, prev);
      prev = i;
    }
    if (!c.items.length) {
      list.appendChild(el('li', 'empty-conv', c.key === LOBBY
        ? 'No messages yet. Say hello to everyone!'
        : `This is the start of your conversation with ${c.name}.`));
    }
    const box = $('messages');
    box.scrollTop = box.scrollHeight;
  }

  function renderItemInto(list, item, prev) {
    const empty = list.querySelector('.empty-conv');
    if (empty) empty.remove();
    if (!prev || new Date(prev.ts).toDateString() !== new Date(item.ts).toDateString()) {
      list.appendChild(el('li', 'day', fmtDay(item.ts)));
    }
    item.cont = !!prev && prev.kind !== 'note' && item.kind !== 'note'
      && fold(prev.from) === fold(item.from) && item.ts - prev.ts < 5 * 60000;
    list.appendChild(itemEl(item));
  }

  function updateItem(item) {
    const old = item.el;
    if (!old || !old.isConnected) return;
    old.replaceWith(itemEl(item)); // itemEl sets item.el
  }

  const TICKS = {
    pending: ['…', 'Sending'],
    sent: ['✓', 'Sent'],
    offline: ['✓', 'Stored: delivered when they sign in'],
    delivered: ['✓✓', 'Delivered'],
    read: ['✓✓', 'Read'],
    failed: ['!', 'Not sent'],
  };

  function itemEl(item) {
    if (item.kind === 'note') {
      item.el = el('li', 'note', item.text);
      return item.el;
    }
    const li = el('li', `msg ${item.mine ? 'mine' : 'theirs'}${item.cont ? ' cont' : ''}`);
    if (item.seq !== undefined) li.dataset.seq = item.seq;
    const lobby = !isPm(item) && item.kind === 'msg';
    if (!item.mine && lobby) {
      const av = el('span', 'avatar small');
      if (!item.cont) avatar(av, item.from);
      else av.classList.add('blank');
      li.appendChild(av);
    }
    const bubble = el('div', 'bubble');
    if (!item.mine && lobby && !item.cont) {
      const a = el('div', 'author', item.from);
      a.style.color = `hsl(${hue(item.from)} 55% 38%)`;
      bubble.appendChild(a);
    }
    if (item.kind === 'file') bubble.appendChild(fileCard(item.t));
    else bubble.appendChild(el('div', 'text', item.text));
    const meta = el('div', 'meta');
    meta.appendChild(el('time', '', fmtTime(item.ts)));
    if (item.mine && item.kind === 'msg') {
      const [glyph, title] = TICKS[item.status] || TICKS.sent;
      const tick = el('span', `tick ${item.status}`, glyph);
      tick.title = title;
      tick.setAttribute('aria-label', title);
      meta.appendChild(tick);
    }
    bubble.appendChild(meta);
    if (item.error) bubble.appendChild(el('div', 'msg-error', item.error));
    li.appendChild(bubble);
    item.el = li;
    return li;
  }

  function fileCard(t) {
    const card = el('div', 'file-card');
    card.dataset.state = t.state;
    card.dataset.tid = t.tid;
    const ext = (t.name.includes('.') ? t.name.split('.').pop() : 'file').slice(0, 4);
    card.appendChild(el('div', 'file-icon', ext.toUpperCase()));
    const info = el('div', 'file-info');
    const nameLine = el('div', 'file-name', t.name);
    nameLine.title = t.name;
    info.appendChild(nameLine);
    info.appendChild(el('div', 'file-size', fmtSize(t.size)));
    const active = ['hashing', 'sending', 'verifying', 'receiving'].includes(t.state);
    const prog = el('div', `progress${active ? '' : ' idle'}`);
    const bar = el('div', 'bar');
    bar.style.width = `${fileFraction(t) * 100}%`;
    prog.appendChild(bar);
    if (active || t.state === 'done') info.appendChild(prog);
    const good = t.state === 'done';
    const bad = ['bad', 'failed', 'cancelled', 'refused'].includes(t.state);
    info.appendChild(el('div', `file-state${good ? ' good' : ''}${bad ? ' bad' : ''}`, fileStateText(t)));
    const sha = t.dir === 'in' ? t.gotSha : t.sha256;
    if (sha && (t.state === 'done' || t.state === 'bad')) {
      const h = el('div', 'file-hash', `SHA-256 ${sha.slice(0, 12)}…${sha.slice(-6)} ${good ? '✓ verified' : '✗ mismatch'}`);
      h.title = sha;
      card.dataset.sha256 = sha;
      info.appendChild(h);
    }
    const acts = el('div', 'file-actions');
    const button = (act, label, cls) => {
      const b = el('button', `btn small ${cls}`, label);
      b.type = 'button';
      b.dataset.act = act;
      b.dataset.tid = t.tid;
      acts.appendChild(b);
    };
    if (t.state === 'offered') {
      button('accept', 'Accept', 'primary');
      button('refuse', 'Decline', 'ghost');
    } else if (['hashing', 'offering', 'waiting', 'sending', 'receiving'].includes(t.state)) {
      button('cancel', 'Cancel', 'ghost');
    } else if (t.state === 'done' && t.url) {
      const a = el('a', 'btn small primary download', 'Download');
      a.href = t.url;
      a.download = t.name;
      acts.appendChild(a);
    }
    if (acts.children.length) info.appendChild(acts);
    card.appendChild(info);
    return card;
  }

  /* --------------------------------------------------------- navigation */

  function openConv(key, name) {
    if (S.typingOut.state !== 'done') typingOut('done');
    getConv(key, name);
    S.active = key;
    $('app').classList.add('show-conv');
    $('text').value = '';
    autoGrow();
    renderSidebar();
    renderConvHead();
    renderMessages();
    const c = S.convs.get(key);
    if (convShown(c)) markRead(c);
    if (!phone.matches) $('text').focus();
  }

  $('lobby-item').addEventListener('click', () => openConv(LOBBY));
  $('back').addEventListener('click', () => {
    $('app').classList.remove('show-conv');
    renderSidebar();
  });
  phone.addEventListener('change', () => {
    const c = S.convs.get(S.active);
    if (c && convShown(c)) markRead(c);
  });

  $('older').addEventListener('click', () => {
    const lobby = getConv(LOBBY);
    const first = lobby.items.find((i) => i.seq !== undefined);
    if (!first || S.historyReq !== null) return;
    S.historyReq = 50;
    send({ type: 'history', before: first.seq, limit: 50, id: newId() });
  });

  /* -------------------------------------------------------------- start */

  const resume = session.get('chat.session');
  $('login-name').value = resume || store.get('chat.lastName') || '';
  if (resume) startLogin(resume);
  else showLogin();
  updateComposer();
}());
