// A stream's consumers tab: its enhanced fan-out consumers and their
// subscriptions' activity, and the KCL applications reading it, found by
// their lease tables in the DynamoDB-compatible API.

import { call, callAll } from '../api.js';
import { h, errorBox, fmtTime, status, busy, notice, alive, sleep } from '../ui.js';
import { dashboard } from '../metrics.js';
import { format } from '../chart.js';

const NS = 'AWS/Kinesis';

// Bounds on what the page scans, so a large account stays responsive.
const maxTables = 100;
const maxItems = 10000;
const lagConcurrency = 4;

async function listShards(name) {
  const shards = [];
  let token = null;
  do {
    const out = await call('kinesis', 'ListShards', token ? { NextToken: token, MaxResults: 1000 } : { StreamName: name, MaxResults: 1000 });
    shards.push(...(out.Shards || []));
    token = out.NextToken || null;
  } while (token);
  return shards;
}

export async function render(el, params) {
  const name = params.name;
  let summary;
  try {
    summary = (await call('kinesis', 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
  } catch (err) {
    el.replaceChildren(errorBox(err));
    return;
  }
  const efo = h('section', { class: 'card', id: 'efo', 'data-testid': 'efo' });
  const activity = h('section', { class: 'card', id: 'efo-activity' });
  const kcl = h('section', { class: 'card', id: 'kcl', 'data-testid': 'kcl' });
  el.replaceChildren(efo, activity, kcl);
  await Promise.all([
    fanOut(efo, activity, name, summary.StreamARN),
    applications(kcl, name).catch(err => kcl.replaceChildren(h('h2', {}, 'Applications (KCL lease tables)'), errorBox(err))),
  ]);
  return () => activity.stop && activity.stop();
}

// fanOut lists the enhanced fan-out consumers, with register and
// deregister, and charts what their subscriptions delivered.
async function fanOut(box, activity, name, arn) {
  const msg = h('div', { class: 'message' });
  const tbody = h('tbody');
  const input = h('input', { id: 'consumer-name', name: 'consumerName', required: true, maxlength: 128, pattern: '[a-zA-Z0-9_.\\-]+', placeholder: 'my-consumer', spellcheck: 'false' });
  const register = h('button', { class: 'btn', type: 'submit', id: 'register-consumer' }, 'Register consumer');
  const form = h('form', { class: 'fields register-consumer' }, h('label', { class: 'field grow' }, 'Name', input), h('div', { class: 'field' }, register));
  box.replaceChildren(
    h('div', { class: 'card-head' }, h('h2', {}, 'Enhanced fan-out consumers'),
      h('span', { class: 'muted' }, 'Each has its own 2 MiB/s per shard, pushed by SubscribeToShard.')),
    msg,
    h('div', { class: 'scroll' }, h('table', { class: 'table', id: 'consumers-table', 'data-testid': 'consumers-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Registered'), h('th', {}, 'ARN'), h('th', { class: 'actions' }, ''))),
      tbody)),
    form);

  let consumers = [];
  async function load() {
    consumers = await callAll('kinesis', 'ListStreamConsumers', { StreamARN: arn, MaxResults: 100 }, { items: 'Consumers' });
    consumers.sort((a, b) => a.ConsumerName.localeCompare(b.ConsumerName));
    if (!alive(box)) return;
    tbody.replaceChildren(...(consumers.length ? consumers.map(row) : [
      h('tr', { class: 'empty' }, h('td', { colspan: 5 }, 'No enhanced fan-out consumers. KCL applications that poll with GetRecords are listed below.')),
    ]));
    // A consumer being created or deleted shows its next state by itself.
    const moving = consumers.filter(c => c.ConsumerStatus !== 'ACTIVE');
    if (moving.length) watch(moving);
  }

  async function watch(moving) {
    for (let i = 0; i < 60 && alive(box); i++) {
      await sleep(1000);
      let changed = false;
      for (const c of moving) {
        try {
          const d = (await call('kinesis', 'DescribeStreamConsumer', { ConsumerARN: c.ConsumerARN })).ConsumerDescription;
          if (d.ConsumerStatus !== c.ConsumerStatus) changed = true;
        } catch (err) {
          if (err.code === 'ResourceNotFoundException') changed = true;
          else throw err;
        }
      }
      if (changed) return load();
    }
  }

  function row(c) {
    const del = h('button', { class: 'btn danger small', type: 'button', 'data-testid': 'deregister' }, 'Deregister');
    const tr = h('tr', { 'data-consumer': c.ConsumerName },
      h('td', {}, h('strong', {}, c.ConsumerName)),
      h('td', {}, status(c.ConsumerStatus)),
      h('td', { class: 'nowrap' }, fmtTime(c.ConsumerCreationTimestamp)),
      h('td', {}, h('code', { class: 'arn' }, c.ConsumerARN)),
      h('td', { class: 'actions' }, c.ConsumerStatus === 'ACTIVE' ? del : null));
    del.addEventListener('click', () => {
      const yes = h('button', { class: 'btn danger', type: 'button' }, 'Deregister ' + c.ConsumerName);
      const no = h('button', { class: 'btn', type: 'button', onclick: () => confirmRow.remove() }, 'Cancel');
      const out = h('div', { class: 'message' });
      const confirmRow = h('tr', { class: 'confirm-row' }, h('td', { colspan: 5 },
        h('div', { class: 'confirm' }, 'Its subscriptions end, and it can no longer subscribe.', yes, no), out));
      yes.addEventListener('click', async () => {
        try {
          await busy(yes, () => call('kinesis', 'DeregisterStreamConsumer', { ConsumerARN: c.ConsumerARN }));
          notice(msg, 'ok', `Deregistered ${c.ConsumerName}.`);
          await load();
        } catch (err) {
          notice(out, 'error', err);
        }
      });
      tr.after(confirmRow);
    });
    return tr;
  }

  form.addEventListener('submit', async ev => {
    ev.preventDefault();
    try {
      const out = await busy(register, () => call('kinesis', 'RegisterStreamConsumer', { StreamARN: arn, ConsumerName: input.value.trim() }));
      notice(msg, 'ok', `Registered ${out.Consumer.ConsumerName}.`);
      input.value = '';
      await load();
      showActivity();
    } catch (err) {
      notice(msg, 'error', err);
    }
  });

  function showActivity() {
    activity.hidden = false;
    activity.replaceChildren(h('div', { class: 'card-head' }, h('h2', {}, 'Subscriptions'),
      h('span', { class: 'muted' }, 'What SubscribeToShard delivered to each consumer (AWS/Kinesis, StreamName and ConsumerName).')));
    if (activity.stop) activity.stop();
    activity.stop = dashboard(activity, () => {
      const m = (metric, stat) => consumers.map(c => ({ label: c.ConsumerName, namespace: NS, name: metric, stat, dims: { StreamName: name, ConsumerName: c.ConsumerName } }));
      return [
        { title: 'Records delivered', metric: 'SubscribeToShardEvent.Records', unit: 'Count', note: 'Sum per period', lines: m('SubscribeToShardEvent.Records', 'Sum') },
        { title: 'Millis behind latest', metric: 'SubscribeToShardEvent.MillisBehindLatest', unit: 'Milliseconds', note: 'Maximum over events', lines: m('SubscribeToShardEvent.MillisBehindLatest', 'Maximum') },
        { title: 'Subscriptions', metric: 'SubscribeToShard.Success', unit: 'Count', note: 'SubscribeToShard calls that succeeded, per period', lines: m('SubscribeToShard.Success', 'Sum') },
      ];
    }).stop;
  }

  try {
    await load();
  } catch (err) {
    msg.replaceChildren(errorBox(err));
    activity.remove();
    return;
  }
  if (consumers.length) showActivity();
  else activity.hidden = true;
}

