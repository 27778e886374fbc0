package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
)

// RunResources runs the store.Resources contract against fresh storage
// from open.
func RunResources(t *testing.T, open func(t *testing.T) store.Resources) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Resources)
	}{
		{"CreateGetReplace", resourcesCAS},
		{"Delete", resourcesDelete},
		{"KindsApart", resourcesKindsApart},
		{"List", resourcesList},
		{"ConcurrentCreate", resourcesConcurrentCreate},
		{"UnknownKind", resourcesUnknownKind},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func rkey(acct, region, name string) store.TableKey {
	return store.TableKey{Account: acct, Region: region, Name: name}
}

func resourcesCAS(t *testing.T, r store.Resources) {
	ctx := context.Background()
	k := rkey("111122223333", "us-east-1", "orders.v1-x_y")
	if _, _, err := r.GetResource(ctx, store.KindDeliveryStream, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	rev, err := r.PutResource(ctx, store.KindDeliveryStream, k, []byte("one"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutResource(ctx, store.KindDeliveryStream, k, []byte("again"), 0); !errors.Is(err, store.ErrExists) {
		t.Fatalf("create twice: %v, want ErrExists", err)
	}
	rev2, err := r.PutResource(ctx, store.KindDeliveryStream, k, []byte("two"), rev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutResource(ctx, store.KindDeliveryStream, k, []byte("stale"), rev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale replace: %v, want ErrConflict", err)
	}
	v, got, err := r.GetResource(ctx, store.KindDeliveryStream, k)
	if err != nil || string(v) != "two" || got != rev2 {
		t.Fatalf("get = %q, %d, %v; want two, %d", v, got, err, rev2)
	}
}

func resourcesDelete(t *testing.T, r store.Resources) {
	ctx := context.Background()
	k := rkey("111122223333", "us-east-1", "d")
	rev, err := r.PutResource(ctx, store.KindChannel, k, []byte("x"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteResource(ctx, store.KindChannel, k, rev+1000); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("stale delete: %v, want ErrConflict", err)
	}
	if err := r.DeleteResource(ctx, store.KindChannel, k, rev); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteResource(ctx, store.KindChannel, k, 0); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	if _, _, err := r.GetResource(ctx, store.KindChannel, k); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := r.PutResource(ctx, store.KindChannel, k, []byte("y"), 0); err != nil {
		t.Fatalf("re-create: %v", err)
	}
}

func resourcesKindsApart(t *testing.T, r store.Resources) {
	ctx := context.Background()
	k := rkey("111122223333", "us-east-1", "same")
	if _, err := r.PutResource(ctx, store.KindDeliveryStream, k, []byte("fh"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PutResource(ctx, store.KindChannel, k, []byte("ch"), 0); err != nil {
		t.Fatalf("same name, other kind: %v", err)
	}
	v, _, err := r.GetResource(ctx, store.KindDeliveryStream, k)
	if err != nil || string(v) != "fh" {
		t.Fatalf("get = %q, %v", v, err)
	}
}

func resourcesList(t *testing.T, r store.Resources) {
	ctx := context.Background()
	want := []store.TableKey{
		rkey("111122223333", "eu-west-1", "b"),
		rkey("111122223333", "us-east-1", "a"),
		rkey("111122223333", "us-east-1", "a.b"),
		rkey("111122223333", "us-east-1", "c"),
		rkey("444455556666", "us-east-1", "a"),
	}
	for _, i := range []int{3, 0, 4, 2, 1} {
		if _, err := r.PutResource(ctx, store.KindDeliveryStream, want[i], []byte("v"), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.PutResource(ctx, store.KindChannel, rkey("111122223333", "us-east-1", "zz"), []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	all, err := r.ListResources(ctx, store.KindDeliveryStream, "", "")
	if err != nil || !slices.Equal(all, want) {
		t.Fatalf("list all = %v, %v; want %v", all, err, want)
	}
	ns, err := r.ListResources(ctx, store.KindDeliveryStream, "111122223333", "us-east-1")
	if err != nil || !slices.Equal(ns, want[1:4]) {
		t.Fatalf("list namespace = %v, %v; want %v", ns, err, want[1:4])
	}
	if err := r.DeleteResource(ctx, store.KindDeliveryStream, want[2], 0); err != nil {
		t.Fatal(err)
	}
	ns, err = r.ListResources(ctx, store.KindDeliveryStream, "111122223333", "us-east-1")
	if err != nil || !slices.Equal(ns, []store.TableKey{want[1], want[3]}) {
		t.Fatalf("list after delete = %v, %v", ns, err)
	}
}

func resourcesConcurrentCreate(t *testing.T, r store.Resources) {
	ctx := context.Background()
	k := rkey("111122223333", "us-east-1", "race")
	errs := make([]error, 8)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = r.PutResource(ctx, store.KindDeliveryStream, k, []byte{byte(i)}, 0)
		})
	}
	wg.Wait()
	oneWinner(t, errs, store.ErrExists)
}

func resourcesUnknownKind(t *testing.T, r store.Resources) {
	ctx := context.Background()
	if _, err := r.PutResource(ctx, "streams", rkey("111122223333", "us-east-1", "x"), []byte("v"), 0); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
}
