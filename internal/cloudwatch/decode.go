package cloudwatch

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// protocol is how a request arrived.
type protocol int

const (
	protoQuery protocol = iota // awsQuery: form body, XML response
	protoJSON                  // awsJson1_0
	protoCBOR                  // Smithy RPC v2 CBOR
)

// A request body decodes into a tree of members first, then into the
// operation's input (readers below), so that the three protocols share
// one description of each input.
//
// awsQuery trees are *qnode: a form key "Dimensions.member.1.Name" is the
// path Dimensions → member → 1 → Name, its value a string. JSON and CBOR
// trees are map[string]any, []any and scalars.

// qnode is one member of a form body.
type qnode struct {
	val  string
	set  bool
	kids map[string]*qnode
}

// Bounds on a form body's shape; a larger one is refused rather than
// built.
const (
	maxFormKeys  = 20000
	maxFormDepth = 16
)

// parseForm reads a form-encoded body into a tree and its Action and
// Version.
func parseForm(body []byte) (root *qnode, err error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, &Error{Kind: ErrMalformedQuery, Message: "The query string is malformed."}
	}
	if len(vals) > maxFormKeys {
		return nil, &Error{Kind: ErrMalformedQuery, Message: "The query string has too many parameters."}
	}
	root = &qnode{}
	for k, vs := range vals {
		parts := strings.Split(k, ".")
		if len(parts) > maxFormDepth {
			return nil, &Error{Kind: ErrMalformedQuery, Message: "The parameter " + k + " is nested too deeply."}
		}
		n := root
		for _, p := range parts {
			if n.kids == nil {
				n.kids = map[string]*qnode{}
			}
			c := n.kids[p]
			if c == nil {
				c = &qnode{}
				n.kids[p] = c
			}
			n = c
		}
		n.val, n.set = vs[len(vs)-1], true
	}
	return root, nil
}

// decodeJSONBody reads an awsJson1_0 body; empty means {}.
func decodeJSONBody(body []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, &Error{Kind: ErrSerialization, Message: "The request body is not valid JSON."}
	}
	if d.More() {
		return nil, &Error{Kind: ErrSerialization, Message: "The request body is not valid JSON."}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Kind: ErrSerialization, Message: "Start of structure or map expected."}
	}
	return m, nil
}

var cborDec = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		DefaultMapType:   reflect.TypeOf(map[string]any(nil)),
		TimeTagToAny:     cbor.TimeTagToTime,
		MaxNestedLevels:  32,
		MaxArrayElements: 100000,
		MaxMapPairs:      100000,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthAllowed,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return m
}()

// decodeCBORBody reads a Smithy RPC v2 CBOR body; empty means {}.
func decodeCBORBody(body []byte) (map[string]any, error) {
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	var v any
	if err := cborDec.Unmarshal(body, &v); err != nil {
		return nil, &Error{Kind: ErrSerialization, Message: "The request body is not valid CBOR."}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Kind: ErrSerialization, Message: "Start of structure or map expected."}
	}
	return m, nil
}

// reader takes members out of a tree, keeping the first error. Paths in
// messages are awsQuery's ("Dimensions.member.1.Name") in every
// protocol, as CloudWatch words them.
type reader struct {
	p   protocol
	err error
}

// node is a position in a tree: a *qnode or a JSON/CBOR value.
type node struct {
	v    any
	path string
}

func (r *reader) fail(kind error, format string, args ...any) {
	if r.err == nil {
		r.err = errorf(kind, format, args...)
	}
}

func (r *reader) typeError(path, want string) {
	if r.p == protoQuery {
		r.fail(ErrInvalidParameterValue, "The value for parameter %s is not a valid %s.", path, want)
		return
	}
	article := "a"
	if strings.ContainsRune("aeiou", rune(want[0])) {
		article = "an"
	}
	r.fail(ErrSerialization, "The value of %s is not %s %s.", path, article, want)
}

// member is n's member name, or false when absent (or null).
func (r *reader) member(n node, name string) (node, bool) {
	path := name
	if n.path != "" {
		path = n.path + "." + name
	}
	switch v := n.v.(type) {
	case *qnode:
		c, ok := v.kids[name]
		if !ok {
			return node{}, false
		}
		return node{c, path}, true
	case map[string]any:
		c, ok := v[name]
		if !ok || c == nil {
			return node{}, false
		}
		return node{c, path}, true
	}
	return node{}, false
}

// structure is a member that must be a structure.
func (r *reader) structure(n node, name string) (node, bool) {
	c, ok := r.member(n, name)
	if !ok {
		return node{}, false
	}
	switch c.v.(type) {
	case *qnode:
		return c, true
	case map[string]any:
		return c, true
	}
	r.typeError(c.path, "structure")
	return node{}, false
}

