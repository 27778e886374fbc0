package metrics

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/model"
)

func TestDefs(t *testing.T) {
	seen := map[string]bool{}
	prom := map[string]bool{}
	for _, d := range defs {
		key := d.Namespace + " " + d.Name
		if seen[key] {
			t.Errorf("%s defined twice", key)
		}
		seen[key] = true
		if prom[d.Prom] {
			t.Errorf("%s: Prometheus name %s used twice", key, d.Prom)
		}
		prom[d.Prom] = true
		if d.Namespace != Kinesis && d.Namespace != Firehose {
			t.Errorf("%s: namespace", key)
		}
		if !slices.Contains([]Unit{Bytes, Count, Milliseconds, Seconds, None}, d.Unit) {
			t.Errorf("%s: unit %q", key, d.Unit)
		}
		if d.Levels == 0 || d.Help == "" || d.Sample == "" {
			t.Errorf("%s: levels, help or sample missing", key)
		}
		if !model.LegacyValidation.IsValidMetricName(d.Prom) {
			t.Errorf("%s: %s is not a valid metric name", key, d.Prom)
		}
		prefix := "rivulet_kinesis_"
		if d.Namespace == Firehose {
			prefix = "rivulet_firehose_"
		}
		if !strings.HasPrefix(d.Prom, prefix) {
			t.Errorf("%s: %s lacks %s", key, d.Prom, prefix)
		}
		switch d.Kind {
		case KindCounter, KindSuccess:
			if !strings.HasSuffix(d.Prom, "_total") {
				t.Errorf("%s: counter %s lacks _total", key, d.Prom)
			}
			if d.Unit == Bytes && !strings.HasSuffix(d.Prom, "_bytes_total") {
				t.Errorf("%s: byte counter %s lacks _bytes_total", key, d.Prom)
			}
		case KindGauge, KindHistogram:
			if strings.HasSuffix(d.Prom, "_total") {
				t.Errorf("%s: %s %s ends in _total", key, d.Kind, d.Prom)
			}
			if (d.Unit == Milliseconds || d.Unit == Seconds) && !strings.HasSuffix(d.Prom, "_seconds") {
				t.Errorf("%s: %s in %s is not in _seconds", key, d.Prom, d.Unit)
			}
		}
		if d.Unit == Milliseconds && d.Scale != 0.001 {
			t.Errorf("%s: milliseconds not scaled to seconds", key)
		}
		if strings.HasSuffix(d.Name, ".Success") != (d.Kind == KindSuccess) {
			t.Errorf("%s: kind %v", key, d.Kind)
		}
		if strings.HasSuffix(d.Name, ".Latency") != (d.Kind == KindHistogram) {
			t.Errorf("%s: latency kind %v", key, d.Kind)
		}
		got, ok := Lookup(d.Namespace, d.Name)
		if !ok || got.Prom != d.Prom {
			t.Errorf("Lookup(%s) = %v, %v", key, got, ok)
		}
	}
	if _, ok := Lookup(Kinesis, "DeliveryToS3.Bytes"); ok {
		t.Error("Lookup found a Firehose metric in AWS/Kinesis")
	}

	// Every name the brief of issue 15 lists.
	want := map[string][]string{
		Kinesis: {
			"IncomingBytes", "IncomingRecords", "PutRecord.Bytes", "PutRecord.Latency", "PutRecord.Success",
			"PutRecords.Bytes", "PutRecords.Latency", "PutRecords.Success", "PutRecords.Records",
			"PutRecords.TotalRecords", "PutRecords.SuccessfulRecords", "PutRecords.FailedRecords",
			"PutRecords.ThrottledRecords", "GetRecords.Bytes", "GetRecords.Records", "GetRecords.Latency",
			"GetRecords.Success", "GetRecords.IteratorAgeMilliseconds", "ReadProvisionedThroughputExceeded",
			"WriteProvisionedThroughputExceeded", "SubscribeToShard.RateExceeded", "SubscribeToShard.Success",
			"SubscribeToShardEvent.Bytes", "SubscribeToShardEvent.Records",
			"SubscribeToShardEvent.MillisBehindLatest", "SubscribeToShardEvent.Success",
			"OutgoingBytes", "OutgoingRecords", "IteratorAgeMilliseconds",
		},
		Firehose: {
			"IncomingBytes", "IncomingRecords", "IncomingPutRequests", "PutRecord.Bytes", "PutRecord.Latency",
			"PutRecord.Requests", "PutRecordBatch.Bytes", "PutRecordBatch.Latency", "PutRecordBatch.Records",
			"PutRecordBatch.Requests", "ThrottledRecords", "DeliveryToS3.Bytes", "DeliveryToS3.Records",
			"DeliveryToS3.Success", "DeliveryToS3.DataFreshness", "DeliveryToHttpEndpoint.Bytes",
			"DeliveryToHttpEndpoint.Records", "DeliveryToHttpEndpoint.Success", "DeliveryToRedshift.Records",
			"DeliveryToRedshift.Success", "BackupToS3.Records", "BackupToS3.Success",
		},
	}
	for ns, names := range want {
		ds := Defs(ns)
		if len(ds) != len(names) {
			t.Errorf("%s has %d metrics, want %d", ns, len(ds), len(names))
		}
		for _, n := range names {
			if _, ok := Lookup(ns, n); !ok {
				t.Errorf("%s %s missing", ns, n)
			}
		}
		if !slices.IsSortedFunc(ds, func(a, b Def) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("Defs(%s) not sorted", ns)
		}
	}
	if n := len(Defs("")); n != len(defs) {
		t.Errorf("Defs(\"\") has %d, want %d", n, len(defs))
	}

	// The shard-level names EnableEnhancedMonitoring accepts are exactly
	// the metrics with a shard level.
	var shardLevel []string
	for _, d := range Defs(Kinesis) {
		if d.Levels&LevelShard != 0 {
			shardLevel = append(shardLevel, d.Name)
		}
	}
	if got, want := shardLevel, slices.Sorted(slices.Values(ShardLevelMetrics)); !slices.Equal(got, want) {
		t.Errorf("shard-level defs %v, want %v", got, want)
	}
}

