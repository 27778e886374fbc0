#!/usr/bin/python3
"""A delivery stream's life through boto3's Firehose client.

    /usr/bin/python3 firehose_boto3.py --endpoint URL --bucket-dir DIR

Creates a DirectPut stream delivering to the bucket "boto3-bucket" (a
directory under DIR on Rivulet), puts with put_record and
put_record_batch, reads the objects back, and checks errors, tags,
listing, update and delete. Exits 0 when every check passes.
"""

import argparse
import base64
import gzip
import os
import sys
import time

import boto3
import botocore.config
import botocore.exceptions

ROLE = "arn:aws:iam::000000000000:role/firehose"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def expect_error(code, message, fn, **kwargs):
    try:
        fn(**kwargs)
    except botocore.exceptions.ClientError as e:
        eq(e.response["Error"]["Code"], code, "error code")
        if message is not None:
            eq(e.response["Error"]["Message"], message, "error message")
        return
    fail("expected %s" % code)


def objects(root):
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            if not f.startswith("."):
                p = os.path.join(d, f)
                with open(p, "rb") as fh:
                    out[os.path.relpath(p, root)] = fh.read()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--bucket-dir", required=True)
    a = ap.parse_args()
    fh = boto3.client("firehose", endpoint_url=a.endpoint)
    # Debian's botocore checks an older model, where IntervalInSeconds
    # starts at 60; the current one (and Rivulet) allows 0.
    unchecked = boto3.client("firehose", endpoint_url=a.endpoint,
                             config=botocore.config.Config(parameter_validation=False))

    arn = unchecked.create_delivery_stream(
        DeliveryStreamName="boto3-stream",
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": ROLE,
            "BucketARN": "arn:aws:s3:::boto3-bucket",
            "Prefix": "py/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
            "CompressionFormat": "GZIP",
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]},
        },
        Tags=[{"Key": "owner", "Value": "boto3"}],
    )["DeliveryStreamARN"]
    eq(arn.endswith(":deliverystream/boto3-stream"), True, "ARN " + arn)
    for _ in range(100):
        d = fh.describe_delivery_stream(DeliveryStreamName="boto3-stream")["DeliveryStreamDescription"]
        if d["DeliveryStreamStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    else:
        fail("never ACTIVE")
    eq(d["VersionId"], "1", "VersionId")
    dest = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    eq(dest["CompressionFormat"], "GZIP", "CompressionFormat")
    eq(dest["BufferingHints"], {"SizeInMBs": 1, "IntervalInSeconds": 0}, "BufferingHints")
    print("created and described")

    r = fh.put_record(DeliveryStreamName="boto3-stream", Record={"Data": b"py-single"})
    eq(bool(r["RecordId"]), True, "RecordId")
    eq(r["Encrypted"], False, "Encrypted")
    recs = [{"Data": ("py-batch-%03d" % i).encode()} for i in range(120)]
    r = fh.put_record_batch(DeliveryStreamName="boto3-stream", Records=recs)
    eq(r["FailedPutCount"], 0, "FailedPutCount")
    eq(len(r["RequestResponses"]), 120, "RequestResponses")
    eq(len({x["RecordId"] for x in r["RequestResponses"]}), 120, "unique RecordIds")
    print("put 121 records")

    expect_error("ResourceNotFoundException", "Firehose nope under account 000000000000 not found.",
                 fh.put_record, DeliveryStreamName="nope", Record={"Data": b"x"})
    expect_error("ResourceInUseException", None, fh.create_delivery_stream,
                 DeliveryStreamName="boto3-stream",
                 ExtendedS3DestinationConfiguration={"RoleARN": ROLE, "BucketARN": "arn:aws:s3:::b"})
    expect_error("ValidationException", None, fh.put_record_batch,
                 DeliveryStreamName="boto3-stream", Records=[{"Data": b"x" * 1024001}])

    eq(fh.list_delivery_streams()["DeliveryStreamNames"], ["boto3-stream"], "list")
    eq(fh.list_tags_for_delivery_stream(DeliveryStreamName="boto3-stream")["Tags"],
       [{"Key": "owner", "Value": "boto3"}], "tags")
    fh.tag_delivery_stream(DeliveryStreamName="boto3-stream", Tags=[{"Key": "env", "Value": "ci"}])
    fh.untag_delivery_stream(DeliveryStreamName="boto3-stream", TagKeys=["owner"])
    eq(fh.list_tags_for_delivery_stream(DeliveryStreamName="boto3-stream")["Tags"],
       [{"Key": "env", "Value": "ci"}], "tags after tag/untag")

    want = {"py-single"} | {"py-batch-%03d" % i for i in range(120)}
    root = os.path.join(a.bucket_dir, "boto3-bucket")
    deadline = time.time() + 60
    while True:
        got = []
        for key, body in objects(root).items():
            if not key.startswith("py/") or not key.endswith(".gz"):
                fail("object key %r" % key)
            got += gzip.decompress(body).decode().splitlines()
        if want <= set(got):
            break
        if time.time() > deadline:
            fail("missing records: %r" % sorted(want - set(got))[:5])
        time.sleep(0.2)
    extra = set(got) - want
    if extra:
        fail("records never sent: %r" % sorted(extra)[:5])
    print("delivered %d records (%d duplicates)" % (len(want), len(got) - len(want)))

    fh.update_destination(DeliveryStreamName="boto3-stream", CurrentDeliveryStreamVersionId="1",
                          DestinationId="destinationId-000000000001",
                          ExtendedS3DestinationUpdate={"Prefix": "py2/"})
    d = fh.describe_delivery_stream(DeliveryStreamName="boto3-stream")["DeliveryStreamDescription"]
    eq(d["VersionId"], "2", "VersionId after update")
    eq(d["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"], "py2/", "Prefix after update")
    fh.delete_delivery_stream(DeliveryStreamName="boto3-stream")
    expect_error("ResourceNotFoundException", None, fh.describe_delivery_stream, DeliveryStreamName="boto3-stream")
    print("ok")


if __name__ == "__main__":
    main()
