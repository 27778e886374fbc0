// Stream details: the summary, tags, shard map and shards table, the
// resharding actions (split, merge, scale) and the enhanced-monitoring
// switches.

import { call } from '../api.js';
import { h, fmtTime, status, notice, busy, errorBox, sleep, alive } from '../ui.js';
import { draw, midpoint, isOpen, adjacentPairs, share } from '../shardmap.js';

/** The shard-level metrics EnableEnhancedMonitoring accepts, besides ALL. */
export const SHARD_METRICS = [
  'IncomingBytes', 'IncomingRecords', 'OutgoingBytes', 'OutgoingRecords',
  'WriteProvisionedThroughputExceeded', 'ReadProvisionedThroughputExceeded', 'IteratorAgeMilliseconds',
];

const STABLE = new Set(['ACTIVE']);

async function listShards(name) {
  const shards = [];
  let token = null;
  do {
    // A NextToken carries the stream; sending both is an error.
    const out = await call('kinesis', 'ListShards', token ? { NextToken: token, MaxResults: 1000 } : { StreamName: name, MaxResults: 1000 });
    shards.push(...(out.Shards || []));
    token = out.NextToken || null;
  } while (token);
  return shards;
}

async function listTags(name) {
  const tags = [];
  let after;
  for (;;) {
    const out = await call('kinesis', 'ListTagsForStream', after ? { StreamName: name, ExclusiveStartTagKey: after } : { StreamName: name });
    tags.push(...(out.Tags || []));
    if (!out.HasMoreTags || !out.Tags || out.Tags.length === 0) return tags;
    after = out.Tags[out.Tags.length - 1].Key;
  }
}

