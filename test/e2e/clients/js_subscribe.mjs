// Enhanced fan-out through Rivulet with the AWS SDK for JavaScript v3 and
// the client's default request handler (NodeHttp2Handler: HTTP/2 even to an
// http:// endpoint).
//
//   node js_subscribe.mjs --endpoint http://127.0.0.1:4567 [--stream JsFanout]
//
// Registers a consumer, subscribes, checks records arrive as they are put,
// re-subscribes with the ContinuationSequenceNumber, checks a second
// subscription within 5 s is refused, and that deregistering the consumer
// ends the subscription with ResourceNotFoundException. Exits 1 on any
// mismatch.

import { parseArgs } from "node:util";
import {
  KinesisClient,
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  ListStreamConsumersCommand,
  DeregisterStreamConsumerCommand,
  SubscribeToShardCommand,
  PutRecordCommand,
  ResourceInUseException,
} from "@aws-sdk/client-kinesis";

const { values: args } = parseArgs({
  options: { endpoint: { type: "string" }, stream: { type: "string", default: "JsFanout" } },
});
if (!args.endpoint) {
  console.error("usage: node js_subscribe.mjs --endpoint URL [--stream NAME]");
  process.exit(2);
}

function fail(msg) {
  console.error("FAIL: " + msg);
  process.exit(1);
}

setTimeout(() => fail("timed out after 90s"), 90_000).unref();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();
const dec = new TextDecoder();

const client = new KinesisClient({
  endpoint: args.endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" },
});
const handlerName = client.config.requestHandler?.constructor?.name;
if (handlerName !== "NodeHttp2Handler") fail(`default request handler is ${handlerName}, expected NodeHttp2Handler`);

const name = args.stream;
const shard = "shardId-000000000000";

// subscribe retries while the previous subscription is still being released.
async function subscribe(consumerARN, position) {
  for (let i = 0; ; i++) {
    try {
      return await client.send(new SubscribeToShardCommand({ ConsumerARN: consumerARN, ShardId: shard, StartingPosition: position }));
    } catch (e) {
      if (!(e instanceof ResourceInUseException) || i > 100) throw e;
      await sleep(100);
    }
  }
}

// read iterates events until want records arrived; it returns them, the
// last continuation, and the iterator to keep reading from.
async function read(events, want) {
  const recs = [];
  let cont;
  for (;;) {
    const { value, done } = await events.next();
    if (done) fail(`stream ended after ${recs.length} of ${want} records`);
    const ev = value.SubscribeToShardEvent;
    if (!ev) fail(`unexpected event ${JSON.stringify(Object.keys(value))}`);
    cont = ev.ContinuationSequenceNumber;
    if (typeof ev.MillisBehindLatest !== "number") fail("MillisBehindLatest is not a number");
    for (const r of ev.Records) {
      if (!(r.ApproximateArrivalTimestamp instanceof Date)) fail("ApproximateArrivalTimestamp is not a Date");
      recs.push(r);
    }
    if (recs.length >= want) return { recs, cont };
  }
}