// attr reads a DynamoDB attribute value as a string (S or N), or "".
function attr(item, name) {
  const v = item[name];
  if (!v) return '';
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return v.N;
  return '';
}

// leaseOf reads a KCL lease item (the Java KCL 2.x/3.x schema, which the
// Go consumer library also writes), or null for another kind of item.
function leaseOf(item) {
  if (!item.leaseKey || item.leaseKey.S === undefined || !item.leaseCounter || item.leaseCounter.N === undefined) return null;
  const key = item.leaseKey.S;
  // A multi-stream application's keys are account:stream:epoch:shardId.
  const parts = key.split(':');
  const multi = parts.length === 4 && /^shardId-/.test(parts[3]);
  return {
    key,
    stream: multi ? parts[1] : attr(item, 'streamName') || null,
    shardId: multi ? parts[3] : attr(item, 'shardId') || key,
    multi,
    owner: attr(item, 'leaseOwner'),
    counter: attr(item, 'leaseCounter'),
    checkpoint: attr(item, 'checkpoint'),
    subSequence: attr(item, 'checkpointSubSequenceNumber'),
    switches: attr(item, 'ownerSwitchesSinceCheckpoint'),
    startingHashKey: attr(item, 'startingHashKey'),
    endingHashKey: attr(item, 'endingHashKey'),
  };
}

