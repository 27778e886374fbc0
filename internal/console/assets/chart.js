// Line and area charts in SVG, with time and value axes and a hover
// read-out: no library. Colours and widths are SVG presentation
// attributes, which the Content-Security-Policy allows (it forbids style
// attributes); layout classes are in monitor.css.

import { h, svg } from './ui.js';

// Colours that stay apart for the few series a chart has.
export const palette = ['#2f6fdf', '#e07b00', '#1a9e57', '#c2306b', '#7b4bd0', '#00838f', '#8d6e00', '#5d6b7a'];

const W = 640; // viewBox size: the chart scales to its box
const H = 220;
const M = { top: 12, right: 14, bottom: 26, left: 58 };

// format renders a value in a unit: CloudWatch's "Count", "Bytes",
// "Milliseconds", "Percent", or "Ratio" (0..1 shown as a percentage).
export function format(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const a = Math.abs(v);
  switch (unit) {
    case 'Bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
      let i = 0;
      let x = a;
      while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
      return (v < 0 ? '-' : '') + trim(x) + ' ' + units[i];
    }
    case 'Milliseconds':
      if (a >= 3600000) return trim(v / 3600000) + ' h';
      if (a >= 60000) return trim(v / 60000) + ' min';
      if (a >= 1000) return trim(v / 1000) + ' s';
      return trim(v) + ' ms';
    case 'Seconds':
      return format(v * 1000, 'Milliseconds');
    case 'Ratio':
      return trim(v * 100) + ' %';
    case 'Percent':
      return trim(v) + ' %';
    default: {
      const si = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
      for (const [d, s] of si) if (a >= d) return trim(v / d) + s;
      return trim(v);
    }
  }
}

