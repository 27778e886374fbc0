// Metric graphs from the CloudWatch-compatible API: GetMetricData over a
// chosen time range, a grid of charts, a range picker and auto-refresh.
// The monitoring, consumers and delivery-stream pages share it.

import { call } from './api.js';
import { h, errorBox, alive } from './ui.js';
import { lineChart, panel } from './chart.js';
import { useStylesheet } from './css.js';

useStylesheet('monitor.css');

const MIN = 60000;

// ranges are the time-range picker's choices; period is the seconds per
// datapoint asked for, so that a chart has at most a few hundred.
export const ranges = [
  { id: '15m', label: '15 min', ms: 15 * MIN, period: 60 },
  { id: '1h', label: '1 h', ms: 60 * MIN, period: 60 },
  { id: '3h', label: '3 h', ms: 180 * MIN, period: 60 },
  { id: '12h', label: '12 h', ms: 720 * MIN, period: 300 },
  { id: '24h', label: '24 h', ms: 1440 * MIN, period: 300 },
];

// refreshChoices are auto-refresh intervals in ms (0 = off).
const refreshChoices = [
  { ms: 10000, label: 'every 10 s' },
  { ms: 60000, label: 'every minute' },
  { ms: 0, label: 'off' },
];

const prefs = 'rivulet.console.monitor';

function loadPrefs() {
  try {
    return JSON.parse(sessionStorage.getItem(prefs) || '{}');
  } catch {
    return {};
  }
}

function savePrefs(p) {
  sessionStorage.setItem(prefs, JSON.stringify({ ...loadPrefs(), ...p }));
}

// Statistics for which a minute without data counted nothing: drawn as
// zero. An average or a maximum of nothing is a gap instead.
const additive = new Set(['Sum', 'SampleCount']);

// fetchSeries runs every query in as few GetMetricData calls as the API
// allows (500 queries each), following NextToken, and returns each
// query's points [{t (ms), v}] by its id, ascending.
//   queries: [{id, namespace, name, dims: {Name: Value}, stat}]
export async function fetchSeries(queries, from, to, period) {
  const out = new Map(queries.map(q => [q.id, new Map()]));
  for (let i = 0; i < queries.length; i += 500) {
    const batch = queries.slice(i, i + 500);
    const input = {
      MetricDataQueries: batch.map(q => ({
        Id: q.id,
        MetricStat: {
          Metric: {
            Namespace: q.namespace,
            MetricName: q.name,
            Dimensions: Object.entries(q.dims).map(([Name, Value]) => ({ Name, Value })),
          },
          Period: period,
          Stat: q.stat,
        },
        ReturnData: true,
      })),
      StartTime: Math.floor(from / 1000),
      EndTime: Math.ceil(to / 1000),
      ScanBy: 'TimestampAscending',
    };
    for (let pages = 0; pages < 100; pages++) {
      const res = await call('monitoring', 'GetMetricData', input);
      for (const r of res.MetricDataResults || []) {
        const m = out.get(r.Id);
        if (!m) continue;
        const ts = r.Timestamps || [];
        const vs = r.Values || [];
        for (let j = 0; j < ts.length && j < vs.length; j++) m.set(toMillis(ts[j]), vs[j]);
      }
      if (!res.NextToken) break;
      input.NextToken = res.NextToken;
    }
  }
  const series = new Map();
  for (const q of queries) {
    const m = out.get(q.id);
    const points = [];
    // Every period slot from the first to the one now runs in.
    const first = Math.floor(from / (period * 1000)) * period * 1000;
    for (let t = first; t <= to; t += period * 1000) {
      const v = m.has(t) ? m.get(t) : additive.has(q.stat) ? 0 : null;
      points.push({ t, v });
    }
    // A datapoint off the period grid still shows.
    for (const [t, v] of m) if ((t - first) % (period * 1000) !== 0) points.push({ t, v });
    points.sort((a, b) => a.t - b.t);
    series.set(q.id, points);
  }
  return series;
}

