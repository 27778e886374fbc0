// Runs the console's plain modules (kpl.js, shardmap.js) under Node for
// the Go tests: one JSON request per line on stdin, one JSON answer per
// line on stdout. argv[2] is a directory holding copies of the modules
// next to a package.json that makes them ES modules.
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = process.argv[2];
const kpl = await import(pathToFileURL(join(dir, 'kpl.js')).href);
const map = await import(pathToFileURL(join(dir, 'shardmap.js')).href);

const hex = b => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
const bytes = s => new Uint8Array(Buffer.from(s, 'hex'));

function handle(req) {
  switch (req.op) {
    case 'deagg':
      try {
        const recs = kpl.deaggregate(bytes(req.hex));
        return {
          ok: true,
          aggregated: kpl.isAggregated(bytes(req.hex)),
          records: recs.map(r => ({
            pk: hex(r.partitionKeyBytes),
            ehk: r.explicitHashKeyBytes ? hex(r.explicitHashKeyBytes) : null,
            data: hex(r.data),
            key: kpl.hashKeyOfRecord(r).toString(),
          })),
        };
      } catch (err) {
        if (!(err instanceof kpl.DeaggregationError)) return { ok: false, kind: 'crash', msg: String(err && err.stack) };
        return { ok: false, kind: err.kind, msg: err.message, aggregated: kpl.isAggregated(bytes(req.hex)) };
      }
    case 'md5':
      return { md5: hex(kpl.md5(bytes(req.hex))) };
    case 'hashkey':
      return { key: kpl.hashKeyOf(req.str).toString() };
    case 'layout': {
      const l = map.layout(req.shards);
      return {
        rows: l.rows,
        items: l.items.map(it => ({ id: it.shard.ShardId, row: it.row, open: it.open, x0: it.x0, x1: it.x1 })),
        links: l.links.map(k => [k.from.shard.ShardId, k.to.shard.ShardId]),
      };
    }
    case 'midpoint':
      return { key: map.midpoint(req.start, req.end) };
    case 'pairs':
      return { pairs: map.adjacentPairs(req.shards).map(([a, b]) => [a.ShardId, b.ShardId]) };
    default:
      return { error: 'unknown op ' + req.op };
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  let out;
  try {
    out = handle(JSON.parse(line));
  } catch (err) {
    out = { error: String(err && err.stack) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
