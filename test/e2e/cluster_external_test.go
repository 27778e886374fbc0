package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// TestExternalCluster runs two `rivulet serve --nats-url` processes on an
// external three-node NATS JetStream cluster with --replicas 3, kills one
// NATS node with SIGKILL under writes through both, and checks that every
// acknowledged record reads back through both, before and after the node
// returns.
func TestExternalCluster(t *testing.T) {
	ctx := context.Background()
	nats := startNATSCluster(t, 3)
	var urls []string
	for _, n := range nats {
		urls = append(urls, n.url())
	}
	url := strings.Join(urls, ",")

	// More replicas than the cluster has nodes: refused at start, saying so.
	out := serveFails(t, "--nats-url", url, "--replicas", "5")
	for _, want := range []string{"fewer live nodes than replicas", "5 replicas wanted"} {
		if !strings.Contains(out, want) {
			t.Errorf("rivulet serve --replicas 5 on three nodes: output lacks %q:\n%s", want, tail(out))
		}
	}

	flags := []string{"--nats-url", url, "--replicas", "3"}
	a := startServer(t, serverOptions{extra: flags})
	b := startServer(t, serverOptions{extra: flags})
	// No SDK retries: a put whose outcome is unknown is counted as such
	// (it may or may not be stored), and the writer moves on.
	noRetry := func(o *kinesis.Options) { o.Retryer = aws.NopRetryer{} }
	ca, cb := a.kinesis(noRetry), b.kinesis(noRetry)

	if _, err := ca.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("ext"), ShardCount: aws.Int32(2)}); err != nil {
		t.Fatal(err)
	}
	waitActive(ctx, t, cb, "ext")

	w := &clusterWriters{unacked: map[string]bool{}}
	w.start(ctx, t, []*kinesis.Client{ca, cb, ca, cb})
	w.waitAcked(t, 100)

	// SIGKILL one NATS node; the Rivulets' connections to it move to the
	// others, and streams it led elect new leaders.
	leader := shardLeader(ctx, t, url)
	var victim *natsNode
	for _, n := range nats {
		if n.name == leader {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("shard log leader %q is none of the NATS nodes", leader)
	}
	victim.kill(t)
	killed := time.Now()
	t.Logf("killed nats-server %s, leading a shard log, after %d acknowledged records", victim.name, w.count())
	// A new stream cannot have its three replicas: refused, saying why,
	// once NATS counts the node down.
	waitMetaPeerDown(ctx, t, url)
	t.Logf("NATS counts %s down after %v", victim.name, time.Since(killed))
	_, err := ca.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("short"), ShardCount: aws.Int32(1)})
	var le *types.LimitExceededException
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "fewer live nodes than --replicas") {
		t.Errorf("CreateStream with one of three nodes down: %v; want LimitExceededException naming the live nodes", err)
	}
	w.waitAcked(t, w.count()+200)
	t.Logf("longest gap between acknowledged writes after the kill: %v", w.longestGapSince(killed))
	w.stop()
	if t.Failed() {
		return
	}
	acked, unacked := w.result()
	for _, c := range []*kinesis.Client{ca, cb} {
		verifyEventually(ctx, t, c, "ext", acked, unacked)
	}

	// The node returns on its store directory and catches up; writes go on.
	victim.start(t, natsServerBinary(t))
	waitNATSMeta(t, nats, 3)
	w = &clusterWriters{acked: acked, unacked: unacked}
	w.start(ctx, t, []*kinesis.Client{ca, cb})
	w.waitAcked(t, len(acked)+100)
	w.stop()
	if t.Failed() {
		return
	}
	acked, unacked = w.result()
	for _, c := range []*kinesis.Client{ca, cb} {
		verifyEventually(ctx, t, c, "ext", acked, unacked)
	}
	verifyKeyOrder(t, acked)
	t.Logf("%d records acknowledged, %d puts with an unknown outcome", len(acked), len(unacked))

	// --replicas 1 on the cluster is allowed: that process's new shard logs
	// have one copy (the existing metadata keeps its three).
	c1 := startServer(t, serverOptions{extra: []string{"--nats-url", url, "--replicas", "1"}})
	if _, err := c1.kinesis().PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("ext"),
		PartitionKey: aws.String("r1"), Data: []byte("through a --replicas 1 server")}); err != nil {
		t.Errorf("PutRecord through --replicas 1: %v", err)
	}
	c1.stop(t)
	b.stop(t)
	a.stop(t)
}

