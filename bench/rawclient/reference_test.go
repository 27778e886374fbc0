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

// str reads the string member key, if present, into dst.
func (m jsonObject) str(key string, dst **string) error {
	raw, ok := m[key]
	if !ok {
		return nil
	}
	p, err := refString(raw)
	*dst = p
	return err
}

// encryption reads the EncryptionType member, if present, into dst.
func (m jsonObject) encryption(dst *types.EncryptionType) error {
	var p *string
	if err := m.str("EncryptionType", &p); err != nil || p == nil {
		return err
	}
	*dst = types.EncryptionType(*p)
	return nil
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
	if err := top.str("NextShardIterator", &out.NextShardIterator); err != nil {
		return nil, err
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
			if err := m.str("SequenceNumber", &r.SequenceNumber); err != nil {
				return nil, err
			}
			if err := m.str("PartitionKey", &r.PartitionKey); err != nil {
				return nil, err
			}
			if err := m.encryption(&r.EncryptionType); err != nil {
				return nil, err
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
			if err := m.str("ShardId", &c.ShardId); err != nil {
				return nil, err
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
					if err := h.str("StartingHashKey", &c.HashKeyRange.StartingHashKey); err != nil {
						return nil, err
					}
					if err := h.str("EndingHashKey", &c.HashKeyRange.EndingHashKey); err != nil {
						return nil, err
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
	if err := top.encryption(&out.EncryptionType); err != nil {
		return nil, err
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
				if err := m.str(name, dst); err != nil {
					return nil, err
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
	if err := top.str("SequenceNumber", &out.SequenceNumber); err != nil {
		return nil, err
	}
	if err := top.str("ShardId", &out.ShardId); err != nil {
		return nil, err
	}
	if err := top.encryption(&out.EncryptionType); err != nil {
		return nil, err
	}
	return out, nil
}

func refGetShardIterator(body []byte) (*kinesis.GetShardIteratorOutput, error) {
	var top jsonObject
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	out := &kinesis.GetShardIteratorOutput{}
	if err := top.str("ShardIterator", &out.ShardIterator); err != nil {
		return nil, err
	}
	return out, nil
}
