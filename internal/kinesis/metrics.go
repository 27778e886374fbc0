package kinesis

// AWS/Kinesis metrics, counted where the data path does its work.
//
// One observation is one sample of CloudWatch's statistic set; what it
// holds follows AWS's definitions (Monitoring the Amazon Kinesis Data
// Streams Service with Amazon CloudWatch):
//
//   - per put call (PutRecord, PutRecords) on a stream that exists:
//     <Op>.Latency in ms and <Op>.Success 1 or 0 (PutRecords: 1 when at
//     least one record was stored), WriteProvisionedThroughputExceeded
//     the records refused for throughput in that call (0 or more);
//   - per put call that stored records: IncomingBytes and
//     IncomingRecords, what it stored; PutRecord.Bytes likewise;
//   - per PutRecords call that answered: PutRecords.Bytes and
//     .Records (stored), .TotalRecords, .SuccessfulRecords,
//     .FailedRecords (internal failures) and .ThrottledRecords;
//   - per GetRecords call on a shard that exists: .Latency, .Success
//     1 or 0, ReadProvisionedThroughputExceeded 1 or 0; when it answered,
//     .Bytes, .Records and .IteratorAgeMilliseconds, the age of the last
//     record returned (0 when none was or it is the shard's latest: the
//     reader is caught up);
//   - per SubscribeToShard call on a consumer that exists:
//     SubscribeToShard.Success and .RateExceeded, 1 or 0; per event
//     written, SubscribeToShardEvent.Bytes, .Records,
//     .MillisBehindLatest and .Success (0 when the write failed);
//   - shard level, only while EnableEnhancedMonitoring has the name on:
//     IncomingBytes/IncomingRecords per shard a put stored on,
//     WriteProvisionedThroughputExceeded per shard a put wrote to or was
//     refused on, OutgoingBytes/OutgoingRecords per GetRecords answer or
//     event, ReadProvisionedThroughputExceeded and
//     IteratorAgeMilliseconds as at stream level.
//
// Bytes are data plus partition key: AWS counts the partition key
// toward a record's size and the shard's 1 MiB/s, and IncomingBytes is
// the metric its throttling guidance compares with that limit. Calls
// that fail before their stream (or shard, or consumer) is known count
// nothing, so unknown names never become series.

