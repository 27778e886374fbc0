// The console's shell: a hash router, the top bar and, for a stream's
// pages, the header with its tabs.
//
// Page contract: each pages/X.js exports `async function render(el,
// params)`. el is an empty container that belongs to the page until the
// route changes; it is then detached (el.isConnected turns false, which is
// how a polling page knows to stop), and if render returned a function,
// that function is called. params is an object holding the route's parts:
// {name} for a stream or delivery stream (decoded), nothing for a list;
// and query, the URLSearchParams after a "?" in the hash (#/streams?limit=5).

import { h, errorBox, streamHref } from './ui.js';

/** The routes: a pattern over the hash path, the page module, and for a
 * stream's pages the tab they show. */
const ROUTES = [
  { re: /^\/streams$/, page: 'streams', nav: 'streams' },
  { re: /^\/streams\/([^/]+)$/, page: 'stream', nav: 'streams', tab: '' },
  { re: /^\/streams\/([^/]+)\/data$/, page: 'viewer', nav: 'streams', tab: 'data' },
  { re: /^\/streams\/([^/]+)\/monitoring$/, page: 'monitoring', nav: 'streams', tab: 'monitoring' },
  { re: /^\/streams\/([^/]+)\/consumers$/, page: 'consumers', nav: 'streams', tab: 'consumers' },
  { re: /^\/delivery$/, page: 'delivery', nav: 'delivery' },
  { re: /^\/delivery\/([^/]+)$/, page: 'delivery', nav: 'delivery' },
];

/** A stream's tabs: route suffix and label. */
export const TABS = [['', 'Details'], ['data', 'Data viewer'], ['monitoring', 'Monitoring'], ['consumers', 'Consumers']];

/** route parses a location hash into {page, nav, tab, params}, or null. */
export function route(hash) {
  const raw = (hash || '').replace(/^#/, '');
  const q = raw.indexOf('?');
  const path = (q < 0 ? raw : raw.slice(0, q)).replace(/\/+$/, '') || '/';
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (!m) continue;
    const params = { query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
    if (m[1] !== undefined) {
      try {
        params.name = decodeURIComponent(m[1]);
      } catch {
        return null;
      }
    }
    return { page: r.page, nav: r.nav, tab: r.tab, params };
  }
  return null;
}

const main = document.getElementById('main');
let current = null; // {el, cleanup} of the page shown
let seq = 0; // navigations so far, so a slow page does not draw over a newer one

async function show() {
  const r = route(location.hash);
  if (!r) {
    if (location.hash === '' || location.hash === '#' || location.hash === '#/') {
      location.replace('#/streams');
      return;
    }
    leave();
    main.replaceChildren(h('div', { class: 'card' }, h('h1', {}, 'Not found'),
      h('p', {}, 'No page at ', h('code', {}, location.hash), '. ', h('a', { href: '#/streams' }, 'Streams'))));
    return;
  }
  const my = ++seq;
  leave();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === r.nav);

  const el = h('div', { class: 'page', id: 'page', 'data-page': r.page });
  if (r.tab !== undefined) {
    const name = r.params.name;
    document.title = `${name} · Rivulet`;
    main.replaceChildren(
      h('div', { class: 'page-head stream-head' },
        h('nav', { class: 'crumbs' }, h('a', { href: '#/streams' }, 'Streams'), ' / '),
        h('h1', { id: 'stream-title', 'data-testid': 'stream-title' }, name)),
      h('nav', { class: 'tabs', id: 'stream-tabs', 'data-testid': 'stream-tabs' },
        TABS.map(([tab, label]) => h('a', {
          href: streamHref(name, tab), class: tab === r.tab ? 'active' : '', 'data-tab': tab || 'details',
          'aria-current': tab === r.tab ? 'page' : undefined,
        }, label))),
      el);
  } else {
    document.title = 'Rivulet console';
    main.replaceChildren(el);
  }
  current = { el, cleanup: null };
  try {
    const mod = await import(`./pages/${r.page}.js`);
    if (my !== seq) return;
    const cleanup = await mod.render(el, r.params);
    if (typeof cleanup === 'function') {
      if (my === seq) current.cleanup = cleanup;
      else cleanup();
    }
  } catch (err) {
    if (my === seq) el.replaceChildren(errorBox(err));
  }
}

function leave() {
  if (!current) return;
  const { el, cleanup } = current;
  current = null;
  el.remove();
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
  }
}

async function start() {
  // The login box and the region come from modules that may fail to
  // load: the shell still works without them.
  try {
    const login = await import('./login.js');
    if (typeof login.ensureLogin === 'function') await login.ensureLogin();
  } catch (err) {
    console.warn('login.js:', err);
  }
  try {
    const api = await import('./api.js');
    if (typeof api.region === 'function') {
      const reg = await api.region();
      if (reg) document.getElementById('region').textContent = reg;
    }
  } catch (err) {
    console.warn('api.js:', err);
  }
  window.addEventListener('hashchange', show);
  await show();
  document.body.dataset.ready = 'true';
}

start();
