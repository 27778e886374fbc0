#!/usr/bin/python3
"""A KCL lease table's life through boto3's low-level DynamoDB client.

    /usr/bin/python3 dynamodb_boto3.py --endpoint URL --table NAME \
        --backend rivulet|dynalite

Makes the calls the Java KCL makes (legacy Expected + AttributeUpdates),
the same in expressions, and the errors a client must be able to tell
apart. --backend rivulet adds the few checks where dynalite 4.0.0 departs
from AWS (each marked below). Prints one line per step; exits 0 when every
check passes, 1 on the first mismatch.
"""

import argparse
import datetime
import json
import sys
import time

import boto3
import botocore.config
import botocore.exceptions

CCF = "ConditionalCheckFailedException"
CCF_MSG = "The conditional request failed"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def eq(got, want, what):
    if got != want:
        fail("%s: got %r, want %r" % (what, got, want))


def expect_error(code, message, fn, **kwargs):
    """Calls fn(**kwargs), which must fail with code (and message, unless
    None). Returns the error's response."""
    try:
        fn(**kwargs)
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        if err.get("Code") != code or (message is not None and err.get("Message") != message):
            fail("%s: got %s %r, want %s %r" % (fn.__name__, err.get("Code"), err.get("Message"), code, message))
        return e.response
    fail("%s(%r) succeeded, want %s" % (fn.__name__, kwargs, code))


def lease(key, owner, counter, **extra):
    item = {"leaseKey": {"S": key}, "leaseCounter": {"N": str(counter)},
            "checkpoint": {"S": "TRIM_HORIZON"}, "ownerSwitchesSinceCheckpoint": {"N": "0"}}
    if owner is not None:
        item["leaseOwner"] = {"S": owner}
    item.update(extra)
    return item