function trim(x) {
  const a = Math.abs(x);
  const s = a >= 100 || Number.isInteger(x) ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

// niceTicks covers [0, max] with about n round steps.
export function niceTicks(max, n = 4, unit = '') {
  if (!(max > 0)) max = unit === 'Ratio' ? 1 : 1;
  let raw = max / n;
  let base = 10;
  let mags = [1, 2, 5, 10];
  if (unit === 'Bytes' && max >= 1024) {
    base = 1024;
    mags = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
  }
  const mag = base === 10 ? Math.pow(10, Math.floor(Math.log10(raw))) : Math.pow(1024, Math.floor(Math.log(raw) / Math.log(1024)));
  let step = mag * mags[mags.length - 1];
  for (const m of mags) {
    if (mag * m >= raw) { step = mag * m; break; }
  }
  const ticks = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(v);
  if (ticks[ticks.length - 1] < max) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

const MIN = 60000;
const steps = [1, 2, 5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440].map(m => m * MIN);

// timeTicks are round local times in [from, to], at most about 7.
export function timeTicks(from, to) {
  const span = to - from;
  const step = steps.find(s => span / s <= 7) || steps[steps.length - 1];
  const tz = new Date(from).getTimezoneOffset() * MIN;
  const ticks = [];
  for (let t = Math.ceil((from - tz) / step) * step + tz; t <= to; t += step) ticks.push(t);
  return ticks;
}

function clock(t, withDate) {
  const d = new Date(t);
  const p = n => String(n).padStart(2, '0');
  const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
  return withDate ? `${d.getMonth() + 1}/${d.getDate()} ${hm}` : hm;
}

// lineChart draws series over [from, to] (ms since the epoch):
//   series: [{label, points: [{t, v}], colour}]: v null is a gap
//   unit:   as for format
//   area:   fill under each line
// The <svg> carries data-points (values drawn), data-max and data-total
// (their sum: for a Sum statistic, the count over the whole range).
export function lineChart({ from, to, series, unit = 'Count', area = false, empty = 'No data in this range' }) {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  let max = 0;
  let count = 0;
  let total = 0;
  for (const s of series) {
    for (const p of s.points) {
      if (p.v === null || p.v === undefined || p.t < from || p.t > to) continue;
      count++;
      total += p.v;
      if (p.v > max) max = p.v;
    }
  }
  const ticks = niceTicks(unit === 'Ratio' ? Math.max(max, 1) : max, 4, unit);
  const top = ticks[ticks.length - 1];
  const x = t => M.left + ((t - from) / (to - from)) * pw;
  const y = v => M.top + ph - (v / top) * ph;

  const root = svg('svg', {
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'data-points': count, 'data-max': max, 'data-total': total,
    'aria-label': series.map(s => s.label).join(', '),
  });
  const grid = svg('g', { class: 'grid' });
  for (const v of ticks) {
    grid.append(svg('line', { x1: M.left, x2: M.left + pw, y1: y(v), y2: y(v), stroke: '#e3e7ed', 'stroke-width': 1 }));
    grid.append(svg('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick', fill: '#5d6b7a', 'font-size': 11 }, format(v, unit)));
  }
  const multiDay = to - from > 20 * 3600000;
  for (const t of timeTicks(from, to)) {
    grid.append(svg('line', { x1: x(t), x2: x(t), y1: M.top, y2: M.top + ph, stroke: '#eef1f5', 'stroke-width': 1 }));
    grid.append(svg('text', { x: x(t), y: H - 8, 'text-anchor': 'middle', class: 'tick', fill: '#5d6b7a', 'font-size': 11 }, clock(t, multiDay)));
  }
  grid.append(svg('line', { x1: M.left, x2: M.left + pw, y1: M.top + ph, y2: M.top + ph, stroke: '#9aa5b1', 'stroke-width': 1 }));
  root.append(grid);

  series.forEach((s, i) => {
    const colour = s.colour || palette[i % palette.length];
    const runs = [];
    let run = [];
    for (const p of s.points) {
      if (p.v === null || p.v === undefined || p.t < from || p.t > to) {
        if (run.length) runs.push(run);
        run = [];
      } else run.push(p);
    }
    if (run.length) runs.push(run);
    const g = svg('g', { class: 'series', 'data-label': s.label });
    for (const r of runs) {
      const d = r.map((p, j) => `${j ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join('');
      if (area) {
        const base = (M.top + ph).toFixed(1);
        g.append(svg('path', {
          class: 'area', d: `${d}L${x(r[r.length - 1].t).toFixed(1)},${base}L${x(r[0].t).toFixed(1)},${base}Z`,
          fill: colour, 'fill-opacity': 0.14, stroke: 'none',
        }));
      }
      g.append(svg('path', { class: 'line', d, fill: 'none', stroke: colour, 'stroke-width': 1.8, 'stroke-linejoin': 'round' }));
      // A lone point has no line to show it.
      if (r.length === 1) g.append(svg('circle', { cx: x(r[0].t), cy: y(r[0].v), r: 2.5, fill: colour }));
    }
    root.append(g);
  });

  if (count === 0) {
    root.append(svg('text', { x: M.left + pw / 2, y: M.top + ph / 2, 'text-anchor': 'middle', class: 'no-data', fill: '#8a96a3', 'font-size': 13 }, empty));
  }
  hover(root, { series, unit, x, from, to, top: M.top, bottom: M.top + ph, left: M.left, right: M.left + pw });
  return root;
}

// hover shows a vertical rule and the values nearest the pointer.
function hover(root, { series, unit, x, from, to, top, bottom, left, right }) {
  const times = [...new Set(series.flatMap(s => s.points.filter(p => p.v !== null && p.v !== undefined).map(p => p.t)))].sort((a, b) => a - b);
  if (times.length === 0) return;
  const rule = svg('line', { y1: top, y2: bottom, stroke: '#5d6b7a', 'stroke-width': 1, 'stroke-dasharray': '3 3', visibility: 'hidden' });
  const box = svg('rect', { rx: 3, fill: '#ffffff', stroke: '#c5ccd6', 'fill-opacity': 0.95 });
  const text = svg('text', { 'font-size': 11, fill: '#1f2933' });
  const tip = svg('g', { class: 'tip', visibility: 'hidden', 'pointer-events': 'none' }, box, text);
  const catcher = svg('rect', { x: left, y: top, width: right - left, height: bottom - top, fill: 'transparent' });
  root.append(rule, tip, catcher);
  const values = new Map(series.map(s => [s, new Map(s.points.map(p => [p.t, p.v]))]));

  catcher.addEventListener('pointermove', ev => {
    const m = root.getScreenCTM();
    if (!m) return;
    const px = (ev.clientX - m.e) / m.a;
    const t = from + ((px - left) / (right - left)) * (to - from);
    let best = times[0];
    for (const u of times) if (Math.abs(u - t) < Math.abs(best - t)) best = u;
    const bx = x(best);
    rule.setAttribute('x1', bx);
    rule.setAttribute('x2', bx);
    rule.setAttribute('visibility', 'visible');
    const lines = [clock(best, to - from > 20 * 3600000)];
    series.forEach(s => lines.push(`${s.label}: ${format(values.get(s).get(best), unit)}`));
    text.replaceChildren(...lines.map((l, i) => svg('tspan', { x: 0, dy: i ? 14 : 0, 'font-weight': i ? 400 : 600 }, l)));
    tip.setAttribute('visibility', 'visible');
    const bb = text.getBBox();
    const tx = bx + 10 + bb.width + 12 > right ? bx - bb.width - 22 : bx + 10;
    text.setAttribute('transform', `translate(${tx + 6},${top + 16})`);
    box.setAttribute('x', tx);
    box.setAttribute('y', top + 4);
    box.setAttribute('width', bb.width + 12);
    box.setAttribute('height', bb.height + 8);
  });
  catcher.addEventListener('pointerleave', () => {
    rule.setAttribute('visibility', 'hidden');
    tip.setAttribute('visibility', 'hidden');
  });
}

// panel is a titled chart with its legend: the unit of the monitoring
// grids. metric names the panel for tests (data-metric).
export function panel({ title, metric, note, chart, series }) {
  const legend = h('ul', { class: 'legend' }, series.map((s, i) => h('li', {},
    h('span', { class: ['swatch', 'c' + (i % palette.length)] }), s.label)));
  return h('figure', { class: 'chart-panel', 'data-metric': metric || title },
    h('figcaption', {}, h('span', { class: 'chart-title' }, title), note ? h('span', { class: 'muted chart-note' }, note) : null),
    chart, series.length > 1 ? legend : null);
}
