package delivery

import (
	"time"

	"strings"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
)

func TestBucketName(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:s3:::dest":       "dest",
		"arn:aws-cn:s3:::b.c-d":   "b.c-d",
		"arn:aws:s3:::":           "",
		"arn:aws:s3:::a/b":        "",
		"arn:aws:sqs:::dest":      "",
		"dest":                    "",
		"arn:aws:s3:us-east-1::x": "x",
	} {
		got, err := bucketName(arn)
		if (err != nil) != (want == "") || got != want {
			t.Errorf("bucketName(%q) = %q, %v; want %q", arn, got, err, want)
		}
	}
}

func FuzzBucketName(f *testing.F) {
	f.Add("arn:aws:s3:::dest")
	f.Add("arn:aws:s3:::a:b")
	f.Add(":::::")
	f.Fuzz(func(t *testing.T, arn string) {
		b, err := bucketName(arn)
		if err == nil && (b == "" || strings.Contains(b, "/") || !strings.HasSuffix(arn, b)) {
			t.Fatalf("bucketName(%q) = %q", arn, b)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(true, []byte(`{"ID":"x","Status":"ACTIVE","VersionID":1}`))
	f.Add(false, []byte(`{"ID":"c","Status":"ACTIVE","Delivery":{"Name":"n"}}`))
	f.Add(false, []byte(`{"Status":"ACTIVE","Delivery":1}`))
	f.Add(true, []byte(`[`))
	f.Fuzz(func(t *testing.T, stream bool, raw []byte) {
		kind := store.KindChannel
		if stream {
			kind = store.KindDeliveryStream
		}
		ds, err := decodeRecord(kind, raw, time.Now())
		if err != nil && ds != nil {
			t.Fatalf("decodeRecord returned both a record and %v", err)
		}
		if ds != nil && !stream && ds.Type != "KinesisStreamAsSource" {
			t.Fatalf("a channel runs as %q", ds.Type)
		}
	})
}
