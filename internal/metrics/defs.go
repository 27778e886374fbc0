package metrics

import (
	"cmp"
	"slices"
)

// Unit is a CloudWatch unit.
type Unit string

// The CloudWatch units used here.
const (
	Bytes        Unit = "Bytes"
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
	None         Unit = "None"
)

// Kind is how a metric is exposed to Prometheus.
type Kind uint8

// Kinds of Prometheus metric.
const (
	// KindCounter is a counter of the sum of the samples.
	KindCounter Kind = iota
	// KindSuccess is a counter with a result label: "success" counts the
	// sum of the samples (each 1 or 0), "failure" the samples minus that.
	KindSuccess
	// KindGauge is the last sample, times Def.Scale.
	KindGauge
	// KindHistogram is a histogram of the samples times Def.Scale
	// (milliseconds to seconds).
	KindHistogram
)

// String is the Prometheus type.
func (k Kind) String() string {
	switch k {
	case KindCounter, KindSuccess:
		return "counter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	}
	return "untyped"
}

// Level is a set of the dimension sets a metric is published with.
type Level uint8

// Dimension sets.
const (
	// LevelStream is {StreamName} in AWS/Kinesis and {DeliveryStreamName}
	// in AWS/Firehose: Series.Shard and Series.Consumer are "".
	LevelStream Level = 1 << iota
	// LevelShard is {StreamName, ShardId}: Series.Shard is set. A series
	// of this level exists only while EnableEnhancedMonitoring enables
	// the metric for the stream.
	LevelShard
	// LevelConsumer is {StreamName, ConsumerName}: Series.Consumer is set.
	LevelConsumer
)

// Def defines one metric: its CloudWatch identity and its Prometheus form.
type Def struct {
	Namespace string // Kinesis or Firehose
	Name      string // AWS's metric name, such as "GetRecords.Latency"
	Unit      Unit
	Levels    Level
	// Sample says what one Observe value is: what the code that counts
	// must pass, and what Minimum, Maximum and Average then mean.
	Sample string

	// Prom is the Prometheus metric name (for a histogram, without the
	// _bucket/_sum/_count suffixes).
	Prom string
	Kind Kind
	// Scale converts a sample to Prometheus's unit (0.001 turns
	// milliseconds into seconds); 0 means 1.
	Scale float64
	Help  string
}

// CloudWatch dimension names.
const (
	DimStreamName         = "StreamName"
	DimShardID            = "ShardId"
	DimConsumerName       = "ConsumerName"
	DimDeliveryStreamName = "DeliveryStreamName"
)

// DimensionSets lists the dimension names of each dimension set the metric
// is published with, each sorted by name.
func (d Def) DimensionSets() [][]string {
	if d.Namespace == Firehose {
		return [][]string{{DimDeliveryStreamName}}
	}
	var sets [][]string
	if d.Levels&LevelStream != 0 {
		sets = append(sets, []string{DimStreamName})
	}
	if d.Levels&LevelShard != 0 {
		sets = append(sets, []string{DimShardID, DimStreamName})
	}
	if d.Levels&LevelConsumer != 0 {
		sets = append(sets, []string{DimConsumerName, DimStreamName})
	}
	return sets
}

// Labels are the Prometheus label names of the metric, in order (the
// result label of a KindSuccess metric comes last).
func (d Def) Labels() []string {
	var l []string
	switch {
	case d.Namespace == Firehose:
		l = []string{"account", "region", "delivery_stream"}
	case d.Levels&LevelConsumer != 0:
		l = []string{"account", "region", "stream", "consumer"}
	case d.Levels&LevelShard != 0:
		// shard="" is the stream-level series.
		l = []string{"account", "region", "stream", "shard"}
	default:
		l = []string{"account", "region", "stream"}
	}
	if d.Kind == KindSuccess {
		l = append(l, "result")
	}
	return l
}

const msToS = 0.001

// defs is every metric counted, by namespace, in AWS's documentation order.
var defs = []Def{
	// AWS/Kinesis, stream level (and shard level where Levels says so).
	{Namespace: Kinesis, Name: "GetRecords.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per successful GetRecords call: bytes of the records returned",
		Prom:   "rivulet_kinesis_get_records_bytes_total", Kind: KindCounter,
		Help: "Bytes returned by GetRecords (AWS/Kinesis GetRecords.Bytes)."},
	{Namespace: Kinesis, Name: "GetRecords.IteratorAgeMilliseconds", Unit: Milliseconds, Levels: LevelStream,
		Sample: "one per successful GetRecords call: now minus the arrival time of the last record returned, 0 if none or at the tip",
		Prom:   "rivulet_kinesis_get_records_iterator_age_seconds", Kind: KindGauge, Scale: msToS,
		Help: "Age of the last record of the latest GetRecords call on the stream (AWS/Kinesis GetRecords.IteratorAgeMilliseconds)."},
	{Namespace: Kinesis, Name: "GetRecords.Latency", Unit: Milliseconds, Levels: LevelStream,
		Sample: "one per GetRecords call that reached the stream: its duration in milliseconds",
		Prom:   "rivulet_kinesis_get_records_latency_seconds", Kind: KindHistogram, Scale: msToS,
		Help: "Duration of GetRecords calls (AWS/Kinesis GetRecords.Latency)."},
	{Namespace: Kinesis, Name: "GetRecords.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per successful GetRecords call: records returned",
		Prom:   "rivulet_kinesis_get_records_records_total", Kind: KindCounter,
		Help: "Records returned by GetRecords (AWS/Kinesis GetRecords.Records)."},
	{Namespace: Kinesis, Name: "GetRecords.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per GetRecords call that reached the stream: 1 if it succeeded, 0 if it failed",
		Prom:   "rivulet_kinesis_get_records_requests_total", Kind: KindSuccess,
		Help: "GetRecords calls by result (AWS/Kinesis GetRecords.Success)."},
	{Namespace: Kinesis, Name: "IncomingBytes", Unit: Bytes, Levels: LevelStream | LevelShard,
		Sample: "one per PutRecord or PutRecords call (per shard written, for the shard level): bytes of the records stored",
		Prom:   "rivulet_kinesis_incoming_bytes_total", Kind: KindCounter,
		Help: "Bytes stored by PutRecord and PutRecords; shard=\"\" is the whole stream (AWS/Kinesis IncomingBytes)."},
	{Namespace: Kinesis, Name: "IncomingRecords", Unit: Count, Levels: LevelStream | LevelShard,
		Sample: "one per PutRecord or PutRecords call (per shard written, for the shard level): records stored",
		Prom:   "rivulet_kinesis_incoming_records_total", Kind: KindCounter,
		Help: "Records stored by PutRecord and PutRecords; shard=\"\" is the whole stream (AWS/Kinesis IncomingRecords)."},
	{Namespace: Kinesis, Name: "PutRecord.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per successful PutRecord call: bytes of the record (data and partition key)",
		Prom:   "rivulet_kinesis_put_record_bytes_total", Kind: KindCounter,
		Help: "Bytes stored by PutRecord (AWS/Kinesis PutRecord.Bytes)."},
	{Namespace: Kinesis, Name: "PutRecord.Latency", Unit: Milliseconds, Levels: LevelStream,
		Sample: "one per PutRecord call that reached the stream: its duration in milliseconds",
		Prom:   "rivulet_kinesis_put_record_latency_seconds", Kind: KindHistogram, Scale: msToS,
		Help: "Duration of PutRecord calls (AWS/Kinesis PutRecord.Latency)."},
	{Namespace: Kinesis, Name: "PutRecord.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecord call that reached the stream: 1 if the record was stored, 0 if not",
		Prom:   "rivulet_kinesis_put_record_requests_total", Kind: KindSuccess,
		Help: "PutRecord calls by result (AWS/Kinesis PutRecord.Success)."},
	{Namespace: Kinesis, Name: "PutRecords.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per PutRecords call that answered: bytes of the records stored",
		Prom:   "rivulet_kinesis_put_records_bytes_total", Kind: KindCounter,
		Help: "Bytes stored by PutRecords (AWS/Kinesis PutRecords.Bytes)."},
	{Namespace: Kinesis, Name: "PutRecords.Latency", Unit: Milliseconds, Levels: LevelStream,
		Sample: "one per PutRecords call that reached the stream: its duration in milliseconds",
		Prom:   "rivulet_kinesis_put_records_latency_seconds", Kind: KindHistogram, Scale: msToS,
		Help: "Duration of PutRecords calls (AWS/Kinesis PutRecords.Latency)."},
	{Namespace: Kinesis, Name: "PutRecords.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecords call that answered: records stored (deprecated by AWS; equals SuccessfulRecords)",
		Prom:   "rivulet_kinesis_put_records_records_total", Kind: KindCounter,
		Help: "Records stored by PutRecords (AWS/Kinesis PutRecords.Records, deprecated)."},
	{Namespace: Kinesis, Name: "PutRecords.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecords call that reached the stream: 1 if at least one record was stored, 0 if none",
		Prom:   "rivulet_kinesis_put_records_requests_total", Kind: KindSuccess,
		Help: "PutRecords calls by result; success means at least one record was stored (AWS/Kinesis PutRecords.Success)."},
	{Namespace: Kinesis, Name: "PutRecords.TotalRecords", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecords call that answered: records in the request",
		Prom:   "rivulet_kinesis_put_records_requested_records_total", Kind: KindCounter,
		Help: "Records sent in PutRecords calls (AWS/Kinesis PutRecords.TotalRecords)."},
	{Namespace: Kinesis, Name: "PutRecords.SuccessfulRecords", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecords call that answered: records stored",
		Prom:   "rivulet_kinesis_put_records_successful_records_total", Kind: KindCounter,
		Help: "Records of PutRecords calls that were stored (AWS/Kinesis PutRecords.SuccessfulRecords)."},
	{Namespace: Kinesis, Name: "PutRecords.FailedRecords", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecords call that answered: records rejected with InternalFailure (not throttled)",
		Prom:   "rivulet_kinesis_put_records_failed_records_total", Kind: KindCounter,
		Help: "Records of PutRecords calls rejected by an internal failure (AWS/Kinesis PutRecords.FailedRecords)."},
	{Namespace: Kinesis, Name: "PutRecords.ThrottledRecords", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecords call that answered: records rejected with ProvisionedThroughputExceededException",
		Prom:   "rivulet_kinesis_put_records_throttled_records_total", Kind: KindCounter,
		Help: "Records of PutRecords calls rejected for throughput (AWS/Kinesis PutRecords.ThrottledRecords)."},
	{Namespace: Kinesis, Name: "ReadProvisionedThroughputExceeded", Unit: Count, Levels: LevelStream | LevelShard,
		Sample: "one per GetRecords call that reached the stream (on its shard, for the shard level): 1 if it was throttled, 0 if not",
		Prom:   "rivulet_kinesis_read_provisioned_throughput_exceeded_total", Kind: KindCounter,
		Help: "GetRecords calls throttled; shard=\"\" is the whole stream (AWS/Kinesis ReadProvisionedThroughputExceeded)."},
	{Namespace: Kinesis, Name: "WriteProvisionedThroughputExceeded", Unit: Count, Levels: LevelStream | LevelShard,
		Sample: "one per PutRecord or PutRecords call that reached the stream (per shard written, for the shard level): records rejected for throughput, 0 if none",
		Prom:   "rivulet_kinesis_write_provisioned_throughput_exceeded_total", Kind: KindCounter,
		Help: "Records rejected for throughput by PutRecord and PutRecords; shard=\"\" is the whole stream (AWS/Kinesis WriteProvisionedThroughputExceeded)."},

	// AWS/Kinesis, enhanced fan-out (StreamName, ConsumerName).
	{Namespace: Kinesis, Name: "SubscribeToShard.RateExceeded", Unit: Count, Levels: LevelConsumer,
		Sample: "one per SubscribeToShard call that named a registered consumer: 1 if it was rejected because the consumer already has a subscription to the shard or calls too often, 0 if not",
		Prom:   "rivulet_kinesis_subscribe_to_shard_rate_exceeded_total", Kind: KindCounter,
		Help: "SubscribeToShard calls rejected by the rate limit or an active subscription (AWS/Kinesis SubscribeToShard.RateExceeded)."},
	{Namespace: Kinesis, Name: "SubscribeToShard.Success", Unit: Count, Levels: LevelConsumer,
		Sample: "one per SubscribeToShard call that named a registered consumer: 1 if the subscription started, 0 if not",
		Prom:   "rivulet_kinesis_subscribe_to_shard_requests_total", Kind: KindSuccess,
		Help: "SubscribeToShard calls by result (AWS/Kinesis SubscribeToShard.Success)."},
	{Namespace: Kinesis, Name: "SubscribeToShardEvent.Bytes", Unit: Bytes, Levels: LevelConsumer,
		Sample: "one per SubscribeToShardEvent sent: bytes of its records",
		Prom:   "rivulet_kinesis_subscribe_to_shard_event_bytes_total", Kind: KindCounter,
		Help: "Bytes sent in SubscribeToShard events (AWS/Kinesis SubscribeToShardEvent.Bytes)."},
	{Namespace: Kinesis, Name: "SubscribeToShardEvent.MillisBehindLatest", Unit: Milliseconds, Levels: LevelConsumer,
		Sample: "one per SubscribeToShardEvent sent: its MillisBehindLatest",
		Prom:   "rivulet_kinesis_subscribe_to_shard_event_behind_latest_seconds", Kind: KindGauge, Scale: msToS,
		Help: "MillisBehindLatest of the latest SubscribeToShard event, in seconds (AWS/Kinesis SubscribeToShardEvent.MillisBehindLatest)."},
	{Namespace: Kinesis, Name: "SubscribeToShardEvent.Records", Unit: Count, Levels: LevelConsumer,
		Sample: "one per SubscribeToShardEvent sent: its records",
		Prom:   "rivulet_kinesis_subscribe_to_shard_event_records_total", Kind: KindCounter,
		Help: "Records sent in SubscribeToShard events (AWS/Kinesis SubscribeToShardEvent.Records)."},
	{Namespace: Kinesis, Name: "SubscribeToShardEvent.Success", Unit: Count, Levels: LevelConsumer,
		Sample: "one per SubscribeToShardEvent: 1 if it was sent, 0 if sending it failed",
		Prom:   "rivulet_kinesis_subscribe_to_shard_events_total", Kind: KindSuccess,
		Help: "SubscribeToShard events by result (AWS/Kinesis SubscribeToShardEvent.Success)."},

	// AWS/Kinesis, shard level only (StreamName, ShardId).
	{Namespace: Kinesis, Name: "IteratorAgeMilliseconds", Unit: Milliseconds, Levels: LevelShard,
		Sample: "one per successful GetRecords call on the shard: now minus the arrival time of the last record returned, 0 if none or at the tip",
		Prom:   "rivulet_kinesis_iterator_age_seconds", Kind: KindGauge, Scale: msToS,
		Help: "Age of the last record of the latest GetRecords call on the shard (AWS/Kinesis IteratorAgeMilliseconds)."},
	{Namespace: Kinesis, Name: "OutgoingBytes", Unit: Bytes, Levels: LevelShard,
		Sample: "one per successful GetRecords call on the shard or SubscribeToShardEvent from it: bytes of the records returned",
		Prom:   "rivulet_kinesis_outgoing_bytes_total", Kind: KindCounter,
		Help: "Bytes read from the shard by GetRecords and SubscribeToShard (AWS/Kinesis OutgoingBytes)."},
	{Namespace: Kinesis, Name: "OutgoingRecords", Unit: Count, Levels: LevelShard,
		Sample: "one per successful GetRecords call on the shard or SubscribeToShardEvent from it: records returned",
		Prom:   "rivulet_kinesis_outgoing_records_total", Kind: KindCounter,
		Help: "Records read from the shard by GetRecords and SubscribeToShard (AWS/Kinesis OutgoingRecords)."},

	// AWS/Firehose (DeliveryStreamName).
	{Namespace: Firehose, Name: "IncomingBytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per PutRecord or PutRecordBatch call that stored records: bytes of the records stored",
		Prom:   "rivulet_firehose_incoming_bytes_total", Kind: KindCounter,
		Help: "Bytes ingested by PutRecord and PutRecordBatch (AWS/Firehose IncomingBytes)."},
	{Namespace: Firehose, Name: "IncomingPutRequests", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecord or PutRecordBatch call that stored records: 1",
		Prom:   "rivulet_firehose_incoming_put_requests_total", Kind: KindCounter,
		Help: "Successful PutRecord and PutRecordBatch calls (AWS/Firehose IncomingPutRequests)."},
	{Namespace: Firehose, Name: "IncomingRecords", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecord or PutRecordBatch call that stored records: records stored",
		Prom:   "rivulet_firehose_incoming_records_total", Kind: KindCounter,
		Help: "Records ingested by PutRecord and PutRecordBatch (AWS/Firehose IncomingRecords)."},
	{Namespace: Firehose, Name: "PutRecord.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per successful PutRecord call: bytes of the record",
		Prom:   "rivulet_firehose_put_record_bytes_total", Kind: KindCounter,
		Help: "Bytes ingested by PutRecord (AWS/Firehose PutRecord.Bytes)."},
	{Namespace: Firehose, Name: "PutRecord.Latency", Unit: Milliseconds, Levels: LevelStream,
		Sample: "one per PutRecord call that reached the delivery stream: its duration in milliseconds",
		Prom:   "rivulet_firehose_put_record_latency_seconds", Kind: KindHistogram, Scale: msToS,
		Help: "Duration of PutRecord calls (AWS/Firehose PutRecord.Latency)."},
	{Namespace: Firehose, Name: "PutRecord.Requests", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecord call that reached the delivery stream: 1",
		Prom:   "rivulet_firehose_put_record_requests_total", Kind: KindCounter,
		Help: "PutRecord calls (AWS/Firehose PutRecord.Requests)."},
	{Namespace: Firehose, Name: "PutRecordBatch.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per PutRecordBatch call that stored records: bytes of the records stored",
		Prom:   "rivulet_firehose_put_record_batch_bytes_total", Kind: KindCounter,
		Help: "Bytes ingested by PutRecordBatch (AWS/Firehose PutRecordBatch.Bytes)."},
	{Namespace: Firehose, Name: "PutRecordBatch.Latency", Unit: Milliseconds, Levels: LevelStream,
		Sample: "one per PutRecordBatch call that reached the delivery stream: its duration in milliseconds",
		Prom:   "rivulet_firehose_put_record_batch_latency_seconds", Kind: KindHistogram, Scale: msToS,
		Help: "Duration of PutRecordBatch calls (AWS/Firehose PutRecordBatch.Latency)."},
	{Namespace: Firehose, Name: "PutRecordBatch.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecordBatch call that stored records: records stored",
		Prom:   "rivulet_firehose_put_record_batch_records_total", Kind: KindCounter,
		Help: "Records ingested by PutRecordBatch (AWS/Firehose PutRecordBatch.Records)."},
	{Namespace: Firehose, Name: "PutRecordBatch.Requests", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecordBatch call that reached the delivery stream: 1",
		Prom:   "rivulet_firehose_put_record_batch_requests_total", Kind: KindCounter,
		Help: "PutRecordBatch calls (AWS/Firehose PutRecordBatch.Requests)."},
	{Namespace: Firehose, Name: "ThrottledRecords", Unit: Count, Levels: LevelStream,
		Sample: "one per PutRecord or PutRecordBatch call that reached the delivery stream: records rejected for throughput, 0 if none",
		Prom:   "rivulet_firehose_throttled_records_total", Kind: KindCounter,
		Help: "Records rejected because ingestion exceeded a delivery stream limit (AWS/Firehose ThrottledRecords)."},
	{Namespace: Firehose, Name: "DeliveryToS3.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per S3 object written: bytes of the records in it",
		Prom:   "rivulet_firehose_delivery_to_s3_bytes_total", Kind: KindCounter,
		Help: "Bytes delivered to S3 (AWS/Firehose DeliveryToS3.Bytes)."},
	{Namespace: Firehose, Name: "DeliveryToS3.DataFreshness", Unit: Seconds, Levels: LevelStream,
		Sample: "one per delivery attempt to S3: age in seconds of the oldest record not yet delivered",
		Prom:   "rivulet_firehose_delivery_to_s3_data_freshness_seconds", Kind: KindGauge,
		Help: "Age of the oldest record not yet delivered to S3, at the latest attempt (AWS/Firehose DeliveryToS3.DataFreshness)."},
	{Namespace: Firehose, Name: "DeliveryToS3.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per S3 object written: records in it",
		Prom:   "rivulet_firehose_delivery_to_s3_records_total", Kind: KindCounter,
		Help: "Records delivered to S3 (AWS/Firehose DeliveryToS3.Records)."},
	{Namespace: Firehose, Name: "DeliveryToS3.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per S3 put attempt: 1 if it succeeded, 0 if not",
		Prom:   "rivulet_firehose_delivery_to_s3_requests_total", Kind: KindSuccess,
		Help: "S3 puts by result (AWS/Firehose DeliveryToS3.Success)."},
	{Namespace: Firehose, Name: "DeliveryToHttpEndpoint.Bytes", Unit: Bytes, Levels: LevelStream,
		Sample: "one per successful HTTP endpoint request: bytes of the records in it",
		Prom:   "rivulet_firehose_delivery_to_http_endpoint_bytes_total", Kind: KindCounter,
		Help: "Bytes delivered to the HTTP endpoint (AWS/Firehose DeliveryToHttpEndpoint.Bytes)."},
	{Namespace: Firehose, Name: "DeliveryToHttpEndpoint.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per successful HTTP endpoint request: records in it",
		Prom:   "rivulet_firehose_delivery_to_http_endpoint_records_total", Kind: KindCounter,
		Help: "Records delivered to the HTTP endpoint (AWS/Firehose DeliveryToHttpEndpoint.Records)."},
	{Namespace: Firehose, Name: "DeliveryToHttpEndpoint.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per HTTP endpoint request attempt: 1 if it succeeded, 0 if not",
		Prom:   "rivulet_firehose_delivery_to_http_endpoint_requests_total", Kind: KindSuccess,
		Help: "HTTP endpoint requests by result (AWS/Firehose DeliveryToHttpEndpoint.Success)."},
	{Namespace: Firehose, Name: "DeliveryToRedshift.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per successful PostgreSQL copy: rows written",
		Prom:   "rivulet_firehose_delivery_to_redshift_records_total", Kind: KindCounter,
		Help: "Records delivered to PostgreSQL, under Redshift's name (AWS/Firehose DeliveryToRedshift.Records)."},
	{Namespace: Firehose, Name: "DeliveryToRedshift.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per PostgreSQL copy attempt: 1 if it succeeded, 0 if not",
		Prom:   "rivulet_firehose_delivery_to_redshift_requests_total", Kind: KindSuccess,
		Help: "PostgreSQL copies by result, under Redshift's name (AWS/Firehose DeliveryToRedshift.Success)."},
	{Namespace: Firehose, Name: "BackupToS3.Records", Unit: Count, Levels: LevelStream,
		Sample: "one per backup S3 object written: records in it",
		Prom:   "rivulet_firehose_backup_to_s3_records_total", Kind: KindCounter,
		Help: "Records backed up to S3 (AWS/Firehose BackupToS3.Records)."},
	{Namespace: Firehose, Name: "BackupToS3.Success", Unit: Count, Levels: LevelStream,
		Sample: "one per backup S3 put attempt: 1 if it succeeded, 0 if not",
		Prom:   "rivulet_firehose_backup_to_s3_requests_total", Kind: KindSuccess,
		Help: "Backup S3 puts by result (AWS/Firehose BackupToS3.Success)."},
}

type defKey struct{ namespace, name string }

// byName indexes defs; built once, read-only after.
var byName = func() map[defKey]*Def {
	m := make(map[defKey]*Def, len(defs))
	for i := range defs {
		m[defKey{defs[i].Namespace, defs[i].Name}] = &defs[i]
	}
	return m
}()

// Lookup returns the definition of AWS metric name in namespace.
func Lookup(namespace, name string) (Def, bool) {
	d, ok := byName[defKey{namespace, name}]
	if !ok {
		return Def{}, false
	}
	return *d, true
}

// Defs returns the definitions of a namespace's metrics (all of them for
// ""), sorted by AWS name.
func Defs(namespace string) []Def {
	var out []Def
	for _, d := range defs {
		if namespace == "" || d.Namespace == namespace {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b Def) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}