// belongs reports whether a lease is of this stream's shard. A
// single-stream lease table does not name its stream: its leases match by
// shard id and, where the lease records them, hash range.
function belongs(l, name, shards) {
  if (l.multi || l.stream) return l.stream === name && shards.has(l.shardId);
  const s = shards.get(l.shardId);
  if (!s) return false;
  if (l.startingHashKey && l.endingHashKey) {
    return l.startingHashKey === s.HashKeyRange.StartingHashKey && l.endingHashKey === s.HashKeyRange.EndingHashKey;
  }
  return true;
}

async function scanAll(table) {
  const items = [];
  let start = null;
  do {
    const out = await call('dynamodb', 'Scan', start ? { TableName: table, ExclusiveStartKey: start } : { TableName: table });
    items.push(...(out.Items || []));
    start = out.LastEvaluatedKey || null;
  } while (start && items.length < maxItems);
  return items;
}

// applications finds the lease tables with leases of this stream's
// shards and shows each one's leases and how far behind they are.
async function applications(box, name) {
  const head = h('div', { class: 'card-head' }, h('h2', {}, 'Applications (KCL lease tables)'),
    h('span', { class: 'muted' }, 'Lease tables in the DynamoDB-compatible API whose leases are this stream\'s shards.'));
  const progress = h('p', { class: 'muted' }, 'Looking for lease tables…');
  box.replaceChildren(head, progress);

  const [shardList, tables] = await Promise.all([
    listShards(name),
    callAll('dynamodb', 'ListTables', { Limit: 100 }, { items: 'TableNames', tokenIn: 'ExclusiveStartTableName', tokenOut: 'LastEvaluatedTableName', max: maxTables }),
  ]);
  const shards = new Map(shardList.map(s => [s.ShardId, s]));
  const apps = [];
  const skipped = [];
  for (const table of tables.slice(0, maxTables)) {
    let items;
    try {
      items = await scanAll(table);
    } catch (err) {
      // A table this key may not read is not this page's to show.
      skipped.push({ table, err });
      continue;
    }
    const leases = items.map(leaseOf).filter(l => l && belongs(l, name, shards));
    if (leases.length) apps.push({ table, leases, multi: leases.some(l => l.multi || l.stream) });
  }
  if (!alive(box)) return;
  const notes = [];
  if (tables.length >= maxTables) notes.push(`Only the first ${maxTables} tables were looked at.`);
  if (skipped.length) notes.push(`${skipped.length} table${skipped.length === 1 ? '' : 's'} could not be read: ${skipped.map(s => `${s.table} (${s.err.code})`).join(', ')}.`);
  if (apps.length === 0) {
    box.replaceChildren(head, h('p', { class: 'muted', 'data-testid': 'no-apps' },
      'No lease table has leases of this stream\'s shards. A KCL application (Java KCL, or Rivulet\'s consumer library) creates one named after the application when it starts.'),
    ...footnote(notes));
    return;
  }

  box.replaceChildren(head,
    h('p', { class: 'muted small lag-note' },
      'Lag is measured by one GetRecords (Limit 1) from just after each checkpoint: ',
      h('em', {}, 'Behind latest'), ' is its MillisBehindLatest, how far the application\'s position is from the newest record (0 = caught up); ',
      h('em', {}, 'Oldest unprocessed record'), ' is when the first record it has yet to process arrived. These reads show in the stream\'s GetRecords metrics. ',
      'A single-stream lease table does not name its stream, so it is matched by shard ids and hash ranges.'),
    ...apps.map(app => appTable(app, shards, name)),
    ...footnote(notes));
}

function footnote(notes) {
  return notes.length ? [h('p', { class: 'muted small' }, notes.join(' '))] : [];
}

