// The data viewer: pick a shard and a starting position, then page through
// its records with GetRecords. Each record shows as text, pretty JSON or
// hex; KPL aggregated records are opened into their user records.

import { call } from '../api.js';
import { h, fmtTime, fmtBytes, notice, busy, errorBox } from '../ui.js';
import { deaggregate, hashKeyOfRecord, DeaggregationError } from '../kpl.js';
import { isOpen } from '../shardmap.js';

const POSITIONS = [
  ['TRIM_HORIZON', 'Trim horizon (oldest)'],
  ['LATEST', 'Latest (only new records)'],
  ['AT_TIMESTAMP', 'At timestamp'],
  ['AT_SEQUENCE_NUMBER', 'At sequence number'],
  ['AFTER_SEQUENCE_NUMBER', 'After sequence number'],
];
const FORMATS = [['auto', 'Auto'], ['text', 'Text'], ['json', 'JSON'], ['hex', 'Hex']];
// Past this many bytes a record shows its start only: a 1 MiB record in
// hex would be 4 MB of text.
const SHOW_MAX = 64 * 1024;

/** fromBase64 decodes a JSON blob field. */
export function fromBase64(s) {
  const bin = atob(s || '');
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** hexDump renders bytes as offset, 16 hex bytes and their ASCII. */
export function hexDump(bytes) {
  const lines = [];
  for (let off = 0; off < bytes.length; off += 16) {
    const row = bytes.subarray(off, off + 16);
    let hex = '';
    let ascii = '';
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += ' ';
      hex += i < row.length ? row[i].toString(16).padStart(2, '0') + ' ' : '   ';
      if (i < row.length) ascii += row[i] >= 0x20 && row[i] < 0x7f ? String.fromCharCode(row[i]) : '.';
    }
    lines.push(`${off.toString(16).padStart(8, '0')}  ${hex} |${ascii}|`);
  }
  return lines.join('\n');
}

/** present renders bytes in a format ("auto", "text", "json", "hex"):
 * {shown: the format used, text, note}. Auto picks pretty JSON for a JSON
 * object or array, text for other printable UTF-8, else hex. */
export function present(bytes, format) {
  const cut = bytes.length > SHOW_MAX;
  const part = cut ? bytes.subarray(0, SHOW_MAX) : bytes;
  const note = cut ? `showing the first ${fmtBytes(SHOW_MAX)} of ${fmtBytes(bytes.length)}` : '';
  let str = null;
  try {
    str = strict.decode(part);
  } catch {
    // not UTF-8 (or cut inside a character)
  }
  const printable = str !== null && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(str);
  let json = null;
  if (str !== null && !cut) {
    try {
      const v = JSON.parse(str);
      json = { v, text: JSON.stringify(v, null, 2) };
    } catch {
      // not JSON
    }
  }
  switch (format) {
    case 'hex':
      return { shown: 'hex', text: hexDump(part), note };
    case 'text':
      return { shown: 'text', text: str ?? lenient.decode(part), note: str === null ? joinNote(note, 'not valid UTF-8') : note };
    case 'json':
      if (json) return { shown: 'json', text: json.text, note };
      return { shown: 'text', text: str ?? lenient.decode(part), note: joinNote(note, 'not JSON') };
    default:
      if (json && typeof json.v === 'object' && json.v !== null) return { shown: 'json', text: json.text, note };
      if (printable && part.length > 0) return { shown: 'text', text: str, note };
      if (part.length === 0) return { shown: 'text', text: '', note: 'empty' };
      return { shown: 'hex', text: hexDump(part), note };
  }
}

function joinNote(a, b) {
  return a ? a + '; ' + b : b;
}