// toMillis reads a JSON timestamp: epoch seconds (what the JSON protocol
// sends), or an ISO string.
function toMillis(t) {
  if (typeof t === 'number') return Math.round(t * 1000);
  const n = Number(t);
  return Number.isNaN(n) ? Date.parse(t) : Math.round(n * 1000);
}

// dashboard renders a toolbar and a grid of charts into el and keeps them
// current until el leaves the page or stop is called.
//   charts: [{title, metric, unit, area, note, lines: [{label, namespace,
//            name, dims, stat}]}], or {section, note} for a heading
//   or a function returning that list (called on every refresh).
export function dashboard(el, charts, { heading } = {}) {
  const p = loadPrefs();
  let range = ranges.find(r => r.id === p.range) || ranges[0];
  let every = refreshChoices.some(c => c.ms === p.every) ? p.every : refreshChoices[0].ms;
  let timer = null;
  let seq = 0;

  const buttons = ranges.map(r => h('button', {
    type: 'button', class: ['btn', 'small', 'range', r === range ? 'active' : ''],
    'data-range': r.id, 'aria-pressed': r === range ? 'true' : 'false',
    onclick: () => {
      range = r;
      savePrefs({ range: r.id });
      for (const b of buttons) {
        const on = b.dataset.range === r.id;
        b.classList.toggle('active', on);
        b.setAttribute('aria-pressed', on ? 'true' : 'false');
      }
      refresh();
    },
  }, r.label));
  const select = h('select', {
    class: 'refresh-every', 'aria-label': 'Auto-refresh',
    onchange: () => {
      every = Number(select.value);
      savePrefs({ every });
      schedule();
    },
  }, refreshChoices.map(c => h('option', { value: c.ms, selected: c.ms === every }, c.label)));
  const reload = h('button', { type: 'button', class: 'btn small', 'data-testid': 'metrics-refresh', onclick: () => refresh() }, 'Refresh');
  const updated = h('span', { class: 'muted updated', 'data-testid': 'metrics-updated' });
  const message = h('div', { class: 'message' });
  const grid = h('div', { class: 'chart-grid', 'data-testid': 'chart-grid' });
  el.append(
    h('div', { class: 'metrics-toolbar' },
      heading ? h('h2', {}, heading) : null,
      h('div', { class: 'segmented', role: 'group', 'aria-label': 'Time range' }, buttons),
      h('label', { class: 'inline' }, 'Auto-refresh ', select),
      reload, updated),
    message, grid);

  function schedule() {
    clearTimeout(timer);
    if (every > 0) timer = setTimeout(() => (alive(el) ? refresh() : null), every);
  }

  async function refresh() {
    const mine = ++seq;
    clearTimeout(timer);
    const to = Date.now();
    // On the period grid, so that the first datapoint is in the range.
    const step = range.period * 1000;
    const from = Math.floor((to - range.ms) / step) * step;
    try {
      const list = typeof charts === 'function' ? await charts() : charts;
      const queries = [];
      list.forEach((c, i) => (c.lines || []).forEach((l, j) => queries.push({ ...l, id: `q${i}_${j}` })));
      const data = await fetchSeries(queries, from, to, range.period);
      if (mine !== seq || !alive(el)) return;
      grid.replaceChildren(...list.map((c, i) => {
        if (c.section) return h('h3', { class: 'chart-section' }, c.section, c.note ? h('span', { class: 'muted chart-note' }, c.note) : null);
        const series = c.lines.map((l, j) => ({ label: l.label, points: data.get(`q${i}_${j}`) }));
        return panel({
          title: c.title, metric: c.metric, note: c.note, series,
          chart: lineChart({ from, to, series, unit: c.unit, area: c.area }),
        });
      }));
      message.replaceChildren();
      grid.dataset.range = range.id; // what the charts now show
      updated.textContent = 'Updated ' + new Date(to).toLocaleTimeString();
    } catch (err) {
      if (mine !== seq || !alive(el)) return;
      message.replaceChildren(errorBox(err));
    }
    if (mine === seq && alive(el)) schedule();
  }

  refresh();
  // stop ends auto-refresh: app.js calls a page's cleanup when it leaves.
  const stop = () => {
    seq++;
    every = 0;
    clearTimeout(timer);
  };
  return { refresh, stop };
}
