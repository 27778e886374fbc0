// Round trip through Rivulet with the AWS SDK for JavaScript v3, using the
// client's default request handler.
//
//   node js_sdk.mjs --endpoint http://127.0.0.1:4567 [--stream JsStream]
//
// @aws-sdk/client-kinesis defaults to NodeHttp2Handler (because of
// SubscribeToShard), which speaks HTTP/2 even to an http:// endpoint
// (cleartext h2c, prior knowledge) and never falls back to HTTP/1.1. So a
// passing run shows the server answers h2c. Exits 1 on any mismatch.

import { parseArgs } from "node:util";
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  PutRecordCommand,
  PutRecordsCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  ResourceNotFoundException,
} from "@aws-sdk/client-kinesis";

const { values: args } = parseArgs({
  options: { endpoint: { type: "string" }, stream: { type: "string", default: "JsStream" } },
});
if (!args.endpoint) {
  console.error("usage: node js_sdk.mjs --endpoint URL [--stream NAME]");
  process.exit(2);
}

function fail(msg) {
  console.error("FAIL: " + msg);
  process.exit(1);
}

// A hung request must not hang the Go test; it has its own timeout too.
setTimeout(() => fail("timed out after 90s"), 90_000).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MAX_HASH_KEY = (1n << 128n) - 1n;

const client = new KinesisClient({
  endpoint: args.endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" },
});

const handler = client.config.requestHandler;
const handlerName = handler?.constructor?.name;
if (handlerName !== "NodeHttp2Handler") {
  fail(`default request handler is ${handlerName}, expected NodeHttp2Handler; update this test for the new default`);
}

const name = args.stream;
const enc = new TextEncoder();
const dec = new TextDecoder();

try {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
  for (let i = 0; ; i++) {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary.StreamStatus === "ACTIVE") break;
    if (i > 300) fail("stream not ACTIVE after 30s");
    await sleep(100);
  }

  const { Shards: shards } = await client.send(new ListShardsCommand({ StreamName: name }));
  if (shards.length !== 2) fail(`ListShards: ${shards.length} shards, want 2`);
  const ids = shards.map((s) => s.ShardId);
  if (ids.join() !== "shardId-000000000000,shardId-000000000001") fail(`ListShards ids ${ids}`);
  const lo0 = BigInt(shards[0].HashKeyRange.StartingHashKey);
  const hi0 = BigInt(shards[0].HashKeyRange.EndingHashKey);
  const lo1 = BigInt(shards[1].HashKeyRange.StartingHashKey);
  const hi1 = BigInt(shards[1].HashKeyRange.EndingHashKey);
  if (lo0 !== 0n || hi0 + 1n !== lo1 || hi1 !== MAX_HASH_KEY) {
    fail(`hash key ranges do not split [0, 2^128-1]: ${JSON.stringify(shards.map((s) => s.HashKeyRange))}`);
  }

  // put: [{shard, seq, key, data(Uint8Array)}]
  const puts = [];
  const one = await client.send(
    new PutRecordCommand({ StreamName: name, PartitionKey: "single", Data: enc.encode("hello from js") }),
  );
  if (!/^[0-9]{56}$/.test(one.SequenceNumber)) fail(`PutRecord sequence number ${one.SequenceNumber}`);
  puts.push({ shard: one.ShardId, seq: one.SequenceNumber, key: "single", data: enc.encode("hello from js") });

  const entries = [];
  for (let i = 0; i < 50; i++) {
    const data = new Uint8Array(64 + i);
    for (let j = 0; j < data.length; j++) data[j] = (i * 7 + j) & 0xff; // every byte value, not just text
    const e = { PartitionKey: `key-${i}`, Data: data };
    // Pin a few to the second shard so both shards are read back.
    if (i % 10 === 0) e.ExplicitHashKey = lo1.toString();
    entries.push(e);
  }
  const batch = await client.send(new PutRecordsCommand({ StreamName: name, Records: entries }));
  if (batch.FailedRecordCount !== 0) fail(`PutRecords FailedRecordCount ${batch.FailedRecordCount}`);
  if (batch.Records.length !== entries.length) fail(`PutRecords ${batch.Records.length} results`);
  batch.Records.forEach((r, i) => {
    if (!/^[0-9]{56}$/.test(r.SequenceNumber)) fail(`PutRecords[${i}] sequence number ${r.SequenceNumber}`);
    if (entries[i].ExplicitHashKey && r.ShardId !== ids[1]) fail(`PutRecords[${i}] with ExplicitHashKey went to ${r.ShardId}`);
    puts.push({ shard: r.ShardId, seq: r.SequenceNumber, key: entries[i].PartitionKey, data: entries[i].Data });
  });

  const got = [];
  for (const shardId of ids) {
    const want = puts.filter((p) => p.shard === shardId).length;
    const it = await client.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }),
    );
    let iter = it.ShardIterator;
    let n = 0;
    for (let calls = 0; n < want; calls++) {
      if (calls > 100) fail(`${shardId}: read ${n} of ${want} records`);
      const out = await client.send(new GetRecordsCommand({ ShardIterator: iter }));
      for (const r of out.Records) {
        if (!(r.ApproximateArrivalTimestamp instanceof Date)) fail("ApproximateArrivalTimestamp is not a Date");
        got.push({ shard: shardId, seq: r.SequenceNumber, key: r.PartitionKey, data: r.Data });
        n++;
      }
      if (!out.NextShardIterator) fail(`${shardId}: no NextShardIterator on an open shard`);
      iter = out.NextShardIterator;
      if (out.Records.length === 0) await sleep(200);
    }
    const extra = await client.send(new GetRecordsCommand({ ShardIterator: iter }));
    if (extra.Records.length !== 0) fail(`${shardId}: ${extra.Records.length} records beyond those put`);
  }

  const bySeq = new Map(got.map((r) => [r.shard + "/" + r.seq, r]));
  if (bySeq.size !== got.length || got.length !== puts.length) {
    fail(`read ${got.length} records (${bySeq.size} distinct), put ${puts.length}`);
  }
  for (const p of puts) {
    const r = bySeq.get(p.shard + "/" + p.seq);
    if (!r) fail(`record ${p.seq} on ${p.shard} not read back`);
    if (r.key !== p.key) fail(`record ${p.seq}: key ${r.key}, want ${p.key}`);
    if (Buffer.compare(Buffer.from(r.data), Buffer.from(p.data)) !== 0) fail(`record ${p.seq}: data differs`);
  }
  if (dec.decode(got.find((r) => r.key === "single").data) !== "hello from js") fail("text record differs");

  try {
    await client.send(new DescribeStreamSummaryCommand({ StreamName: "Nope" }));
    fail("DescribeStreamSummary of a missing stream succeeded");
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) fail(`missing stream: ${e.name}: ${e.message}`);
    if (e.message !== "Stream Nope under account 000000000000 not found.") fail(`missing stream message ${e.message}`);
    if (e.$metadata?.httpStatusCode !== 400) fail(`missing stream HTTP status ${e.$metadata?.httpStatusCode}`);
  }

  console.log(`JS SDK v3 over ${handlerName}: ${puts.length} records put and read back from 2 shards`);
} catch (e) {
  fail(`${e.name}: ${e.message}`);
} finally {
  client.destroy();
}
