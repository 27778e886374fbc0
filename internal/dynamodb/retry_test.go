package dynamodb

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/memstore"
)

// racingTables loses the first `lose` item swaps, as if another process
// wrote first each time: it bumps the item behind the caller's back.
type racingTables struct {
	*memstore.Tables
	lose atomic.Int64
}

func (r *racingTables) PutItem(ctx context.Context, bucket string, key, val []byte, rev store.Revision) (store.Revision, error) {
	if r.lose.Add(-1) >= 0 {
		// The other writer's version: the same item, a newer revision.
		cur, curRev, err := r.Tables.GetItem(ctx, bucket, key)
		if err == nil {
			_, _ = r.Tables.PutItem(ctx, bucket, key, cur, curRev)
		}
		return 0, store.ErrConflict
	}
	return r.Tables.PutItem(ctx, bucket, key, val, rev)
}

// TestConflictRetry: a lost swap starts the write over (the condition is
// evaluated again); too many in a row is InternalServerError.
func TestConflictRetry(t *testing.T) {
	rt := &racingTables{Tables: memstore.NewTables()}
	svc := New(rt, Config{Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	t.Cleanup(srv.Client().CloseIdleConnections)
	e := &env{c: sdkClient(srv.URL, srv.Client(), "AKID", "x", "us-east-1")}
	ctx := context.Background()
	e.createLeaseTable(t, "app")
	if _, err := e.c.PutItem(ctx, &ddb.PutItemInput{TableName: aws.String("app"),
		Item: map[string]types.AttributeValue{"leaseKey": s("k"), "leaseCounter": n("1")}}); err != nil {
		t.Fatal(err)
	}
	incr := func() (*ddb.UpdateItemOutput, error) {
		return e.c.UpdateItem(ctx, &ddb.UpdateItemInput{TableName: aws.String("app"),
			Key:              map[string]types.AttributeValue{"leaseKey": s("k")},
			UpdateExpression: aws.String("ADD leaseCounter :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1")},
			ReturnValues: types.ReturnValueAllNew})
	}
	rt.lose.Store(5)
	out, err := incr()
	if err != nil || attrS(t, out.Attributes, "leaseCounter") != "2" {
		t.Fatalf("after 5 lost swaps: %v %v", out, err)
	}
	rt.lose.Store(maxCASAttempts)
	_, err = incr()
	apiErr(t, err, "InternalServerError", "Internal server error")
	rt.lose.Store(0)
	g, err := e.c.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String("app"), Key: map[string]types.AttributeValue{"leaseKey": s("k")}})
	if err != nil || attrS(t, g.Item, "leaseCounter") != "2" {
		t.Fatalf("counter after a failed write: %v %v", g.Item, err)
	}
}