function appTable(app, shards, name) {
  app.leases.sort((a, b) => a.shardId.localeCompare(b.shardId));
  const owners = new Set(app.leases.map(l => l.owner).filter(Boolean));
  const rows = app.leases.map(l => {
    const lag = h('td', { class: 'num lag', 'data-testid': 'lag' }, '…');
    const next = h('td', { class: 'nowrap next' }, '…');
    const s = shards.get(l.shardId);
    const closed = s && s.SequenceNumberRange && s.SequenceNumberRange.EndingSequenceNumber;
    const tr = h('tr', { 'data-shard': l.shardId, class: closed ? 'closed' : '' },
      h('td', {}, h('code', {}, l.shardId), closed ? [' ', h('span', { class: 'badge status-closed' }, 'closed')] : null),
      h('td', { class: 'owner' }, l.owner ? h('code', {}, l.owner) : h('span', { class: 'muted' }, 'unowned')),
      h('td', { class: 'checkpoint' }, h('code', { class: 'seq' }, l.checkpoint || '—'),
        l.subSequence && l.subSequence !== '0' ? h('span', { class: 'muted' }, ` (sub ${l.subSequence})`) : null),
      h('td', { class: 'num' }, l.counter),
      lag, next);
    return { l, tr, lag, next };
  });
  const table = h('table', { class: 'table compact lease-table', 'data-table': app.table },
    h('thead', {}, h('tr', {}, h('th', {}, 'Shard'), h('th', {}, 'Owner'), h('th', {}, 'Checkpoint'), h('th', { class: 'num' }, 'Lease counter'),
      h('th', { class: 'num' }, 'Behind latest'), h('th', {}, 'Oldest unprocessed record'))),
    h('tbody', {}, rows.map(r => r.tr)));
  measure(rows, name);
  return h('div', { class: 'app', 'data-app': app.table },
    h('h3', {}, app.table, h('span', { class: 'muted' }, ` · ${app.leases.length} lease${app.leases.length === 1 ? '' : 's'} · ${owners.size} worker${owners.size === 1 ? '' : 's'}${app.multi ? ' · multi-stream' : ''}`)),
    h('div', { class: 'scroll' }, table));
}

// measure fills each lease's lag cells, a few shards at a time.
async function measure(rows, name) {
  await null; // the table is on the page once the caller's tick is over
  const queue = rows.slice();
  const worker = async () => {
    for (let r = queue.shift(); r; r = queue.shift()) {
      if (!r.tr.isConnected) return; // the page was left
      try {
        const res = await lagOf(r.l, name);
        r.lag.replaceChildren(res.behind);
        r.next.replaceChildren(res.next);
        if (res.ms !== undefined) r.lag.dataset.ms = res.ms;
        r.lag.title = res.title || '';
      } catch (err) {
        r.lag.replaceChildren(h('span', { class: 'badge warn', title: err.message }, err.code || 'error'));
        r.next.replaceChildren('—');
      }
    }
  };
  await Promise.all(Array.from({ length: lagConcurrency }, worker));
}

// lagOf reads one record after the lease's checkpoint: the first record
// the application has yet to process, if any.
async function lagOf(l, name) {
  let it;
  switch (l.checkpoint) {
    case 'SHARD_END':
      return { behind: '0', next: 'none: the shard is finished', ms: 0 };
    case '':
    case 'LATEST':
    case 'AT_TIMESTAMP':
      return { behind: '—', next: l.checkpoint ? `none checkpointed yet (starts at ${l.checkpoint})` : '—', title: 'No checkpointed position yet' };
    case 'TRIM_HORIZON':
      it = { ShardIteratorType: 'TRIM_HORIZON' };
      break;
    default:
      it = { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: l.checkpoint };
  }
  const { ShardIterator } = await call('kinesis', 'GetShardIterator', { StreamName: l.stream || name, ShardId: l.shardId, ...it });
  const out = await call('kinesis', 'GetRecords', { ShardIterator, Limit: 1 });
  const rec = (out.Records || [])[0];
  // MillisBehindLatest is measured after the record returned; with one
  // returned, the application is at least that record behind.
  const ms = out.MillisBehindLatest || 0;
  if (!rec) {
    return { behind: format(ms, 'Milliseconds'), next: out.NextShardIterator ? 'none: caught up' : 'none: the shard is finished', ms, title: 'MillisBehindLatest' };
  }
  const arrived = rec.ApproximateArrivalTimestamp * 1000;
  const age = Math.max(0, Date.now() - arrived);
  return {
    behind: format(ms, 'Milliseconds'), ms, title: 'MillisBehindLatest after the first unprocessed record',
    next: h('span', { title: 'Sequence number ' + rec.SequenceNumber }, fmtTime(rec.ApproximateArrivalTimestamp), h('span', { class: 'muted' }, ` (${format(age, 'Milliseconds')} ago)`)),
  };
}
