package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/jackc/pgx/v5"

	"github.com/rivulet/rivulet/internal/testpg"
	"github.com/rivulet/rivulet/internal/tests3"
)

func s3Dest(bucket, prefix string) *fhtypes.ExtendedS3DestinationConfiguration {
	return &fhtypes.ExtendedS3DestinationConfiguration{
		RoleARN: aws.String(fhRole), BucketARN: aws.String("arn:aws:s3:::" + bucket), Prefix: aws.String(prefix),
		BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)},
	}
}

func proc(typ fhtypes.ProcessorType, kv ...string) fhtypes.Processor {
	p := fhtypes.Processor{Type: typ}
	for i := 0; i+1 < len(kv); i += 2 {
		p.Parameters = append(p.Parameters, fhtypes.ProcessorParameter{
			ParameterName: fhtypes.ProcessorParameterName(kv[i]), ParameterValue: aws.String(kv[i+1])})
	}
	return p
}

// Delivery to a real S3 server (versitygw, POSIX backend) through the Go
// SDK: GZIP read back with gzip -d, ZIP with unzip, Parquet with Apache
// Arrow's reader, dynamic partitioning by a JQ query, and a Lambda
// transformation over HTTP with its failures in the error prefix.
func TestFirehoseS3(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	vgw := tests3.Start(t)
	vgw.CreateBucket(t, "lake")
	s := startServer(t, serverOptions{extra: []string{"--s3-endpoint", vgw.Endpoint,
		"--s3-access-key-id", vgw.AccessKey, "--s3-secret-access-key", vgw.SecretKey}})
	fh := s.firehose()

	// The transformation function: upper-cases, drops "drop-*" and fails
	// "fail-*".
	lambda := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			InvocationID string `json:"invocationId"`
			Records      []struct {
				RecordID string `json:"recordId"`
				Data     []byte `json:"data"`
			} `json:"records"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil || ev.InvocationID == "" {
			t.Errorf("lambda event: %v", err)
		}
		type out struct {
			RecordID string `json:"recordId"`
			Result   string `json:"result"`
			Data     []byte `json:"data"`
		}
		var res []out
		for _, rec := range ev.Records {
			o := out{RecordID: rec.RecordID, Result: "Ok", Data: bytes.ToUpper(rec.Data)}
			switch {
			case bytes.HasPrefix(rec.Data, []byte("drop-")):
				o.Result, o.Data = "Dropped", nil
			case bytes.HasPrefix(rec.Data, []byte("fail-")):
				o.Result, o.Data = "ProcessingFailed", rec.Data
			}
			res = append(res, o)
		}
		json.NewEncoder(w).Encode(map[string]any{"records": res})
	}))
	defer lambda.Close()

	gz := s3Dest("lake", "gz/")
	gz.CompressionFormat = fhtypes.CompressionFormatGzip
	zp := s3Dest("lake", "zip/")
	zp.CompressionFormat = fhtypes.CompressionFormatZip
	pq := s3Dest("lake", "parquet/")
	pq.BufferingHints.SizeInMBs = aws.Int32(64)
	pq.DataFormatConversionConfiguration = &fhtypes.DataFormatConversionConfiguration{
		Enabled: aws.Bool(true),
		// Rivulet has no Glue: the schema is inline in TableName.
		SchemaConfiguration: &fhtypes.SchemaConfiguration{RoleARN: aws.String(fhRole), DatabaseName: aws.String("db"),
			TableName: aws.String("struct<id:bigint,name:string,price:double>")},
		InputFormatConfiguration:  &fhtypes.InputFormatConfiguration{Deserializer: &fhtypes.Deserializer{OpenXJsonSerDe: &fhtypes.OpenXJsonSerDe{}}},
		OutputFormatConfiguration: &fhtypes.OutputFormatConfiguration{Serializer: &fhtypes.Serializer{ParquetSerDe: &fhtypes.ParquetSerDe{}}},
	}
	dp := s3Dest("lake", "customer=!{partitionKeyFromQuery:customer}/")
	dp.BufferingHints.SizeInMBs = aws.Int32(64)
	dp.ErrorOutputPrefix = aws.String("dp-errors/!{firehose:error-output-type}/")
	dp.DynamicPartitioningConfiguration = &fhtypes.DynamicPartitioningConfiguration{Enabled: aws.Bool(true)}
	dp.ProcessingConfiguration = &fhtypes.ProcessingConfiguration{Enabled: aws.Bool(true), Processors: []fhtypes.Processor{
		proc(fhtypes.ProcessorTypeMetadataExtraction, "MetadataExtractionQuery", "{customer:.customer}", "JsonParsingEngine", "JQ-1.6"),
		proc(fhtypes.ProcessorTypeAppendDelimiterToRecord),
	}}
	lam := s3Dest("lake", "lambda/")
	lam.ErrorOutputPrefix = aws.String("lambda-errors/")
	lam.ProcessingConfiguration = &fhtypes.ProcessingConfiguration{Enabled: aws.Bool(true), Processors: []fhtypes.Processor{
		proc(fhtypes.ProcessorTypeLambda, "LambdaArn", lambda.URL, "NumberOfRetries", "1"),
	}}
	for name, d := range map[string]*fhtypes.ExtendedS3DestinationConfiguration{"gz": gz, "zip": zp, "pq": pq, "dp": dp, "lam": lam} {
		if _, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
			DeliveryStreamName: aws.String(name), ExtendedS3DestinationConfiguration: d}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
	}
	for _, name := range []string{"gz", "zip", "pq", "dp", "lam"} {
		waitDeliveryActive(ctx, t, fh, name)
	}

	var plain []string
	want := map[string]int{}
	for i := range 300 {
		r := fmt.Sprintf("s3-rec-%03d-%s", i, strings.Repeat("x", i))
		plain, want[r] = append(plain, r+"\n"), 1
	}
	putAll(ctx, t, fh, "gz", plain)
	putAll(ctx, t, fh, "zip", plain)
	var rows []string
	for i := range 100 {
		rows = append(rows, fmt.Sprintf(`{"id":%d,"name":"item-%d","price":%d.5,"extra":"ignored"}`, i, i, i))
	}
	rows = append(rows, `not json`)
	putAll(ctx, t, fh, "pq", rows)
	var events []string
	for i := range 60 {
		events = append(events, fmt.Sprintf(`{"customer":"c%d","n":%d}`, i%3, i))
	}
	events = append(events, `{"no_customer":true}`)
	putAll(ctx, t, fh, "dp", events)
	putAll(ctx, t, fh, "lam", []string{"keep-1\n", "drop-2\n", "fail-3\n", "keep-4\n"})

	objects := func(prefix string) map[string][]byte {
		return bucketFiles(t, vgw.Dir, "lake", prefix)
	}
	waitDelivered(ctx, t, func() map[string]int {
		return countLines(objects("gz/"), func(b []byte) []byte { return gunzip(t, b) })
	}, want)
	waitDelivered(ctx, t, func() map[string]int {
		return countLines(objects("zip/"), func(b []byte) []byte { return unzip(t, b) })
	}, want)
	for k := range objects("zip/") {
		if !strings.HasSuffix(k, ".zip") {
			t.Errorf("zip object %q has no .zip extension", k)
		}
	}

	// Parquet, read by Apache Arrow (the writer is parquet-go).
	pqWant := map[string]int{}
	for i := range 100 {
		pqWant[fmt.Sprintf("%d|item-%d|%d.5", i, i, i)] = 1
	}
	waitDelivered(ctx, t, func() map[string]int { return parquetRows(t, objects("parquet/")) }, pqWant)
	waitFor(ctx, t, "the non-JSON record in format-conversion-failed", func() bool {
		for k := range objects("") {
			if strings.Contains(k, "format-conversion-failed") {
				return true
			}
		}
		return false
	})

	// Dynamic partitioning: each customer's records under its own prefix.
	dpWant := map[string]int{}
	for i := range 60 {
		dpWant[fmt.Sprintf(`{"customer":"c%d","n":%d}`, i%3, i)] = 1
	}
	waitDelivered(ctx, t, func() map[string]int {
		n := map[string]int{}
		for k, b := range objects("customer=") {
			cust := strings.SplitN(strings.TrimPrefix(k, "customer="), "/", 2)[0]
			for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
				if !strings.Contains(l, `"customer":"`+cust+`"`) {
					t.Fatalf("record %s in partition %s", l, cust)
				}
				n[l]++
			}
		}
		return n
	}, dpWant)
	waitFor(ctx, t, "the record without a customer in dp-errors/", func() bool {
		return strings.Contains(joinObjects(objects("dp-errors/")), base64.StdEncoding.EncodeToString([]byte(`{"no_customer":true}`)))
	})

	// The Lambda transformation: Ok upper-cased, Dropped gone, failed set
	// aside with its raw data.
	waitDelivered(ctx, t, func() map[string]int { return countLines(objects("lambda/"), nil) },
		map[string]int{"KEEP-1": 1, "KEEP-4": 1})
	waitFor(ctx, t, "fail-3 in lambda-errors/", func() bool {
		for _, b := range objects("lambda-errors/") {
			for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var rec struct {
					ErrorCode string `json:"errorCode"`
					RawData   []byte `json:"rawData"`
				}
				if json.Unmarshal([]byte(l), &rec) == nil && string(rec.RawData) == "fail-3\n" && rec.ErrorCode != "" {
					return true
				}
			}
		}
		return false
	})
	s.stop(t)
}

func waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("never saw %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// unzip extracts the one entry of a ZIP with /usr/bin/unzip.
func unzip(t *testing.T, b []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "o.zip")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := zip.NewReader(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	out, err := exec.Command("/usr/bin/unzip", "-p", p).Output()
	if err != nil {
		t.Fatalf("unzip -p: %v", err)
	}
	return out
}

// parquetRows reads Parquet objects with Apache Arrow and returns each row
// as "id|name|price".
func parquetRows(t *testing.T, objs map[string][]byte) map[string]int {
	t.Helper()
	n := map[string]int{}
	for k, b := range objs {
		if strings.Contains(k, "-failed/") {
			continue // the error output, under the prefix as on AWS
		}
		if !strings.HasSuffix(k, ".parquet") {
			t.Fatalf("parquet object %q has no .parquet extension", k)
		}
		pf, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		tr := array.NewTableReader(tbl, -1)
		for tr.Next() {
			rec := tr.RecordBatch()
			cols := map[string]int{}
			for i, f := range rec.Schema().Fields() {
				cols[f.Name] = i
			}
			for i := 0; i < int(rec.NumRows()); i++ {
				id := rec.Column(cols["id"]).(*array.Int64).Value(i)
				name := rec.Column(cols["name"]).(*array.String).Value(i)
				price := rec.Column(cols["price"]).(*array.Float64).Value(i)
				n[fmt.Sprintf("%d|%s|%g", id, name, price)]++
			}
		}
		tr.Release()
		tbl.Release()
		pf.Close()
	}
	return n
}

// PostgreSQL, standing in for Redshift: records staged in the bucket, then
// loaded with COPY, one transaction per batch.
func TestFirehosePostgres(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pg := testpg.Start(t)
	conn, err := pgx.Connect(ctx, pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE events (id bigint PRIMARY KEY, name text, amount numeric)`); err != nil {
		t.Fatal(err)
	}
	s, bucketDir := startFirehose(t, serverOptions{})
	fh := s.firehose()
	_, err = fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("to-pg"),
		RedshiftDestinationConfiguration: &fhtypes.RedshiftDestinationConfiguration{
			RoleARN: aws.String(fhRole), ClusterJDBCURL: aws.String(pg.JDBCURL()),
			Username: aws.String(pg.User), Password: aws.String(pg.Password),
			CopyCommand: &fhtypes.CopyCommand{DataTableName: aws.String("events"), DataTableColumns: aws.String("id,name,amount"),
				CopyOptions: aws.String("JSON 'auto'")},
			S3Configuration: &fhtypes.S3DestinationConfiguration{RoleARN: aws.String(fhRole), BucketARN: aws.String("arn:aws:s3:::staging"),
				Prefix:         aws.String("pg/"),
				BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(1)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := waitDeliveryActive(ctx, t, fh, "to-pg")
	if rd := d.Destinations[0].RedshiftDestinationDescription; rd == nil || aws.ToString(rd.Username) != pg.User {
		t.Fatalf("described destination = %+v", d.Destinations[0])
	}
	var recs []string
	for i := range 250 {
		recs = append(recs, fmt.Sprintf(`{"id":%d,"name":"n%d","amount":%d.25}`+"\n", i, i, i))
	}
	putAll(ctx, t, fh, "to-pg", recs)
	waitFor(ctx, t, "250 rows in events", func() bool {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 250
	})
	var sum string
	if err := conn.QueryRow(ctx, `SELECT sum(amount)::text FROM events`).Scan(&sum); err != nil || sum != "31187.50" {
		t.Fatalf("sum(amount) = %s, %v", sum, err)
	}
	if len(bucketFiles(t, bucketDir, "staging", "pg/")) == 0 {
		t.Fatal("no staged objects in the bucket")
	}
	keys := []string{}
	for k := range bucketFiles(t, bucketDir, "staging", "pg/") {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Logf("staged: %v", keys)
	s.stop(t)
}
