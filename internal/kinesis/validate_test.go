package kinesis

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/rivulet/rivulet/api"
)

// Expected messages below are written out literally where AWS's text is
// known (several are AWS responses recorded by kinesalite's test suite);
// vMsg/vErr only join parts so long cases stay readable.

type vCase struct {
	name string
	err  error
	want string // "" means valid
}

func vS(s string) *string { return &s }
func vI(n int64) *int64   { return &n }

func vErr(value, path, constraint string) string {
	return "Value '" + value + "' at '" + path + "' failed to satisfy constraint: " + constraint
}

func vNullAt(path string) string {
	return "Value null at '" + path + "' failed to satisfy constraint: Member must not be null"
}

func vMsg(parts ...string) string {
	noun := "errors"
	if len(parts) == 1 {
		noun = "error"
	}
	return fmt.Sprintf("%d validation %s detected: %s", len(parts), noun, strings.Join(parts, "; "))
}

const (
	vNameRe   = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
	vMin1     = "Member must have length greater than or equal to 1"
	vMax128   = "Member must have length less than or equal to 128"
	vARNRe    = `Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:stream/\S+`
	vResARNRe = `Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\d{12}:.*(stream|channel)/\S+`
	vGoodARN  = "arn:aws:kinesis:us-east-1:000000000000:stream/s"
)

func vRun(t *testing.T, cases []vCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want == "" {
				if c.err != nil {
					t.Fatalf("want valid, got %v", c.err)
				}
				return
			}
			var e *Error
			if !errors.As(c.err, &e) {
				t.Fatalf("want *Error, got %T %v", c.err, c.err)
			}
			if !errors.Is(c.err, ErrValidation) {
				t.Errorf("kind = %v, want ValidationException", e.Kind)
			}
			if e.Message != c.want {
				t.Errorf("message\n got: %s\nwant: %s", e.Message, c.want)
			}
		})
	}
}

func TestValidateCreateStream(t *testing.T) {
	long := strings.Repeat("a", 129)
	vRun(t, []vCase{
		{"valid provisioned", validateCreateStream(&api.CreateStreamInput{StreamName: vS("a-b_c.1"), ShardCount: vI(1)}), ""},
		{"valid on-demand without shard count", validateCreateStream(&api.CreateStreamInput{
			StreamName: vS(strings.Repeat("a", 128)), StreamModeDetails: &api.StreamModeDetails{StreamMode: vS("ON_DEMAND")},
			Tags: map[string]string{"k": ""}, MaxRecordSizeInKiB: vI(10240), WarmThroughputMiBps: vI(0)}), ""},
		{"missing name", validateCreateStream(&api.CreateStreamInput{}),
			"1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null"},
		{"empty name and zero shards", validateCreateStream(&api.CreateStreamInput{StreamName: vS(""), ShardCount: vI(0)}),
			"3 validation errors detected: " +
				"Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long name, huge shard count", validateCreateStream(&api.CreateStreamInput{StreamName: vS(long), ShardCount: vI(100000000000)}),
			"1 validation error detected: Value '" + long + "' at 'streamName' failed to satisfy constraint: " +
				"Member must have length less than or equal to 128"},
		{"bad character", validateCreateStream(&api.CreateStreamInput{StreamName: vS("a b")}),
			vMsg(vErr("a b", "streamName", vNameRe))},
		{"stream mode missing", validateCreateStream(&api.CreateStreamInput{StreamName: vS("s"), StreamModeDetails: &api.StreamModeDetails{}}),
			vMsg(vNullAt("streamModeDetails.streamMode"))},
		{"stream mode unknown", validateCreateStream(&api.CreateStreamInput{StreamName: vS("s"), StreamModeDetails: &api.StreamModeDetails{StreamMode: vS("FAST")}}),
			vMsg(vErr("FAST", "streamModeDetails.streamMode", "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]"))},
		{"empty tags", validateCreateStream(&api.CreateStreamInput{StreamName: vS("s"), Tags: map[string]string{}}),
			vMsg(vErr("{}", "tags", vMin1))},
		{"record size and warm throughput", validateCreateStream(&api.CreateStreamInput{StreamName: vS("s"), MaxRecordSizeInKiB: vI(1023), WarmThroughputMiBps: vI(-1)}),
			vMsg(vErr("1023", "maxRecordSizeInKiB", "Member must have value greater than or equal to 1024"),
				vErr("-1", "warmThroughputMiBps", "Member must have value greater than or equal to 0"))},
		{"record size too large", validateCreateStream(&api.CreateStreamInput{StreamName: vS("s"), MaxRecordSizeInKiB: vI(10241)}),
			vMsg(vErr("10241", "maxRecordSizeInKiB", "Member must have value less than or equal to 10240"))},
	})
}

