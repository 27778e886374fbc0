package cloudwatch

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"
)

// gmdQuery is a validated MetricDataQuery.
type gmdQuery struct {
	id         string
	label      string
	returnData bool
	// One of stat (with its series) and expr.
	stat   *metricStat
	series seriesID
	expr   exprNode
}

// getMetricData answers GetMetricData: each MetricStat query's statistic
// per period, and the expressions over them.
func (s *Service) getMetricData(ctx context.Context, in *getMetricDataInput) (*getMetricDataOutput, error) {
	if err := s.authorize(ctx, "GetMetricData"); err != nil {
		return nil, err
	}
	qs, err := validateGMD(in)
	if err != nil {
		return nil, err
	}
	var from tokenPos
	if in.NextToken != nil {
		if from, err = decodeGMDToken(*in.NextToken, fingerprint(in)); err != nil {
			return nil, err
		}
	}

	now := s.now()
	start, end := alignStart(*in.StartTime, now), *in.EndTime
	rd := s.newReads(start, end)
	values := map[string]exprValue{}
	var metricIDs []string
	for _, q := range qs {
		if q.stat == nil {
			continue
		}
		metricIDs = append(metricIDs, q.id)
		ts := &tseries{label: q.label, points: map[int64]float64{}}
		values[q.id] = exprValue{kind: kindSeries, series: []*tseries{ts}}
		period := *q.stat.Period
		if period%60 != 0 && start.Before(now.Add(-highResolutionLifetime)) {
			continue
		}
		unit := ""
		if q.stat.Unit != nil {
			unit = *q.stat.Unit
		}
		ds, err := rd.datums(ctx, q.series, unit)
		if err != nil {
			return nil, err
		}
		buckets := aggregate(ds, start, period)
		for i, b := range buckets {
			if v, ok := b.statistic(*q.stat.Stat); ok {
				ts.points[periodStart(start, i, period).UnixMilli()] = v
			}
		}
	}

	byID := map[string]*gmdQuery{}
	for i := range qs {
		byID[qs[i].id] = &qs[i]
	}
	visiting := map[string]bool{}
	env := &exprEnv{metricIDs: metricIDs}
	env.lookup = func(id string) (exprValue, error) {
		if v, ok := values[id]; ok {
			return v, nil
		}
		q := byID[id]
		if q == nil {
			return exprValue{}, exprErrorf("Unknown metric or expression id %q.", id)
		}
		if visiting[id] {
			return exprValue{}, exprErrorf("The expression %s refers to itself.", id)
		}
		visiting[id] = true
		v, err := env.eval(q.expr)
		visiting[id] = false
		if err != nil {
			return exprValue{}, err
		}
		values[id] = v
		return v, nil
	}

	// A number (a constant, or SUM of one series) is drawn at every
	// timestamp the request's metrics have.
	var allTimes []int64
	for _, id := range metricIDs {
		for t := range values[id].series[0].points {
			allTimes = append(allTimes, t)
		}
	}
	slices.Sort(allTimes)
	allTimes = slices.Compact(allTimes)

	ascending := in.ScanBy != nil && *in.ScanBy == "TimestampAscending"
	var results []metricDataResult
	for _, q := range qs {
		if !q.returnData {
			continue
		}
		v, err := env.lookup(q.id)
		if err != nil {
			var ee *exprError
			if errors.As(err, &ee) {
				return nil, errorf(ErrValidation, "Error in expression %s: %s", q.id, ee.msg)
			}
			return nil, err
		}
		switch v.kind {
		case kindScalar:
			pts := make(map[int64]float64, len(allTimes))
			for _, t := range allTimes {
				pts[t] = v.scalar
			}
			results = append(results, toResult(q.id, q.label, pts, ascending))
		case kindSeries:
			results = append(results, toResult(q.id, q.label, v.series[0].points, ascending))
		case kindArray:
			for _, ts := range v.series {
				label := ts.label
				if q.label != q.id && q.label != "" {
					label = q.label + " " + ts.label
				}
				results = append(results, toResult(q.id, label, ts.points, ascending))
			}
		}
	}

	limit := maxGMDDatapoints
	if in.MaxDatapoints != nil && *in.MaxDatapoints < int64(limit) {
		limit = int(*in.MaxDatapoints)
	}
	return page(results, from, limit, fingerprint(in))
}

// toResult lists a series' finite values in the order asked for.
func toResult(id, label string, pts map[int64]float64, ascending bool) metricDataResult {
	times := sortedTimes(pts)
	if !ascending {
		slices.Reverse(times)
	}
	r := metricDataResult{ID: id, Label: label, StatusCode: "Complete",
		Timestamps: make([]time.Time, 0, len(times)), Values: make([]float64, 0, len(times)), Messages: []messageData{}}
	for _, t := range times {
		v := pts[t]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue // division by zero, or nothing to reduce
		}
		r.Timestamps = append(r.Timestamps, time.UnixMilli(t).UTC())
		r.Values = append(r.Values, v)
	}
	return r
}

