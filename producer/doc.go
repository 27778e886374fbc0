// Package producer writes records to a Kinesis data stream the way the
// Kinesis Producer Library (KPL) does, on top of aws-sdk-go-v2, so it works
// against AWS and against Rivulet alike.
//
// Put queues a user record and returns a Future; a dispatcher goroutine
// collects queued records into PutRecords calls (at most 500 entries and
// CollectionMaxSize bytes each) once a call's worth is queued or a record
// has waited RecordMaxBufferedTime. With aggregation on (the default),
// records predicted to land on the same shard are packed into KPL
// aggregated records; the prediction uses the shard map from ListShards,
// listed again when a record lands on another shard than predicted. Each
// shard's sends are held to RateLimit percent of its write limits by token
// buckets. Entries refused with ProvisionedThroughputExceededException or
// InternalFailure, and whole calls that fail, are retried with exponential
// backoff and jitter until RecordTTL, after which records fail with
// ErrExpired.
//
// Delivery is at least once: a record may be written twice when a call's
// outcome is unknown (a timeout or a lost response) and the call is
// retried, and when an aggregated record lands on a shard created by a
// reshard after the prediction. docs/PRODUCER.md lists the cases.
//
// Close the Producer to flush it and stop its goroutines.
package producer
