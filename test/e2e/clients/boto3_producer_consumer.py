#!/usr/bin/python3
"""Producer/consumer round trip through Rivulet with boto3.

Run with Debian's /usr/bin/python3 (package python3-boto3):

    /usr/bin/python3 boto3_producer_consumer.py --endpoint http://127.0.0.1:4567

Exits 0 when every check passes, 1 on the first mismatch.
"""

import argparse
import json
import sys
import time

import boto3


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def wait_active(client, name, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.1)
    fail("stream %s not ACTIVE after %ss" % (name, timeout))


def read(client, iterator, want, timeout=30.0):
    """Reads until `want` records arrived, then once more to see nothing extra."""
    records = []
    deadline = time.monotonic() + timeout
    while len(records) < want:
        if time.monotonic() > deadline:
            fail("read %d of %d records before the timeout" % (len(records), want))
        out = client.get_records(ShardIterator=iterator, Limit=1000)
        records.extend(out["Records"])
        iterator = out.get("NextShardIterator")
        if not iterator:
            fail("no NextShardIterator on an open shard")
        if not out["Records"]:
            time.sleep(0.2)
    time.sleep(0.2)
    extra = client.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return records + extra


def check(records, puts, what):
    if len(records) != len(puts):
        fail("%s: read %d records, want %d" % (what, len(records), len(puts)))
    for i, (rec, (seq, doc, key)) in enumerate(zip(records, puts)):
        if rec["SequenceNumber"] != seq:
            fail("%s[%d]: sequence number %s, put returned %s" % (what, i, rec["SequenceNumber"], seq))
        if rec["PartitionKey"] != key:
            fail("%s[%d]: partition key %r, want %r" % (what, i, rec["PartitionKey"], key))
        if not isinstance(rec["Data"], bytes):
            fail("%s[%d]: Data is %s, not bytes" % (what, i, type(rec["Data"]).__name__))
        got = json.loads(rec["Data"].decode("utf-8"))
        if got != doc:
            fail("%s[%d]: data %r, want %r" % (what, i, got, doc))
        if "ApproximateArrivalTimestamp" not in rec:
            fail("%s[%d]: no ApproximateArrivalTimestamp" % (what, i))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--stream", default="Boto3Stream")
    args = ap.parse_args()

    client = boto3.client(
        "kinesis",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="x",
    )
    name = args.stream
    client.create_stream(StreamName=name, ShardCount=1)
    wait_active(client, name)
    shard = client.list_shards(StreamName=name)["Shards"][0]["ShardId"]

    def put(i):
        doc = {"id": i, "name": "event-%d" % i, "tags": ["a", "é", "\u2603"], "ok": i % 2 == 0}
        key = "user-%d" % (i % 3)
        out = client.put_record(StreamName=name, PartitionKey=key, Data=json.dumps(doc).encode("utf-8"))
        if out["ShardId"] != shard:
            fail("put %d went to %s, the stream's only shard is %s" % (i, out["ShardId"], shard))
        return out["SequenceNumber"], doc, key

    first = [put(i) for i in range(20)]
    seqs = [int(p[0]) for p in first]
    if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
        fail("sequence numbers not strictly increasing: %s" % seqs)

    it = client.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    check(read(client, it, 20), first, "TRIM_HORIZON")

    latest = client.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    more = [put(i) for i in range(20, 25)]
    check(read(client, latest, 5), more, "LATEST")

    try:
        client.describe_stream_summary(StreamName="Nope")
        fail("describe_stream_summary of a missing stream succeeded")
    except client.exceptions.ResourceNotFoundException as e:
        msg = e.response["Error"]["Message"]
        if msg != "Stream Nope under account 000000000000 not found.":
            fail("missing stream message %r" % msg)

    print("boto3 %s: 20 records from TRIM_HORIZON and 5 from LATEST read back in order" % boto3.__version__)


if __name__ == "__main__":
    main()
