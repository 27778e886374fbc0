// Delivery streams (the Firehose API): the list, and one delivery
// stream's status, source, destinations and AWS/Firehose metrics.

import { call } from '../api.js';
import { h, errorBox, fmtTime, status, streamHref, alive } from '../ui.js';
import { dashboard } from '../metrics.js';

const NS = 'AWS/Firehose';

export async function render(el, params) {
  if (params.name) return detail(el, params.name);
  return list(el);
}

function deliveryHref(name) {
  return '#/delivery/' + encodeURIComponent(name);
}

// streamName reads a Kinesis stream ARN's name.
function streamName(arn) {
  const m = /:stream\/(.+)$/.exec(arn || '');
  return m ? m[1] : arn;
}

// bucketName reads arn:aws:s3:::bucket.
function bucketName(arn) {
  const m = /^arn:[^:]+:s3:::(.+)$/.exec(arn || '');
  return m ? m[1] : arn;
}

// destinations describes each destination of a description: its kind,
// the metric prefix of its deliveries, where it goes, and its settings.
function destinations(d) {
  const out = [];
  for (const dest of d.Destinations || []) {
    for (const [key, v] of Object.entries(dest)) {
      if (!key.endsWith('DestinationDescription') || !v) continue;
      // ExtendedS3 is also described as plain S3: show it once.
      if (key === 'S3DestinationDescription' && dest.ExtendedS3DestinationDescription) continue;
      out.push({ id: dest.DestinationId, key, ...describe(key, v), raw: v });
    }
  }
  return out;
}

function describe(key, v) {
  switch (key) {
    case 'ExtendedS3DestinationDescription':
    case 'S3DestinationDescription':
      return {
        kind: 'Amazon S3', metric: 'DeliveryToS3',
        target: `s3://${bucketName(v.BucketARN)}/${v.Prefix || ''}`,
        facts: [
          ['Bucket', bucketName(v.BucketARN)],
          ['Prefix', v.Prefix || '—'],
          ['Error output prefix', v.ErrorOutputPrefix || '—'],
          ['Compression', v.CompressionFormat || 'UNCOMPRESSED'],
          ['Backup', v.S3BackupMode || 'Disabled'],
          ['Transformation', v.ProcessingConfiguration && v.ProcessingConfiguration.Enabled ? 'Lambda' : 'none'],
          ['Dynamic partitioning', v.DynamicPartitioningConfiguration && v.DynamicPartitioningConfiguration.Enabled ? 'on' : 'off'],
        ],
        hints: v.BufferingHints,
        backup: v.S3BackupMode === 'Enabled',
      };
    case 'HttpEndpointDestinationDescription':
      return {
        kind: 'HTTP endpoint', metric: 'DeliveryToHttpEndpoint',
        target: (v.EndpointConfiguration && v.EndpointConfiguration.Url) || '—',
        facts: [
          ['Name', (v.EndpointConfiguration && v.EndpointConfiguration.Name) || '—'],
          ['Content encoding', (v.RequestConfiguration && v.RequestConfiguration.ContentEncoding) || 'NONE'],
          ['Retry duration', v.RetryOptions ? v.RetryOptions.DurationInSeconds + ' s' : '—'],
          ['Backup', v.S3BackupMode || 'FailedDataOnly'],
        ],
        hints: v.BufferingHints,
        backup: v.S3BackupMode === 'AllData',
      };
    case 'RedshiftDestinationDescription':
      return {
        kind: 'Redshift (PostgreSQL)', metric: 'DeliveryToRedshift',
        target: v.ClusterJDBCURL || '—',
        facts: [
          ['Table', (v.CopyCommand && v.CopyCommand.DataTableName) || '—'],
          ['User', v.Username || '—'],
          ['Backup', v.S3BackupMode || 'Disabled'],
        ],
        hints: v.S3DestinationDescription && v.S3DestinationDescription.BufferingHints,
        backup: v.S3BackupMode === 'Enabled',
      };
    default:
      return { kind: key.replace(/DestinationDescription$/, ''), metric: null, target: '—', facts: [], hints: v.BufferingHints };
  }
}

function source(d) {
  if (d.DeliveryStreamType === 'KinesisStreamAsSource' && d.Source && d.Source.KinesisStreamSourceDescription) {
    return { kind: 'Kinesis stream', stream: streamName(d.Source.KinesisStreamSourceDescription.KinesisStreamARN), raw: d.Source.KinesisStreamSourceDescription };
  }
  return { kind: d.DeliveryStreamType === 'DirectPut' || !d.DeliveryStreamType ? 'Direct PUT' : d.DeliveryStreamType };
}

