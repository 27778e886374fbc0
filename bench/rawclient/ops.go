package rawclient

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"
)

// PutRecord writes one record.
func (c *Client) PutRecord(ctx context.Context, in *kinesis.PutRecordInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	if in == nil {
		in = &kinesis.PutRecordInput{}
	}
	if in.Data == nil {
		return nil, required(opPutRecord, "PutRecordInput", "Data")
	}
	buf := requestBufs.get()
	*buf = appendPutRecord(*buf, in)
	r, err := c.send(ctx, opPutRecord, in.StreamARN, in.StreamId, buf)
	if err != nil {
		return nil, err
	}
	defer r.done()
	out := &kinesis.PutRecordOutput{}
	if err := decodePutRecord(*r.body, out); err != nil {
		return nil, c.decodeError(opPutRecord, r, err)
	}
	return out, nil
}

// PutRecords writes up to 500 records in one call.
func (c *Client) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if in == nil {
		in = &kinesis.PutRecordsInput{}
	}
	if err := validatePutRecords(in); err != nil {
		return nil, opError(opPutRecords, err)
	}
	buf := requestBufs.get()
	*buf = appendPutRecords(growTo(*buf, putRecordsSize(in)), in)
	r, err := c.send(ctx, opPutRecords, in.StreamARN, in.StreamId, buf)
	if err != nil {
		return nil, err
	}
	defer r.done()
	out := &kinesis.PutRecordsOutput{}
	if err := decodePutRecords(*r.body, out); err != nil {
		return nil, c.decodeError(opPutRecords, r, err)
	}
	return out, nil
}

// GetRecords reads records from a shard iterator.
func (c *Client) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	if in == nil {
		in = &kinesis.GetRecordsInput{}
	}
	if in.ShardIterator == nil {
		return nil, required(opGetRecords, "GetRecordsInput", "ShardIterator")
	}
	buf := requestBufs.get()
	*buf = appendGetRecords(*buf, in)
	r, err := c.send(ctx, opGetRecords, in.StreamARN, in.StreamId, buf)
	if err != nil {
		return nil, err
	}
	defer r.done()
	out := &kinesis.GetRecordsOutput{}
	if err := decodeGetRecords(*r.body, out); err != nil {
		return nil, c.decodeError(opGetRecords, r, err)
	}
	return out, nil
}

// GetShardIterator returns an iterator for a position in a shard.
func (c *Client) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	if in == nil {
		in = &kinesis.GetShardIteratorInput{}
	}
	var missing []string
	if in.ShardId == nil {
		missing = append(missing, "ShardId")
	}
	if in.ShardIteratorType == "" {
		missing = append(missing, "ShardIteratorType")
	}
	if missing != nil {
		return nil, required(opGetShardIterator, "GetShardIteratorInput", missing...)
	}
	buf := requestBufs.get()
	*buf = appendGetShardIterator(*buf, in)
	r, err := c.send(ctx, opGetShardIterator, in.StreamARN, in.StreamId, buf)
	if err != nil {
		return nil, err
	}
	defer r.done()
	out := &kinesis.GetShardIteratorOutput{}
	if err := decodeGetShardIterator(*r.body, out); err != nil {
		return nil, c.decodeError(opGetShardIterator, r, err)
	}
	return out, nil
}

// required is the SDK's error for missing required members, which it
// reports before sending anything.
func required(op *operation, context string, members ...string) error {
	e := smithy.InvalidParamsError{Context: context}
	for _, m := range members {
		e.Add(smithy.NewErrParamRequired(m))
	}
	return opError(op, e)
}

// validatePutRecords checks what the SDK checks: Records, and each
// entry's Data.
func validatePutRecords(in *kinesis.PutRecordsInput) error {
	e := smithy.InvalidParamsError{Context: "PutRecordsInput"}
	if in.Records == nil {
		e.Add(smithy.NewErrParamRequired("Records"))
		return e
	}
	var list smithy.InvalidParamsError
	for i := range in.Records {
		if in.Records[i].Data == nil {
			if list.Context == "" {
				list.Context = "PutRecordsRequestEntryList"
			}
			entry := smithy.InvalidParamsError{Context: "PutRecordsRequestEntry"}
			entry.Add(smithy.NewErrParamRequired("Data"))
			list.AddNested(fmt.Sprintf("[%d]", i), entry)
		}
	}
	if list.Len() > 0 {
		e.AddNested("Records", list)
		return e
	}
	return nil
}
