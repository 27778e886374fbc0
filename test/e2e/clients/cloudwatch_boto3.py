#!/usr/bin/python3
"""A known Kinesis workload's metrics through boto3's CloudWatch client.

    /usr/bin/python3 cloudwatch_boto3.py --endpoint URL --stream S \
        --start EPOCH --end EPOCH --records N --bytes B

The stream got N records (B bytes with their partition keys) in two
PutRecords calls, half on each of its two shards, with shard-level
IncomingRecords enabled; TestCloudWatch waits until the metrics are
flushed before running this. Debian's botocore speaks awsQuery to
CloudWatch. Exits 0 when every check passes.
"""

import argparse
import datetime
import sys

import boto3
import botocore
import botocore.config
import botocore.exceptions


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def main():
    p = argparse.ArgumentParser()
    for a in ("--endpoint", "--stream"):
        p.add_argument(a, required=True)
    for a in ("--start", "--end", "--records", "--bytes"):
        p.add_argument(a, required=True, type=int)
    args = p.parse_args()
    utc = datetime.timezone.utc
    start = datetime.datetime.fromtimestamp(args.start, utc)
    end = datetime.datetime.fromtimestamp(args.end, utc)
    cw = boto3.client(
        "cloudwatch",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        config=botocore.config.Config(retries={"max_attempts": 1}),
    )
    stream = [{"Name": "StreamName", "Value": args.stream}]

    def stats(metric, dims, period=60, statistics=("Sum", "SampleCount", "Average", "Maximum")):
        out = cw.get_metric_statistics(
            Namespace="AWS/Kinesis",
            MetricName=metric,
            Dimensions=dims,
            StartTime=start,
            EndTime=end,
            Period=period,
            Statistics=list(statistics),
        )
        eq(out["Label"], metric, "Label")
        return out["Datapoints"]

    dps = stats("IncomingRecords", stream)
    eq(sum(d["Sum"] for d in dps), args.records, "IncomingRecords Sum")
    eq(sum(d["SampleCount"] for d in dps), 2, "IncomingRecords SampleCount (PutRecords calls)")
    for d in dps:
        eq(d["Unit"], "Count", "IncomingRecords Unit")
        eq(d["Maximum"], args.records / 2, "IncomingRecords Maximum")
        eq(d["Timestamp"].second, 0, "Timestamp on a minute")
    dps = stats("IncomingBytes", stream, period=3600, statistics=("Sum",))
    eq(len(dps), 1, "one hour-long datapoint")
    eq(dps[0]["Sum"], args.bytes, "IncomingBytes Sum")
    eq(dps[0]["Unit"], "Bytes", "IncomingBytes Unit")
    shard1 = stream + [{"Name": "ShardId", "Value": "shardId-000000000001"}]
    eq(sum(d["Sum"] for d in stats("IncomingRecords", shard1)), args.records / 2, "shard 1 IncomingRecords")

    # The shards' sum as metric math.
    queries = [
        {
            "Id": "shard%d" % i,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Kinesis",
                    "MetricName": "IncomingRecords",
                    "Dimensions": stream + [{"Name": "ShardId", "Value": "shardId-%012d" % i}],
                },
                "Period": 60,
                "Stat": "Sum",
            },
        }
        for i in range(2)
    ]
    queries.append({"Id": "total", "Expression": "SUM(METRICS())", "Label": "All shards"})
    out = cw.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    eq(len(out["MetricDataResults"]), 1, "results")
    r = out["MetricDataResults"][0]
    eq((r["Id"], r["Label"], r["StatusCode"]), ("total", "All shards", "Complete"), "result")
    eq(sum(r["Values"]), args.records, "SUM(METRICS())")
    eq(r["Timestamps"], sorted(r["Timestamps"], reverse=True), "timestamps newest first")

    listed = []
    for page in cw.get_paginator("list_metrics").paginate(Namespace="AWS/Kinesis", Dimensions=[{"Name": "StreamName", "Value": args.stream}]):
        for m in page["Metrics"]:
            listed.append((m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))))
    for want in [
        ("IncomingRecords", (("StreamName", args.stream),)),
        ("IncomingBytes", (("ShardId", "shardId-000000000000"), ("StreamName", args.stream))),
        ("PutRecords.Latency", (("StreamName", args.stream),)),
    ]:
        if want not in listed:
            fail("list_metrics: %r missing from %r" % (want, listed))

    try:
        cw.get_metric_statistics(
            Namespace="AWS/Kinesis",
            MetricName="IncomingRecords",
            Dimensions=stream,
            StartTime=start,
            EndTime=start,
            Period=60,
            Statistics=["Sum"],
        )
        fail("StartTime = EndTime was accepted")
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        eq((err["Code"], err["Message"]), ("InvalidParameterValue", "The parameter StartTime must not equal parameter EndTime."), "error")
        eq(e.response["ResponseMetadata"]["HTTPStatusCode"], 400, "error status")
    print("boto3 %s (botocore %s, protocol %s): CloudWatch checks passed" % (boto3.__version__, botocore.__version__, cw.meta.service_model.protocol))


if __name__ == "__main__":
    main()