function hintsText(b) {
  if (!b) return '—';
  const parts = [];
  if (b.SizeInMBs !== undefined) parts.push(`${b.SizeInMBs} MiB`);
  if (b.IntervalInSeconds !== undefined) parts.push(`${b.IntervalInSeconds} s`);
  return parts.length ? parts.join(' or ') + ', whichever comes first' : '—';
}

async function describeStream(name) {
  return (await call('firehose', 'DescribeDeliveryStream', { DeliveryStreamName: name })).DeliveryStreamDescription;
}

async function list(el) {
  const count = h('span', { class: 'muted', id: 'delivery-count' });
  const tbody = h('tbody');
  const msg = h('div', { class: 'message' });
  el.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, 'Delivery streams'), count),
    msg,
    h('div', { class: 'card' }, h('div', { class: 'scroll' },
      h('table', { class: 'table', id: 'delivery-table', 'data-testid': 'delivery-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Status'), h('th', {}, 'Source'), h('th', {}, 'Destination'), h('th', {}, 'Buffering'), h('th', {}, 'Created'))),
        tbody))));
  let names = [];
  try {
    let after = null;
    for (;;) {
      const out = await call('firehose', 'ListDeliveryStreams', after ? { Limit: 100, ExclusiveStartDeliveryStreamName: after } : { Limit: 100 });
      const page = out.DeliveryStreamNames || [];
      names.push(...page);
      if (!out.HasMoreDeliveryStreams || page.length === 0) break;
      after = page[page.length - 1];
    }
  } catch (err) {
    msg.replaceChildren(errorBox(err));
    return;
  }
  count.textContent = `${names.length} delivery stream${names.length === 1 ? '' : 's'}`;
  if (names.length === 0) {
    tbody.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 6 },
      'No delivery streams. Create one with the Firehose API, e.g. ', h('code', {}, 'aws firehose create-delivery-stream'), '.')));
    return;
  }
  const rows = new Map(names.map(n => [n, h('tr', { 'data-delivery': n },
    h('td', {}, h('a', { href: deliveryHref(n), class: 'delivery-link' }, n)),
    h('td', { colspan: 5, class: 'muted' }, 'Loading…'))]));
  tbody.replaceChildren(...rows.values());
  const queue = names.slice();
  const worker = async () => {
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      if (!alive(el)) return;
      const tr = rows.get(n);
      try {
        const d = await describeStream(n);
        const src = source(d);
        const dests = destinations(d);
        tr.replaceChildren(
          tr.firstChild,
          h('td', {}, status(d.DeliveryStreamStatus)),
          h('td', {}, src.stream ? ['Kinesis ', h('a', { href: streamHref(src.stream) }, src.stream)] : src.kind),
          h('td', {}, dests.map(x => h('div', {}, h('span', { class: 'badge' }, x.kind), ' ', h('code', {}, x.target)))),
          h('td', { class: 'nowrap' }, dests.map(x => h('div', {}, hintsText(x.hints)))),
          h('td', { class: 'nowrap' }, fmtTime(d.CreateTimestamp)));
      } catch (err) {
        tr.replaceChildren(tr.firstChild, h('td', { colspan: 5 }, errorBox(err)));
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

async function detail(el, name) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  el.replaceChildren(
    h('div', { class: 'page-head stream-head' },
      h('nav', { class: 'crumbs' }, h('a', { href: '#/delivery' }, 'Delivery streams'), ' / '),
      h('h1', { id: 'delivery-title', 'data-testid': 'delivery-title' }, name)),
    body);
  let d;
  try {
    d = await describeStream(name);
  } catch (err) {
    body.replaceChildren(errorBox(err));
    return;
  }
  const src = source(d);
  const dests = destinations(d);
  const enc = d.DeliveryStreamEncryptionConfiguration;
  const fact = (k, v) => h('div', { class: 'fact' }, h('dt', {}, k), h('dd', {}, v));
  const summary = h('section', { class: 'card', id: 'delivery-summary' },
    h('h2', {}, 'Summary'),
    h('dl', { class: 'facts' },
      fact('Status', status(d.DeliveryStreamStatus)),
      fact('Source', src.stream ? ['Kinesis stream ', h('a', { href: streamHref(src.stream) }, src.stream)] : src.kind),
      fact('Created', fmtTime(d.CreateTimestamp)),
      fact('Last updated', fmtTime(d.LastUpdateTimestamp)),
      fact('Version', d.VersionId || '—'),
      fact('Encryption', enc && enc.Status && enc.Status !== 'DISABLED' ? `${enc.Status} (${enc.KeyType || 'AWS_OWNED_CMK'})` : 'off'),
      d.FailureDescription ? fact('Failure', h('span', { class: 'error' }, `${d.FailureDescription.Type}: ${d.FailureDescription.Details}`)) : null,
      fact('ARN', h('code', {}, d.DeliveryStreamARN))));
  const destCards = dests.map(x => h('section', { class: 'card destination', 'data-destination': x.key },
    h('div', { class: 'card-head' }, h('h2', {}, 'Destination: ', x.kind), h('code', {}, x.target)),
    h('dl', { class: 'facts' },
      fact('Buffering hints', hintsText(x.hints)),
      ...x.facts.map(([k, v]) => fact(k, v)),
      fact('Destination id', x.id || '—')),
    h('details', { class: 'raw' }, h('summary', {}, 'Full description'), h('pre', { class: 'record-data' }, JSON.stringify(x.raw, null, 2)))));
  const metrics = h('section', { class: 'card', id: 'delivery-metrics' },
    h('div', { class: 'card-head' }, h('h2', {}, 'Metrics'), h('span', { class: 'muted' }, 'AWS/Firehose, dimension DeliveryStreamName, from the CloudWatch-compatible API.')));
  body.replaceChildren(summary, ...destCards, metrics);
  return dashboard(metrics, charts(name, d, dests)).stop;
}

// charts are the delivery stream's metric charts: what comes in, and
// for each destination what was delivered and how fresh the data is.
function charts(name, d, dests) {
  const m = (label, metric, stat) => ({ label, namespace: NS, name: metric, dims: { DeliveryStreamName: name }, stat });
  const out = [
    { title: 'Incoming records', metric: 'IncomingRecords', unit: 'Count', area: true, note: 'Sum per period', lines: [m('IncomingRecords', 'IncomingRecords', 'Sum')] },
    { title: 'Incoming bytes', metric: 'IncomingBytes', unit: 'Bytes', area: true, note: 'Sum per period', lines: [m('IncomingBytes', 'IncomingBytes', 'Sum')] },
  ];
  const seen = new Set();
  for (const x of dests) {
    if (!x.metric || seen.has(x.metric)) continue;
    seen.add(x.metric);
    const lines = [m('Records', `${x.metric}.Records`, 'Sum')];
    if (x.metric !== 'DeliveryToRedshift') lines.push(m('Bytes', `${x.metric}.Bytes`, 'Sum'));
    out.push({ title: `${x.metric}.Records`, metric: `${x.metric}.Records`, unit: 'Count', area: true, note: 'Sum per period', lines: [lines[0]] });
    if (lines[1]) out.push({ title: `${x.metric}.Bytes`, metric: `${x.metric}.Bytes`, unit: 'Bytes', area: true, note: 'Sum per period', lines: [lines[1]] });
    out.push({ title: `${x.metric}.Success`, metric: `${x.metric}.Success`, unit: 'Ratio', note: 'Average: share of attempts that succeeded', lines: [m('Success', `${x.metric}.Success`, 'Average')] });
    if (x.metric === 'DeliveryToS3') {
      out.push({ title: 'DeliveryToS3.DataFreshness', metric: 'DeliveryToS3.DataFreshness', unit: 'Seconds', note: 'Maximum: age of the oldest record not yet delivered', lines: [m('DataFreshness', 'DeliveryToS3.DataFreshness', 'Maximum')] });
    }
  }
  if (dests.some(x => x.backup)) {
    out.push({ title: 'BackupToS3', metric: 'BackupToS3.Records', unit: 'Count', note: 'Sum per period', lines: [m('Records', 'BackupToS3.Records', 'Sum')] });
  }
  out.push({ title: 'Throttled records', metric: 'ThrottledRecords', unit: 'Count', note: 'Sum per period', lines: [m('ThrottledRecords', 'ThrottledRecords', 'Sum')] });
  if (d.DeliveryStreamType !== 'KinesisStreamAsSource') {
    out.push({ title: 'Put latency', metric: 'Latency', unit: 'Milliseconds', note: 'Average per call',
      lines: [m('PutRecord', 'PutRecord.Latency', 'Average'), m('PutRecordBatch', 'PutRecordBatch.Latency', 'Average')] });
  }
  return out;
}