func TestDimensionSets(t *testing.T) {
	cases := map[string]string{
		Kinesis + " IncomingBytes":            "[[StreamName] [ShardId StreamName]]",
		Kinesis + " OutgoingBytes":            "[[ShardId StreamName]]",
		Kinesis + " GetRecords.Latency":       "[[StreamName]]",
		Kinesis + " SubscribeToShard.Success": "[[ConsumerName StreamName]]",
		Firehose + " IncomingBytes":           "[[DeliveryStreamName]]",
	}
	for key, want := range cases {
		ns, name, _ := strings.Cut(key, " ")
		d, _ := Lookup(ns, name)
		if got := fmt.Sprint(d.DimensionSets()); got != want {
			t.Errorf("%s: %s, want %s", key, got, want)
		}
	}
}

// TestDocsTable checks that docs/METRICS.md maps every metric.
func TestDocsTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/METRICS.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, d := range defs {
		row := "| `" + d.Name + "` | `" + d.Prom + "` | " + d.Kind.String() + " | " + string(d.Unit) + " |"
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, row) }) {
			t.Errorf("docs/METRICS.md has no row %q", row)
		}
	}
}

// TestDashboard checks that the Grafana dashboard parses and uses only
// metrics that exist.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../../docs/grafana/rivulet-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
		Panels []json.RawMessage
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d", dash.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["stream"] != "query" {
		t.Errorf("variables %v, want a datasource and a stream query", vars)
	}

	known := map[string]bool{"rivulet_storage_bytes": true, "rivulet_storage_messages": true, "rivulet_connections": true}
	for _, d := range defs {
		known[d.Prom] = true
		if d.Kind == KindHistogram {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				known[d.Prom+s] = true
			}
		}
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, s)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var all any
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	walk(all)
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions", len(exprs))
	}
	name := regexp.MustCompile(`\b(rivulet|process|go)_[a-z0-9_]+`)
	used := map[string]bool{}
	for _, e := range exprs {
		for _, m := range name.FindAllString(e, -1) {
			used[m] = true
			if strings.HasPrefix(m, "rivulet_") && !known[m] {
				t.Errorf("dashboard uses unknown metric %s in %s", m, e)
			}
		}
	}
	// process_* and go_* come from client_golang's collectors, as
	// registered beside the registry on /metrics.
	pr := prometheus.NewRegistry()
	pr.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	mfs, err := pr.Gather()
	if err != nil {
		t.Fatal(err)
	}
	runtime := map[string]bool{}
	for _, mf := range mfs {
		runtime[mf.GetName()] = true
	}
	for m := range used {
		if !strings.HasPrefix(m, "rivulet_") && !runtime[m] {
			t.Errorf("dashboard uses %s, which client_golang does not export", m)
		}
	}
	for _, must := range []string{
		"rivulet_kinesis_incoming_records_total", "rivulet_kinesis_incoming_bytes_total",
		"rivulet_kinesis_get_records_latency_seconds_bucket", "rivulet_kinesis_get_records_iterator_age_seconds",
		"rivulet_kinesis_write_provisioned_throughput_exceeded_total", "rivulet_storage_bytes", "rivulet_connections",
		"process_cpu_seconds_total", "process_resident_memory_bytes",
	} {
		if !used[must] {
			t.Errorf("dashboard has no panel on %s", must)
		}
	}
}
