// Package aggregation reads and writes the aggregated-record format of the
// Kinesis Producer Library (KPL), so that many small user records travel in
// one Kinesis record.
//
// An aggregated record is the magic bytes F3 89 9A C2, then a protobuf
// (proto2) AggregatedRecord message, then the 16-byte MD5 of the protobuf
// bytes:
//
//	message AggregatedRecord {
//	  repeated string partition_key_table     = 1;
//	  repeated string explicit_hash_key_table = 2;
//	  repeated Record records                 = 3;
//	}
//	message Record {
//	  required uint64 partition_key_index     = 1;
//	  optional uint64 explicit_hash_key_index = 2;
//	  required bytes  data                    = 3;
//	  repeated Tag    tags                    = 4;
//	}
//	message Tag {
//	  required string key   = 1;
//	  optional string value = 2;
//	}
//
// Writing: an [Aggregator] collects records up to a size and count limit
// (the KPL's AggregationMaxSize and AggregationMaxCount), keeps the encoded
// size exactly, and drains them into one blob. Partition keys and explicit
// hash keys are stored once each, in first-seen order, as the KPL does.
// [Encode] is the same encoding without limits or validation.
//
// Reading: [Deaggregate] decodes a blob strictly. [DeaggregateRecord]
// follows the Kinesis Client Library's rules for a record read from a
// shard: a record without the magic, with a bad checksum or with a protobuf
// that does not parse is passed through as one plain record; user records
// carry the outer sequence number and sub-sequence numbers 0, 1, 2...; user
// records whose hash key falls outside the shard's hash key range are
// dropped.
//
// The package is self-contained: it depends only on the standard library
// and google.golang.org/protobuf/encoding/protowire.
package aggregation
