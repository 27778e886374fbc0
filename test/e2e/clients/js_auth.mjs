// One signed call through Rivulet with the AWS SDK for JavaScript v3 and
// its default NodeHttp2Handler (h2c), with the credentials given, for
// testing --auth=sigv4:
//
//   node js_auth.mjs --endpoint URL --key AKID --secret SECRET [--stream NAME]
//
// Creates the stream if --stream is given, then calls ListStreams once
// (no retries, so a clock-skew correction cannot hide an error) and
// prints {"ok": true, "streams": [...]} or {"error": TYPE, "message": MSG}.
// Exits 0 either way; 1 if the call could not be made at all.

import { parseArgs } from "node:util";
import { KinesisClient, CreateStreamCommand, ListStreamsCommand } from "@aws-sdk/client-kinesis";

const { values: args } = parseArgs({
  options: {
    endpoint: { type: "string" },
    key: { type: "string" },
    secret: { type: "string" },
    stream: { type: "string" },
  },
});
if (!args.endpoint || !args.key || !args.secret) {
  console.error("usage: node js_auth.mjs --endpoint URL --key AKID --secret SECRET [--stream NAME]");
  process.exit(2);
}
setTimeout(() => {
  console.error("FAIL: timed out after 60s");
  process.exit(1);
}, 60_000).unref();

const client = new KinesisClient({
  endpoint: args.endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: args.key, secretAccessKey: args.secret },
  maxAttempts: 1,
});
const handlerName = client.config.requestHandler?.constructor?.name;
if (handlerName !== "NodeHttp2Handler") {
  console.error(`FAIL: default request handler is ${handlerName}, expected NodeHttp2Handler`);
  process.exit(1);
}

try {
  if (args.stream) {
    await client.send(new CreateStreamCommand({ StreamName: args.stream, ShardCount: 1 }));
  }
  const out = await client.send(new ListStreamsCommand({}));
  console.log(JSON.stringify({ ok: true, streams: out.StreamNames }));
} catch (e) {
  if (!e.$metadata) {
    console.error("FAIL: " + (e.stack || e));
    process.exit(1);
  }
  console.log(JSON.stringify({ error: e.name, message: e.message, status: e.$metadata.httpStatusCode }));
} finally {
  client.destroy();
}
