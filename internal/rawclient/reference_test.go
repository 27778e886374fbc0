package rawclient

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/schemas"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/aws/smithy-go/transport/http/protocol/awsjson"
)

// Two references for the response decoders: the SDK's own deserializer,
// and encoding/json decoding each object into a map of raw members (so
// names match exactly and the last of a repeated member wins, as in the
// scanner) and each member into the type the SDK uses.

// sdkDecode decodes a 200 response body with the SDK's protocol.
func sdkDecode(op *operation, body []byte, out smithy.Deserializable) error {
	p := awsjson.New11(schemas.Kinesis_20131202)
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}}
	return p.DeserializeResponse(context.Background(), op.schema, kinesis.TypeRegistry, resp, out)
}

type jsonObject map[string]json.RawMessage

func refString(raw json.RawMessage) (*string, error) {
	var p *string
	err := json.Unmarshal(raw, &p)
	return p, err
}

func refBlob(raw json.RawMessage) ([]byte, error) {
	p, err := refString(raw)
	if err != nil || p == nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(*p)
}

func refTime(raw json.RawMessage) (*int64, error) {
	var p *float64
	if err := json.Unmarshal(raw, &p); err != nil || p == nil {
		return nil, err
	}
	ms := epochMillis(*p)
	return &ms, nil
}

func refObjects(raw json.RawMessage) ([]jsonObject, error) {
	var list []jsonObject
	err := json.Unmarshal(raw, &list)
	return list, err
}

func refGetRecords(body []byte) (*kinesis.GetRecordsOutput, error) {
	var top jsonObject
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	out := &kinesis.GetRecordsOutput{}
	var err error
	if raw, ok := top["NextShardIterator"]; ok {
		if out.NextShardIterator, err = refString(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["MillisBehindLatest"]; ok {
		if err := json.Unmarshal(raw, &out.MillisBehindLatest); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["Records"]; ok {
		list, err := refObjects(raw)
		if err != nil {
			return nil, err
		}
		if list != nil {
			out.Records = []types.Record{}
		}
		for _, m := range list {
			var r types.Record
			if raw, ok := m["Data"]; ok {
				if r.Data, err = refBlob(raw); err != nil {
					return nil, err
				}
			}
			if raw, ok := m["SequenceNumber"]; ok {
				if r.SequenceNumber, err = refString(raw); err != nil {
					return nil, err
				}
			}
			if raw, ok := m["PartitionKey"]; ok {
				if r.PartitionKey, err = refString(raw); err != nil {
					return nil, err
				}
			}
			if raw, ok := m["EncryptionType"]; ok {
				p, err := refString(raw)
				if err != nil {
					return nil, err
				}
				if p != nil {
					r.EncryptionType = types.EncryptionType(*p)
				}
			}
			if raw, ok := m["ApproximateArrivalTimestamp"]; ok {
				ms, err := refTime(raw)
				if err != nil {
					return nil, err
				}
				if ms != nil {
					t := msTime(*ms)
					r.ApproximateArrivalTimestamp = &t
				}
			}
			out.Records = append(out.Records, r)
		}
	}
	if raw, ok := top["ChildShards"]; ok {
		list, err := refObjects(raw)
		if err != nil {
			return nil, err
		}
		if list != nil {
			out.ChildShards = []types.ChildShard{}
		}
		for _, m := range list {
			var c types.ChildShard
			if raw, ok := m["ShardId"]; ok {
				if c.ShardId, err = refString(raw); err != nil {
					return nil, err
				}
			}
			if raw, ok := m["ParentShards"]; ok {
				if err := json.Unmarshal(raw, &c.ParentShards); err != nil {
					return nil, err
				}
			}
			if raw, ok := m["HashKeyRange"]; ok {
				var h jsonObject
				if err := json.Unmarshal(raw, &h); err != nil {
					return nil, err
				}
				if h != nil {
					c.HashKeyRange = &types.HashKeyRange{}
					if raw, ok := h["StartingHashKey"]; ok {
						if c.HashKeyRange.StartingHashKey, err = refString(raw); err != nil {
							return nil, err
						}
					}
					if raw, ok := h["EndingHashKey"]; ok {
						if c.HashKeyRange.EndingHashKey, err = refString(raw); err != nil {
							return nil, err
						}
					}
				}
			}
			out.ChildShards = append(out.ChildShards, c)
		}
	}
	return out, nil
}

func refPutRecords(body []byte) (*kinesis.PutRecordsOutput, error) {
	var top jsonObject
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	out := &kinesis.PutRecordsOutput{}
	if raw, ok := top["FailedRecordCount"]; ok {
		if err := json.Unmarshal(raw, &out.FailedRecordCount); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["EncryptionType"]; ok {
		p, err := refString(raw)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out.EncryptionType = types.EncryptionType(*p)
		}
	}
	if raw, ok := top["Records"]; ok {
		list, err := refObjects(raw)
		if err != nil {
			return nil, err
		}
		if list != nil {
			out.Records = []types.PutRecordsResultEntry{}
		}
		for _, m := range list {
			var r types.PutRecordsResultEntry
			for name, dst := range map[string]**string{"SequenceNumber": &r.SequenceNumber, "ShardId": &r.ShardId, "ErrorCode": &r.ErrorCode, "ErrorMessage": &r.ErrorMessage} {
				if raw, ok := m[name]; ok {
					if *dst, err = refString(raw); err != nil {
						return nil, err
					}
				}
			}
			out.Records = append(out.Records, r)
		}
	}
	return out, nil
}

func refPutRecord(body []byte) (*kinesis.PutRecordOutput, error) {
	var top jsonObject
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	out := &kinesis.PutRecordOutput{}
	var err error
	if raw, ok := top["SequenceNumber"]; ok {
		if out.SequenceNumber, err = refString(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["ShardId"]; ok {
		if out.ShardId, err = refString(raw); err != nil {
			return nil, err
		}
	}
	if raw, ok := top["EncryptionType"]; ok {
		p, err := refString(raw)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out.EncryptionType = types.EncryptionType(*p)
		}
	}
	return out, nil
}

func refGetShardIterator(body []byte) (*kinesis.GetShardIteratorOutput, error) {
	var top jsonObject
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	out := &kinesis.GetShardIteratorOutput{}
	if raw, ok := top["ShardIterator"]; ok {
		var err error
		if out.ShardIterator, err = refString(raw); err != nil {
			return nil, err
		}
	}
	return out, nil
}
