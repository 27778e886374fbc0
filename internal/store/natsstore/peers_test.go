package natsstore

import (
	"context"
	"testing"
	"time"
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
// while the heartbeat keeps a live one in.
func TestPeersDeadExpires(t *testing.T) {
	ctx := context.Background()
	a := mustOpen(t, Config{InMemory: true})
	p, err := a.startHeartbeat(ctx, time.Second, 200*time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.kv.Put(ctx, peerPrefix+"dead", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if n := count(t, p); n != 2 {
		t.Fatalf("with a dead entry: %d peers, want 2", n)
	}
	waitCount(t, p, 1, 5*time.Second)
	// Its own entry has outlived several TTLs by now.
	time.Sleep(1500 * time.Millisecond)
	if n := count(t, p); n != 1 {
		t.Errorf("live process dropped out: %d peers", n)
	}
	if _, err := p.kv.Get(ctx, peerPrefix+p.ID()); err != nil {
		t.Errorf("own entry: %v", err)
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
