package bench

// The KCL's lease renew against Rivulet's DynamoDB API, with dynalite
// (npm, installed by `make clients`) as the baseline in the same run. Run
// with
//
//	go test -run '^$' -bench LeaseRenew -count 6 ./bench/ | tee renew.txt
//	go run golang.org/x/perf/cmd/benchstat@latest -col '/backend@(dynalite rivulet)' renew.txt
//
// benchstat then shows each mode's median renews/s for both servers and
// Rivulet's change against dynalite; with -v the benchmark also logs the
// ratio of its last runs. Both keep the table in memory: Rivulet with
// rivulet.Config{} (no DataDir), dynalite by default.

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/testdynalite"
)

const leaseTable = "BenchLeases"

// BenchmarkLeaseRenew: UpdateItem with Expected leaseCounter = N and
// AttributeUpdates PUT leaseCounter N+1, as the KCL renews a lease, through
// aws-sdk-go-v2. sequential is one caller renewing one lease; parallel is 8
// callers per core, each renewing a lease of its own, as a worker renews
// its leases concurrently.
func BenchmarkLeaseRenew(b *testing.B) {
	var mu sync.Mutex
	rate := map[string]float64{} // "backend/mode" -> renews/s of the last run
	for _, backend := range []string{"rivulet", "dynalite"} {
		b.Run("backend="+backend, func(b *testing.B) {
			var url string
			if backend == "rivulet" {
				url = startServer(b, rivulet.Config{})
			} else {
				url = testdynalite.Run(b)
			}
			c := leaseClient(b, url)
			createLeaseTable(b, c)
			var run atomic.Int64 // keeps every run's lease keys fresh
			for _, mode := range []string{"sequential", "parallel"} {
				b.Run("mode="+mode, func(b *testing.B) {
					prefix := fmt.Sprintf("%s-%d", mode, run.Add(1))
					if mode == "sequential" {
						renewSequential(b, c, prefix)
					} else {
						renewParallel(b, c, prefix)
					}
					r := float64(b.N) / b.Elapsed().Seconds()
					b.ReportMetric(r, "renews/s")
					mu.Lock()
					rate[backend+"/"+mode] = r
					mu.Unlock()
				})
			}
		})
	}
	for _, mode := range []string{"sequential", "parallel"} {
		if r, d := rate["rivulet/"+mode], rate["dynalite/"+mode]; r > 0 && d > 0 {
			b.Logf("%s, last runs: rivulet %.0f renews/s, dynalite %.0f: %.2f×", mode, r, d, r/d)
		}
	}
}

func renewSequential(b *testing.B, c *dynamodb.Client, prefix string) {
	ctx := context.Background()
	key := prefix + "-0"
	if err := putLease(ctx, c, key); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.UpdateItem(ctx, renew(key, i)); err != nil {
			b.Fatalf("renew %d: %v", i, err)
		}
	}
}

func renewParallel(b *testing.B, c *dynamodb.Client, prefix string) {
	ctx := context.Background()
	var worker atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		key := fmt.Sprintf("%s-%d", prefix, worker.Add(1))
		if err := putLease(ctx, c, key); err != nil {
			b.Error(err)
			return
		}
		for n := 0; pb.Next(); n++ {
			if _, err := c.UpdateItem(ctx, renew(key, n)); err != nil {
				b.Errorf("renew %s %d: %v", key, n, err)
				return
			}
		}
	})
}

// renew is the KCL's renew of a lease whose counter is n.
func renew(key string, n int) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName: aws.String(leaseTable),
		Key:       map[string]types.AttributeValue{"leaseKey": &types.AttributeValueMemberS{Value: key}},
		Expected: map[string]types.ExpectedAttributeValue{
			"leaseCounter": {Value: &types.AttributeValueMemberN{Value: strconv.Itoa(n)}},
		},
		AttributeUpdates: map[string]types.AttributeValueUpdate{
			"leaseCounter": {Action: types.AttributeActionPut, Value: &types.AttributeValueMemberN{Value: strconv.Itoa(n + 1)}},
		},
	}
}

// putLease creates a lease as the KCL does, with counter 0.
func putLease(ctx context.Context, c *dynamodb.Client, key string) error {
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(leaseTable),
		Item: map[string]types.AttributeValue{
			"leaseKey":     &types.AttributeValueMemberS{Value: key},
			"leaseOwner":   &types.AttributeValueMemberS{Value: "worker-1"},
			"leaseCounter": &types.AttributeValueMemberN{Value: "0"},
			"checkpoint":   &types.AttributeValueMemberS{Value: "TRIM_HORIZON"},
		},
		Expected: map[string]types.ExpectedAttributeValue{"leaseKey": {Exists: aws.Bool(false)}},
	})
	return err
}

func leaseClient(b *testing.B, url string) *dynamodb.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(tr.CloseIdleConnections)
	return dynamodb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIABENCHMARK", "bench-secret", ""),
		HTTPClient:  &http.Client{Transport: rivulet.SDKTransport(tr)},
	}, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) })
}

// createLeaseTable creates the KCL's lease table and waits until it is
// ACTIVE.
func createLeaseTable(b *testing.B, c *dynamodb.Client) {
	ctx := context.Background()
	_, err := c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(leaseTable),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		b.Fatalf("CreateTable: %v", err)
	}
	for deadline := time.Now().Add(hangTimeout); ; {
		out, err := c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(leaseTable)})
		if err != nil {
			b.Fatalf("DescribeTable: %v", err)
		}
		if out.Table.TableStatus == types.TableStatusActive {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("lease table %s after %v", out.Table.TableStatus, hangTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
