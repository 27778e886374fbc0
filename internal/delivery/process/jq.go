package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/itchyny/gojq"
)

// maxPartitionKeys is the most keys one query may produce (the
// dynamic-partitioning guide).
const maxPartitionKeys = 50

// evalTimeout bounds one record's evaluation, so that a query such as
// `repeat(.)` cannot stall delivery.
var evalTimeout = time.Second

type extractor struct {
	code *gojq.Code
}

// compileQuery parses and compiles a JQ program. gojq gives no access to
// the environment unless asked, so `env` and `$ENV` are empty.
func compileQuery(q string) (code *gojq.Code, err error) {
	defer func() {
		if r := recover(); r != nil {
			code, err = nil, fmt.Errorf("query could not be compiled: %v", r)
		}
	}()
	parsed, err := gojq.Parse(q)
	if err != nil {
		return nil, err
	}
	return gojq.Compile(parsed)
}

func newExtractor(q string) (*extractor, error) {
	code, err := compileQuery(q)
	if err != nil {
		return nil, invalid("Processor parameter MetadataExtractionQuery is not a valid JQ expression: %v", err)
	}
	return &extractor{code: code}, nil
}

// eval runs the query on one record and returns its partition keys, or a
// message saying why there are none.
func (x *extractor) eval(ctx context.Context, data []byte) (keys map[string]string, msg string) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, "Non JSON record provided: " + err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			keys, msg = nil, fmt.Sprintf("JQ query failed: %v", r)
		}
	}()
	iter := x.code.RunWithContext(ctx, v)
	first, ok := iter.Next()
	if !ok {
		return nil, "JQ query produced no result"
	}
	if err, isErr := first.(error); isErr {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return nil, "JQ query did not finish in time"
		}
		return nil, "JQ query failed: " + err.Error()
	}
	if _, more := iter.Next(); more {
		return nil, "JQ query produced more than one result"
	}
	obj, isObj := first.(map[string]any)
	if !isObj {
		return nil, fmt.Sprintf("JQ query must produce a JSON object, not %s", typeName(first))
	}
	if len(obj) > maxPartitionKeys {
		return nil, fmt.Sprintf("JQ query produced %d partition keys; at most %d are allowed", len(obj), maxPartitionKeys)
	}
	keys = make(map[string]string, len(obj))
	for k, val := range obj {
		s, ok := scalarString(val)
		if !ok {
			return nil, fmt.Sprintf("partition key %q has a %s value; partition keys must be strings, numbers or booleans", k, typeName(val))
		}
		if s == "" {
			return nil, fmt.Sprintf("partitionKeys values must not be null or empty (key %q)", k)
		}
		keys[k] = s
	}
	return keys, ""
}

// decodeJSON reads exactly one JSON value, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

// scalarString renders a partition-key value as jq prints it: numbers
// without a needless fraction (7, not 7.0), strings unquoted.
func scalarString(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", true
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case int:
		return strconv.Itoa(v), true
	case *big.Int:
		return v.String(), true
	case float64:
		return formatFloat(v), true
	case json.Number:
		s := v.String()
		if isIntegerLiteral(s) {
			return s, true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return "", false
		}
		return formatFloat(f), true
	}
	return "", false
}

func formatFloat(f float64) string {
	if math.IsNaN(f) {
		return "" // jq prints null
	}
	b, err := gojq.Marshal(f)
	if err != nil {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return string(b)
}

func isIntegerLiteral(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "number"
}
