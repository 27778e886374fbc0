package natsstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

func count(t *testing.T, p *Peers) int {
	t.Helper()
	n, err := p.Count(context.Background())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

// waitCount polls until p counts want peers or the deadline passes.
func waitCount(t *testing.T, p *Peers, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n := count(t, p)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers = %d after %v, want %d", n, within, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPeersTwoStores(t *testing.T) {
	ctx := context.Background()
	a := mustOpen(t, Config{InMemory: true})
	b, err := Open(ctx, Config{Server: a.Server(), InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	pa, err := a.startHeartbeat(ctx, peerTTL, 100*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, pa); n != 1 {
		t.Fatalf("one process: %d peers", n)
	}
	pb, err := b.startHeartbeat(ctx, peerTTL, 100*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pa.ID() == pb.ID() {
		t.Fatal("two processes share an id")
	}
	if na, nb := count(t, pa), count(t, pb); na != 2 || nb != 2 {
		t.Fatalf("two processes: a counts %d, b counts %d", na, nb)
	}
	// Heartbeats keep going without piling up keys.
	time.Sleep(350 * time.Millisecond)
	if n := count(t, pa); n != 2 {
		t.Fatalf("after heartbeats: %d peers", n)
	}
	// A clean Close deregisters at once, not after the TTL.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pa); n != 1 {
		t.Errorf("after b closed: a counts %d", n)
	}
}

// A process that dies without deregistering drops out after the TTL,
// while the heartbeat keeps a live one in. The TTL runs on the server's
// clock, so a stall of the machine can expire an entry that the test meant
// to see: a sample that a stall may have spoiled is taken again, and no
// check fails only because the machine was slow.
func TestPeersDeadExpires(t *testing.T) {
	const ttl = time.Second
	ctx := context.Background()
	a := mustOpen(t, Config{InMemory: true})
	p, err := a.startHeartbeat(ctx, ttl, 200*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A dead entry counts until it expires. Counted within ttl of its put
	// it cannot have expired yet; a count that ends later proves nothing,
	// so the entry is put and counted again.
	for deadline := time.Now().Add(hangTimeout); ; {
		put := time.Now()
		if _, err := p.kv.Put(ctx, peerPrefix+"dead", []byte("x")); err != nil {
			t.Fatal(err)
		}
		n := count(t, p)
		if n == 2 {
			break
		}
		if time.Since(put) < ttl || time.Now().After(deadline) {
			t.Fatalf("with a dead entry: %d peers, want 2", n)
		}
	}
	waitCount(t, p, 1, hangTimeout)
	// Its own entry, put before the dead one, has outlived several TTLs by
	// now, so only the heartbeat can have kept it. A stall longer than the
	// TTL less one beat can still let it lapse until the next beat, so it
	// is looked up until it is there: a heartbeat that stopped never puts
	// it back.
	time.Sleep(1500 * time.Millisecond)
	if n := count(t, p); n != 1 {
		t.Errorf("live process dropped out: %d peers", n)
	}
	for deadline := time.Now().Add(hangTimeout); ; time.Sleep(50 * time.Millisecond) {
		_, err := p.kv.Get(ctx, peerPrefix+p.ID())
		if err == nil {
			break
		}
		if !errors.Is(err, jetstream.ErrKeyNotFound) || time.Now().After(deadline) {
			t.Fatalf("own entry: %v", err)
		}
	}
}

func TestPeersCountCached(t *testing.T) {
	ctx := context.Background()
	a := mustOpen(t, Config{InMemory: true})
	p, err := a.startHeartbeat(ctx, peerTTL, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n := count(t, p); n != 1 {
		t.Fatalf("%d peers", n)
	}
	if _, err := p.kv.Put(ctx, peerPrefix+"other", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, p); n != 1 {
		t.Errorf("cached count changed to %d", n)
	}
	p.mu.Lock()
	p.valid = false
	p.mu.Unlock()
	if n := count(t, p); n != 2 {
		t.Errorf("fresh count %d, want 2", n)
	}
}

func TestHeartbeatAfterClose(t *testing.T) {
	a, err := Open(context.Background(), Config{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	if _, err := a.StartHeartbeat(context.Background()); err == nil {
		t.Error("StartHeartbeat on a closed Store succeeded")
	}
}
