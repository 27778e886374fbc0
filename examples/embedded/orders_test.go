package embedded

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"go.uber.org/goleak"

	"github.com/rivulet/rivulet"
)

// TestMain checks that Close leaves nothing of the server running.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newStream starts Rivulet for this test and makes a stream on it.
func newStream(t *testing.T, name string, shards int32) *Orders {
	t.Helper()
	ctx := context.Background()
	srv, err := rivulet.Start(ctx, rivulet.Config{}) // in memory, free port, no delays
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	client := kinesis.New(kinesis.Options{
		BaseEndpoint: aws.String(srv.Endpoint()),
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		HTTPClient:   srv.HTTPClient(),
	})
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatal(err)
	}
	return &Orders{Client: client, Stream: name}
}

func TestPlaceAndReadBack(t *testing.T) {
	ctx := context.Background()
	orders := newStream(t, "orders", 4)
	want := []string{"apples", "bread", "cheese", "dates", "eggs"}
	for i, o := range want {
		if err := orders.Place(ctx, []string{"ann", "bob", "cy"}[i%3], o); err != nil {
			t.Fatal(err)
		}
	}
	got, err := orders.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("read back %q, want %q", got, want)
	}
}

func TestEachTestHasItsOwnServer(t *testing.T) {
	orders := newStream(t, "orders", 1) // the same name as above: no clash
	got, err := orders.All(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("a fresh server holds %q", got)
	}
}
