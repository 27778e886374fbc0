package process

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxSubRecords caps de-aggregation, as the dynamic-partitioning guide
// does ("capped at 500 per record").
const maxSubRecords = 500

// maxDecompressed bounds a gunzipped record, so that a small record cannot
// expand without limit.
const maxDecompressed = 64 << 20

// deaggregator splits records into sub-records: consecutive JSON objects,
// or pieces between delimiters when delimiter is set.
type deaggregator struct {
	delimiter []byte
}

func (d *deaggregator) run(recs []Record, failed []Failed) ([]Record, []Failed) {
	out := make([]Record, 0, len(recs))
	for _, r := range recs {
		var parts [][]byte
		var err error
		if d.delimiter != nil {
			parts, err = SplitDelimited(r.Data, d.delimiter)
		} else {
			parts, err = SplitJSON(r.Data)
		}
		if err != nil {
			failed = append(failed, Failed{Record: r, Code: CodeDeAggregationFailed, Message: err.Error(), Attempts: 1})
			continue
		}
		for i, p := range parts {
			sub := r
			sub.ID = r.ID + "." + strconv.Itoa(i)
			sub.Data = p
			if r.Kinesis != nil {
				k := *r.Kinesis
				sub.Kinesis = &k
			}
			out = append(out, sub)
		}
	}
	return out, failed
}

// SplitJSON splits data holding concatenated JSON objects, with or without
// whitespace between them, into one slice per object. Arrays and other
// values are refused, as Firehose refuses them.
func SplitJSON(data []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var parts [][]byte
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("record is not a sequence of JSON objects: %v", err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			return nil, fmt.Errorf("record holds a JSON value that is not an object at sub-record %d", len(parts))
		}
		if len(parts) == maxSubRecords {
			return nil, fmt.Errorf("record holds more than %d JSON objects", maxSubRecords)
		}
		parts = append(parts, bytes.Clone(raw))
	}
	if len(parts) == 0 {
		return nil, errors.New("record holds no JSON object")
	}
	return parts, nil
}

// SplitDelimited splits data at every delimiter, leaving out empty pieces
// (so a trailing delimiter adds no empty record).
func SplitDelimited(data, delimiter []byte) ([][]byte, error) {
	if len(delimiter) == 0 {
		return nil, errors.New("empty delimiter")
	}
	var parts [][]byte
	for _, p := range bytes.Split(data, delimiter) {
		if len(p) == 0 {
			continue
		}
		if len(parts) == maxSubRecords {
			return nil, fmt.Errorf("record holds more than %d delimited sub-records", maxSubRecords)
		}
		parts = append(parts, bytes.Clone(p))
	}
	if len(parts) == 0 {
		return nil, errors.New("record holds no data between delimiters")
	}
	return parts, nil
}

func decompressAll(recs []Record, failed []Failed) ([]Record, []Failed) {
	kept := recs[:0]
	for _, r := range recs {
		data, err := gunzip(r.Data)
		if err != nil {
			failed = append(failed, Failed{Record: r, Code: CodeDecompressionFailed, Message: err.Error(), Attempts: 1})
			continue
		}
		r.Data = data
		kept = append(kept, r)
	}
	return kept, failed
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("record is not GZIP data: %v", err)
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxDecompressed+1))
	if err != nil {
		return nil, fmt.Errorf("record is not valid GZIP data: %v", err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("record decompresses to more than %d bytes", maxDecompressed)
	}
	return out, nil
}
