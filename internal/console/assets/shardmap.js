// The shard map: the 2^128 hash-key space drawn left to right, one row per
// generation of shards, with lines from parents to children. layout() is
// plain arithmetic (it also runs under Node in the Go tests); draw() makes
// the SVG.

import { svg } from './ui.js';

export const KEY_SPACE = 1n << 128n;
export const MAX_HASH_KEY = KEY_SPACE - 1n;

/** midpoint is the hash key a split at the middle of [start, end] uses as
 * the new starting hash key: the first key of the upper half. */
export function midpoint(start, end) {
  const s = BigInt(start), e = BigInt(end);
  return (s + (e - s + 1n) / 2n).toString();
}

/** isOpen reports whether a shard (as ListShards returns it) is open:
 * a closed shard has an ending sequence number. */
export const isOpen = shard => !shard.SequenceNumberRange || !shard.SequenceNumberRange.EndingSequenceNumber;

// The position of a shard in creation order: its id's number, then its
// starting sequence number.
function order(shard) {
  const m = /(\d+)$/.exec(shard.ShardId);
  const seq = shard.SequenceNumberRange && shard.SequenceNumberRange.StartingSequenceNumber;
  return [m ? BigInt(m[1]) : 0n, seq && /^\d+$/.test(seq) ? BigInt(seq) : 0n];
}

function cmpOrder(a, b) {
  const [a1, a2] = order(a), [b1, b2] = order(b);
  if (a1 !== b1) return a1 < b1 ? -1 : 1;
  if (a2 !== b2) return a2 < b2 ? -1 : 1;
  return 0;
}

// fraction maps a hash key to [0, 1] with 2^-64 precision, plenty for a
// drawing.
const fraction = k => Number(k >> 64n) / 2 ** 64;

/** layout places shards: each gets a row one below the lowest row of the
 * earlier shards whose hash ranges overlap its own. Shards whose ranges
 * overlap descend from one another, so this is the lineage generation
 * (0 for the first shards), and it stays right when retention has
 * dropped a parent. Returns {rows, items, links}: items are {shard, row,
 * x0, x1 (fractions of the key space), open, index}; links are {from,
 * to} items, parent to child. */
export function layout(shards) {
  const sorted = [...shards].sort(cmpOrder);
  const items = [];
  const byId = new Map();
  for (const shard of sorted) {
    const start = BigInt(shard.HashKeyRange.StartingHashKey);
    const end = BigInt(shard.HashKeyRange.EndingHashKey);
    let row = 0;
    for (const it of items) {
      if (it.start <= end && start <= it.end) row = Math.max(row, it.row + 1);
    }
    const m = /(\d+)$/.exec(shard.ShardId);
    const item = {
      shard, row, start, end,
      x0: fraction(start), x1: fraction(end + 1n),
      open: isOpen(shard),
      index: m ? String(Number(m[1])) : shard.ShardId,
    };
    items.push(item);
    byId.set(shard.ShardId, item);
  }
  const links = [];
  for (const it of items) {
    for (const p of [it.shard.ParentShardId, it.shard.AdjacentParentShardId]) {
      if (p && byId.has(p)) links.push({ from: byId.get(p), to: it });
    }
  }
  const rows = items.reduce((n, it) => Math.max(n, it.row + 1), 0);
  return { rows, items, links };
}

/** adjacentPairs lists the pairs of open shards that MergeShards accepts:
 * one's range ends right before the other's starts. */