export async function render(el, params) {
  const name = params.name;
  const msg = h('div', { id: 'stream-message', class: 'message' });
  const body = h('div', { class: 'stream-body' }, h('p', { class: 'muted' }, 'Loading…'));
  el.replaceChildren(msg, body);

  // refresh reloads everything; after a change it first waits (bounded)
  // for the stream to be ACTIVE again, as resharding passes through
  // UPDATING.
  async function refresh(waitActive) {
    let sum;
    for (let i = 0; ; i++) {
      sum = (await call('kinesis', 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
      if (!waitActive || STABLE.has(sum.StreamStatus) || i >= 60 || !alive(el)) break;
      await sleep(500);
    }
    // AWS refuses ListShards while a stream is CREATING: show what there
    // is, the next refresh brings the rest.
    const settle = p => p.catch(err => {
      if (STABLE.has(sum.StreamStatus)) throw err;
      return [];
    });
    const [tags, shards] = await Promise.all([settle(listTags(name)), settle(listShards(name))]);
    if (!alive(el)) return;
    body.replaceChildren(...view(sum, tags, shards));
    // A stream still being created or changed shows its next state by
    // itself.
    if (!STABLE.has(sum.StreamStatus) && sum.StreamStatus !== 'DELETING') {
      setTimeout(() => alive(el) && refresh(true).catch(err => notice(msg, 'error', err)), 1000);
    }
  }

  // act runs an action's call, then shows the result and the new state.
  async function act(button, out, what, fn) {
    try {
      await busy(button, fn);
      notice(msg, 'ok', what);
      await refresh(true);
    } catch (err) {
      notice(out, 'error', err);
    }
  }

  function view(sum, tags, shards) {
    const mode = sum.StreamModeDetails ? sum.StreamModeDetails.StreamMode : 'PROVISIONED';
    const open = shards.filter(isOpen);
    const enabled = new Set((sum.EnhancedMonitoring || []).flatMap(e => e.ShardLevelMetrics || []));

    const summary = h('section', { class: 'card', id: 'stream-summary', 'data-testid': 'stream-summary' },
      h('h2', {}, 'Summary'),
      h('dl', { class: 'facts' },
        fact('Status', status(sum.StreamStatus), 'summary-status'),
        fact('Capacity mode', mode === 'ON_DEMAND' ? 'On-demand' : 'Provisioned', 'summary-mode'),
        fact('Open shards', String(sum.OpenShardCount ?? open.length), 'summary-open-shards'),
        fact('Retention', `${sum.RetentionPeriodHours} hours`, 'summary-retention'),
        fact('Encryption', sum.EncryptionType === 'KMS' ? `KMS (${sum.KeyId || 'key not shown'})` : 'None', 'summary-encryption'),
        fact('Enhanced monitoring', enabled.size ? [...enabled].sort().join(', ') : 'Off', 'summary-monitoring'),
        fact('Consumers', String(sum.ConsumerCount ?? 0), 'summary-consumers'),
        fact('Created', fmtTime(sum.StreamCreationTimestamp), 'summary-created'),
        fact('ARN', h('code', {}, sum.StreamARN), 'summary-arn')));

    const tagSection = h('section', { class: 'card', id: 'stream-tags' },
      h('h2', {}, 'Tags'),
      tags.length === 0
        ? h('p', { class: 'muted' }, 'No tags.')
        : h('table', { class: 'table compact', 'data-testid': 'tags-table' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Key'), h('th', {}, 'Value'))),
          h('tbody', {}, tags.map(t => h('tr', {}, h('td', {}, t.Key), h('td', {}, t.Value ?? ''))))));

    const actions = actionsView(name, mode, shards, open);
    const map = h('section', { class: 'card', id: 'shard-map-card' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Shard map'),
        h('span', { class: 'legend' },
          h('span', { class: 'swatch open' }), 'open',
          h('span', { class: 'swatch closed' }), 'closed',
          h('span', { class: 'muted' }, '· hash key space 0 … 2¹²⁸−1, one row per generation; click an open shard to split it'))),
      draw(shards, s => actions.select(s)));

    return [
      h('div', { class: 'grid-2' }, summary, tagSection),
      map,
      actions.el,
      shardsTable(shards),
      monitoringView(name, enabled),
    ];
  }

  function actionsView(name, mode, shards, open) {
    // Split: an open shard and a new starting hash key, by default the
    // middle of its range.
    const splitShard = h('select', { id: 'split-shard', 'data-testid': 'split-shard' },
      open.map(s => h('option', { value: s.ShardId }, s.ShardId)));
    const splitKey = h('input', { id: 'split-hash-key', 'data-testid': 'split-hash-key', class: 'mono', inputmode: 'numeric', autocomplete: 'off' });
    const setMid = () => {
      const s = open.find(x => x.ShardId === splitShard.value);
      splitKey.value = s ? midpoint(s.HashKeyRange.StartingHashKey, s.HashKeyRange.EndingHashKey) : '';
    };
    setMid();
    splitShard.addEventListener('change', setMid);
    const splitBtn = h('button', { id: 'split-submit', class: 'btn primary', type: 'submit', disabled: open.length === 0 }, 'Split shard');
    const splitOut = h('div', { class: 'message' });
    const split = h('form', { id: 'split-form', class: 'action' },
      h('h3', {}, 'Split a shard'),
      h('label', { class: 'field' }, 'Shard', splitShard),
      h('label', { class: 'field' }, 'New starting hash key (default: the middle)', splitKey),
      splitBtn, splitOut);
    split.addEventListener('submit', ev => {
      ev.preventDefault();
      act(splitBtn, splitOut, `Split ${splitShard.value} at ${splitKey.value}.`, () => call('kinesis', 'SplitShard', {
        StreamName: name, ShardToSplit: splitShard.value, NewStartingHashKey: splitKey.value.trim(),
      }));
    });

    // Merge: two open shards whose ranges touch.
    const pairs = adjacentPairs(shards);
    const mergePair = h('select', { id: 'merge-pair', 'data-testid': 'merge-pair' },
      pairs.map(([a, b]) => h('option', { value: a.ShardId + ' ' + b.ShardId }, `${a.ShardId} + ${b.ShardId}`)));
    const mergeBtn = h('button', { id: 'merge-submit', class: 'btn primary', type: 'submit', disabled: pairs.length === 0 }, 'Merge shards');
    const mergeOut = h('div', { class: 'message' });
    const merge = h('form', { id: 'merge-form', class: 'action' },
      h('h3', {}, 'Merge two adjacent shards'),
      h('label', { class: 'field' }, 'Adjacent open shards', mergePair),
      pairs.length === 0 ? h('p', { class: 'muted' }, 'No two open shards are adjacent.') : null,
      mergeBtn, mergeOut);
    merge.addEventListener('submit', ev => {
      ev.preventDefault();
      const [a, b] = mergePair.value.split(' ');
      act(mergeBtn, mergeOut, `Merged ${a} and ${b}.`, () => call('kinesis', 'MergeShards', {
        StreamName: name, ShardToMerge: a, AdjacentShardToMerge: b,
      }));
    });

    // Scale: UpdateShardCount with uniform scaling (provisioned only).
    const target = h('input', { id: 'scale-target', 'data-testid': 'scale-target', type: 'number', min: 1, value: open.length, required: true });
    const scaleBtn = h('button', { id: 'scale-submit', class: 'btn primary', type: 'submit', disabled: mode === 'ON_DEMAND' }, 'Update shard count');
    const scaleOut = h('div', { class: 'message' });
    const scale = h('form', { id: 'scale-form', class: 'action' },
      h('h3', {}, 'Scale'),
      h('label', { class: 'field' }, 'Target open shards', target),
      mode === 'ON_DEMAND' ? h('p', { class: 'muted' }, 'An on-demand stream scales by itself.') : h('p', { class: 'muted' }, 'Uniform scaling: splits and merges to even shards.'),
      scaleBtn, scaleOut);
    scale.addEventListener('submit', ev => {
      ev.preventDefault();
      act(scaleBtn, scaleOut, `Scaling to ${target.value} shards.`, () => call('kinesis', 'UpdateShardCount', {
        StreamName: name, TargetShardCount: Number(target.value), ScalingType: 'UNIFORM_SCALING',
      }));
    });

    return {
      el: h('section', { class: 'card', id: 'reshard' }, h('h2', {}, 'Resharding'), h('div', { class: 'actions-grid' }, split, merge, scale)),
      select(shard) {
        if (!isOpen(shard)) return;
        splitShard.value = shard.ShardId;
        setMid();
        splitKey.focus();
      },
    };
  }

  function shardsTable(shards) {
    // Open shards first, each group by hash range.
    const key = s => BigInt(s.HashKeyRange.StartingHashKey);
    const rows = [...shards].sort((a, b) => Number(isOpen(b)) - Number(isOpen(a)) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    return h('section', { class: 'card', id: 'shards' },
      h('h2', {}, `Shards (${shards.filter(isOpen).length} open, ${shards.filter(s => !isOpen(s)).length} closed)`),
      h('div', { class: 'scroll' },
        h('table', { class: 'table compact', id: 'shards-table', 'data-testid': 'shards-table' },
          h('thead', {}, h('tr', {},
            h('th', {}, 'Shard'), h('th', {}, 'State'), h('th', {}, 'Parents'),
            h('th', {}, 'Hash key range'), h('th', { class: 'num' }, 'Key space'),
            h('th', {}, 'Sequence number range'))),
          h('tbody', {}, rows.map(s => h('tr', { 'data-testid': 'shard-row', 'data-shard-id': s.ShardId, class: isOpen(s) ? '' : 'closed' },
            h('td', { class: 'mono nowrap' }, s.ShardId),
            h('td', {}, h('span', { class: ['badge', isOpen(s) ? 'status-active' : 'status-closed'] }, isOpen(s) ? 'open' : 'closed')),
            h('td', { class: 'mono nowrap stack' },
              h('div', { title: 'Parent' }, s.ParentShardId || '—'),
              s.AdjacentParentShardId ? h('div', { title: 'Adjacent parent' }, s.AdjacentParentShardId) : null),
            h('td', { class: 'mono key stack' },
              h('div', { title: 'Starting hash key' }, s.HashKeyRange.StartingHashKey),
              h('div', { title: 'Ending hash key' }, s.HashKeyRange.EndingHashKey)),
            h('td', { class: 'num' }, share(s.HashKeyRange.StartingHashKey, s.HashKeyRange.EndingHashKey) + ' %'),
            h('td', { class: 'mono key stack' },
              h('div', { title: 'Starting sequence number' }, s.SequenceNumberRange.StartingSequenceNumber),
              h('div', { title: 'Ending sequence number' }, s.SequenceNumberRange.EndingSequenceNumber || 'open'))))))));
  }

  // The switches call Enable/DisableEnhancedMonitoring for one name at a
  // time and show the set the answer says is now desired.
  function monitoringView(name, enabled) {
    const out = h('div', { class: 'message' });
    const boxes = new Map();
    const sync = set => {
      for (const [m, box] of boxes) box.checked = m === 'ALL' ? SHARD_METRICS.every(x => set.has(x)) : set.has(m);
    };
    const list = h('div', { class: 'switches' });
    for (const m of ['ALL', ...SHARD_METRICS]) {
      const box = h('input', { type: 'checkbox', id: 'em-' + m, 'data-testid': 'em-switch', 'data-metric': m });
      box.addEventListener('change', async () => {
        const on = box.checked;
        const all = [...boxes.values()];
        all.forEach(b => { b.disabled = true; });
        try {
          const res = await call('kinesis', on ? 'EnableEnhancedMonitoring' : 'DisableEnhancedMonitoring',
            { StreamName: name, ShardLevelMetrics: [m] });
          const now = new Set(res.DesiredShardLevelMetrics || []);
          sync(now);
          notice(out, 'ok', now.size ? 'Shard-level metrics on: ' + [...now].sort().join(', ') : 'Shard-level metrics off.');
          const fact = document.querySelector('[data-testid="summary-monitoring"]');
          if (fact) fact.textContent = now.size ? [...now].sort().join(', ') : 'Off';
        } catch (err) {
          box.checked = !on;
          notice(out, 'error', err);
        } finally {
          all.forEach(b => { b.disabled = false; });
        }
      });
      boxes.set(m, box);
      list.append(h('label', { class: ['switch', m === 'ALL' ? 'all' : ''] }, box, h('span', {}, m === 'ALL' ? 'ALL' : m)));
    }
    sync(enabled);
    return h('section', { class: 'card', id: 'enhanced-monitoring' },
      h('h2', {}, 'Enhanced (shard-level) monitoring'),
      h('p', { class: 'muted' }, 'Shard-level metrics exist only while switched on here, as on AWS.'),
      list, out);
  }

  try {
    await refresh(false);
  } catch (err) {
    body.replaceChildren(errorBox(err));
  }
}

function fact(label, value, testid) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', { 'data-testid': testid }, value));
}
