package aggregation

import (
	"bytes"
	"errors"
	"testing"
)

func FuzzDeaggregate(f *testing.F) {
	// frame=true wraps data as a message with a valid checksum, so the
	// fuzzer reaches the protobuf parser instead of stopping at the MD5.
	for _, g := range goldens {
		f.Add(mustHex(f, g.blob), false)
	}
	f.Add(Encode(nil), false)
	f.Add(Encode([]Record{{PartitionKey: "ключ", ExplicitHashKey: "99", Data: bytes.Repeat([]byte{1}, 200)}}), false)
	f.Add([]byte("plain"), false)
	f.Add([]byte{}, false)
	for _, msg := range []string{
		"0a0161 7b 0801 7c 1a05 0800 1a0178",
		"0a0161 1a0c 0800 1a0178 2205 0a016b 1200",
		"0a0161 1a05 0801 1a0178",
		"0a0161 0a0162 120131 120132 1a07 0800 1000 1a0178 1a04 0801 1a00",
		"0a80",
	} {
		f.Add(mustHex(f, msg), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, frame bool) {
		if frame {
			data = frameMsg(data)
		}
		recs, err := Deaggregate(data)
		if IsAggregated(data) != (err == nil || errors.Is(err, ErrMalformed)) {
			t.Fatalf("IsAggregated disagrees with Deaggregate error %v", err)
		}
		users, rerr := DeaggregateRecord(KinesisRecord{SequenceNumber: "7", PartitionKey: "outer", Data: data}, nil)
		if rerr != nil {
			t.Fatal(rerr)
		}
		if err != nil {
			if recs != nil {
				t.Fatal("records returned with an error")
			}
			if len(users) != 1 || users[0].Aggregated || !bytes.Equal(users[0].Data, data) || users[0].PartitionKey != "outer" {
				t.Fatalf("undecodable record not passed through: %+v", users)
			}
			return
		}
		if len(users) > len(recs) {
			t.Fatalf("%d user records from %d records", len(users), len(recs))
		}
		for _, u := range users {
			if !u.Aggregated || u.SequenceNumber != "7" || u.SubSequenceNumber >= uint64(len(recs)) {
				t.Fatalf("user record %+v", u)
			}
			sameRecords(t, []Record{u.Record}, recs[u.SubSequenceNumber:u.SubSequenceNumber+1])
		}
		// Whatever decodes re-encodes to the same records.
		again, err := Deaggregate(Encode(recs))
		if len(recs) == 0 {
			if !errors.Is(err, ErrNotAggregated) {
				t.Fatalf("empty re-encoding: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		sameRecords(t, again, recs)
	})
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("pk", "pk", "", []byte("a"), []byte("bc"), uint16(100))
	f.Add("ключ", "🙂", "340282366920938463463374607431768211455", []byte{}, []byte{0, 1, 2}, uint16(64))
	f.Add("a", "b", "0", bytes.Repeat([]byte{9}, 300), []byte("x"), uint16(51200))
	f.Add("", "\xff", "01", []byte("x"), []byte("y"), uint16(0))
	f.Fuzz(func(t *testing.T, pk1, pk2, ehk string, d1, d2 []byte, maxSize uint16) {
		recs := []Record{
			{PartitionKey: pk1, Data: d1},
			{PartitionKey: pk2, ExplicitHashKey: ehk, Data: d2},
			{PartitionKey: pk1, ExplicitHashKey: ehk, Data: d2},
			{PartitionKey: pk2, Data: d1},
		}
		if blob := Encode(recs); ValidateRecord(recs[1]) == nil {
			got, err := Deaggregate(blob)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, got, recs)
		}

		a, err := NewAggregator(WithMaxSize(int(maxSize)))
		if err != nil {
			if !errors.Is(err, ErrInvalidOption) || (maxSize >= MinMaxSize) {
				t.Fatalf("WithMaxSize(%d): %v", maxSize, err)
			}
			return
		}
		var added, decoded []Record
		drain := func() {
			size := a.Size()
			blob, pk, ehk, err := a.Drain()
			if err != nil {
				t.Fatal(err)
			}
			if len(blob) != size || size > int(maxSize) || pk != added[0].PartitionKey || ehk != added[0].ExplicitHashKey {
				t.Fatalf("blob %d bytes, Size %d, limit %d, keys %q %q", len(blob), size, maxSize, pk, ehk)
			}
			got, err := Deaggregate(blob)
			if err != nil {
				t.Fatal(err)
			}
			sameRecords(t, got, added)
			decoded = append(decoded, got...)
			added = nil
		}
		var kept []Record
		for _, r := range recs {
			err := a.Add(r)
			if errors.Is(err, ErrFull) {
				drain()
				err = a.Add(r)
			}
			switch {
			case err == nil:
				added = append(added, r)
				kept = append(kept, r)
			case errors.Is(err, ErrInvalidRecord):
				if ValidateRecord(r) == nil {
					t.Fatalf("valid record refused: %v", err)
				}
			case errors.Is(err, ErrRecordTooLarge):
				if a.Count() != 0 || a.SizeWith(r) <= int(maxSize) {
					t.Fatalf("ErrRecordTooLarge with Count %d, SizeWith %d", a.Count(), a.SizeWith(r))
				}
			default:
				t.Fatal(err)
			}
		}
		if a.Count() > 0 {
			drain()
		}
		sameRecords(t, decoded, kept)
	})
}