// list is a member that must be a list; nil when absent. Query lists are
// "member.N" keys, in the order of N.
func (r *reader) list(n node, name string) []node {
	c, ok := r.member(n, name)
	if !ok {
		return nil
	}
	switch v := c.v.(type) {
	case *qnode:
		m := v.kids["member"]
		if m == nil {
			if len(v.kids) > 0 || v.val != "" {
				r.typeError(c.path, "list")
			}
			return []node{}
		}
		idx := make([]int, 0, len(m.kids))
		for k := range m.kids {
			i, err := strconv.Atoi(k)
			if err != nil || i < 1 || strconv.Itoa(i) != k {
				r.fail(ErrInvalidParameterValue, "The parameter %s.member.%s is not a valid list index.", c.path, k)
				return nil
			}
			idx = append(idx, i)
		}
		slices.Sort(idx)
		out := make([]node, len(idx))
		for j, i := range idx {
			k := strconv.Itoa(i)
			out[j] = node{m.kids[k], c.path + ".member." + k}
		}
		return out
	case []any:
		out := make([]node, 0, len(v))
		for _, e := range v {
			out = append(out, node{e, c.path + ".member." + strconv.Itoa(len(out)+1)})
		}
		return out
	}
	r.typeError(c.path, "list")
	return nil
}

// scalar is a query leaf's string, or a JSON/CBOR value.
func (r *reader) scalar(n node) (any, bool) {
	if q, ok := n.v.(*qnode); ok {
		if !q.set || len(q.kids) > 0 {
			r.typeError(n.path, "value")
			return nil, false
		}
		return q.val, true
	}
	return n.v, true
}

func (r *reader) strValue(n node) *string {
	v, ok := r.scalar(n)
	if !ok {
		return nil
	}
	s, ok := v.(string)
	if !ok {
		r.typeError(n.path, "string")
		return nil
	}
	return &s
}

func (r *reader) str(n node, name string) *string {
	c, ok := r.member(n, name)
	if !ok {
		return nil
	}
	return r.strValue(c)
}

func (r *reader) strs(n node, name string) []string {
	l := r.list(n, name)
	if l == nil {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s := r.strValue(e)
		if s == nil {
			return nil
		}
		out = append(out, *s)
	}
	return out
}

func (r *reader) integer(n node, name string) *int64 {
	c, ok := r.member(n, name)
	if !ok {
		return nil
	}
	v, ok := r.scalar(c)
	if !ok {
		return nil
	}
	var i int64
	switch v := v.(type) {
	case string:
		if r.p != protoQuery {
			r.typeError(c.path, "integer")
			return nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			r.typeError(c.path, "integer")
			return nil
		}
		i = n
	case json.Number:
		n, err := strconv.ParseInt(v.String(), 10, 64)
		if err != nil {
			f, ferr := v.Float64()
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				r.typeError(c.path, "integer")
				return nil
			}
			n = int64(f)
		}
		i = n
	case uint64:
		if v > math.MaxInt64 {
			r.typeError(c.path, "integer")
			return nil
		}
		i = int64(v)
	case int64:
		i = v
	case float64:
		if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			r.typeError(c.path, "integer")
			return nil
		}
		i = int64(v)
	case float32:
		f := float64(v)
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			r.typeError(c.path, "integer")
			return nil
		}
		i = int64(f)
	default:
		r.typeError(c.path, "integer")
		return nil
	}
	return &i
}

func (r *reader) boolean(n node, name string) *bool {
	c, ok := r.member(n, name)
	if !ok {
		return nil
	}
	v, ok := r.scalar(c)
	if !ok {
		return nil
	}
	switch v := v.(type) {
	case bool:
		return &v
	case string:
		if r.p == protoQuery {
			switch strings.ToLower(v) {
			case "true":
				t := true
				return &t
			case "false":
				f := false
				return &f
			}
		}
	}
	r.typeError(c.path, "boolean")
	return nil
}

// minEpochSeconds and maxEpochSeconds bound timestamps to years 1 to 9999.
const (
	minEpochSeconds = -62135596800
	maxEpochSeconds = 253402300799
)

