// files.js — file transfers of the chat page (PROTOCOL.md, Files): the
// offer with the file's SHA-256, chunks within the server's window, the
// receiver's check, the cards that show them. chat.js hands over what it
// shares through initFiles().

import {$, el, fold, fmtSize, toast} from './util.js';

const CHUNK = 65536; // PROTOCOL.md: 1–65536 data bytes per binary message

let S, send, newId, getConv, appendItem, updateItem, renderSidebar, convShown,
    isMe, LOBBY;

export function initFiles(app) {
  ({
    S,
    send,
    newId,
    getConv,
    appendItem,
    updateItem,
    renderSidebar,
    convShown,
    isMe,
    LOBBY
  } = app);
}

// The server's file_* events, merged into chat.js's handlers.
export const fileHandlers = {
  file_offer(m) {
    incomingOffer(m);
  },
  file_status(m) {
    offerAnswered(m);
  },
  file_accept(m) {
    offerAccepted(m);
  },
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
    if (t.acked >= t.size && t.state === 'sending')
      fileState(t, 'verifying');
    else
      fileProgress(t);
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
    let text = by ? `Cancelled by ${by}${reason}.` :
                    `Cancelled${reason || ' by the server'}.`;
    if (by && m.reason === 'disconnected')
      text = `${by} went offline; the transfer stopped.`;
    fileState(t, 'cancelled', text);
  },
};

function newTransfer(t) {
  t.tid = ++S.nextTid;
  S.transfers.set(t.tid, t);
  const c = getConv(fold(t.peer), t.peer);
  t.item = {
    kind: 'file',
    ts: Date.now(),
    from: t.dir === 'out' ? S.me : t.peer,
    mine: t.dir === 'out',
    t
  };
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
    dir: 'out',
    peer: c.name,
    name: file.name,
    size: file.size,
    file,
    state: 'hashing',
    done: 0,
    sent: 0,
    acked: 0,
    num: null,
    window: 0,
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
  const sent = send({
    type: 'file_offer',
    id: t.id,
    to: t.peer,
    name: t.name,
    size: t.size,
    sha256: t.sha256
  });
  fileState(
      t, sent ? 'offering' : 'failed',
      sent ? '' : 'Not connected: the file was not offered.');
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
    fileState(
        t, 'failed',
        `${t.peer} is offline. Files are not stored: ` +
            'send it when they are online.');
  } else if (m.status === 'unsupported') {
    fileState(
        t, 'failed', `${t.peer} uses a client that cannot receive files.`);
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
      const data = new Uint8Array(
          await t.file.slice(t.sent, t.sent + len).arrayBuffer());
      if (t.state !== 'sending' || !ws || ws !== S.ws ||
          ws.readyState !== WebSocket.OPEN)
        break;
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
    dir: 'in',
    peer: m.from,
    num: m.file,
    name: String(m.name || 'file'),
    size: m.size,
    sha256: String(m.sha256 || '').toLowerCase(),
    state: 'offered',
    got: 0,
  });
  S.files.set(m.file, t);
  const c = getConv(fold(m.from), m.from);
  if (!convShown(c)) c.unread++;
  renderSidebar();
  if (c.key !== S.active)
    toast(
        `${m.from} wants to send you ${t.name} (${fmtSize(t.size)}).`, 'info',
        5000);
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

export function onBinary(buf) {
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
  if (t.got === t.size)
    finishReceive(t);
  else
    fileProgress(t);
}

