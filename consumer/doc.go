// Package consumer is a Kinesis Client Library (KCL) for Go: workers that
// share a stream's shards through a lease table in DynamoDB, with the Java
// KCL 2.x's semantics and lease table schema. It speaks only the public
// Kinesis and DynamoDB APIs through aws-sdk-go-v2, so it runs against AWS,
// against Rivulet, and against any DynamoDB implementation.
//
// A [Worker] runs until its context ends. Each shard has a lease (an item
// keyed by the shard id); a worker renews the leases it holds every
// FailoverTime/3 − 25 ms, takes expired ones (a counter unchanged for
// FailoverTime on the worker's own clock) and steals from the most loaded
// worker to even out the load. For each lease it holds, it reads the shard
// (GetRecords polling or enhanced fan-out), de-aggregates KPL records and
// hands them, in order, to that shard's [Processor]:
//
//	Initialize → ProcessRecords… → ShardEnded | LeaseLost | ShutdownRequested
//
// Processors record progress with a [Checkpointer]. Delivery is at least
// once: records after the last checkpoint are delivered again when the
// lease changes hands without a checkpoint (a crash, a lost lease, a
// steal). A child shard is processed only after all its parents reached
// SHARD_END, so each partition key stays in order across splits and
// merges.
//
// docs/CONSUMER.md describes the semantics, the options and the lease
// table.
package consumer