export function adjacentPairs(shards) {
  const open = shards.filter(isOpen)
    .map(s => ({ s, start: BigInt(s.HashKeyRange.StartingHashKey), end: BigInt(s.HashKeyRange.EndingHashKey) }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const pairs = [];
  for (let i = 0; i + 1 < open.length; i++) {
    if (open[i].end + 1n === open[i + 1].start) pairs.push([open[i].s, open[i + 1].s]);
  }
  return pairs;
}

/** share is the part of the key space [start, end] covers, in percent. */
export function share(start, end) {
  const n = BigInt(end) - BigInt(start) + 1n;
  return Number((n * 1000000n) / KEY_SPACE) / 10000;
}

// Drawing sizes, in viewBox units.
const W = 1000, PAD = 8, ROW = 34, GAP = 26, AXIS = 26;

/** draw returns the SVG of shards. onSelect(shard), if given, is called
 * when a shard is clicked. */
export function draw(shards, onSelect) {
  const { rows, items, links } = layout(shards);
  const height = PAD + Math.max(rows, 1) * (ROW + GAP) - GAP + AXIS + PAD;
  const x = f => PAD + f * (W - 2 * PAD);
  const y = row => PAD + row * (ROW + GAP);

  const root = svg('svg', {
    viewBox: `0 0 ${W} ${height}`, class: 'shard-map', id: 'shard-map', 'data-testid': 'shard-map',
    role: 'img', 'aria-label': `Shard map: ${items.filter(i => i.open).length} open and ${items.filter(i => !i.open).length} closed shards`,
    'data-open': items.filter(i => i.open).length, 'data-closed': items.filter(i => !i.open).length,
  });

  // Lineage first, so the shards are drawn over it.
  for (const { from, to } of links) {
    const x1 = x((from.x0 + from.x1) / 2), y1 = y(from.row) + ROW;
    const x2 = x((to.x0 + to.x1) / 2), y2 = y(to.row);
    const my = (y1 + y2) / 2;
    root.append(svg('path', {
      class: 'lineage', 'data-testid': 'lineage', 'data-from': from.shard.ShardId, 'data-to': to.shard.ShardId,
      d: `M${x1.toFixed(1)},${y1} C${x1.toFixed(1)},${my} ${x2.toFixed(1)},${my} ${x2.toFixed(1)},${y2}`,
    }));
  }

  for (const it of items) {
    const x0 = x(it.x0), w = Math.max(x(it.x1) - x0, 1);
    const g = svg('g', {
      class: ['shard', it.open ? 'open' : 'closed', onSelect && it.open ? 'selectable' : ''],
      'data-testid': 'shard-rect', 'data-shard-id': it.shard.ShardId, 'data-state': it.open ? 'open' : 'closed',
      'data-row': it.row,
      onclick: onSelect ? () => onSelect(it.shard) : undefined,
    },
    svg('title', {}, `${it.shard.ShardId} (${it.open ? 'open' : 'closed'})\n` +
      `hash keys ${it.shard.HashKeyRange.StartingHashKey} – ${it.shard.HashKeyRange.EndingHashKey}\n` +
      `${share(it.start, it.end)} % of the key space`),
    svg('rect', { x: x0.toFixed(2), y: y(it.row), width: (w - 1.5 > 1 ? w - 1.5 : w).toFixed(2), height: ROW, rx: 3 }));
    if (w > 12 + 7 * it.index.length) {
      g.append(svg('text', { x: (x0 + w / 2).toFixed(1), y: y(it.row) + ROW / 2 + 4, 'text-anchor': 'middle' }, it.index));
    }
    root.append(g);
  }

  // The axis: 0, quarters, and the top of the key space.
  const base = PAD + Math.max(rows, 1) * (ROW + GAP) - GAP + 6;
  root.append(svg('line', { class: 'axis', x1: x(0), y1: base, x2: x(1), y2: base }));
  const ticks = [[0, '0'], [0.25, '2¹²⁶'], [0.5, '2¹²⁷'], [0.75, '3·2¹²⁶'], [1, '2¹²⁸−1']];
  for (const [f, label] of ticks) {
    root.append(svg('line', { class: 'axis', x1: x(f), y1: base, x2: x(f), y2: base + 5 }));
    root.append(svg('text', {
      class: 'tick', x: x(f), y: base + 17, 'text-anchor': f === 0 ? 'start' : f === 1 ? 'end' : 'middle',
    }, label));
  }
  return root;
}