// tokenPos is where a page starts: result r, its datapoint o.
type tokenPos struct{ r, o int }

type gmdToken struct {
	R int    `json:"r"`
	O int    `json:"o"`
	H string `json:"h"`
}

// page cuts results to at most limit datapoints from pos; a result cut
// short is PartialData and the token resumes it.
func page(results []metricDataResult, pos tokenPos, limit int, fp string) (*getMetricDataOutput, error) {
	out := &getMetricDataOutput{MetricDataResults: []metricDataResult{}, Messages: []messageData{}}
	if pos.r > len(results) || (pos.r < len(results) && pos.o > len(results[pos.r].Values)) {
		return nil, errorf(ErrInvalidNextToken, "The NextToken is not valid for this request.")
	}
	left := limit
	for ri := pos.r; ri < len(results); ri++ {
		r := results[ri]
		if ri == pos.r {
			r.Timestamps, r.Values = r.Timestamps[pos.o:], r.Values[pos.o:]
		}
		if len(r.Values) > left {
			done := len(results[ri].Values) - len(r.Values) + left
			r.Timestamps, r.Values = r.Timestamps[:left], r.Values[:left]
			r.StatusCode = "PartialData"
			out.MetricDataResults = append(out.MetricDataResults, r)
			out.NextToken = encodeGMDToken(tokenPos{ri, done}, fp)
			return out, nil
		}
		left -= len(r.Values)
		out.MetricDataResults = append(out.MetricDataResults, r)
		if left == 0 && ri+1 < len(results) {
			out.NextToken = encodeGMDToken(tokenPos{ri + 1, 0}, fp)
			return out, nil
		}
	}
	return out, nil
}

func encodeGMDToken(p tokenPos, fp string) string {
	b, _ := json.Marshal(gmdToken{R: p.r, O: p.o, H: fp}) // plain fields always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeGMDToken(s, fp string) (tokenPos, error) {
	bad := errorf(ErrInvalidNextToken, "The NextToken is not valid for this request.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return tokenPos{}, bad
	}
	var t gmdToken
	if json.Unmarshal(b, &t) != nil || t.H != fp || t.R < 0 || t.O < 0 {
		return tokenPos{}, bad
	}
	return tokenPos{t.R, t.O}, nil
}

// fingerprint ties a NextToken to the request it continues.
func fingerprint(in *getMetricDataInput) string {
	h := fnv.New64a()
	w := func(s string) { h.Write([]byte(strconv.Itoa(len(s)) + ":" + s)) }
	opt := func(s *string) {
		if s == nil {
			w("\x00")
			return
		}
		w(*s)
	}
	w(in.StartTime.UTC().Format(time.RFC3339Nano))
	w(in.EndTime.UTC().Format(time.RFC3339Nano))
	opt(in.ScanBy)
	for _, q := range in.MetricDataQueries {
		opt(q.ID)
		opt(q.Expression)
		opt(q.Label)
		if q.ReturnData != nil {
			w(strconv.FormatBool(*q.ReturnData))
		}
		if ms := q.MetricStat; ms != nil {
			opt(ms.Stat)
			opt(ms.Unit)
			if ms.Period != nil {
				w(strconv.FormatInt(*ms.Period, 10))
			}
			if m := ms.Metric; m != nil {
				opt(m.Namespace)
				opt(m.MetricName)
				for _, d := range m.Dimensions {
					opt(d.Name)
					opt(d.Value)
				}
			}
		}
	}
	return strconv.FormatUint(h.Sum64(), 36)
}

// validIDPattern is the MetricDataQuery Id pattern, as AWS states it.
const validIDPattern = "^[a-z][a-zA-Z0-9_]*$"

func validID(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentByte(s[i]) {
			return false
		}
	}
	return true
}

// addErr rewords a parameter error as GetMetricData's, which are
// all ValidationError.
func (v *validation) addErr(err error) {
	var e *Error
	if errors.As(err, &e) {
		v.add("%s", e.Message)
	}
}