import (
	"time"

	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// AWS's metric names.
const (
	mIncomingBytes    = "IncomingBytes"
	mIncomingRecords  = "IncomingRecords"
	mOutgoingBytes    = "OutgoingBytes"
	mOutgoingRecords  = "OutgoingRecords"
	mWriteExceeded    = "WriteProvisionedThroughputExceeded"
	mReadExceeded     = "ReadProvisionedThroughputExceeded"
	mIteratorAge      = "IteratorAgeMilliseconds"
	mPutRecordBytes   = "PutRecord.Bytes"
	mPutRecordLatency = "PutRecord.Latency"
	mPutRecordSuccess = "PutRecord.Success"

	mPutRecordsBytes      = "PutRecords.Bytes"
	mPutRecordsLatency    = "PutRecords.Latency"
	mPutRecordsSuccess    = "PutRecords.Success"
	mPutRecordsRecords    = "PutRecords.Records"
	mPutRecordsTotal      = "PutRecords.TotalRecords"
	mPutRecordsSuccessful = "PutRecords.SuccessfulRecords"
	mPutRecordsFailed     = "PutRecords.FailedRecords"
	mPutRecordsThrottled  = "PutRecords.ThrottledRecords"

	mGetRecordsBytes   = "GetRecords.Bytes"
	mGetRecordsRecords = "GetRecords.Records"
	mGetRecordsLatency = "GetRecords.Latency"
	mGetRecordsSuccess = "GetRecords.Success"
	mGetRecordsAge     = "GetRecords.IteratorAgeMilliseconds"

	mSubscribeRateExceeded = "SubscribeToShard.RateExceeded"
	mSubscribeSuccess      = "SubscribeToShard.Success"
	mEventBytes            = "SubscribeToShardEvent.Bytes"
	mEventRecords          = "SubscribeToShardEvent.Records"
	mEventBehind           = "SubscribeToShardEvent.MillisBehindLatest"
	mEventSuccess          = "SubscribeToShardEvent.Success"
)

// errThrottledCode is the PutRecords entry error of a throttled record.
const errThrottledCode = "ProvisionedThroughputExceededException"

// recorder observes one call's metrics of one stream (or one consumer of
// it). The zero recorder, or one without a registry, counts nothing.
type recorder struct {
	reg    *metrics.Registry
	series metrics.Series // Namespace, Account, Region, Stream (and Consumer)
	levels []string       // the stream's enabled shard-level metrics
}

// recorderFor is the recorder of a stream, as st says its shard-level metrics
// are set.
func (s *Service) recorderFor(k store.StreamKey, st *store.Stream) recorder {
	if s.cfg.Metrics == nil {
		return recorder{}
	}
	return recorder{
		reg:    s.cfg.Metrics,
		series: metrics.Series{Namespace: metrics.Kinesis, Account: k.Account, Region: k.Region, Stream: k.Name},
		levels: st.ShardLevelMetrics,
	}
}

func (m *recorder) on() bool { return m.reg != nil }

// stream observes a stream-level (or, with a consumer, fan-out) metric.
func (m *recorder) stream(name string, v float64) {
	if m.reg == nil {
		return
	}
	s := m.series
	s.Metric = name
	m.reg.Observe(s, v)
}

// shardOn reports whether the stream has the shard-level metric on.
func (m *recorder) shardOn(name string) bool {
	return m.reg != nil && metrics.ShardLevel(m.levels, name)
}

// shard observes a shard-level metric of shardID when it is enabled.
func (m *recorder) shard(shardID, name string, v float64) {
	if !m.shardOn(name) {
		return
	}
	s := m.series
	s.Shard, s.Consumer, s.Metric = shardID, "", name
	m.reg.Observe(s, v)
}

// anyShardLevel reports whether any shard-level metric is on, so that
// callers skip building shard IDs otherwise.
func (m *recorder) anyShardLevel() bool { return m.reg != nil && len(m.levels) > 0 }

// startClock is the start of a call's latency, or zero with metrics off.
func (s *Service) startClock() time.Time {
	if s.cfg.Metrics == nil {
		return time.Time{}
	}
	return time.Now()
}

// millis is the time since start in (fractional) milliseconds.
func millis(start time.Time) float64 {
	return float64(time.Since(start)) / float64(time.Millisecond)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// putRecordMetrics observes one PutRecord call on an existing stream:
// stored is whether the record was stored (on shard, size bytes),
// throttled whether it was refused for throughput (on shard).
func (m *recorder) putRecord(start time.Time, shard int, size int, stored, throttled bool) {
	if !m.on() {
		return
	}
	m.stream(mPutRecordLatency, millis(start))
	m.stream(mPutRecordSuccess, boolValue(stored))
	m.stream(mWriteExceeded, boolValue(throttled))
	if stored {
		m.stream(mPutRecordBytes, float64(size))
		m.stream(mIncomingBytes, float64(size))
		m.stream(mIncomingRecords, 1)
	}
	if shard < 0 || !(stored || throttled) || !m.anyShardLevel() {
		return
	}
	id := ShardID(shard)
	m.shard(id, mWriteExceeded, boolValue(throttled))
	if stored {
		m.shard(id, mIncomingBytes, float64(size))
		m.shard(id, mIncomingRecords, 1)
	}
}

// putTally counts one PutRecords call's outcome.
type putTally struct {
	stored, storedBytes int
	failed, throttled   int
}

// putRecords observes one PutRecords call on an existing stream; t is
// nil when the call failed as a whole.
func (m *recorder) putRecords(start time.Time, total int, t *putTally) {
	if !m.on() {
		return
	}
	m.stream(mPutRecordsLatency, millis(start))
	if t == nil {
		m.stream(mPutRecordsSuccess, 0)
		m.stream(mWriteExceeded, 0)
		return
	}
	m.stream(mPutRecordsSuccess, boolValue(t.stored > 0))
	m.stream(mWriteExceeded, float64(t.throttled))
	m.stream(mPutRecordsBytes, float64(t.storedBytes))
	m.stream(mPutRecordsRecords, float64(t.stored))
	m.stream(mPutRecordsTotal, float64(total))
	m.stream(mPutRecordsSuccessful, float64(t.stored))
	m.stream(mPutRecordsFailed, float64(t.failed))
	m.stream(mPutRecordsThrottled, float64(t.throttled))
	if t.stored > 0 {
		m.stream(mIncomingBytes, float64(t.storedBytes))
		m.stream(mIncomingRecords, float64(t.stored))
	}
}

// putShard observes what one PutRecords call did on one shard.
func (m *recorder) putShard(shard int, stored, storedBytes, throttled int) {
	if !m.anyShardLevel() {
		return
	}
	id := ShardID(shard)
	m.shard(id, mWriteExceeded, float64(throttled))
	if stored > 0 {
		m.shard(id, mIncomingBytes, float64(storedBytes))
		m.shard(id, mIncomingRecords, float64(stored))
	}
}

// getRecords observes one GetRecords call on an existing shard. res is
// nil when the call failed; age is the iterator age in ms.
func (m *recorder) getRecords(start time.Time, shardID string, throttled bool, res *readResult, age float64) {
	if !m.on() {
		return
	}
	m.stream(mGetRecordsLatency, millis(start))
	m.stream(mGetRecordsSuccess, boolValue(res != nil))
	m.stream(mReadExceeded, boolValue(throttled))
	if res != nil {
		m.stream(mGetRecordsBytes, float64(res.Bytes))
		m.stream(mGetRecordsRecords, float64(len(res.Records)))
		m.stream(mGetRecordsAge, age)
	}
	m.shard(shardID, mReadExceeded, boolValue(throttled))
	if res != nil {
		m.shard(shardID, mOutgoingBytes, float64(res.Bytes))
		m.shard(shardID, mOutgoingRecords, float64(len(res.Records)))
		m.shard(shardID, mIteratorAge, age)
	}
}

// iteratorAge is AWS's age of a GetRecords answer: how long ago its last
// record arrived; 0 when it returned none or reached the latest record,
// which is what a reader keeping up sees.
func iteratorAge(now time.Time, res *readResult, atTip bool) float64 {
	if atTip || len(res.Records) == 0 || res.LastTime.IsZero() {
		return 0
	}
	return float64(max(0, now.Sub(res.LastTime).Milliseconds()))
}

// consumerRecorder is the recorder of an enhanced fan-out consumer's series.
func (s *Service) consumerRecorder(r consumerRef, st *store.Stream) recorder {
	m := s.recorderFor(r.Stream, st)
	m.series.Consumer = r.Name
	return m
}

// subscribe observes one SubscribeToShard call of an existing consumer.
func (m *recorder) subscribe(ok, rateExceeded bool) {
	m.stream(mSubscribeSuccess, boolValue(ok))
	m.stream(mSubscribeRateExceeded, boolValue(rateExceeded))
}

// event observes one SubscribeToShardEvent written (ok) or not.
func (m *recorder) event(shardID string, records, bytes int, behind int64, ok bool) {
	if !m.on() {
		return
	}
	m.stream(mEventSuccess, boolValue(ok))
	if !ok {
		return
	}
	m.stream(mEventBytes, float64(bytes))
	m.stream(mEventRecords, float64(records))
	m.stream(mEventBehind, float64(behind))
	m.shard(shardID, mOutgoingBytes, float64(bytes))
	m.shard(shardID, mOutgoingRecords, float64(records))
}