// PROTOCOL.md, Files step 4: the receiver checks the SHA-256 and says so.
function finishReceive(t) {
  t.gotSha = t.hash.hex();
  const ok = t.gotSha === t.sha256;
  send({ type: 'file_result', file: t.num, ok });
  S.files.delete(t.num);
  if (ok)
    t.url = URL.createObjectURL(
        new Blob(t.chunks, { type: 'application/octet-stream' }));
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

export function endTransfers(why) {
  for (const t of S.transfers.values()) {
    if ([
          'hashing', 'offering', 'waiting', 'sending', 'verifying', 'offered',
          'receiving'
        ].includes(t.state)) {
      t.chunks = null;
      fileState(t, 'failed', why);
    }
  }
  S.files.clear();
  S.offers.clear();
}

export function fileState(t, state, why) {
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
    case 'hashing':
      return `Preparing… ${Math.floor((t.done / (t.size || 1)) * 100)}%`;
    case 'offering':
      return 'Offering…';
    case 'waiting':
      return `Waiting for ${p} to accept`;
    case 'sending':
      return `Sending ${fmtSize(t.acked)} of ${fmtSize(t.size)}` +
          speed(t, t.acked);
    case 'verifying':
      return `Sent. ${p} is checking it…`;
    case 'offered':
      return `${p} wants to send you this file`;
    case 'receiving':
      return `Receiving ${fmtSize(t.got)} of ${fmtSize(t.size)}` +
          speed(t, t.got);
    case 'done':
      return t.dir === 'out' ? `Delivered. ${p} checked it: intact` :
                               'Received and checked: intact';
    case 'bad':
      return t.dir === 'out' ?
          `${p} received it damaged (SHA-256 mismatch)` :
          'It arrived damaged (SHA-256 mismatch) and was discarded';
    case 'refused':
      return t.dir === 'out' ? `${p} declined the file` :
                               'You declined the file';
    default:
      return t.why || t.state;
  }
}

$('attach').addEventListener('click', () => $('file-input').click());
$('file-input').addEventListener('change', () => {
  for (const f of $('file-input').files) offerFile(f);
  $('file-input').value = '';
});

// Drag and drop onto the conversation; anywhere else a dropped file must
// not replace the page.
const hasFiles = (e) =>
    e.dataTransfer && [...e.dataTransfer.types].includes('Files');
window.addEventListener('dragover', (e) => {
  if (hasFiles(e)) e.preventDefault();
});
window.addEventListener('drop', (e) => {
  if (hasFiles(e)) e.preventDefault();
});
const conv = $('conversation');
conv.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  const c = S.convs.get(S.active);
  $('drop-text').textContent = S.active === LOBBY ?
      'Files go to one person: open a conversation with them first.' :
      `Drop to send to ${c.name}`;
  $('drop').hidden = false;
  $('drop').classList.toggle('no', S.active === LOBBY);
});
conv.addEventListener('dragover', (e) => {
  if (hasFiles(e)) e.preventDefault();
});
$('drop').addEventListener('dragleave', (e) => {
  if (!e.relatedTarget || !conv.contains(e.relatedTarget))
    $('drop').hidden = true;
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
  if (b.dataset.act === 'accept' && t.state === 'offered')
    acceptFile(t);
  else if (b.dataset.act === 'refuse' && t.state === 'offered') {
    send({ type: 'file_refuse', file: t.num });
    S.files.delete(t.num);
    fileState(t, 'refused');
  } else if (b.dataset.act === 'cancel') {
    if (t.state === 'hashing')
      fileState(t, 'cancelled', 'You cancelled.');
    else
      cancelTransfer(t);
  }
});

export function fileCard(t) {
  const card = el('div', 'file-card');
  card.dataset.state = t.state;
  card.dataset.tid = t.tid;
  const ext =
      (t.name.includes('.') ? t.name.split('.').pop() : 'file').slice(0, 4);
  card.appendChild(el('div', 'file-icon', ext.toUpperCase()));
  const info = el('div', 'file-info');
  const nameLine = el('div', 'file-name', t.name);
  nameLine.title = t.name;
  info.appendChild(nameLine);
  info.appendChild(el('div', 'file-size', fmtSize(t.size)));
  const active =
      ['hashing', 'sending', 'verifying', 'receiving'].includes(t.state);
  const prog = el('div', `progress${active ? '' : ' idle'}`);
  const bar = el('div', 'bar');
  bar.style.width = `${fileFraction(t) * 100}%`;
  prog.appendChild(bar);
  if (active || t.state === 'done') info.appendChild(prog);
  const good = t.state === 'done';
  const bad = ['bad', 'failed', 'cancelled', 'refused'].includes(t.state);
  info.appendChild(
      el('div', `file-state${good ? ' good' : ''}${bad ? ' bad' : ''}`,
         fileStateText(t)));
  const sha = t.dir === 'in' ? t.gotSha : t.sha256;
  if (sha && (t.state === 'done' || t.state === 'bad')) {
    const h =
        el('div', 'file-hash',
           `SHA-256 ${sha.slice(0, 12)}…${sha.slice(-6)} ` +
               (good ? '✓ verified' : '✗ mismatch'));
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
  } else if ([
               'hashing', 'offering', 'waiting', 'sending', 'receiving'
             ].includes(t.state)) {
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