// validateGMD checks GetMetricData's input and parses its expressions.
func validateGMD(in *getMetricDataInput) ([]gmdQuery, error) {
	var v validation
	if len(in.MetricDataQueries) == 0 {
		v.add("The parameter MetricDataQueries is required.")
	}
	if in.StartTime == nil {
		v.add("The parameter StartTime is required.")
	}
	if in.EndTime == nil {
		v.add("The parameter EndTime is required.")
	}
	if in.StartTime != nil && in.EndTime != nil {
		v.addErr(checkTimes(in.StartTime, in.EndTime, ErrValidation))
	}
	if len(in.MetricDataQueries) > maxMetricDataQueries {
		v.add("The collection MetricDataQueries must not have a size greater than %d.", maxMetricDataQueries)
		return nil, v.err()
	}
	if in.ScanBy != nil && !inSet(*in.ScanBy, []string{"TimestampDescending", "TimestampAscending"}) {
		v.add("The parameter ScanBy must be a value in the set [TimestampDescending, TimestampAscending].")
	}
	if in.MaxDatapoints != nil && *in.MaxDatapoints < 1 {
		v.add("The parameter MaxDatapoints must be greater than 0.")
	}

	qs := make([]gmdQuery, 0, len(in.MetricDataQueries))
	seen := map[string]bool{}
	for i, q := range in.MetricDataQueries {
		p := "MetricDataQueries.member." + strconv.Itoa(i+1)
		g := gmdQuery{returnData: q.ReturnData == nil || *q.ReturnData}
		switch {
		case q.ID == nil || *q.ID == "":
			v.add("The parameter %s.Id is required.", p)
		case len(*q.ID) > maxNameLength || !validID(*q.ID):
			v.add("The value %s for parameter %s.Id is not matching the expected pattern %s.", *q.ID, p, validIDPattern)
		case seen[*q.ID]:
			v.add("The value %s for parameter %s.Id is not unique.", *q.ID, p)
		default:
			g.id = *q.ID
			seen[g.id] = true
		}
		if q.Period != nil && !validPeriod(*q.Period) {
			v.add("The parameter %s.Period must be a multiple of 60.", p)
		}
		switch {
		case q.MetricStat == nil && q.Expression == nil:
			v.add("The parameter %s.MetricStat is required.", p)
		case q.MetricStat != nil && q.Expression != nil:
			v.add("The parameters %s.MetricStat and %s.Expression are mutually exclusive and you have specified both.", p, p)
		case q.MetricStat != nil:
			g.stat = q.MetricStat
			validateMetricStat(&v, p+".MetricStat", q.MetricStat)
			if m := q.MetricStat.Metric; m != nil && m.Namespace != nil && m.MetricName != nil {
				g.series = seriesID{namespace: *m.Namespace, metric: *m.MetricName}
				if dimsValid(m.Dimensions) {
					g.series.dims = sortedDims(m.Dimensions)
				}
				g.label = *m.MetricName
			}
		default:
			switch e := *q.Expression; {
			case e == "":
				v.add("The parameter %s.Expression is required.", p)
			case len(e) > maxExpressionLength:
				v.add("The parameter %s.Expression must be shorter than %d characters.", p, maxExpressionLength+1)
			default:
				n, err := parseExpr(e)
				if err != nil {
					v.add("Error in expression %s: %s", g.id, err.Error())
				}
				g.expr = n
			}
			g.label = g.id
		}
		if q.Label != nil && *q.Label != "" {
			g.label = *q.Label
		}
		qs = append(qs, g)
	}
	for _, g := range qs {
		if g.expr == nil {
			continue
		}
		for _, id := range refs(g.expr, nil) {
			if !seen[id] {
				v.add("Error in expression %s: Unknown metric or expression id %q.", g.id, id)
			}
		}
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return qs, nil
}

func dimsValid(ds []dimension) bool {
	for _, d := range ds {
		if d.Name == nil || d.Value == nil {
			return false
		}
	}
	return true
}

func validateMetricStat(v *validation, p string, ms *metricStat) {
	if ms.Metric == nil {
		v.add("The parameter %s.Metric is required.", p)
	} else {
		v.addErr(checkName(p+".Metric.Namespace", ms.Metric.Namespace, true))
		v.addErr(checkName(p+".Metric.MetricName", ms.Metric.MetricName, true))
		v.addErr(checkDimensions(p+".Metric.Dimensions", ms.Metric.Dimensions, maxDimensions, true))
	}
	switch {
	case ms.Period == nil:
		v.add("The parameter %s.Period is required.", p)
	case !validPeriod(*ms.Period):
		v.add("The parameter %s.Period must be a multiple of 60.", p)
	}
	switch {
	case ms.Stat == nil || *ms.Stat == "":
		v.add("The parameter %s.Stat is required.", p)
	default:
		if _, ok := parsePercentile(*ms.Stat); !ok && !inSet(*ms.Stat, statisticNames) {
			v.add("The value %s for parameter %s.Stat is not a valid statistic.", *ms.Stat, p)
		}
	}
	if ms.Unit != nil && !inSet(*ms.Unit, standardUnits) {
		v.add("The parameter %s.Unit must be a value in the set %s.", p, setText(standardUnits))
	}
}