export async function render(el, params) {
  const name = params.name;
  const msg = h('div', { id: 'viewer-message', class: 'message' });
  const shardSel = h('select', { id: 'viewer-shard', 'data-testid': 'viewer-shard' });
  const posSel = h('select', { id: 'viewer-position', 'data-testid': 'viewer-position' },
    POSITIONS.map(([v, label]) => h('option', { value: v }, label)));
  const hourAgo = new Date(Date.now() - 3600e3);
  const ts = h('input', {
    id: 'viewer-timestamp', type: 'datetime-local', step: 1, 'data-testid': 'viewer-timestamp',
    value: localInput(hourAgo),
  });
  const seq = h('input', { id: 'viewer-seq', class: 'mono', 'data-testid': 'viewer-seq', autocomplete: 'off', placeholder: 'sequence number' });
  const tsField = h('label', { class: 'field', hidden: true }, 'Timestamp (local time)', ts);
  const seqField = h('label', { class: 'field grow', hidden: true }, 'Sequence number', seq);
  const limit = h('select', { id: 'viewer-limit', 'data-testid': 'viewer-limit' },
    [10, 25, 100, 500, 1000].map(n => h('option', { value: n, selected: n === 25 }, String(n))));
  const startBtn = h('button', { id: 'viewer-start', class: 'btn primary', type: 'submit' }, 'Get records');
  const nextBtn = h('button', { id: 'viewer-next', class: 'btn', type: 'button', disabled: true }, 'Next page');
  const deagg = h('input', { id: 'viewer-deagg', type: 'checkbox', checked: true });
  const formats = FORMATS.map(([v, label]) => h('label', { class: 'seg' },
    h('input', { type: 'radio', name: 'viewer-format', id: 'fmt-' + v, value: v, checked: v === 'auto' }), h('span', {}, label)));
  const info = h('div', { id: 'viewer-info', class: 'viewer-info', 'data-testid': 'viewer-info' });
  const list = h('div', { id: 'records', class: 'records', 'data-testid': 'records' });

  const syncPos = () => {
    tsField.hidden = posSel.value !== 'AT_TIMESTAMP';
    seqField.hidden = !posSel.value.endsWith('SEQUENCE_NUMBER');
  };
  posSel.addEventListener('change', syncPos);

  const form = h('form', { id: 'viewer-form', class: 'card', 'data-testid': 'viewer-form' },
    h('div', { class: 'fields' },
      h('label', { class: 'field' }, 'Shard', shardSel),
      h('label', { class: 'field' }, 'Start position', posSel),
      tsField, seqField,
      h('label', { class: 'field' }, 'Records per page', limit),
      h('div', { class: 'field' }, startBtn)),
    h('div', { class: 'fields view-opts' },
      h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Show data as' }, formats),
      h('label', { class: 'inline' }, deagg, 'De-aggregate KPL records')));

  el.replaceChildren(form, msg, info, list, h('div', { class: 'table-foot' }, nextBtn));

  // The page being shown and where to go on.
  const state = { shard: null, iterator: null, page: 0, records: [], lastSeq: null, millis: null, children: null };
  let shards = [];

  try {
    let token = null;
    do {
      const out = await call('kinesis', 'ListShards', token ? { NextToken: token } : { StreamName: name });
      shards.push(...(out.Shards || []));
      token = out.NextToken || null;
    } while (token);
  } catch (err) {
    msg.replaceChildren(errorBox(err));
    return;
  }
  for (const s of shards) {
    shardSel.append(h('option', { value: s.ShardId }, `${s.ShardId}${isOpen(s) ? '' : ' (closed)'}`));
  }
  if (shards.length === 0) notice(msg, 'info', 'The stream has no shards.');

  const format = () => (formats.map(l => l.querySelector('input')).find(i => i.checked) || {}).value || 'auto';
  for (const l of formats) l.querySelector('input').addEventListener('change', () => show());
  deagg.addEventListener('change', () => show());

  async function fetchPage() {
    const out = await call('kinesis', 'GetRecords', { ShardIterator: state.iterator, Limit: Number(limit.value) });
    state.page++;
    state.records = out.Records || [];
    state.millis = out.MillisBehindLatest;
    state.iterator = out.NextShardIterator || null;
    state.children = out.ChildShards || null;
    if (state.records.length) state.lastSeq = state.records[state.records.length - 1].SequenceNumber;
    show();
  }

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    msg.replaceChildren();
    const input = { StreamName: name, ShardId: shardSel.value, ShardIteratorType: posSel.value };
    if (posSel.value === 'AT_TIMESTAMP') {
      const t = new Date(ts.value);
      if (Number.isNaN(t.getTime())) {
        notice(msg, 'error', 'Pick a timestamp.');
        return;
      }
      input.Timestamp = t.getTime() / 1000;
    }
    if (posSel.value.endsWith('SEQUENCE_NUMBER')) input.StartingSequenceNumber = seq.value.trim();
    try {
      await busy(startBtn, async () => {
        const it = await call('kinesis', 'GetShardIterator', input);
        Object.assign(state, { shard: shardSel.value, iterator: it.ShardIterator, page: 0, lastSeq: null });
        await fetchPage();
      });
    } catch (err) {
      notice(msg, 'error', err);
    }
  });

  nextBtn.addEventListener('click', async () => {
    msg.replaceChildren();
    try {
      await busy(nextBtn, async () => {
        try {
          await fetchPage();
        } catch (err) {
          // An iterator lives five minutes; go on from the last record.
          if (err.code !== 'ExpiredIteratorException' || !state.lastSeq) throw err;
          const it = await call('kinesis', 'GetShardIterator', {
            StreamName: name, ShardId: state.shard, ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: state.lastSeq,
          });
          state.iterator = it.ShardIterator;
          await fetchPage();
        }
      });
    } catch (err) {
      notice(msg, 'error', err);
    }
    nextBtn.disabled = !state.iterator;
  });

  function show() {
    if (state.page === 0) return;
    const shard = shards.find(s => s.ShardId === state.shard);
    const range = shard ? [BigInt(shard.HashKeyRange.StartingHashKey), BigInt(shard.HashKeyRange.EndingHashKey)] : null;
    info.replaceChildren(
      h('span', {}, 'Shard ', h('code', {}, state.shard)),
      h('span', {}, 'Page ', h('strong', { id: 'viewer-page' }, String(state.page))),
      h('span', {}, h('strong', { id: 'viewer-count' }, String(state.records.length)), ' records'),
      h('span', {}, 'MillisBehindLatest ', h('strong', { id: 'millis-behind', 'data-testid': 'millis-behind' }, String(state.millis ?? '—')), ' ms'));
    nextBtn.disabled = !state.iterator;
    const fmt = format();
    const items = state.records.map((r, i) => recordView(r, i, fmt, deagg.checked, range));
    if (items.length === 0) {
      items.push(h('p', { class: 'muted empty', 'data-testid': 'no-records' },
        state.iterator ? 'No records on this page. Records may still follow: try Next page.' : 'No records.'));
    }
    if (!state.iterator) {
      const kids = (state.children || []).map(c => c.ShardId);
      items.push(h('p', { class: 'notice info', 'data-testid': 'shard-end' },
        'End of this closed shard.', kids.length ? ' Its records continue in ' + kids.join(' and ') + '.' : ''));
    }
    list.replaceChildren(...items);
  }
}

