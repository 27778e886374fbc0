#!/usr/bin/python3
"""One signed call through Rivulet with boto3, for testing --auth=sigv4.

    /usr/bin/python3 boto3_auth.py --endpoint URL --key AKID --secret SECRET \
        [--skew-seconds N] [--stream NAME | --call OP [--params JSON]]

--skew-seconds moves the clock botocore signs with (negative: behind).
Creates the stream if --stream is given, then calls ListStreams once (no
retries) and prints {"ok": true, "streams": [...]} or {"error": TYPE,
"message": MSG}. Exits 0 either way; 1 if the call could not be made.

With --call OP --params JSON (e.g. --call PutRecord --params
'{"StreamName": "s", "PartitionKey": "k", "Data": "x"}') it makes that
call instead of ListStreams and prints {"ok": true, "output": {...}} or
the error as above. The endpoint may be https://; AWS_CA_BUNDLE names
the CA to trust.
"""

import argparse
import datetime
import importlib
import json
import re
import sys
import types

import boto3
import botocore.auth
import botocore.config
import botocore.exceptions


def skew_clock(seconds):
    """Makes botocore's signers see a clock `seconds` off, whichever of
    datetime.utcnow() or datetime.now(tz) this botocore signs with."""
    delta = datetime.timedelta(seconds=seconds)

    class Skewed(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return datetime.datetime.utcnow() + delta

        @classmethod
        def now(cls, tz=None):
            return datetime.datetime.now(tz) + delta

    shim = types.ModuleType("datetime")
    shim.__dict__.update(datetime.__dict__)
    shim.datetime = Skewed
    botocore.auth.datetime = shim
    # With awscrt installed (the AWS CLI v2 brings it) botocore signs
    # with its CRT signers, which read the clock in their own module.
    try:
        crt_auth = importlib.import_module("botocore.crt.auth")
    except ImportError:
        return
    if hasattr(crt_auth, "datetime"):
        crt_auth.datetime = shim


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--secret", required=True)
    ap.add_argument("--skew-seconds", type=int, default=0)
    ap.add_argument("--stream")
    ap.add_argument("--call")
    ap.add_argument("--params", default="{}")
    args = ap.parse_args()
    if args.skew_seconds:
        skew_clock(args.skew_seconds)

    client = boto3.client(
        "kinesis",
        endpoint_url=args.endpoint,
        region_name="us-east-1",
        aws_access_key_id=args.key,
        aws_secret_access_key=args.secret,
        config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    try:
        if args.call:
            method = re.sub(r"(?<!^)(?=[A-Z])", "_", args.call).lower()
            out = getattr(client, method)(**json.loads(args.params))
            out.pop("ResponseMetadata", None)
            print(json.dumps({"ok": True, "output": out}, default=str))
            return
        if args.stream:
            client.create_stream(StreamName=args.stream, ShardCount=1)
        out = client.list_streams()
        print(json.dumps({"ok": True, "streams": out["StreamNames"]}))
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        print(json.dumps({"error": err.get("Code"), "message": err.get("Message"),
                          "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any other failure is the test's
        print("FAIL: %r" % (e,), file=sys.stderr)
        sys.exit(1)
