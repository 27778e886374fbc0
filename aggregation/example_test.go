package aggregation_test

import (
	"fmt"

	"github.com/rivulet/rivulet/aggregation"
)

func ExampleAggregator() {
	var agg aggregation.Aggregator // default limits: 51200 bytes, 2^32-1 records
	for i, key := range []string{"user-1", "user-2", "user-1"} {
		r := aggregation.Record{PartitionKey: key, Data: fmt.Appendf(nil, "event %d", i)}
		if err := agg.Add(r); err != nil {
			// ErrFull: Drain, send, and Add again.
			panic(err)
		}
	}
	fmt.Println(agg.Count(), "records,", agg.Size(), "bytes")

	blob, partitionKey, _, err := agg.Drain()
	if err != nil {
		panic(err)
	}
	// A producer sends blob with partitionKey; a consumer reads it back.
	users, err := aggregation.DeaggregateRecord(aggregation.KinesisRecord{
		SequenceNumber: "49590338271490256608559692538361571095921575989136588898",
		PartitionKey:   partitionKey,
		Data:           blob,
	}, nil)
	if err != nil {
		panic(err)
	}
	for _, u := range users {
		fmt.Printf("%d %s %q\n", u.SubSequenceNumber, u.PartitionKey, u.Data)
	}
	// Output:
	// 3 records, 75 bytes
	// 0 user-1 "event 0"
	// 1 user-2 "event 1"
	// 2 user-1 "event 2"
}