function recordView(r, i, fmt, deagg, range) {
  const data = fromBase64(r.Data);
  let users = null;
  let bad = null;
  if (deagg) {
    try {
      users = deaggregate(data);
    } catch (err) {
      // Like the KCL, a record that does not read as aggregated is a plain
      // record; one with the framing but a bad body is worth a word.
      if (err instanceof DeaggregationError && err.kind === 'malformed') bad = err.message;
    }
  }
  const meta = h('div', { class: 'record-meta' },
    h('span', { class: 'idx' }, '#' + i),
    h('span', {}, 'Sequence ', h('code', { 'data-testid': 'record-seq' }, r.SequenceNumber)),
    h('span', {}, 'Partition key ', h('code', { 'data-testid': 'record-pk' }, r.PartitionKey)),
    h('span', {}, 'Arrived ', h('time', {}, fmtTime(r.ApproximateArrivalTimestamp))),
    h('span', {}, fmtBytes(data.length)),
    r.EncryptionType && r.EncryptionType !== 'NONE' ? h('span', { class: 'badge' }, r.EncryptionType) : null);
  const art = h('article', { class: 'record', 'data-testid': 'record', 'data-seq': r.SequenceNumber }, meta);
  if (users) {
    let outside = 0;
    const lis = users.map((u, j) => {
      let out = false;
      try {
        const k = hashKeyOfRecord(u);
        out = range !== null && (k < range[0] || k > range[1]);
      } catch {
        out = false;
      }
      if (out) outside++;
      const p = present(u.data, fmt);
      return h('li', { class: 'user-record', 'data-testid': 'user-record', 'data-index': j },
        h('div', { class: 'record-meta' },
          h('span', { class: 'idx' }, 'user record ' + j),
          h('span', {}, 'Partition key ', h('code', {}, u.partitionKey)),
          u.explicitHashKey ? h('span', {}, 'Explicit hash key ', h('code', {}, u.explicitHashKey)) : null,
          h('span', {}, fmtBytes(u.data.length)),
          h('span', { class: 'badge fmt' }, p.shown),
          out ? h('span', { class: 'badge warn' }, 'outside the shard\u2019s hash range') : null,
          p.note ? h('span', { class: 'muted' }, p.note) : null),
        h('pre', { class: ['record-data', p.shown], 'data-testid': 'user-record-data' }, p.text));
    });
    meta.append(h('span', { class: 'badge kpl', 'data-testid': 'kpl-badge' }, `KPL aggregated · ${users.length} user records`));
    if (outside) {
      art.append(h('p', { class: 'notice warn' },
        `${outside} user record(s) hash outside this shard's range: the KCL drops the whole aggregated record (a reshard raced the producer).`));
    }
    art.append(h('ol', { class: 'user-records' }, lis),
      h('details', { class: 'raw' }, h('summary', {}, 'Raw aggregated record'), h('pre', { class: 'record-data hex' }, present(data, 'hex').text)));
  } else {
    const p = present(data, fmt);
    meta.append(h('span', { class: 'badge fmt' }, p.shown));
    if (bad) meta.append(h('span', { class: 'badge warn', title: bad }, 'KPL framing, malformed body'));
    if (p.note) meta.append(h('span', { class: 'muted' }, p.note));
    art.append(h('pre', { class: ['record-data', p.shown], 'data-testid': 'record-data' }, p.text));
  }
  return art;
}

// localInput formats d for a datetime-local input, in local time.
function localInput(d) {
  const p = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