try {
  await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  let streamARN;
  for (let i = 0; ; i++) {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary.StreamStatus === "ACTIVE") {
      streamARN = s.StreamDescriptionSummary.StreamARN;
      break;
    }
    if (i > 300) fail("stream not ACTIVE after 30s");
    await sleep(100);
  }

  const reg = await client.send(new RegisterStreamConsumerCommand({ StreamARN: streamARN, ConsumerName: "js-app" }));
  const arn = reg.Consumer.ConsumerARN;
  if (reg.Consumer.ConsumerStatus !== "CREATING") fail(`new consumer is ${reg.Consumer.ConsumerStatus}`);
  if (!(reg.Consumer.ConsumerCreationTimestamp instanceof Date)) fail("ConsumerCreationTimestamp is not a Date");
  const epoch = Math.floor(reg.Consumer.ConsumerCreationTimestamp.getTime() / 1000);
  if (arn !== `${streamARN}/consumer/js-app:${epoch}`) fail(`consumer ARN ${arn}`);
  for (let i = 0; ; i++) {
    const d = await client.send(new DescribeStreamConsumerCommand({ ConsumerARN: arn }));
    if (d.ConsumerDescription.ConsumerStatus === "ACTIVE") break;
    if (i > 300) fail("consumer not ACTIVE after 30s");
    await sleep(50);
  }
  const list = await client.send(new ListStreamConsumersCommand({ StreamARN: streamARN }));
  if (list.Consumers.length !== 1 || list.Consumers[0].ConsumerARN !== arn) fail(`ListStreamConsumers ${JSON.stringify(list)}`);

  // Subscribe from LATEST and put: each record is pushed as it is stored.
  const sub = await subscribe(arn, { Type: "LATEST" });
  const events = sub.EventStream[Symbol.asyncIterator]();
  const puts = [];
  let worst = 0;
  for (let i = 0; i < 5; i++) {
    const data = `js-${i}`;
    const start = performance.now();
    const p = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: `k${i}`, Data: enc.encode(data) }));
    puts.push({ seq: p.SequenceNumber, data, key: `k${i}` });
    const { recs, cont } = await read(events, 1);
    worst = Math.max(worst, performance.now() - start);
    const r = recs[0];
    if (r.SequenceNumber !== p.SequenceNumber || dec.decode(r.Data) !== data || r.PartitionKey !== `k${i}`) {
      fail(`record ${i}: ${JSON.stringify({ seq: r.SequenceNumber, key: r.PartitionKey })}, want ${p.SequenceNumber}`);
    }
    if (cont !== p.SequenceNumber) fail(`continuation ${cont}, want ${p.SequenceNumber}`);
  }

  // A second subscription within 5 s is refused.
  try {
    await client.send(new SubscribeToShardCommand({ ConsumerARN: arn, ShardId: shard, StartingPosition: { Type: "LATEST" } }));
    fail("a second subscription within 5 s was accepted");
  } catch (e) {
    if (!(e instanceof ResourceInUseException)) fail(`second subscription: ${e.name}: ${e.message}`);
    if (!e.message.startsWith("Another active subscription exists for this consumer")) fail(`message ${e.message}`);
  }

  // Leave, put more, and come back after the third record: the rest
  // arrives, nothing twice.
  await events.return();
  for (let i = 5; i < 10; i++) {
    const data = `js-${i}`;
    const p = await client.send(new PutRecordCommand({ StreamName: name, PartitionKey: `k${i}`, Data: enc.encode(data) }));
    puts.push({ seq: p.SequenceNumber, data, key: `k${i}` });
  }
  const again = await subscribe(arn, { Type: "AFTER_SEQUENCE_NUMBER", SequenceNumber: puts[7].seq });
  const events2 = again.EventStream[Symbol.asyncIterator]();
  const { recs: rest } = await read(events2, 2);
  if (rest.map((r) => dec.decode(r.Data)).join() !== "js-8,js-9") fail(`after the continuation: ${rest.map((r) => dec.decode(r.Data))}`);

  // Deregistering ends the subscription with ResourceNotFoundException.
  await client.send(new DeregisterStreamConsumerCommand({ ConsumerARN: arn }));
  try {
    for (;;) {
      const { done } = await events2.next();
      if (done) fail("the subscription ended without an exception after deregistering");
    }
  } catch (e) {
    if (e.name !== "ResourceNotFoundException") fail(`after deregistering: ${e.name}: ${e.message}`);
  }

  console.log(`JS SDK v3 SubscribeToShard over ${handlerName}: ${puts.length} records; slowest put-to-event ${worst.toFixed(1)} ms`);
} catch (e) {
  fail(`${e.name}: ${e.message}`);
} finally {
  client.destroy();
}