class OnConditionCheckFailure:
    """ReturnValuesOnConditionCheckFailure for a botocore whose model
    predates it (Debian's 1.29 does): the parameter is added to the
    serialized body before signing, and the error body's Item copied into
    the parsed response, where a current botocore puts it itself."""

    def __init__(self, client):
        self.native = "ReturnValuesOnConditionCheckFailure" in \
            client.meta.service_model.operation_model("UpdateItem").input_shape.members
        self.pending = None
        if not self.native:
            client.meta.events.register("before-call.dynamodb.UpdateItem", self._add)
            client.meta.events.register("after-call.dynamodb.UpdateItem", self._item)

    def _add(self, params, **_):
        if self.pending:
            body = json.loads(params["body"])
            body["ReturnValuesOnConditionCheckFailure"] = self.pending
            params["body"] = json.dumps(body).encode()
            self.pending = None

    def _item(self, http_response, parsed, **_):
        if http_response.status_code >= 300 and "Item" not in parsed:
            try:
                body = json.loads(http_response.content)
            except ValueError:
                return
            if "Item" in body:
                parsed["Item"] = body["Item"]

    def update_item(self, client, value, **kwargs):
        if self.native:
            kwargs["ReturnValuesOnConditionCheckFailure"] = value
        else:
            self.pending = value
        return client.update_item(**kwargs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--backend", required=True, choices=["rivulet", "dynalite"])
    args = ap.parse_args()
    rivulet = args.backend == "rivulet"
    table = args.table

    # No retries: every answer is the server's first.
    ddb = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name="us-east-1",
                       config=botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"}))

    # The KCL's CreateTable.
    out = ddb.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "app", "Value": "e2e"}],
    )["TableDescription"]
    eq(out["TableName"], table, "CreateTable TableName")
    if out["TableStatus"] not in ("CREATING", "ACTIVE"):
        fail("CreateTable TableStatus %r" % out["TableStatus"])
    print("create_table: %s" % out["TableStatus"])

    # The KCL's readiness check, polled faster.
    deadline = time.monotonic() + 60
    while True:
        desc = ddb.describe_table(TableName=table)["Table"]
        if desc["TableStatus"] == "ACTIVE":
            break
        if time.monotonic() > deadline:
            fail("table not ACTIVE: %r" % desc["TableStatus"])
        time.sleep(0.05)
    eq(desc["KeySchema"], [{"AttributeName": "leaseKey", "KeyType": "HASH"}], "KeySchema")
    eq(desc["AttributeDefinitions"], [{"AttributeName": "leaseKey", "AttributeType": "S"}], "AttributeDefinitions")
    eq(desc["TableArn"], "arn:aws:dynamodb:us-east-1:000000000000:table/" + table, "TableArn")
    eq(desc["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST", "BillingMode")
    eq(desc["ItemCount"], 0, "ItemCount")
    eq(desc["TableSizeBytes"], 0, "TableSizeBytes")
    age = datetime.datetime.now(datetime.timezone.utc) - desc["CreationDateTime"]
    if not datetime.timedelta(minutes=-1) < age < datetime.timedelta(minutes=10):
        fail("CreationDateTime %s is not about now" % desc["CreationDateTime"])
    arn = desc["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "kcl"}])
    tags = sorted(ddb.list_tags_of_resource(ResourceArn=arn)["Tags"], key=lambda t: t["Key"])
    want = [{"Key": "team", "Value": "kcl"}]
    # dynalite drops CreateTable's Tags.
    if rivulet:
        want.insert(0, {"Key": "app", "Value": "e2e"})
    eq(tags, want, "ListTagsOfResource")
    print("describe_table: ACTIVE %s" % arn)

    key = {"leaseKey": {"S": "shardId-000000000000"}}

    # create: Exists=false on leaseKey; a second create is a CCF.
    ddb.put_item(TableName=table, Item=lease("shardId-000000000000", "worker-1", 1),
                 Expected={"leaseKey": {"Exists": False}})
    expect_error(CCF, CCF_MSG, ddb.put_item, TableName=table, Item=lease("shardId-000000000000", "worker-9", 1),
                 Expected={"leaseKey": {"Exists": False}})
    print("create lease: ok, then %s" % CCF)

    # renew: leaseCounter=N -> PUT N+1; the same call again is stale.
    def renew(n):
        return ddb.update_item(TableName=table, Key=key,
                               Expected={"leaseCounter": {"Value": {"N": str(n)}}},
                               AttributeUpdates={"leaseCounter": {"Action": "PUT", "Value": {"N": str(n + 1)}}})
    out = renew(1)
    if "Attributes" in out:
        fail("renew without ReturnValues returned Attributes %r" % out["Attributes"])
    expect_error(CCF, CCF_MSG, renew, n=1)
    item = ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    eq(item, lease("shardId-000000000000", "worker-1", 2), "after renew")
    print("renew: ok, stale renew %s" % CCF)

    # take: leaseCounter=N -> PUT owner, PUT N+1, ADD ownerSwitchesSinceCheckpoint 1.
    out = ddb.update_item(TableName=table, Key=key, Expected={"leaseCounter": {"Value": {"N": "2"}}},
                          AttributeUpdates={
                              "leaseOwner": {"Action": "PUT", "Value": {"S": "worker-2"}},
                              "leaseCounter": {"Action": "PUT", "Value": {"N": "3"}},
                              "ownerSwitchesSinceCheckpoint": {"Action": "ADD", "Value": {"N": "1"}},
                          }, ReturnValues="ALL_NEW")
    eq(out["Attributes"], lease("shardId-000000000000", "worker-2", 3, ownerSwitchesSinceCheckpoint={"N": "1"}), "take ALL_NEW")

    # checkpoint: leaseCounter=N -> PUT N+1 and the checkpoint; DELETE the
    # pending checkpoint, which is absent.
    seq = "49590338271490256608559692538361571095921575989136588898"
    out = ddb.update_item(TableName=table, Key=key, Expected={"leaseCounter": {"Value": {"N": "3"}}},
                          AttributeUpdates={
                              "leaseCounter": {"Action": "PUT", "Value": {"N": "4"}},
                              "checkpoint": {"Action": "PUT", "Value": {"S": seq}},
                              "checkpointSubSequenceNumber": {"Action": "PUT", "Value": {"N": "0"}},
                              "ownerSwitchesSinceCheckpoint": {"Action": "PUT", "Value": {"N": "0"}},
                              "pendingCheckpoint": {"Action": "DELETE"},
                          }, ReturnValues="ALL_NEW")
    eq(out["Attributes"], lease("shardId-000000000000", "worker-2", 4, checkpoint={"S": seq},
                                checkpointSubSequenceNumber={"N": "0"}), "checkpoint ALL_NEW")

    # evict (2.x): owner = self -> DELETE owner, PUT N+1.
    ddb.update_item(TableName=table, Key=key, Expected={"leaseOwner": {"Value": {"S": "worker-2"}}},
                    AttributeUpdates={"leaseOwner": {"Action": "DELETE"},
                                      "leaseCounter": {"Action": "PUT", "Value": {"N": "5"}}})
    want = lease("shardId-000000000000", None, 5, checkpoint={"S": seq}, checkpointSubSequenceNumber={"N": "0"})
    eq(ddb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"], want, "after evict")
    print("take, checkpoint, evict: ok")

    # renew with ALL_OLD on CCF (KCL 3.x): the error carries the item.
    occf = OnConditionCheckFailure(ddb)
    resp = expect_error(CCF, CCF_MSG, occf.update_item, client=ddb, value="ALL_OLD", TableName=table, Key=key,
                        Expected={"leaseCounter": {"Value": {"N": "4"}}},
                        AttributeUpdates={"leaseCounter": {"Action": "PUT", "Value": {"N": "5"}}})
    # dynalite 4.0.0 predates the parameter and ignores it.
    if rivulet:
        eq(resp.get("Item"), want, "CCF Item with ALL_OLD")
        print("ALL_OLD on CCF: item returned (native parameter: %s)" % occf.native)

    # The same lease calls in expressions.
    out = ddb.update_item(TableName=table, Key=key,
                          UpdateExpression="SET leaseOwner = :o ADD leaseCounter :one",
                          ConditionExpression="attribute_not_exists(leaseOwner) AND leaseCounter = :n",
                          ExpressionAttributeValues={":o": {"S": "worker-3"}, ":one": {"N": "1"}, ":n": {"N": "5"}},
                          ReturnValues="ALL_NEW")
    want = lease("shardId-000000000000", "worker-3", 6, checkpoint={"S": seq}, checkpointSubSequenceNumber={"N": "0"})
    eq(out["Attributes"], want, "expression update ALL_NEW")
    expect_error(CCF, CCF_MSG, ddb.update_item, TableName=table, Key=key,
                 UpdateExpression="SET #o = :o", ConditionExpression="attribute_not_exists(#o)",
                 ExpressionAttributeNames={"#o": "leaseOwner"}, ExpressionAttributeValues={":o": {"S": "worker-4"}})
    print("expression update: ok, then %s" % CCF)

    # Validation errors, as AWS words them.
    expect_error("ValidationException",
                 "Can not use both expression and non-expression parameters in the same request: "
                 "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}",
                 ddb.put_item, TableName=table, Item=lease("x-mixed", None, 1),
                 Expected={"leaseKey": {"Exists": False}}, ConditionExpression="attribute_not_exists(leaseKey)")
    expect_error("ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}",
                 ddb.put_item, TableName=table, Item=lease("x-unused", None, 1),
                 ConditionExpression="attribute_not_exists(leaseKey)", ExpressionAttributeValues={":x": {"S": "y"}})
    expect_error("ValidationException", "Invalid ConditionExpression: An expression attribute value used in expression "
                 "is not defined; attribute value: :x",
                 ddb.put_item, TableName=table, Item=lease("x-undefined", None, 1), ConditionExpression="leaseOwner = :x")
    expect_error("ValidationException", "The provided key element does not match the schema",
                 ddb.get_item, TableName=table, Key={"shardId": {"S": "shardId-000000000000"}})
    print("validation errors: ok")

    # More leases in one BatchWriteItem, then reads of all kinds.
    keys = ["shardId-%012d" % i for i in range(7)]
    out = ddb.batch_write_item(RequestItems={table: [
        {"PutRequest": {"Item": lease(k, "worker-%d" % (i % 2), 1)}} for i, k in enumerate(keys) if i > 0]})
    eq(out["UnprocessedItems"], {}, "BatchWriteItem UnprocessedItems")
    got = ddb.batch_get_item(RequestItems={table: {"Keys": [{"leaseKey": {"S": k}} for k in keys[1:3]],
                                                   "ConsistentRead": True}})
    eq(sorted(i["leaseKey"]["S"] for i in got["Responses"][table]), keys[1:3], "BatchGetItem")
    eq(got["UnprocessedKeys"], {}, "BatchGetItem UnprocessedKeys")

    # Scan paginated on LastEvaluatedKey, as the KCL lists leases.
    seen, start, pages = [], None, 0
    while True:
        kw = {"TableName": table, "Limit": 2}
        if start:
            kw["ExclusiveStartKey"] = start
        page = ddb.scan(**kw)
        pages += 1
        if len(page["Items"]) > 2 or page["Count"] != len(page["Items"]):
            fail("scan page: %d items, Count %d" % (len(page["Items"]), page["Count"]))
        seen += [i["leaseKey"]["S"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
        if pages > 20:
            fail("scan did not end")
    eq(sorted(seen), keys, "scan: every lease exactly once")
    # The KCL 2.x empty-table check.
    page = ddb.scan(TableName=table, Limit=1)
    eq((len(page["Items"]), "LastEvaluatedKey" in page), (1, True), "scan Limit=1")
    # Limit counts items before the filter.
    page = ddb.scan(TableName=table, Limit=7, FilterExpression="leaseOwner = :o",
                    ExpressionAttributeValues={":o": {"S": "worker-1"}})
    eq((page["ScannedCount"], sorted(i["leaseKey"]["S"] for i in page["Items"])),
       (7, [keys[1], keys[3], keys[5]]), "scan with a filter")
    out = ddb.query(TableName=table, KeyConditionExpression="leaseKey = :k",
                    ExpressionAttributeValues={":k": {"S": keys[4]}}, ConsistentRead=True)
    eq((out["Count"], out["Items"]), (1, [lease(keys[4], "worker-0", 1)]), "query")
    print("batch write/get, scan in %d pages, query: ok" % pages)

    out = ddb.delete_item(TableName=table, Key={"leaseKey": {"S": keys[6]}}, ReturnValues="ALL_OLD")
    eq(out["Attributes"], lease(keys[6], "worker-0", 1), "DeleteItem ALL_OLD")
    if "Item" in ddb.get_item(TableName=table, Key={"leaseKey": {"S": keys[6]}}, ConsistentRead=True):
        fail("GetItem found a deleted item")
    print("delete_item: ok")

    # Errors a client tells apart by type.
    # dynalite answers ResourceInUse with an empty message.
    expect_error("ResourceInUseException", "Table already exists: " + table if rivulet else None, ddb.create_table,
                 TableName=table, AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    expect_error("ResourceNotFoundException", "Requested resource not found: Table: Missing not found",
                 ddb.describe_table, TableName="Missing")
    expect_error("ResourceNotFoundException", "Requested resource not found",
                 ddb.get_item, TableName="Missing", Key=key)
    print("ResourceInUse, ResourceNotFound: ok")

    out = ddb.delete_table(TableName=table)["TableDescription"]
    eq((out["TableName"], out["TableStatus"]), (table, "DELETING"), "DeleteTable")
    deadline = time.monotonic() + 60
    while table in ddb.list_tables()["TableNames"]:
        if time.monotonic() > deadline:
            fail("table still listed after DeleteTable")
        time.sleep(0.05)
    print("delete_table: ok")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 - any other failure is the test's
        print("FAIL: %r" % (e,), file=sys.stderr)
        sys.exit(1)
