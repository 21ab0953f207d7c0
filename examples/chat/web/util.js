// util.js — the chat page's small helpers: the DOM, names, sizes and times,
// storage that may be missing, toasts. An ES module, like chat.js and files.js.

export const $ = (id) => document.getElementById(id);
export const fold = (n) => String(n).toLowerCase();

// Web storage may be missing (privacy settings: reading the property
// throws) or full: never fatal. area() returns localStorage or
// sessionStorage; it is called on each use, inside the try.
function guarded(area) {
  return {
    get(k) {
      try {
        return area().getItem(k);
      } catch (e) {
        return null;
      }
    },
    set(k, v) {
      try {
        area().setItem(k, v);
      } catch (e) { /* keep going */
      }
    },
    del(k) {
      try {
        area().removeItem(k);
      } catch (e) { /* keep going */
      }
    },
  };
}
export const store = guarded(() => localStorage); // tokens, PMs: per browser
export const session = guarded(() => sessionStorage); // who this tab is

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function hue(name) {
  let h = 0;
  for (const ch of fold(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

export function avatar(node, name) {
  node.textContent = [...name][0].toUpperCase();
  node.style.background = `hsl(${hue(name)} 55% 48%)`;
  node.classList.remove('lobby');
}

export function fmtSize(n) {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export const fmtTime = (ts) =>
    new Date(ts).toLocaleTimeString([], {hour: '2-digit', minute: '2-digit'});

export function fmtDay(ts) {
  const d = new Date(ts);
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86400000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return d.toLocaleDateString(
      [], { weekday: 'long', month: 'long', day: 'numeric' });
}

export function toast(text, kind = 'error', ms = 7000) {
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
