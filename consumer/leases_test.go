package consumer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestLeaseStoreContract checks every lease table call, with the Java
// KCL's attribute names, types and conditions, against each backend.
func TestLeaseStoreContract(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		s := &leaseStore{ddb: e.ddb, table: uniqueName(t)}
		if err := s.ensureTable(ctx); err != nil {
			t.Fatalf("creating the table: %v", err)
		}

		t.Run("Table", func(t *testing.T) {
			if err := s.ensureTable(ctx); err != nil {
				t.Fatalf("ensureTable on an existing table: %v", err)
			}
			out, err := e.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
			if err != nil {
				t.Fatal(err)
			}
			tb := out.Table
			if tb.TableStatus != types.TableStatusActive {
				t.Errorf("status %s", tb.TableStatus)
			}
			if len(tb.KeySchema) != 1 || aws.ToString(tb.KeySchema[0].AttributeName) != attrKey || tb.KeySchema[0].KeyType != types.KeyTypeHash {
				t.Errorf("key schema %+v", tb.KeySchema)
			}
			if tb.BillingModeSummary == nil || tb.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
				t.Errorf("billing mode %+v", tb.BillingModeSummary)
			}
		})

		t.Run("CreateAndRead", func(t *testing.T) {
			l := &lease{
				key: "shardId-000000000007", checkpoint: TrimHorizon,
				parents:      []string{"shardId-000000000001", "shardId-000000000002"},
				startingHash: "0", endingHash: "340282366920938463463374607431768211455",
			}
			ok, err := s.create(ctx, l)
			if err != nil || !ok {
				t.Fatalf("create: %v %v", ok, err)
			}
			if ok, err := s.create(ctx, &lease{key: l.key, checkpoint: Latest}); err != nil || ok {
				t.Fatalf("second create: %v %v, want false", ok, err)
			}
			raw, err := e.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(l.key)})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				attrKey: "S", attrCounter: "N", attrOwnerSwitches: "N", attrCheckpoint: "S",
				attrCheckpointSub: "N", attrParents: "SS", attrStartingHashKey: "S", attrEndingHashKey: "S",
			}
			got := map[string]string{}
			for k, v := range raw.Item {
				got[k] = avType(v)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("item attributes %v, want %v", got, want)
			}
			r, err := s.get(ctx, l.key)
			if err != nil {
				t.Fatal(err)
			}
			if r.checkpoint != TrimHorizon || r.owner != "" || r.counter != 0 || !reflect.DeepEqual(r.parents, l.parents) || r.startingHash != "0" || r.endingHash != l.endingHash {
				t.Errorf("read %+v", r)
			}
			if r, err := s.get(ctx, "shardId-999999999999"); err != nil || r != nil {
				t.Errorf("missing lease: %v %v", r, err)
			}
		})

		t.Run("TakeRenewEvict", func(t *testing.T) {
			key := "shardId-000000000010"
			mustCreate(t, s, &lease{key: key, checkpoint: Latest})
			l := mustGet(t, s, key)
			if err := s.take(ctx, l, "w1"); err != nil {
				t.Fatalf("take: %v", err)
			}
			l = mustGet(t, s, key)
			if l.owner != "w1" || l.counter != 1 || l.ownerSwitches != 0 {
				t.Errorf("after taking an unowned lease: %+v", l)
			}
			if err := s.take(ctx, &lease{key: key, counter: 0, owner: ""}, "w2"); !errors.Is(err, errConditionFailed) {
				t.Errorf("take with a stale counter: %v", err)
			}
			if err := s.renew(ctx, key, "w1", 1); err != nil {
				t.Fatalf("renew: %v", err)
			}
			if l = mustGet(t, s, key); l.counter != 2 {
				t.Errorf("counter %d after renewal", l.counter)
			}
			// A renewal applied whose answer was lost: the retry sees
			// owner self and counter+1, and keeps the lease.
			if err := s.renew(ctx, key, "w1", 1); err != nil {
				t.Errorf("renew after an applied renewal: %v", err)
			}
			if err := s.renew(ctx, key, "w2", 1); !errors.Is(err, errConditionFailed) {
				t.Errorf("renew by another owner: %v", err)
			}
			if err := s.renew(ctx, key, "w1", 0); !errors.Is(err, errConditionFailed) {
				t.Errorf("renew with an old counter: %v", err)
			}
			// Steal: owner switches count.
			l = mustGet(t, s, key)
			if err := s.take(ctx, l, "w2"); err != nil {
				t.Fatal(err)
			}
			if l = mustGet(t, s, key); l.owner != "w2" || l.counter != 3 || l.ownerSwitches != 1 {
				t.Errorf("after a steal: %+v", l)
			}
			if err := s.evict(ctx, key, "w1", l.counter); !errors.Is(err, errConditionFailed) {
				t.Errorf("evict by a non-owner: %v", err)
			}
			if err := s.evict(ctx, key, "w2", l.counter); err != nil {
				t.Fatal(err)
			}
			if l = mustGet(t, s, key); l.owner != "" || l.counter != 4 {
				t.Errorf("after evict: %+v", l)
			}
		})

		t.Run("Checkpoint", func(t *testing.T) {
			key := "shardId-000000000020"
			pending := ExtendedSequenceNumber{SequenceNumber: "5", SubSequenceNumber: 1}
			mustCreate(t, s, &lease{key: key, checkpoint: TrimHorizon, pending: &pending, owner: "w1", ownerSwitches: 2})
			if r := mustGet(t, s, key); r.pending == nil || *r.pending != pending {
				t.Fatalf("pending checkpoint not stored: %+v", r)
			}
			cp := ExtendedSequenceNumber{SequenceNumber: "49590338271490256608559692538361571095921575989136588898", SubSequenceNumber: 3}
			if err := s.checkpoint(ctx, key, "w1", 0, cp); err != nil {
				t.Fatal(err)
			}
			r := mustGet(t, s, key)
			if r.checkpoint != cp || r.counter != 1 || r.ownerSwitches != 0 || r.pending != nil {
				t.Errorf("after checkpoint: %+v", r)
			}
			raw, _ := e.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(key)})
			for _, a := range []string{attrPending, attrPendingSub} {
				if _, ok := raw.Item[a]; ok {
					t.Errorf("%s not removed", a)
				}
			}
			// The same checkpoint retried after a lost answer succeeds;
			// another one at the old counter does not.
			if err := s.checkpoint(ctx, key, "w1", 0, cp); err != nil {
				t.Errorf("checkpoint retried: %v", err)
			}
			if err := s.checkpoint(ctx, key, "w1", 0, ShardEnd); !errors.Is(err, errConditionFailed) {
				t.Errorf("checkpoint at an old counter: %v", err)
			}
		})

		t.Run("ChildrenAndDelete", func(t *testing.T) {
			key := "shardId-000000000030"
			mustCreate(t, s, &lease{key: key, checkpoint: ShardEnd})
			kids := []string{"shardId-000000000031", "shardId-000000000032"}
			if err := s.setChildren(ctx, key, kids); err != nil {
				t.Fatal(err)
			}
			if r := mustGet(t, s, key); !reflect.DeepEqual(r.children, kids) || r.counter != 0 {
				t.Errorf("children %v counter %d", r.children, r.counter)
			}
			if err := s.setChildren(ctx, "shardId-000000000099", kids); err != nil {
				t.Errorf("children of a missing lease: %v", err)
			}
			if r := mustGet(t, s, "shardId-000000000099"); r != nil {
				t.Errorf("setChildren created a lease: %+v", r)
			}
			if err := s.delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			if r := mustGet(t, s, key); r != nil {
				t.Errorf("deleted lease still there")
			}
			if err := s.delete(ctx, key); err != nil {
				t.Errorf("deleting a missing lease: %v", err)
			}
		})

		t.Run("ScanPages", func(t *testing.T) {
			ps := &leaseStore{ddb: e.ddb, table: uniqueName(t), limit: 3}
			if err := ps.ensureTable(ctx); err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				mustCreate(t, ps, &lease{key: fmt.Sprintf("shardId-%012d", i), checkpoint: Latest})
			}
			all, err := ps.list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, l := range all {
				seen[l.key] = true
			}
			if len(all) != 10 || len(seen) != 10 {
				t.Errorf("scan found %d leases (%d distinct), want 10", len(all), len(seen))
			}
		})
	})
}

func avType(v types.AttributeValue) string {
	switch v.(type) {
	case *types.AttributeValueMemberS:
		return "S"
	case *types.AttributeValueMemberN:
		return "N"
	case *types.AttributeValueMemberSS:
		return "SS"
	case *types.AttributeValueMemberB:
		return "B"
	}
	return fmt.Sprintf("%T", v)
}

func mustCreate(t *testing.T, s *leaseStore, l *lease) {
	t.Helper()
	if ok, err := s.create(context.Background(), l); err != nil || !ok {
		t.Fatalf("create %s: %v %v", l.key, ok, err)
	}
}

func mustGet(t *testing.T, s *leaseStore, key string) *lease {
	t.Helper()
	l, err := s.get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
