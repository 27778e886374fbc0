package kinesis

// Input validation in the shape AWS's front end reports it:
//
//	2 validation errors detected: Value null at 'shardIteratorType' failed to
//	satisfy constraint: Member must not be null; Value '' at ...
//
// Constraints come from the service model (botocore kinesis
// 2013-12-02/service-2.json); the order of checks, value rendering and enum
// orders follow what real Kinesis returns (as recorded by kinesalite's tests
// run against AWS). Business rules that AWS reports as InvalidArgument or
// LimitExceeded (retention 24..8760 h, 50 tags, record size against the
// stream's limit, StreamName-or-StreamARN) are left to the operations.

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rivulet/rivulet/api"
)

// vMaxErrors is how many violations AWS lists before it stops looking.
const vMaxErrors = 10

// vNone marks an unchecked bound.
const vNone = -1

// vPattern is a model pattern: text is what the message prints, re is the
// same language in Go syntax, anchored, as Java's String.matches applies it.
type vPattern struct {
	text string
	re   *regexp.Regexp
}

func vNewPattern(text, goExpr string) *vPattern {
	return &vPattern{text: text, re: regexp.MustCompile(`^(?:` + goExpr + `)$`)}
}

// Java's '.' stops at line terminators and '\S' excludes \v too; Go's
// shorthands differ, so the Go forms spell the classes out.
const (
	vJavaDot    = `[^\n\r\x{85}\x{2028}\x{2029}]`
	vJavaNonSp  = `[^ \t\n\x0B\f\r]`
	vJavaDigits = `[0-9]`
)

var (
	vNamePattern     = vNewPattern(`[a-zA-Z0-9_.-]+`, `[a-zA-Z0-9_.-]+`)
	vHashKeyPattern  = vNewPattern(`0|([1-9]\d{0,38})`, `0|([1-9][0-9]{0,38})`)
	vSeqNumPattern   = vNewPattern(`0|([1-9]\d{0,128})`, `0|([1-9][0-9]{0,128})`)
	vStreamARNPatt   = vNewPattern(`arn:aws.*:kinesis:.*:\d{12}:stream/\S+`, `arn:aws`+vJavaDot+`*:kinesis:`+vJavaDot+`*:`+vJavaDigits+`{12}:stream/`+vJavaNonSp+`+`)
	vResourceARNPatt = vNewPattern(`arn:aws.*:kinesis:.*:\d{12}:.*(stream|channel)/\S+`, `arn:aws`+vJavaDot+`*:kinesis:`+vJavaDot+`*:`+vJavaDigits+`{12}:`+vJavaDot+`*(stream|channel)/`+vJavaNonSp+`+`)
)

// Enum value sets in the order AWS prints them. ShardIteratorType is the
// order real Kinesis answers with (it differs from the model's); the others
// follow the model.
var (
	vShardIteratorTypes = []string{api.AfterSequenceNumber, api.Latest, api.AtTimestamp, api.AtSequenceNumber, api.TrimHorizon}
	vStreamModes        = []string{api.ModeProvisioned, api.ModeOnDemand}
	vShardFilterTypes   = []string{api.FilterAfterShardID, api.FilterAtTrimHorizon, api.FilterFromTrimHorizon,
		api.FilterAtLatest, api.FilterAtTimestamp, api.FilterFromTimestamp}
	vMetricsNames = []string{"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
		"WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded", "IteratorAgeMilliseconds", "ALL"}
)

// vStr is a string shape's constraints; lengths count UTF-16 code units as
// Java does.
type vStr struct {
	min, max int // vNone when the model sets no bound
	pattern  *vPattern
	enum     []string
}

var (
	vStreamName   = vStr{min: 1, max: 128, pattern: vNamePattern}
	vShardID      = vStr{min: 1, max: 128, pattern: vNamePattern}
	vStreamARN    = vStr{min: 1, max: 2048, pattern: vStreamARNPatt}
	vResourceARN  = vStr{min: 1, max: 2048, pattern: vResourceARNPatt}
	vPartitionKey = vStr{min: 1, max: 256}
	vHashKey      = vStr{min: vNone, max: vNone, pattern: vHashKeyPattern}
	vSeqNum       = vStr{min: vNone, max: vNone, pattern: vSeqNumPattern}
	vIterator     = vStr{min: 1, max: 512}
	vNextToken    = vStr{min: 1, max: 1048576}
	vTagKey       = vStr{min: 1, max: 128}
	vTagValue     = vStr{min: 0, max: 256}
	vIterType     = vStr{min: vNone, max: vNone, enum: vShardIteratorTypes}
	vStreamMode   = vStr{min: vNone, max: vNone, enum: vStreamModes}
	vFilterType   = vStr{min: vNone, max: vNone, enum: vShardFilterTypes}
	vMetricsName  = vStr{min: vNone, max: vNone, enum: vMetricsNames}
)