func TestValidatePutRecords(t *testing.T) {
	name, pk := strings.Repeat("a", 129), strings.Repeat("a", 257)
	entries := func(n int) []api.PutRecordsRequestEntry {
		out := make([]api.PutRecordsRequestEntry, n)
		for i := range out {
			out[i] = api.PutRecordsRequestEntry{PartitionKey: vS(""), Data: []byte{}}
		}
		return out
	}
	strs := make([]string, 501)
	for i := range strs {
		strs[i] = "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@2"
	}
	tooMany := "10 validation errors detected: Value '[" + strings.Join(strs, ", ") + "]' at 'records' failed to satisfy constraint: " +
		"Member must have length less than or equal to 500"
	for i := 1; i <= 9; i++ {
		tooMany += fmt.Sprintf("; Value '' at 'records.%d.member.partitionKey' failed to satisfy constraint: "+
			"Member must have length greater than or equal to 1", i)
	}
	valid := make([]api.PutRecordsRequestEntry, 500)
	for i := range valid {
		valid[i] = api.PutRecordsRequestEntry{PartitionKey: vS("k"), Data: []byte{}}
	}
	valid[0].ExplicitHashKey = vS("0")
	valid[1].ExplicitHashKey = vS("340282366920938463463374607431768211455")
	big := make([]byte, 2<<20) // size is checked against the stream's limit, not here

	vRun(t, []vCase{
		{"valid 500 entries", validatePutRecords(&api.PutRecordsInput{StreamName: vS("s"), Records: valid}, false), ""},
		{"valid by ARN with a large blob", validatePutRecords(&api.PutRecordsInput{StreamARN: vS(vGoodARN),
			Records: []api.PutRecordsRequestEntry{{PartitionKey: vS("k"), Data: big}}}, false), ""},
		{"missing records", validatePutRecords(&api.PutRecordsInput{}, false),
			"1 validation error detected: Value null at 'records' failed to satisfy constraint: Member must not be null"},
		{"empty records and name", validatePutRecords(&api.PutRecordsInput{StreamName: vS(""), Records: []api.PutRecordsRequestEntry{}}, false),
			"3 validation errors detected: " +
				"Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"empty entry fields", validatePutRecords(&api.PutRecordsInput{StreamName: vS(""),
			Records: []api.PutRecordsRequestEntry{{PartitionKey: vS(""), Data: []byte{}, ExplicitHashKey: vS("")}}}, false),
			"4 validation errors detected: " +
				"Value '' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'records.1.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long fields", validatePutRecords(&api.PutRecordsInput{StreamName: vS(name),
			Records: []api.PutRecordsRequestEntry{{PartitionKey: vS(pk), Data: make([]byte, 51201), ExplicitHashKey: vS("")}}}, false),
			"3 validation errors detected: " +
				"Value '" + pk + "' at 'records.1.member.partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256; " +
				"Value '' at 'records.1.member.explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
				"Value '" + name + "' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"too many records, capped at 10", validatePutRecords(&api.PutRecordsInput{StreamName: vS(""), Records: entries(501)}, false), tooMany},
		{"null entry members", validatePutRecords(&api.PutRecordsInput{StreamName: vS("s"), Records: []api.PutRecordsRequestEntry{{}, {PartitionKey: vS("k")}}}, false),
			vMsg(vNullAt("records.1.member.partitionKey"), vNullAt("records.1.member.data"), vNullAt("records.2.member.data"))},
		{"hash key forms", validatePutRecords(&api.PutRecordsInput{StreamName: vS("s"), Records: []api.PutRecordsRequestEntry{
			{PartitionKey: vS("k"), Data: []byte{}, ExplicitHashKey: vS("01")},
			{PartitionKey: vS("k"), Data: []byte{}, ExplicitHashKey: vS("1" + strings.Repeat("0", 39))},
			{PartitionKey: vS("k"), Data: []byte{}, ExplicitHashKey: vS("1" + strings.Repeat("0", 38))},
		}}, false),
			vMsg(vErr("01", "records.1.member.explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`),
				vErr("1"+strings.Repeat("0", 39), "records.2.member.explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`))},
		{"bad stream ARN", validatePutRecords(&api.PutRecordsInput{StreamARN: vS("arn:aws:kinesis:us-east-1:123:stream/s"),
			Records: []api.PutRecordsRequestEntry{{PartitionKey: vS("k"), Data: []byte("x")}}}, false),
			vMsg(vErr("arn:aws:kinesis:us-east-1:123:stream/s", "streamARN", vARNRe))},
	})
}

func TestValidatePutRecord(t *testing.T) {
	name, pk := strings.Repeat("a", 129), strings.Repeat("a", 257)
	vRun(t, []vCase{
		{"valid", validatePutRecord(&api.PutRecordInput{StreamName: vS("s"), PartitionKey: vS("k"), Data: []byte{},
			ExplicitHashKey: vS("0"), SequenceNumberForOrdering: vS("49590338271490256608559692538361571095921575989136588898")}, false), ""},
		{"256 two-byte runes", validatePutRecord(&api.PutRecordInput{StreamName: vS("s"), PartitionKey: vS(strings.Repeat("é", 256)), Data: []byte{}}, false), ""},
		{"128 surrogate pairs", validatePutRecord(&api.PutRecordInput{StreamName: vS("s"), PartitionKey: vS(strings.Repeat("😀", 128)), Data: []byte{}}, false), ""},
		{"129 surrogate pairs are 258 UTF-16 units", validatePutRecord(&api.PutRecordInput{StreamName: vS("s"), PartitionKey: vS(strings.Repeat("😀", 129)), Data: []byte{}}, false),
			vMsg(vErr(strings.Repeat("😀", 129), "partitionKey", "Member must have length less than or equal to 256"))},
		{"missing everything", validatePutRecord(&api.PutRecordInput{}, false),
			"2 validation errors detected: " +
				"Value null at 'partitionKey' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'data' failed to satisfy constraint: Member must not be null"},
		{"all empty", validatePutRecord(&api.PutRecordInput{StreamName: vS(""), PartitionKey: vS(""), Data: []byte{}, ExplicitHashKey: vS(""), SequenceNumberForOrdering: vS("")}, false),
			"5 validation errors detected: " +
				"Value '' at 'sequenceNumberForOrdering' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128}); " +
				"Value '' at 'partitionKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long", validatePutRecord(&api.PutRecordInput{StreamName: vS(name), PartitionKey: vS(pk), Data: make([]byte, 51201), ExplicitHashKey: vS("")}, false),
			"3 validation errors detected: " +
				"Value '" + pk + "' at 'partitionKey' failed to satisfy constraint: Member must have length less than or equal to 256; " +
				"Value '' at 'explicitHashKey' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38}); " +
				"Value '" + name + "' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128"},
	})
}

func TestValidateGetShardIterator(t *testing.T) {
	name := strings.Repeat("a", 129)
	seqOK, seqLong := "1"+strings.Repeat("0", 128), "1"+strings.Repeat("0", 129)
	vRun(t, []vCase{
		{"valid", validateGetShardIterator(&api.GetShardIteratorInput{StreamName: vS("s"), ShardId: vS("shardId-000000000000"),
			ShardIteratorType: vS("AT_SEQUENCE_NUMBER"), StartingSequenceNumber: vS(seqOK)}), ""},
		{"valid by ARN", validateGetShardIterator(&api.GetShardIteratorInput{StreamARN: vS(vGoodARN), ShardId: vS("0"), ShardIteratorType: vS("AT_TIMESTAMP")}), ""},
		{"missing", validateGetShardIterator(&api.GetShardIteratorInput{}),
			"2 validation errors detected: " +
				"Value null at 'shardId' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'shardIteratorType' failed to satisfy constraint: Member must not be null"},
		{"all empty", validateGetShardIterator(&api.GetShardIteratorInput{StreamName: vS(""), ShardIteratorType: vS(""), ShardId: vS(""), StartingSequenceNumber: vS("")}),
			"6 validation errors detected: " +
				"Value '' at 'shardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'shardId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]; " +
				"Value '' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128}); " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long names", validateGetShardIterator(&api.GetShardIteratorInput{StreamName: vS(name), ShardId: vS(name), ShardIteratorType: vS("LATEST")}),
			"2 validation errors detected: " +
				"Value '" + name + "' at 'shardId' failed to satisfy constraint: Member must have length less than or equal to 128; " +
				"Value '" + name + "' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"sequence number too long", validateGetShardIterator(&api.GetShardIteratorInput{StreamName: vS("s"), ShardId: vS("x"),
			ShardIteratorType: vS("latest"), StartingSequenceNumber: vS(seqLong)}),
			vMsg(vErr("latest", "shardIteratorType", "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_TIMESTAMP, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"),
				vErr(seqLong, "startingSequenceNumber", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,128})`))},
	})
}

func TestValidateGetRecords(t *testing.T) {
	it := strings.Repeat("A", 513)
	vRun(t, []vCase{
		{"valid", validateGetRecords(&api.GetRecordsInput{ShardIterator: vS(strings.Repeat("A", 512)), Limit: vI(10000)}), ""},
		{"missing", validateGetRecords(&api.GetRecordsInput{}), vMsg(vNullAt("shardIterator"))},
		{"empty and zero", validateGetRecords(&api.GetRecordsInput{ShardIterator: vS(""), Limit: vI(0)}),
			"2 validation errors detected: " +
				"Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'shardIterator' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"too big", validateGetRecords(&api.GetRecordsInput{ShardIterator: vS(it), Limit: vI(10001), StreamARN: vS("x")}),
			vMsg(vErr("10001", "limit", "Member must have value less than or equal to 10000"),
				vErr(it, "shardIterator", "Member must have length less than or equal to 512"),
				vErr("x", "streamARN", vARNRe))},
	})
}

func TestValidateListShards(t *testing.T) {
	name := strings.Repeat("a", 129)
	vRun(t, []vCase{
		{"empty input", validateListShards(&api.ListShardsInput{}), ""},
		{"valid", validateListShards(&api.ListShardsInput{StreamName: vS("s"), MaxResults: vI(10000), ExclusiveStartShardId: vS("shardId-000000000001"),
			ShardFilter: &api.ShardFilter{Type: vS("AFTER_SHARD_ID"), ShardId: vS("shardId-000000000000")}}), ""},
		{"empty values", validateListShards(&api.ListShardsInput{StreamName: vS(""), MaxResults: vI(0), ExclusiveStartShardId: vS("")}),
			"5 validation errors detected: " +
				"Value '' at 'exclusiveStartShardId' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'exclusiveStartShardId' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"long values", validateListShards(&api.ListShardsInput{StreamName: vS(name), MaxResults: vI(100000), ExclusiveStartShardId: vS(name)}),
			vMsg(vErr(name, "exclusiveStartShardId", vMax128),
				vErr("100000", "maxResults", "Member must have value less than or equal to 10000"),
				vErr(name, "streamName", vMax128))},
		{"empty next token", validateListShards(&api.ListShardsInput{NextToken: vS("")}), vMsg(vErr("", "nextToken", vMin1))},
		{"filter without type", validateListShards(&api.ListShardsInput{StreamName: vS("s"), ShardFilter: &api.ShardFilter{}}),
			vMsg(vNullAt("shardFilter.type"))},
		{"bad filter", validateListShards(&api.ListShardsInput{StreamName: vS("s"), ShardFilter: &api.ShardFilter{Type: vS("LATEST"), ShardId: vS("")}}),
			vMsg(vErr("LATEST", "shardFilter.type", "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]"),
				vErr("", "shardFilter.shardId", vNameRe), vErr("", "shardFilter.shardId", vMin1))},
	})
}

func TestValidateListStreams(t *testing.T) {
	vRun(t, []vCase{
		{"empty input", validateListStreams(&api.ListStreamsInput{}), ""},
		{"valid", validateListStreams(&api.ListStreamsInput{Limit: vI(10000), ExclusiveStartStreamName: vS("a"), NextToken: vS("t")}), ""},
		{"all bad", validateListStreams(&api.ListStreamsInput{Limit: vI(0), ExclusiveStartStreamName: vS(""), NextToken: vS("")}),
			vMsg(vErr("0", "limit", "Member must have value greater than or equal to 1"),
				vErr("", "exclusiveStartStreamName", vNameRe), vErr("", "exclusiveStartStreamName", vMin1),
				vErr("", "nextToken", vMin1))},
		{"limit too big", validateListStreams(&api.ListStreamsInput{Limit: vI(10001)}),
			"1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"},
	})
}

func TestValidateDescribeStream(t *testing.T) {
	vRun(t, []vCase{
		{"empty input", validateDescribeStream(&api.DescribeStreamInput{}), ""},
		{"valid", validateDescribeStream(&api.DescribeStreamInput{StreamName: vS("s"), Limit: vI(10000), ExclusiveStartShardId: vS("shardId-000000000000")}), ""},
		{"bad", validateDescribeStream(&api.DescribeStreamInput{StreamName: vS(""), Limit: vI(10001), ExclusiveStartShardId: vS("a/b")}),
			vMsg(vErr("10001", "limit", "Member must have value less than or equal to 10000"),
				vErr("a/b", "exclusiveStartShardId", vNameRe),
				vErr("", "streamName", vNameRe), vErr("", "streamName", vMin1))},
	})
}

func TestValidateStreamIdentity(t *testing.T) {
	long := strings.Repeat("a", 129)
	longARN := "arn:aws:kinesis:us-east-1:000000000000:stream/" + strings.Repeat("s", 2048)
	vRun(t, []vCase{
		{"summary empty", validateDescribeStreamSummary(&api.DescribeStreamSummaryInput{}), ""},
		{"summary by ARN", validateDescribeStreamSummary(&api.DescribeStreamSummaryInput{StreamARN: vS("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/x")}), ""},
		{"summary slash in name", validateDescribeStreamSummary(&api.DescribeStreamSummaryInput{StreamName: vS("a/b")}),
			"1 validation error detected: Value 'a/b' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"},
		{"delete empty", validateDeleteStream(&api.DeleteStreamInput{}), ""},
		{"delete long name", validateDeleteStream(&api.DeleteStreamInput{StreamName: vS(long), EnforceConsumerDeletion: new(bool)}),
			vMsg(vErr(long, "streamName", vMax128))},
		{"ARN empty", validateDeleteStream(&api.DeleteStreamInput{StreamARN: vS("")}),
			vMsg(vErr("", "streamARN", vARNRe), vErr("", "streamARN", vMin1))},
		{"ARN too long", validateDeleteStream(&api.DeleteStreamInput{StreamARN: vS(longARN)}),
			vMsg(vErr(longARN, "streamARN", "Member must have length less than or equal to 2048"))},
		{"ARN without name", validateDeleteStream(&api.DeleteStreamInput{StreamARN: vS("arn:aws:kinesis:us-east-1:000000000000:stream/")}),
			vMsg(vErr("arn:aws:kinesis:us-east-1:000000000000:stream/", "streamARN", vARNRe))},
		// Java's '.' stops at line ends and its \S excludes vertical tab.
		{"ARN newline in region", validateDeleteStream(&api.DeleteStreamInput{StreamARN: vS("arn:aws:kinesis:us\n:000000000000:stream/s")}),
			vMsg(vErr("arn:aws:kinesis:us\n:000000000000:stream/s", "streamARN", vARNRe))},
		{"ARN vertical tab in name", validateDeleteStream(&api.DeleteStreamInput{StreamARN: vS("arn:aws:kinesis:us:000000000000:stream/a\vb")}),
			vMsg(vErr("arn:aws:kinesis:us:000000000000:stream/a\vb", "streamARN", vARNRe))},
		{"both bad", validateDescribeStreamSummary(&api.DescribeStreamSummaryInput{StreamName: vS("a b"), StreamARN: vS("x")}),
			vMsg(vErr("a b", "streamName", vNameRe), vErr("x", "streamARN", vARNRe))},
	})
}

func TestValidateRetentionPeriod(t *testing.T) {
	vRun(t, []vCase{
		{"valid", validateIncreaseStreamRetentionPeriod(&api.IncreaseStreamRetentionPeriodInput{StreamName: vS("s"), RetentionPeriodHours: vI(8760)}), ""},
		{"below 24 is the service's business", validateDecreaseStreamRetentionPeriod(&api.DecreaseStreamRetentionPeriodInput{StreamName: vS("s"), RetentionPeriodHours: vI(23)}), ""},
		{"missing", validateIncreaseStreamRetentionPeriod(&api.IncreaseStreamRetentionPeriodInput{}), vMsg(vNullAt("retentionPeriodHours"))},
		{"negative and empty name", validateIncreaseStreamRetentionPeriod(&api.IncreaseStreamRetentionPeriodInput{StreamName: vS(""), RetentionPeriodHours: vI(-1)}),
			"3 validation errors detected: " +
				"Value '-1' at 'retentionPeriodHours' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"decrease too big", validateDecreaseStreamRetentionPeriod(&api.DecreaseStreamRetentionPeriodInput{StreamARN: vS(vGoodARN), RetentionPeriodHours: vI(10001)}),
			vMsg(vErr("10001", "retentionPeriodHours", "Member must have value less than or equal to 10000"))},
	})
}

func TestValidateStreamTags(t *testing.T) {
	name := strings.Repeat("a", 129)
	many := map[string]string{}
	var keys []string
	for i := range 201 {
		k := fmt.Sprintf("k%03d", i)
		many[k] = "v"
		keys = append(keys, k+"=v")
	}
	sort.Strings(keys)
	manyStr := "{" + strings.Join(keys, ", ") + "}"
	var fiftyOne []string
	for i := 1; i <= 51; i++ {
		fiftyOne = append(fiftyOne, fmt.Sprint(i))
	}
	vRun(t, []vCase{
		{"add valid", validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS("s"), Tags: map[string]string{"a": "", "b": strings.Repeat("v", 256)}}), ""},
		{"add missing", validateAddTagsToStream(&api.AddTagsToStreamInput{}), vMsg(vNullAt("tags"))},
		{"add empty", validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS(""), Tags: map[string]string{}}),
			"3 validation errors detected: " +
				"Value '{}' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"add long name", validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS(name), Tags: map[string]string{"a": "b"}}),
			"1 validation error detected: Value '" + name + "' at 'streamName' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"add too many", validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS("s"), Tags: many}),
			vMsg(vErr(manyStr, "tags", "Member must have length less than or equal to 200"))},
		{"add bad key and value", validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS("s"), Tags: map[string]string{"b": strings.Repeat("v", 257), "": "x"}}),
			vMsg(vErr("{=x, b="+strings.Repeat("v", 257)+"}", "tags",
				"Map keys must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"),
				vErr("{=x, b="+strings.Repeat("v", 257)+"}", "tags",
					"Map value must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 0]"))},
		{"remove valid", validateRemoveTagsFromStream(&api.RemoveTagsFromStreamInput{StreamARN: vS(vGoodARN), TagKeys: []string{"a"}}), ""},
		{"remove missing", validateRemoveTagsFromStream(&api.RemoveTagsFromStreamInput{}), vMsg(vNullAt("tagKeys"))},
		{"remove empty", validateRemoveTagsFromStream(&api.RemoveTagsFromStreamInput{StreamName: vS(""), TagKeys: []string{}}),
			vMsg(vErr("[]", "tagKeys", vMin1), vErr("", "streamName", vNameRe), vErr("", "streamName", vMin1))},
		{"remove long key", validateRemoveTagsFromStream(&api.RemoveTagsFromStreamInput{StreamName: vS("s"), TagKeys: []string{"a", name, "b"}}),
			"1 validation error detected: Value '[a, " + name + ", b]' at 'tagKeys' failed to satisfy constraint: " +
				"Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"},
		{"remove too many", validateRemoveTagsFromStream(&api.RemoveTagsFromStreamInput{StreamName: vS("s"), TagKeys: fiftyOne}),
			vMsg(vErr("["+strings.Join(fiftyOne, ", ")+"]", "tagKeys", "Member must have length less than or equal to 50"))},
		{"list valid", validateListTagsForStream(&api.ListTagsForStreamInput{StreamName: vS("s"), Limit: vI(50), ExclusiveStartTagKey: vS("k")}), ""},
		{"list empty input", validateListTagsForStream(&api.ListTagsForStreamInput{}), ""},
		{"list empty values", validateListTagsForStream(&api.ListTagsForStreamInput{StreamName: vS(""), ExclusiveStartTagKey: vS(""), Limit: vI(0)}),
			"4 validation errors detected: " +
				"Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1; " +
				"Value '' at 'exclusiveStartTagKey' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
				"Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"list long values", validateListTagsForStream(&api.ListTagsForStreamInput{StreamName: vS(name), ExclusiveStartTagKey: vS(name), Limit: vI(51)}),
			vMsg(vErr("51", "limit", "Member must have value less than or equal to 50"),
				vErr(name, "exclusiveStartTagKey", vMax128), vErr(name, "streamName", vMax128))},
	})
}

func TestValidateResourceTags(t *testing.T) {
	consumer := "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1700000000"
	vRun(t, []vCase{
		{"tag stream", validateTagResource(&api.TagResourceInput{ResourceARN: vS(vGoodARN), Tags: map[string]string{"a": "b"}}), ""},
		{"tag consumer", validateTagResource(&api.TagResourceInput{ResourceARN: vS(consumer), Tags: map[string]string{"a": "b"}}), ""},
		{"tag channel", validateTagResource(&api.TagResourceInput{ResourceARN: vS("arn:aws:kinesis:us-east-1:000000000000:channel/ch"), Tags: map[string]string{"a": "b"}}), ""},
		{"tag other kind", validateTagResource(&api.TagResourceInput{ResourceARN: vS("arn:aws:kinesis:us-east-1:000000000000:queue/q"), Tags: map[string]string{"a": "b"}}),
			vMsg(vErr("arn:aws:kinesis:us-east-1:000000000000:queue/q", "resourceARN", vResARNRe))},
		{"tag missing", validateTagResource(&api.TagResourceInput{}),
			"2 validation errors detected: " +
				"Value null at 'tags' failed to satisfy constraint: Member must not be null; " +
				"Value null at 'resourceARN' failed to satisfy constraint: Member must not be null"},
		{"tag bad ARN", validateTagResource(&api.TagResourceInput{ResourceARN: vS("arn:aws:sqs:us-east-1:000000000000:q"), Tags: map[string]string{"a": "b"}}),
			vMsg(vErr("arn:aws:sqs:us-east-1:000000000000:q", "resourceARN", vResARNRe))},
		{"untag valid", validateUntagResource(&api.UntagResourceInput{ResourceARN: vS(consumer), TagKeys: []string{"a"}}), ""},
		{"untag missing", validateUntagResource(&api.UntagResourceInput{}), vMsg(vNullAt("tagKeys"), vNullAt("resourceARN"))},
		{"untag empty", validateUntagResource(&api.UntagResourceInput{ResourceARN: vS(""), TagKeys: []string{""}}),
			vMsg(vErr("[]", "tagKeys", "Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]"),
				vErr("", "resourceARN", vResARNRe), vErr("", "resourceARN", vMin1))},
		{"list valid", validateListTagsForResource(&api.ListTagsForResourceInput{ResourceARN: vS(vGoodARN)}), ""},
		{"list missing", validateListTagsForResource(&api.ListTagsForResourceInput{}),
			"1 validation error detected: Value null at 'resourceARN' failed to satisfy constraint: Member must not be null"},
	})
}

func TestValidateUpdateMaxRecordSize(t *testing.T) {
	vRun(t, []vCase{
		{"valid", validateUpdateMaxRecordSize(&api.UpdateMaxRecordSizeInput{StreamARN: vS(vGoodARN), MaxRecordSizeInKiB: vI(1024)}), ""},
		{"missing size", validateUpdateMaxRecordSize(&api.UpdateMaxRecordSizeInput{StreamARN: vS(vGoodARN)}), vMsg(vNullAt("maxRecordSizeInKiB"))},
		{"bad both", validateUpdateMaxRecordSize(&api.UpdateMaxRecordSizeInput{StreamARN: vS("s"), MaxRecordSizeInKiB: vI(10241)}),
			vMsg(vErr("s", "streamARN", vARNRe), vErr("10241", "maxRecordSizeInKiB", "Member must have value less than or equal to 10240"))},
		{"too small", validateUpdateMaxRecordSize(&api.UpdateMaxRecordSizeInput{StreamARN: vS(vGoodARN), MaxRecordSizeInKiB: vI(1023)}),
			vMsg(vErr("1023", "maxRecordSizeInKiB", "Member must have value greater than or equal to 1024"))},
	})
}

func TestValidateEnhancedMonitoring(t *testing.T) {
	enum := "Member must satisfy constraint: [Member must satisfy enum value set: [IncomingBytes, IncomingRecords, OutgoingBytes, " +
		"OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]]"
	eight := []string{"ALL", "ALL", "ALL", "ALL", "ALL", "ALL", "ALL", "ALL"}
	vRun(t, []vCase{
		{"valid", validateEnableEnhancedMonitoring(&api.EnableEnhancedMonitoringInput{StreamName: vS("s"), ShardLevelMetrics: []string{"ALL"}}), ""},
		{"disable valid", validateEnableEnhancedMonitoring(&api.DisableEnhancedMonitoringInput{StreamARN: vS(vGoodARN),
			ShardLevelMetrics: []string{"IncomingBytes", "IteratorAgeMilliseconds"}}), ""},
		{"missing", validateEnableEnhancedMonitoring(&api.EnableEnhancedMonitoringInput{}), vMsg(vNullAt("shardLevelMetrics"))},
		{"empty", validateEnableEnhancedMonitoring(&api.EnableEnhancedMonitoringInput{ShardLevelMetrics: []string{}}), vMsg(vErr("[]", "shardLevelMetrics", vMin1))},
		{"unknown metric", validateEnableEnhancedMonitoring(&api.EnableEnhancedMonitoringInput{StreamName: vS("s"), ShardLevelMetrics: []string{"ALL", "Bogus"}}),
			"1 validation error detected: Value '[ALL, Bogus]' at 'shardLevelMetrics' failed to satisfy constraint: " + enum},
		{"too many", validateEnableEnhancedMonitoring(&api.EnableEnhancedMonitoringInput{StreamName: vS("s"), ShardLevelMetrics: eight}),
			vMsg(vErr("["+strings.Join(eight, ", ")+"]", "shardLevelMetrics", "Member must have length less than or equal to 7"))},
	})
}

// TestValidateErrorCap checks that only the first ten violations are listed
// and counted, in check order, so later members drop out.
func TestValidateErrorCap(t *testing.T) {
	recs := make([]api.PutRecordsRequestEntry, 12)
	for i := range recs {
		recs[i].ExplicitHashKey = vS("x")
	}
	err := validatePutRecords(&api.PutRecordsInput{StreamName: vS(""), Records: recs}, false)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %v", err)
	}
	want := []string{
		vNullAt("records.1.member.partitionKey"),
		vErr("x", "records.1.member.explicitHashKey", `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`),
		vNullAt("records.1.member.data"),
	}
	for i := 2; len(want) < 10; i++ {
		for _, m := range []string{"partitionKey", "explicitHashKey", "data"} {
			if len(want) == 10 {
				break
			}
			p := fmt.Sprintf("records.%d.member.%s", i, m)
			if m == "explicitHashKey" {
				want = append(want, vErr("x", p, `Member must satisfy regular expression pattern: 0|([1-9]\d{0,38})`))
			} else {
				want = append(want, vNullAt(p))
			}
		}
	}
	if e.Message != vMsg(want...) {
		t.Errorf("message\n got: %s\nwant: %s", e.Message, vMsg(want...))
	}
	if strings.Contains(e.Message, "streamName") || strings.Contains(e.Message, "records.5.") {
		t.Errorf("violations past the tenth were listed: %s", e.Message)
	}
}

// TestValidateMapMessageStable checks the map rendering does not depend on
// Go's map iteration order.
func TestValidateMapMessageStable(t *testing.T) {
	tags := map[string]string{}
	for i := range 20 {
		tags[fmt.Sprintf("key%02d", i)] = strings.Repeat("v", 257)
	}
	first := validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS("s"), Tags: tags})
	if first == nil || !strings.HasPrefix(first.Error(), "ValidationException: 1 validation error detected: Value '{key00=") {
		t.Fatalf("unexpected: %v", first)
	}
	for range 20 {
		if got := validateAddTagsToStream(&api.AddTagsToStreamInput{StreamName: vS("s"), Tags: tags}); got.Error() != first.Error() {
			t.Fatalf("message changed between calls:\n%v\n%v", first, got)
		}
	}
}
