package loadgen

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run. Its JSON form is what `rivulet bench
// --output json` prints, one object; docs/CLI.md documents every field.
// Rates are over the phase's wall time; MB is 10^6 bytes of record data
// (partition keys and protocol overhead not counted).
type Report struct {
	Endpoint      string    `json:"endpoint,omitempty"`
	Version       string    `json:"version,omitempty"` // of the rivulet binary that ran the bench
	StartedAt     time.Time `json:"started_at"`
	Stream        string    `json:"stream"`
	Mode          Mode      `json:"mode"`
	Shards        int       `json:"shards"` // open shards when the run started
	Workers       int       `json:"workers"`
	RecordSize    int       `json:"record_size"`
	BatchSize     int       `json:"batch_size"`
	PartitionKeys int       `json:"partition_keys"` // 0: a distinct key per record
	// DurationLimit and RecordsLimit are the write phase's bounds as asked
	// (0 when not set).
	DurationLimit float64 `json:"duration_limit_seconds"`
	RecordsLimit  int64   `json:"records_limit"`
	// Write and Read are absent when the mode has no such phase.
	Write *Phase `json:"write,omitempty"`
	Read  *Phase `json:"read,omitempty"`
	// Check is the exactly-once verdict of write-read mode.
	Check *Check `json:"check,omitempty"`
	// Errors counts failures by error code: an AWS error code such as
	// ProvisionedThroughputExceededException, "HTTP 503", Timeout or
	// NetworkError. A failed PutRecords entry counts once; a failed call
	// once. Failures that a retry then fixed are counted too.
	Errors map[string]int64 `json:"errors"`
	// Throttled counts throttling errors (calls and PutRecords entries);
	// Retries counts calls sent again after a failure.
	Throttled int64 `json:"throttled"`
	Retries   int64 `json:"retries"`
	// Interrupted is set when the run was stopped before its end.
	Interrupted bool `json:"interrupted"`
	// OK: no record failed to write, the exactly-once check (if any)
	// passed, and the run was not interrupted.
	OK bool `json:"ok"`
}

// Phase is the write or the read side of a run.
type Phase struct {
	// Operation is PutRecords, PutRecord or GetRecords.
	Operation string `json:"operation"`
	// Records and Bytes count records written and acknowledged, or read.
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// FailedRecords were given up on after retries (writes only).
	FailedRecords    int64   `json:"failed_records"`
	Calls            int64   `json:"calls"` // attempts, retries included
	Seconds          float64 `json:"seconds"`
	RecordsPerSecond float64 `json:"records_per_second"`
	MBPerSecond      float64 `json:"mb_per_second"`
	// Latency is per call attempt, in milliseconds.
	Latency Latency `json:"latency_ms"`
}

// Latency summarizes call latencies in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Check is the exactly-once verdict: every acknowledged record must be
// read back once.
type Check struct {
	Expected int64 `json:"expected"` // records acknowledged
	Read     int64 `json:"read"`     // acknowledged records read at least once
	Missing  int64 `json:"missing"`  // acknowledged records never read
	// Duplicates counts extra copies read, beyond the first of each record.
	Duplicates int64 `json:"duplicates"`
	// Unacknowledged records of this run were read although their write
	// failed (a failed or timed-out call can still have stored them).
	Unacknowledged int64 `json:"unacknowledged"`
	// Foreign records were in the stream but not written by this run.
	Foreign int64 `json:"foreign"`
	OK      bool  `json:"ok"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func latency(h *Histogram) Latency {
	return Latency{P50: ms(h.Quantile(.5)), P90: ms(h.Quantile(.9)), P99: ms(h.Quantile(.99)), Max: ms(h.Max()), Mean: ms(h.Mean())}
}

func newPhase(op string, records, bytes, failed, calls int64, took time.Duration, h *Histogram) *Phase {
	p := &Phase{Operation: op, Records: records, Bytes: bytes, FailedRecords: failed, Calls: calls, Seconds: took.Seconds(), Latency: latency(h)}
	if s := took.Seconds(); s > 0 {
		p.RecordsPerSecond = float64(records) / s
		p.MBPerSecond = float64(bytes) / 1e6 / s
	}
	return p
}

// WriteTable prints r for people.
func (r *Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	bound := fmt.Sprintf("%gs", r.DurationLimit)
	if r.RecordsLimit > 0 {
		bound = group(r.RecordsLimit) + " records"
	}
	fmt.Fprintf(&b, "%s: stream %s, %d shards, %d workers, %d-byte records, batch %d, %s\n\n",
		r.Mode, r.Stream, r.Shards, r.Workers, r.RecordSize, r.BatchSize, bound)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\toperation\trecords\tseconds\trecords/s\tMB/s\tp50 ms\tp99 ms\tmax ms\tcalls\tfailed\t")
	for _, p := range []struct {
		name string
		ph   *Phase
	}{{"write", r.Write}, {"read", r.Read}} {
		if p.ph == nil {
			continue
		}
		ph := p.ph
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t\n", p.name, ph.Operation, group(ph.Records), ph.Seconds,
			group(int64(ph.RecordsPerSecond)), ph.MBPerSecond, ph.Latency.P50, ph.Latency.P99, ph.Latency.Max, group(ph.Calls), group(ph.FailedRecords))
	}
	tw.Flush()
	if c := r.Check; c != nil {
		verdict := "OK"
		if !c.OK {
			verdict = "FAILED"
		}
		fmt.Fprintf(&b, "\nexactly-once check %s: %s acknowledged, %s read, %s missing, %s duplicates",
			verdict, group(c.Expected), group(c.Read), group(c.Missing), group(c.Duplicates))
		if c.Unacknowledged > 0 {
			fmt.Fprintf(&b, ", %s unacknowledged", group(c.Unacknowledged))
		}
		if c.Foreign > 0 {
			fmt.Fprintf(&b, ", %s from other runs", group(c.Foreign))
		}
		b.WriteString("\n")
	}
	if len(r.Errors) == 0 {
		b.WriteString("\nerrors: none\n")
	} else {
		fmt.Fprintf(&b, "\nerrors (%s throttled, %s retries):\n", group(r.Throttled), group(r.Retries))
		for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
			fmt.Fprintf(&b, "  %-42s %s\n", k, group(r.Errors[k]))
		}
	}
	if r.Interrupted {
		b.WriteString("\ninterrupted before the end\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// group writes n with thousands separators.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
