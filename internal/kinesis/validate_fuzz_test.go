package kinesis

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rivulet/rivulet/api"
)

var vWellFormed = regexp.MustCompile(`^([1-9]|10) validation (error|errors) detected: Value `)

// vCheckWellFormed fails unless err is nil or a ValidationException whose
// header agrees with its count.
func vCheckWellFormed(t *testing.T, op string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Kind != ErrValidation {
		t.Fatalf("%s: not a validation *Error: %#v", op, err)
	}
	m := vWellFormed.FindStringSubmatch(e.Message)
	if m == nil {
		t.Fatalf("%s: malformed message %q", op, e.Message)
	}
	if n, _ := strconv.Atoi(m[1]); (n == 1) != (m[2] == "error") {
		t.Fatalf("%s: count and noun disagree in %q", op, e.Message)
	}
}

// Independent oracles, written without the validator's regexps.
func vOracleName(s string) bool {
	n := len(utf16.Encode([]rune(s)))
	if n < 1 || n > 128 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

func vOracleDecimal(s string, maxDigits int) bool {
	if s == "0" {
		return true
	}
	if s == "" || s[0] == '0' || len(s) > maxDigits {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

func FuzzValidate(f *testing.F) {
	f.Add("stream-1", "shardId-000000000000", int64(1), []byte("x"))
	f.Add("", "", int64(0), []byte{})
	f.Add(strings.Repeat("a", 129), "0", int64(-1), []byte(nil))
	f.Add("a b\n", "340282366920938463463374607431768211456", int64(10001), []byte{0})
	f.Add("arn:aws:kinesis:us-east-1:000000000000:stream/s", "01", int64(1<<62), []byte("\xff"))
	f.Add("😀\xff'; Value", "{=}, [", int64(-1<<63), []byte(nil))
	f.Fuzz(func(t *testing.T, s1, s2 string, n int64, data []byte) {
		p1, p2, pn := &s1, &s2, &n
		list := []string{s1, s2}
		m := map[string]string{s1: s2, s2: s1}
		recs := []api.PutRecordsRequestEntry{{PartitionKey: p1, Data: data, ExplicitHashKey: p2}, {PartitionKey: p2}}
		calls := map[string]func() error{
			"CreateStream": func() error {
				return validateCreateStream(&api.CreateStreamInput{StreamName: p1, ShardCount: pn,
					StreamModeDetails: &api.StreamModeDetails{StreamMode: p2}, Tags: m, MaxRecordSizeInKiB: pn, WarmThroughputMiBps: pn})
			},
			"DeleteStream": func() error { return validateDeleteStream(&api.DeleteStreamInput{StreamName: p1, StreamARN: p2}) },
			"ListStreams": func() error {
				return validateListStreams(&api.ListStreamsInput{Limit: pn, ExclusiveStartStreamName: p1, NextToken: p2})
			},
			"DescribeStream": func() error {
				return validateDescribeStream(&api.DescribeStreamInput{StreamName: p1, StreamARN: p2, Limit: pn, ExclusiveStartShardId: p2})
			},
			"DescribeStreamSummary": func() error {
				return validateDescribeStreamSummary(&api.DescribeStreamSummaryInput{StreamName: p2, StreamARN: p1})
			},
			"ListShards": func() error {
				return validateListShards(&api.ListShardsInput{StreamName: p1, StreamARN: p2, NextToken: p1, ExclusiveStartShardId: p2,
					MaxResults: pn, ShardFilter: &api.ShardFilter{Type: p1, ShardId: p2}})
			},
			"PutRecord": func() error {
				return validatePutRecord(&api.PutRecordInput{StreamName: p1, StreamARN: p2, PartitionKey: p1, Data: data,
					ExplicitHashKey: p2, SequenceNumberForOrdering: p2}, false)
			},
			"PutRecords": func() error {
				return validatePutRecords(&api.PutRecordsInput{StreamName: p2, StreamARN: p1, Records: recs}, false)
			},
			"GetShardIterator": func() error {
				return validateGetShardIterator(&api.GetShardIteratorInput{StreamName: p1, ShardId: p2, ShardIteratorType: p1,
					StartingSequenceNumber: p2})
			},
			"GetRecords": func() error {
				return validateGetRecords(&api.GetRecordsInput{ShardIterator: p1, Limit: pn, StreamARN: p2})
			},
			"Retention": func() error {
				return validateIncreaseStreamRetentionPeriod(&api.IncreaseStreamRetentionPeriodInput{StreamName: p1, RetentionPeriodHours: pn})
			},
			"AddTagsToStream": func() error { return validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: p2, Tags: m}) },
			"RemoveTagsFromStream": func() error {
				return validateRemoveTagsFromStream(&api.RemoveTagsFromStreamInput{StreamARN: p1, TagKeys: list})
			},
			"ListTagsForStream": func() error {
				return validateListTagsForStream(&api.ListTagsForStreamInput{StreamName: p1, ExclusiveStartTagKey: p2, Limit: pn})
			},
			"TagResource":   func() error { return validateTagResource(&api.TagResourceInput{ResourceARN: p1, Tags: m}) },
			"UntagResource": func() error { return validateUntagResource(&api.UntagResourceInput{ResourceARN: p2, TagKeys: list}) },
			"ListTagsForResource": func() error {
				return validateListTagsForResource(&api.ListTagsForResourceInput{ResourceARN: p1})
			},
			"UpdateMaxRecordSize": func() error {
				return validateUpdateMaxRecordSize(&api.UpdateMaxRecordSizeInput{StreamARN: p1, MaxRecordSizeInKiB: pn})
			},
			"EnhancedMonitoring": func() error {
				return validateEnableEnhancedMonitoring(&api.EnableEnhancedMonitoringInput{StreamName: p1, ShardLevelMetrics: list})
			},
		}
		for op, call := range calls {
			err := call()
			vCheckWellFormed(t, op, err)
			if again := call(); (err == nil) != (again == nil) || err != nil && err.Error() != again.Error() {
				t.Fatalf("%s: not deterministic: %v vs %v", op, err, again)
			}
		}

		// Single-member inputs must agree with the independent oracles.
		if got := validateDescribeStreamSummary(&api.DescribeStreamSummaryInput{StreamName: p1}); (got == nil) != vOracleName(s1) {
			t.Fatalf("stream name %q: validator says %v", s1, got)
		}
		pkLen := len(utf16.Encode([]rune(s1)))
		if got := validatePutRecord(&api.PutRecordInput{PartitionKey: p1, Data: []byte{}}, false); (got == nil) != (pkLen >= 1 && pkLen <= 256) {
			t.Fatalf("partition key %q: validator says %v", s1, got)
		}
		if got := validatePutRecord(&api.PutRecordInput{PartitionKey: vS("k"), Data: []byte{}, ExplicitHashKey: p2}, false); (got == nil) != vOracleDecimal(s2, 39) {
			t.Fatalf("hash key %q: validator says %v", s2, got)
		}
		if got := validateGetShardIterator(&api.GetShardIteratorInput{ShardId: vS("0"), ShardIteratorType: vS("LATEST"),
			StartingSequenceNumber: p2}); (got == nil) != vOracleDecimal(s2, 129) {
			t.Fatalf("sequence number %q: validator says %v", s2, got)
		}
		if got := validateGetRecords(&api.GetRecordsInput{ShardIterator: vS("i"), Limit: pn}); (got == nil) != (n >= 1 && n <= 10000) {
			t.Fatalf("limit %d: validator says %v", n, got)
		}
	})
}
