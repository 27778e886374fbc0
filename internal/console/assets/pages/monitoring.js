// A stream's monitoring tab: its AWS/Kinesis metrics from the
// CloudWatch-compatible API, as the AWS console's monitoring tab shows
// them, and per shard those that EnableEnhancedMonitoring turned on.

import { call } from '../api.js';
import { h, errorBox, streamHref } from '../ui.js';
import { dashboard } from '../metrics.js';

const NS = 'AWS/Kinesis';

// shardCap bounds the series of one shard-level chart.
const shardCap = 12;

function streamCharts(name) {
  const m = (label, metric, stat) => ({ label, namespace: NS, name: metric, dims: { StreamName: name }, stat });
  return [
    { title: 'Incoming records', metric: 'IncomingRecords', unit: 'Count', area: true, note: 'Sum per period',
      lines: [m('IncomingRecords', 'IncomingRecords', 'Sum')] },
    { title: 'Incoming bytes', metric: 'IncomingBytes', unit: 'Bytes', area: true, note: 'Sum per period',
      lines: [m('IncomingBytes', 'IncomingBytes', 'Sum')] },
    { title: 'GetRecords records', metric: 'GetRecords.Records', unit: 'Count', area: true, note: 'Sum per period',
      lines: [m('GetRecords.Records', 'GetRecords.Records', 'Sum')] },
    { title: 'GetRecords bytes', metric: 'GetRecords.Bytes', unit: 'Bytes', area: true, note: 'Sum per period',
      lines: [m('GetRecords.Bytes', 'GetRecords.Bytes', 'Sum')] },
    { title: 'Iterator age', metric: 'GetRecords.IteratorAgeMilliseconds', unit: 'Milliseconds', note: 'Maximum: how far the slowest reader is behind',
      lines: [m('GetRecords.IteratorAgeMilliseconds', 'GetRecords.IteratorAgeMilliseconds', 'Maximum')] },
    { title: 'Latency', metric: 'Latency', unit: 'Milliseconds', note: 'Average per call',
      lines: [
        m('PutRecord', 'PutRecord.Latency', 'Average'),
        m('PutRecords', 'PutRecords.Latency', 'Average'),
        m('GetRecords', 'GetRecords.Latency', 'Average'),
      ] },
    { title: 'PutRecords records', metric: 'PutRecords.Records', unit: 'Count', note: 'Sum per period',
      lines: [
        m('Successful', 'PutRecords.SuccessfulRecords', 'Sum'),
        m('Failed', 'PutRecords.FailedRecords', 'Sum'),
        m('Throttled', 'PutRecords.ThrottledRecords', 'Sum'),
      ] },
    { title: 'Throughput exceeded', metric: 'ProvisionedThroughputExceeded', unit: 'Count', note: 'Sum: records refused on write, GetRecords calls refused on read',
      lines: [
        m('Write (records)', 'WriteProvisionedThroughputExceeded', 'Sum'),
        m('Read (calls)', 'ReadProvisionedThroughputExceeded', 'Sum'),
      ] },
    { title: 'Success', metric: 'Success', unit: 'Ratio', note: 'Average: share of calls that succeeded',
      lines: [
        m('PutRecord', 'PutRecord.Success', 'Average'),
        m('PutRecords', 'PutRecords.Success', 'Average'),
        m('GetRecords', 'GetRecords.Success', 'Average'),
      ] },
  ];
}

// The shard-level metrics, with the statistic each chart shows.
const shardMetrics = [
  ['IncomingRecords', 'Count', 'Sum'],
  ['IncomingBytes', 'Bytes', 'Sum'],
  ['OutgoingRecords', 'Count', 'Sum'],
  ['OutgoingBytes', 'Bytes', 'Sum'],
  ['WriteProvisionedThroughputExceeded', 'Count', 'Sum'],
  ['ReadProvisionedThroughputExceeded', 'Count', 'Sum'],
  ['IteratorAgeMilliseconds', 'Milliseconds', 'Maximum'],
];

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

// shardCharts are the charts of the shard-level metrics turned on, one
// series per shard (open shards first).
async function shardCharts(name) {
  const sum = (await call('kinesis', 'DescribeStreamSummary', { StreamName: name })).StreamDescriptionSummary;
  const on = new Set((sum.EnhancedMonitoring || []).flatMap(e => e.ShardLevelMetrics || []));
  const enabled = shardMetrics.filter(([metric]) => on.has('ALL') || on.has(metric));
  if (enabled.length === 0) {
    return [{ section: 'Shard level', note: 'Off for this stream: turn shard-level metrics on in the Details tab (enhanced monitoring).' }];
  }
  const shards = await listShards(name);
  const open = s => !(s.SequenceNumberRange && s.SequenceNumberRange.EndingSequenceNumber);
  shards.sort((a, b) => Number(open(b)) - Number(open(a)));
  const shown = shards.slice(0, shardCap);
  const note = shards.length > shardCap ? `the first ${shardCap} of ${shards.length} shards, open ones first` : `${shards.length} shard${shards.length === 1 ? '' : 's'}`;
  return [
    { section: 'Shard level', note },
    ...enabled.map(([metric, unit, stat]) => ({
      title: `${metric} by shard`, metric: 'shard:' + metric, unit, note: stat === 'Sum' ? 'Sum per period' : stat,
      lines: shown.map(s => ({ label: s.ShardId, namespace: NS, name: metric, dims: { StreamName: name, ShardId: s.ShardId }, stat })),
    })),
  ];
}

export async function render(el, params) {
  const name = params.name;
  // Fail early and clearly on a stream that does not exist (or may not be
  // seen), rather than with empty charts.
  try {
    await call('kinesis', 'DescribeStreamSummary', { StreamName: name });
  } catch (err) {
    el.replaceChildren(errorBox(err));
    return;
  }
  el.replaceChildren(h('p', { class: 'muted intro' },
    'From the CloudWatch-compatible API (namespace AWS/Kinesis, one-minute datapoints). ',
    'The same numbers answer ', h('code', {}, 'aws cloudwatch get-metric-data'), '. ',
    'Shard-level metrics are kept only while enhanced monitoring has them on (',
    h('a', { href: streamHref(name) }, 'Details'), ').'));
  const charts = async () => [...streamCharts(name), ...(await shardCharts(name))];
  return dashboard(el, charts).stop;
}
