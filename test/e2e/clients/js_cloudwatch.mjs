// A known Kinesis workload's metrics through the AWS SDK for JavaScript v3's
// CloudWatch client, which speaks awsJson1_0 (query-compatible).
//
//   node js_cloudwatch.mjs --endpoint URL --stream S --start EPOCH --end EPOCH \
//       --records N --bytes B
//
// The stream got N records (B bytes with their partition keys) in two
// PutRecords calls, half on each of its two shards, with shard-level
// IncomingRecords enabled; TestCloudWatch waits until the metrics are
// flushed before running this. Exits 1 on any mismatch.

import { parseArgs } from "node:util";
import {
  CloudWatchClient,
  GetMetricStatisticsCommand,
  GetMetricDataCommand,
  paginateListMetrics,
} from "@aws-sdk/client-cloudwatch";

const { values: args } = parseArgs({
  options: Object.fromEntries(
    ["endpoint", "stream", "start", "end", "records", "bytes"].map((k) => [k, { type: "string" }]),
  ),
});
for (const k of ["endpoint", "stream", "start", "end", "records", "bytes"]) {
  if (!args[k]) {
    console.error("usage: node js_cloudwatch.mjs --endpoint URL --stream S --start EPOCH --end EPOCH --records N --bytes B");
    process.exit(2);
  }
}

function fail(msg) {
  console.error("FAIL: " + msg);
  process.exit(1);
}

function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
}

// A hung request must not hang the Go test; it has its own timeout too.
setTimeout(() => fail("timed out after 90s"), 90_000).unref();

const client = new CloudWatchClient({
  endpoint: args.endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "x" },
  maxAttempts: 1,
});
const start = new Date(Number(args.start) * 1000);
const end = new Date(Number(args.end) * 1000);
const records = Number(args.records);
const stream = [{ Name: "StreamName", Value: args.stream }];
const sum = (xs) => xs.reduce((a, b) => a + b, 0);

try {
  let out = await client.send(
    new GetMetricStatisticsCommand({
      Namespace: "AWS/Kinesis",
      MetricName: "IncomingRecords",
      Dimensions: stream,
      StartTime: start,
      EndTime: end,
      Period: 60,
      Statistics: ["Sum", "SampleCount", "Minimum"],
    }),
  );
  eq(out.Label, "IncomingRecords", "Label");
  eq(sum(out.Datapoints.map((d) => d.Sum)), records, "IncomingRecords Sum");
  eq(sum(out.Datapoints.map((d) => d.SampleCount)), 2, "IncomingRecords SampleCount");
  for (const d of out.Datapoints) {
    if (!(d.Timestamp instanceof Date) || d.Timestamp < start || d.Timestamp.getUTCSeconds() !== 0) {
      fail(`datapoint timestamp ${d.Timestamp}`);
    }
    eq(d.Unit, "Count", "Unit");
    eq(d.Minimum, records / 2, "Minimum");
  }

  out = await client.send(
    new GetMetricStatisticsCommand({
      Namespace: "AWS/Kinesis",
      MetricName: "IncomingBytes",
      Dimensions: stream,
      StartTime: start,
      EndTime: end,
      Period: 3600,
      Statistics: ["Sum"],
    }),
  );
  eq(out.Datapoints.length, 1, "one hour-long datapoint");
  eq(out.Datapoints[0].Sum, Number(args.bytes), "IncomingBytes Sum");

  const shard = (i) => ({
    Id: `shard${i}`,
    ReturnData: false,
    MetricStat: {
      Metric: {
        Namespace: "AWS/Kinesis",
        MetricName: "IncomingRecords",
        Dimensions: [...stream, { Name: "ShardId", Value: `shardId-00000000000${i}` }],
      },
      Period: 60,
      Stat: "Sum",
    },
  });
  const gmd = await client.send(
    new GetMetricDataCommand({
      StartTime: start,
      EndTime: end,
      MetricDataQueries: [shard(0), shard(1), { Id: "total", Expression: "SUM(METRICS())" }],
    }),
  );
  eq(gmd.MetricDataResults.length, 1, "results");
  const r = gmd.MetricDataResults[0];
  eq([r.Id, r.StatusCode], ["total", "Complete"], "result");
  eq(sum(r.Values), records, "SUM(METRICS())");

  const listed = [];
  for await (const page of paginateListMetrics({ client }, { Namespace: "AWS/Kinesis", MetricName: "IncomingRecords" })) {
    for (const m of page.Metrics) {
      listed.push(m.Dimensions.map((d) => `${d.Name}=${d.Value}`).join(","));
    }
  }
  for (const want of [`StreamName=${args.stream}`, `ShardId=shardId-000000000001,StreamName=${args.stream}`]) {
    if (!listed.includes(want)) {
      fail(`ListMetrics: ${want} missing from ${JSON.stringify(listed)}`);
    }
  }

  try {
    await client.send(
      new GetMetricStatisticsCommand({
        Namespace: "AWS/Kinesis",
        MetricName: "IncomingRecords",
        Dimensions: stream,
        StartTime: start,
        EndTime: end,
        Period: 60,
      }),
    );
    fail("GetMetricStatistics without statistics was accepted");
  } catch (e) {
    // Query-compatible: the code is awsQuery's, from x-amzn-query-error.
    eq([e.Code ?? e.name, e.message, e.$metadata?.httpStatusCode], [
      "InvalidParameterCombination",
      "Must specify either Statistics or ExtendedStatistics",
      400,
    ], "error");
  }
} catch (e) {
  fail(`${e.name}: ${e.message}`);
}
console.log("@aws-sdk/client-cloudwatch (awsJson1_0): CloudWatch checks passed");