// serveFails runs rivulet serve with args and returns its output; the test
// fails unless the process exits with an error.
func serveFails(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*hangTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, rivuletBinary(t), append([]string{"serve", "--addr", "127.0.0.1:0",
		"--admin-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RIVULET_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.WaitDelay = hangTimeout
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("rivulet serve %v did not exit:\n%s", args, tail(string(out)))
	case !errors.As(err, &exit):
		t.Fatalf("rivulet serve %v: %v (want an exit with an error)\n%s", args, err, tail(string(out)))
	}
	return string(out)
}

// clusterWriters put records without pause through several clients,
// logging each acknowledged one and each whose outcome is unknown.
type clusterWriters struct {
	mu      sync.Mutex
	acked   []ackedRecord
	ackedAt []time.Time
	unacked map[string]bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func (w *clusterWriters) start(ctx context.Context, t *testing.T, clients []*kinesis.Client) {
	ctx, w.cancel = context.WithCancel(ctx)
	t.Cleanup(w.stop) // when the test fails before it stops them
	base := len(w.acked) + len(w.unacked)
	for i, c := range clients {
		w.wg.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				pk, data := fmt.Sprintf("w%d-k%d", i, n%5), fmt.Sprintf("w%d-%d-%d", i, base, n)
				pctx, pcancel := context.WithTimeout(ctx, hangTimeout)
				out, err := c.PutRecord(pctx, &kinesis.PutRecordInput{StreamName: aws.String("ext"),
					PartitionKey: &pk, Data: []byte(data)})
				pcancel()
				w.mu.Lock()
				if err == nil {
					w.acked = append(w.acked, ackedRecord{Shard: *out.ShardId, Seq: *out.SequenceNumber, PartitionKey: pk, Data: data})
					w.ackedAt = append(w.ackedAt, time.Now())
				} else {
					w.unacked[data] = true
				}
				w.mu.Unlock()
				if err != nil && ctx.Err() == nil {
					t.Logf("writer %d: %v", i, err)
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
}

func (w *clusterWriters) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// waitAcked waits until n records are acknowledged in all.
func (w *clusterWriters) waitAcked(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * hangTimeout)
	for w.count() < n {
		if time.Now().After(deadline) {
			w.stop()
			t.Fatalf("%d of %d records acknowledged in time", w.count(), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *clusterWriters) stop() {
	w.cancel()
	w.wg.Wait()
}

// result is what the writers logged; a put cancelled by stop counts as
// unknown.
func (w *clusterWriters) result() ([]ackedRecord, map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acked, w.unacked
}

// longestGapSince is the longest time without an acknowledged write after
// since.
func (w *clusterWriters) longestGapSince(since time.Time) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var gap time.Duration
	prev := since
	for _, at := range w.ackedAt {
		if at.Before(since) {
			continue
		}
		gap = max(gap, at.Sub(prev))
		prev = at
	}
	return gap
}

// verifyEventually reads the stream through c until every acknowledged
// record is there (a replica may serve a read a moment behind its
// leader), then checks the records exactly.
func verifyEventually(ctx context.Context, t *testing.T, c *kinesis.Client, name string, acked []ackedRecord, unacked map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(hangTimeout)
	for {
		read := readAll(ctx, t, c, name)
		seen := make(map[string]bool, len(read))
		for _, r := range read {
			seen[r.Shard+"/"+r.Seq] = true
		}
		missing := 0
		for _, a := range acked {
			if !seen[a.Shard+"/"+a.Seq] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			verifyDurable(t, acked, unacked, read)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}