func (r *reader) timestamp(n node, name string) *time.Time {
	c, ok := r.member(n, name)
	if !ok {
		return nil
	}
	v, ok := r.scalar(c)
	if !ok {
		return nil
	}
	var secs float64
	switch v := v.(type) {
	case time.Time:
		t := v.UTC()
		if t.Year() < 1 || t.Year() > 9999 {
			r.typeError(c.path, "timestamp")
			return nil
		}
		return &t
	case string:
		if r.p != protoQuery {
			r.typeError(c.path, "timestamp")
			return nil
		}
		t, err := parseQueryTime(v)
		if err != nil {
			r.fail(ErrInvalidParameterValue, "The parameter %s must be a valid ISO 8601 timestamp.", c.path)
			return nil
		}
		return &t
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			r.typeError(c.path, "timestamp")
			return nil
		}
		secs = f
	case uint64:
		secs = float64(v)
	case int64:
		secs = float64(v)
	case float64:
		secs = v
	case float32:
		secs = float64(v)
	default:
		r.typeError(c.path, "timestamp")
		return nil
	}
	if math.IsNaN(secs) || secs < minEpochSeconds || secs > maxEpochSeconds {
		r.typeError(c.path, "timestamp")
		return nil
	}
	t := time.UnixMilli(int64(math.Round(secs * 1000))).UTC()
	return &t
}

// parseQueryTime reads an awsQuery timestamp: ISO 8601 (with or without
// a zone, which defaults to UTC) or epoch seconds.
func parseQueryTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && f >= minEpochSeconds && f <= maxEpochSeconds {
		return time.UnixMilli(int64(math.Round(f * 1000))).UTC(), nil
	}
	return time.Time{}, errors.New("not a timestamp")
}

func (r *reader) dimensions(n node, name string) []dimension {
	l := r.list(n, name)
	if l == nil {
		return nil
	}
	out := make([]dimension, 0, len(l))
	for _, e := range l {
		if !r.isStructure(e) {
			return nil
		}
		out = append(out, dimension{Name: r.str(e, "Name"), Value: r.str(e, "Value")})
	}
	return out
}

// isStructure checks a list element is a structure.
func (r *reader) isStructure(n node) bool {
	switch n.v.(type) {
	case *qnode, map[string]any:
		return true
	}
	r.typeError(n.path, "structure")
	return false
}

// The operations' readers.

func readGetMetricStatistics(r *reader, root node) *getMetricStatisticsInput {
	return &getMetricStatisticsInput{
		Namespace:          r.str(root, "Namespace"),
		MetricName:         r.str(root, "MetricName"),
		Dimensions:         r.dimensions(root, "Dimensions"),
		StartTime:          r.timestamp(root, "StartTime"),
		EndTime:            r.timestamp(root, "EndTime"),
		Period:             r.integer(root, "Period"),
		Statistics:         r.strs(root, "Statistics"),
		ExtendedStatistics: r.strs(root, "ExtendedStatistics"),
		Unit:               r.str(root, "Unit"),
	}
}

func readGetMetricData(r *reader, root node) *getMetricDataInput {
	in := &getMetricDataInput{
		StartTime:     r.timestamp(root, "StartTime"),
		EndTime:       r.timestamp(root, "EndTime"),
		NextToken:     r.str(root, "NextToken"),
		ScanBy:        r.str(root, "ScanBy"),
		MaxDatapoints: r.integer(root, "MaxDatapoints"),
	}
	if lo, ok := r.structure(root, "LabelOptions"); ok {
		in.Timezone = r.str(lo, "Timezone")
	}
	l := r.list(root, "MetricDataQueries")
	if l != nil {
		in.MetricDataQueries = make([]metricDataQuery, 0, len(l))
	}
	for _, e := range l {
		if !r.isStructure(e) {
			break
		}
		q := metricDataQuery{
			ID:         r.str(e, "Id"),
			Expression: r.str(e, "Expression"),
			Label:      r.str(e, "Label"),
			ReturnData: r.boolean(e, "ReturnData"),
			Period:     r.integer(e, "Period"),
			AccountID:  r.str(e, "AccountId"),
		}
		if ms, ok := r.structure(e, "MetricStat"); ok {
			q.MetricStat = &metricStat{
				Period: r.integer(ms, "Period"),
				Stat:   r.str(ms, "Stat"),
				Unit:   r.str(ms, "Unit"),
			}
			if m, ok := r.structure(ms, "Metric"); ok {
				q.MetricStat.Metric = &metric{
					Namespace:  r.str(m, "Namespace"),
					MetricName: r.str(m, "MetricName"),
					Dimensions: r.dimensions(m, "Dimensions"),
				}
			}
		}
		in.MetricDataQueries = append(in.MetricDataQueries, q)
	}
	return in
}

func readListMetrics(r *reader, root node) *listMetricsInput {
	return &listMetricsInput{
		Namespace:             r.str(root, "Namespace"),
		MetricName:            r.str(root, "MetricName"),
		Dimensions:            r.dimensions(root, "Dimensions"),
		NextToken:             r.str(root, "NextToken"),
		RecentlyActive:        r.str(root, "RecentlyActive"),
		IncludeLinkedAccounts: r.boolean(root, "IncludeLinkedAccounts"),
		OwningAccount:         r.str(root, "OwningAccount"),
	}
}