func vEnumText(values []string) string {
	return "Member must satisfy enum value set: [" + strings.Join(values, ", ") + "]"
}

func vPatternText(p *vPattern) string {
	return "Member must satisfy regular expression pattern: " + p.text
}

func vMinLenText(n int) string {
	return "Member must have length greater than or equal to " + strconv.Itoa(n)
}

func vMaxLenText(n int) string {
	return "Member must have length less than or equal to " + strconv.Itoa(n)
}

// failures lists the constraints s breaks, in the order AWS reports them:
// enum, pattern, minimum length, maximum length.
func (r vStr) failures(s string) []string {
	var out []string
	if r.enum != nil && !vContains(r.enum, s) {
		out = append(out, vEnumText(r.enum))
	}
	if r.pattern != nil && !r.pattern.re.MatchString(s) {
		out = append(out, vPatternText(r.pattern))
	}
	n := vLen(s)
	if r.min != vNone && n < r.min {
		out = append(out, vMinLenText(r.min))
	}
	if r.max != vNone && n > r.max {
		out = append(out, vMaxLenText(r.max))
	}
	return out
}

// summary is the bracketed list AWS prints when a list member or map
// key/value breaks its shape: maximum, minimum, pattern, enum.
func (r vStr) summary() string {
	var parts []string
	if r.max != vNone {
		parts = append(parts, vMaxLenText(r.max))
	}
	if r.min != vNone {
		parts = append(parts, vMinLenText(r.min))
	}
	if r.pattern != nil {
		parts = append(parts, vPatternText(r.pattern))
	}
	if r.enum != nil {
		parts = append(parts, vEnumText(r.enum))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// vNum is an integer shape's range.
type vNum struct {
	min, max       int64
	hasMin, hasMax bool
}

func vAtLeast(min int64) vNum      { return vNum{min: min, hasMin: true} }
func vBetween(min, max int64) vNum { return vNum{min: min, max: max, hasMin: true, hasMax: true} }

func vContains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// vLen is Java's String.length(): UTF-16 code units.
func vLen(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// vListString prints a list the way Java's List.toString does.
func vListString(items []string) string { return "[" + strings.Join(items, ", ") + "]" }

// vMapString prints a map the way Java's Map.toString does; keys are sorted
// so messages are stable (Java's HashMap order is not meaningful).
func vMapString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
	}
	b.WriteByte('}')
	return b.String()
}

// vRecordEntryString is how AWS prints one PutRecords entry inside a list
// value (the entry's default Java toString).
const vRecordEntryString = "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@2"

// validator collects violations in the order they are checked.
type validator struct {
	errs []string
}

// fail records one violation; value nil prints as null.
func (v *validator) fail(path string, value *string, constraint string) {
	if len(v.errs) >= vMaxErrors {
		return
	}
	shown := "null"
	if value != nil {
		shown = "'" + *value + "'"
	}
	v.errs = append(v.errs, "Value "+shown+" at '"+path+"' failed to satisfy constraint: "+constraint)
}

func (v *validator) null(path string) { v.fail(path, nil, "Member must not be null") }

func (v *validator) err() error {
	if len(v.errs) == 0 {
		return nil
	}
	noun := "errors"
	if len(v.errs) == 1 {
		noun = "error"
	}
	return &Error{Kind: ErrValidation, Message: strconv.Itoa(len(v.errs)) + " validation " + noun + " detected: " +
		strings.Join(v.errs, "; ")}
}

func (v *validator) str(path string, s *string, required bool, r vStr) {
	if s == nil {
		if required {
			v.null(path)
		}
		return
	}
	for _, f := range r.failures(*s) {
		v.fail(path, s, f)
	}
}

func (v *validator) num(path string, n *int64, required bool, r vNum) {
	if n == nil {
		if required {
			v.null(path)
		}
		return
	}
	shown := strconv.FormatInt(*n, 10)
	if r.hasMin && *n < r.min {
		v.fail(path, &shown, "Member must have value greater than or equal to "+strconv.FormatInt(r.min, 10))
	}
	if r.hasMax && *n > r.max {
		v.fail(path, &shown, "Member must have value less than or equal to "+strconv.FormatInt(r.max, 10))
	}
}

// listLen checks a list's or map's entry count; shown renders the value.
func (v *validator) listLen(path string, n, min, max int, shown func() string) {
	if n < min {
		s := shown()
		v.fail(path, &s, vMinLenText(min))
	}
	if n > max {
		s := shown()
		v.fail(path, &s, vMaxLenText(max))
	}
}

// strList checks a list of strings; member violations are reported once,
// at the list, as AWS does.
func (v *validator) strList(path string, l []string, required bool, min, max int, member vStr) {
	if l == nil {
		if required {
			v.null(path)
		}
		return
	}
	shown := func() string { return vListString(l) }
	v.listLen(path, len(l), min, max, shown)
	for _, s := range l {
		if len(member.failures(s)) > 0 {
			s := shown()
			v.fail(path, &s, "Member must satisfy constraint: "+member.summary())
			return
		}
	}
}

// strMap checks a map of strings; key and value violations are reported
// once each, at the map.
func (v *validator) strMap(path string, m map[string]string, required bool, min, max int, key, val vStr) {
	if m == nil {
		if required {
			v.null(path)
		}
		return
	}
	shown := func() string { return vMapString(m) }
	v.listLen(path, len(m), min, max, shown)
	badKey, badVal := false, false
	for k, x := range m {
		badKey = badKey || len(key.failures(k)) > 0
		badVal = badVal || len(val.failures(x)) > 0
	}
	if badKey {
		s := shown()
		v.fail(path, &s, "Map keys must satisfy constraint: "+key.summary())
	}
	if badVal {
		s := shown()
		v.fail(path, &s, "Map value must satisfy constraint: "+val.summary())
	}
}

// stream checks the optional StreamName/StreamARN pair; which of them must
// be present is the operation's business.
func (v *validator) stream(name, arn *string) {
	v.str("streamName", name, false, vStreamName)
	v.str("streamARN", arn, false, vStreamARN)
}

func (v *validator) tags(m map[string]string) {
	v.strMap("tags", m, true, 1, 200, vTagKey, vTagValue)
}

func (v *validator) tagKeys(l []string) {
	v.strList("tagKeys", l, true, 1, 50, vTagKey)
}

func validateCreateStream(in *api.CreateStreamInput) error {
	var v validator
	v.num("shardCount", in.ShardCount, false, vAtLeast(1))
	v.str("streamName", in.StreamName, true, vStreamName)
	if in.StreamModeDetails != nil {
		v.str("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, vStreamMode)
	}
	if in.Tags != nil {
		v.tags(in.Tags)
	}
	v.num("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, false, vBetween(1024, 10240))
	v.num("warmThroughputMiBps", in.WarmThroughputMiBps, false, vAtLeast(0))
	v.str("recordDistributionStrategy", in.RecordDistributionStrategy, false, vDistributions)
	return v.err()
}

func validateDeleteStream(in *api.DeleteStreamInput) error {
	var v validator
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateListStreams(in *api.ListStreamsInput) error {
	var v validator
	v.num("limit", in.Limit, false, vBetween(1, 10000))
	v.str("exclusiveStartStreamName", in.ExclusiveStartStreamName, false, vStreamName)
	v.str("nextToken", in.NextToken, false, vNextToken)
	return v.err()
}

func validateDescribeStream(in *api.DescribeStreamInput) error {
	var v validator
	v.num("limit", in.Limit, false, vBetween(1, 10000))
	v.str("exclusiveStartShardId", in.ExclusiveStartShardId, false, vShardID)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateDescribeStreamSummary(in *api.DescribeStreamSummaryInput) error {
	var v validator
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateListShards(in *api.ListShardsInput) error {
	var v validator
	v.str("exclusiveStartShardId", in.ExclusiveStartShardId, false, vShardID)
	v.num("maxResults", in.MaxResults, false, vBetween(1, 10000))
	v.str("nextToken", in.NextToken, false, vNextToken)
	v.stream(in.StreamName, in.StreamARN)
	if f := in.ShardFilter; f != nil {
		v.str("shardFilter.type", f.Type, true, vFilterType)
		v.str("shardFilter.shardId", f.ShardId, false, vShardID)
	}
	return v.err()
}

// validatePutRecord checks in before its stream is known. keyOptional
// lets the partition key be missing, as it may be on an AUTO stream; the
// caller checks again without it once the stream turns out not to be.
func validatePutRecord(in *api.PutRecordInput, keyOptional bool) error {
	var v validator
	v.str("sequenceNumberForOrdering", in.SequenceNumberForOrdering, false, vSeqNum)
	v.str("partitionKey", in.PartitionKey, !keyOptional, vPartitionKey)
	v.str("explicitHashKey", in.ExplicitHashKey, false, vHashKey)
	if in.Data == nil {
		v.null("data")
	}
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

// validatePutRecords is validatePutRecord's counterpart.
func validatePutRecords(in *api.PutRecordsInput, keyOptional bool) error {
	var v validator
	if in.Records == nil {
		v.null("records")
	} else {
		v.listLen("records", len(in.Records), 1, 500, func() string {
			items := make([]string, len(in.Records))
			for i := range items {
				items[i] = vRecordEntryString
			}
			return vListString(items)
		})
		for i := range in.Records {
			if len(v.errs) >= vMaxErrors {
				break // nothing more can be reported
			}
			r := &in.Records[i]
			p := "records." + strconv.Itoa(i+1) + ".member."
			v.str(p+"partitionKey", r.PartitionKey, !keyOptional, vPartitionKey)
			v.str(p+"explicitHashKey", r.ExplicitHashKey, false, vHashKey)
			if r.Data == nil {
				v.null(p + "data")
			}
		}
	}
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateGetShardIterator(in *api.GetShardIteratorInput) error {
	var v validator
	v.str("shardId", in.ShardId, true, vShardID)
	v.str("shardIteratorType", in.ShardIteratorType, true, vIterType)
	v.str("startingSequenceNumber", in.StartingSequenceNumber, false, vSeqNum)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateGetRecords(in *api.GetRecordsInput) error {
	var v validator
	v.num("limit", in.Limit, false, vBetween(1, 10000))
	v.str("shardIterator", in.ShardIterator, true, vIterator)
	v.str("streamARN", in.StreamARN, false, vStreamARN)
	return v.err()
}

// validateIncreaseStreamRetentionPeriod checks the wire range AWS enforces
// before its 24..8760 hour business rule (an InvalidArgumentException).
func validateIncreaseStreamRetentionPeriod(in *api.IncreaseStreamRetentionPeriodInput) error {
	var v validator
	v.num("retentionPeriodHours", in.RetentionPeriodHours, true, vBetween(1, 10000))
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateDecreaseStreamRetentionPeriod(in *api.DecreaseStreamRetentionPeriodInput) error {
	return validateIncreaseStreamRetentionPeriod(in)
}

func validateAddTagsToStream(in *api.AddTagsToStreamInput) error {
	var v validator
	v.tags(in.Tags)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateRemoveTagsFromStream(in *api.RemoveTagsFromStreamInput) error {
	var v validator
	v.tagKeys(in.TagKeys)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateListTagsForStream(in *api.ListTagsForStreamInput) error {
	var v validator
	v.num("limit", in.Limit, false, vBetween(1, 50))
	v.str("exclusiveStartTagKey", in.ExclusiveStartTagKey, false, vTagKey)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateTagResource(in *api.TagResourceInput) error {
	var v validator
	v.tags(in.Tags)
	v.str("resourceARN", in.ResourceARN, true, vResourceARN)
	return v.err()
}

func validateUntagResource(in *api.UntagResourceInput) error {
	var v validator
	v.tagKeys(in.TagKeys)
	v.str("resourceARN", in.ResourceARN, true, vResourceARN)
	return v.err()
}

func validateListTagsForResource(in *api.ListTagsForResourceInput) error {
	var v validator
	v.str("resourceARN", in.ResourceARN, true, vResourceARN)
	return v.err()
}

// validateUpdateMaxRecordSize leaves a missing StreamARN to the operation:
// the model makes it optional.
func validateUpdateMaxRecordSize(in *api.UpdateMaxRecordSizeInput) error {
	var v validator
	v.str("streamARN", in.StreamARN, false, vStreamARN)
	v.num("maxRecordSizeInKiB", in.MaxRecordSizeInKiB, true, vBetween(1024, 10240))
	return v.err()
}

// validateEnableEnhancedMonitoring also serves DisableEnhancedMonitoring,
// which has the same input.
func validateEnableEnhancedMonitoring(in *api.EnableEnhancedMonitoringInput) error {
	var v validator
	v.strList("shardLevelMetrics", in.ShardLevelMetrics, true, 1, 7, vMetricsName)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateSplitShard(in *api.SplitShardInput) error {
	var v validator
	v.str("newStartingHashKey", in.NewStartingHashKey, true, vHashKey)
	v.str("shardToSplit", in.ShardToSplit, true, vShardID)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateMergeShards(in *api.MergeShardsInput) error {
	var v validator
	v.str("adjacentShardToMerge", in.AdjacentShardToMerge, true, vShardID)
	v.str("shardToMerge", in.ShardToMerge, true, vShardID)
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

var vScalingType = vStr{min: vNone, max: vNone, enum: []string{"UNIFORM_SCALING"}}

func validateUpdateShardCount(in *api.UpdateShardCountInput) error {
	var v validator
	v.str("scalingType", in.ScalingType, true, vScalingType)
	v.num("targetShardCount", in.TargetShardCount, true, vAtLeast(1))
	v.stream(in.StreamName, in.StreamARN)
	return v.err()
}

func validateUpdateStreamMode(in *api.UpdateStreamModeInput) error {
	var v validator
	v.str("streamARN", in.StreamARN, true, vStreamARN)
	if in.StreamModeDetails == nil {
		v.null("streamModeDetails")
	} else {
		v.str("streamModeDetails.streamMode", in.StreamModeDetails.StreamMode, true, vStreamMode)
	}
	return v.err()
}
