// One signed call through Rivulet with the AWS SDK for JavaScript v3 and
// its default NodeHttp2Handler (h2c), with the credentials given, for
// testing --auth=sigv4:
//
//   node js_auth.mjs --endpoint URL --key AKID --secret SECRET [--stream NAME | --call OP [--params JSON]]
//
// Creates the stream if --stream is given, then calls ListStreams once
// (no retries, so a clock-skew correction cannot hide an error) and
// prints {"ok": true, "streams": [...]} or {"error": TYPE, "message": MSG}.
// Exits 0 either way; 1 if the call could not be made at all.
//
// With --call OP --params JSON (e.g. --call PutRecord --params
// '{"StreamName": "s", "PartitionKey": "k", "Data": "x"}', Data as text)
// it makes that call instead of ListStreams and prints {"ok": true,
// "output": {...}} or the error as above. The endpoint may be https://;
// NODE_EXTRA_CA_CERTS names the CA to trust.

import { parseArgs } from "node:util";
import * as kinesis from "@aws-sdk/client-kinesis";
import { KinesisClient, CreateStreamCommand, ListStreamsCommand } from "@aws-sdk/client-kinesis";

const { values: args } = parseArgs({
  options: {
    endpoint: { type: "string" },
    key: { type: "string" },
    secret: { type: "string" },
    stream: { type: "string" },
    call: { type: "string" },
    params: { type: "string", default: "{}" },
  },
});
if (!args.endpoint || !args.key || !args.secret) {
  console.error("usage: node js_auth.mjs --endpoint URL --key AKID --secret SECRET [--stream NAME | --call OP [--params JSON]]");
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
  if (args.call) {
    const Command = kinesis[args.call + "Command"];
    if (!Command) {
      console.error(`FAIL: no command ${args.call}`);
      process.exit(1);
    }
    const params = JSON.parse(args.params);
    if (typeof params.Data === "string") {
      params.Data = new TextEncoder().encode(params.Data);
    }
    const { $metadata, ...out } = await client.send(new Command(params));
    console.log(JSON.stringify({ ok: true, output: out }));
  } else {
    if (args.stream) {
      await client.send(new CreateStreamCommand({ StreamName: args.stream, ShardCount: 1 }));
    }
    const out = await client.send(new ListStreamsCommand({}));
    console.log(JSON.stringify({ ok: true, streams: out.StreamNames }));
  }
} catch (e) {
  if (!e.$metadata) {
    console.error("FAIL: " + (e.stack || e));
    process.exit(1);
  }
  console.log(JSON.stringify({ error: e.name, message: e.message, status: e.$metadata.httpStatusCode }));
} finally {
  client.destroy();
}
