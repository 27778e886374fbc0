// Small DOM helpers shared by the pages. The console's Content-Security-
// Policy forbids inline style, so nothing here writes a style attribute:
// looks come from classes in style.css.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else if (k === 'class' && Array.isArray(v)) node.setAttribute('class', v.filter(Boolean).join(' '));
    else if (k === 'style') throw new Error('inline style is blocked by the CSP; use a class');
    else if (k === 'value' && 'value' in node) node.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') node[k] = Boolean(v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : String(c));
  }
}

/** h builds an HTML element: h('a', {href: '#/x', class: 'btn'}, 'text'). */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** svg builds an SVG element the same way. */
export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** streamHref is the route of a stream's page (tab "" is the details). */
export function streamHref(name, tab = '') {
  return '#/streams/' + encodeURIComponent(name) + (tab ? '/' + tab : '');
}

/** fmtTime formats an AWS JSON timestamp (epoch seconds) or a Date. */
export function fmtTime(t) {
  if (t === undefined || t === null || t === '') return '—';
  const d = t instanceof Date ? t : new Date(typeof t === 'number' ? t * 1000 : t);
  if (Number.isNaN(d.getTime())) return String(t);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** fmtBytes formats a byte count. */
export function fmtBytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(1) + ' MiB';
}

/** status renders a stream status as a badge. */
export function status(s) {
  return h('span', { class: ['badge', 'status-' + String(s || '').toLowerCase()], 'data-testid': 'status' }, s || '—');
}

/** errorBox renders an error thrown by api.js (code and message). */
export function errorBox(err) {
  const code = err && err.code ? err.code : (err && err.name) || 'Error';
  const msg = err && err.message ? err.message : String(err);
  return h('div', { class: 'error', role: 'alert', 'data-testid': 'error' },
    h('strong', {}, code), ': ', msg);
}

/** notice shows a message in el (replacing the one before): kind is
 * "ok", "error" or "info". An Error shows its code and message. */
export function notice(el, kind, what) {
  el.replaceChildren(what instanceof Error || (what && what.code)
    ? errorBox(what)
    : h('div', { class: ['notice', kind], role: 'status' }, what));
}

/** busy disables button while fn runs, so a slow call is not sent twice. */
export async function busy(button, fn) {
  button.disabled = true;
  button.classList.add('busy');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.classList.remove('busy');
  }
}

/** sleep resolves after ms milliseconds. */
export const sleep = ms => new Promise(done => setTimeout(done, ms));

/** alive reports whether the page that owns el is still shown: app.js
 * replaces the page's container on every navigation. */
export const alive = el => el.isConnected;
