package natsstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
)

// The peer registry: every process with limits on keeps a key in a bucket
// whose entries expire, so counting live keys counts live processes.
const (
	peersBucket = "rivulet-peers"
	peerPrefix  = "peers."
	// peerTTL is how long a process counts after its last heartbeat.
	peerTTL = 10 * time.Second
	// heartbeatEvery leaves room for two missed beats within peerTTL.
	heartbeatEvery = 3 * time.Second
	// peersCacheFor bounds how often Count lists the bucket.
	peersCacheFor = time.Second
)

// Peers is this process's entry in the peer registry.
type Peers struct {
	s     *Store
	kv    jetstream.KeyValue
	id    string
	every time.Duration
	cache time.Duration

	mu    sync.Mutex
	n     int
	at    time.Time
	valid bool
}

// StartHeartbeat registers this process in the peer registry and keeps it
// registered from one goroutine until Close, which removes the entry. Only
// --limits=aws needs it, so it is not started by Open.
func (s *Store) StartHeartbeat(ctx context.Context) (*Peers, error) {
	return s.startHeartbeat(ctx, peerTTL, heartbeatEvery, peersCacheFor)
}

func (s *Store) startHeartbeat(ctx context.Context, ttl, every, cache time.Duration) (*Peers, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	kv, err := s.peersBucket(ctx, ttl)
	if err != nil {
		return nil, err
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := &Peers{s: s, kv: kv, id: hex.EncodeToString(b[:]), every: every, cache: cache}
	if err := p.beat(ctx); err != nil {
		return nil, fmt.Errorf("natsstore: register peer: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, store.ErrClosed
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go p.run()
	return p, nil
}

// peersBucket binds the registry bucket, creating it in memory on first
// use: it holds nothing worth keeping across a restart.
func (s *Store) peersBucket(ctx context.Context, ttl time.Duration) (jetstream.KeyValue, error) {
	kv, err := s.js.KeyValue(ctx, peersBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = s.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket:      peersBucket,
			Description: "live rivulet processes, for dividing --limits=aws",
			History:     1,
			TTL:         ttl,
			Storage:     jetstream.MemoryStorage,
			Replicas:    s.replicas,
		})
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			kv, err = s.js.KeyValue(ctx, peersBucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: peers bucket: %w", err)
	}
	return kv, nil
}

// ID is this process's key in the registry, without the prefix.
func (p *Peers) ID() string { return p.id }

func (p *Peers) beat(ctx context.Context) error {
	_, err := p.kv.Put(ctx, peerPrefix+p.id, []byte(time.Now().UTC().Format(time.RFC3339)))
	return err
}

// run renews the entry until the Store closes, then removes it so the
// others stop counting this process at once rather than after peerTTL.
func (p *Peers) run() {
	defer p.s.wg.Done()
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), p.every)
			if err := p.beat(ctx); err != nil {
				p.s.log.Warn("peer heartbeat failed", "err", err)
			}
			cancel()
		case <-p.s.quit:
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if err := p.kv.Delete(ctx, peerPrefix+p.id); err != nil {
				p.s.log.Debug("peer deregistration failed", "err", err)
			}
			cancel()
			return
		}
	}
}

// Count is the number of live processes in the registry, this one
// included, at most peersCacheFor old.
func (p *Peers) Count(ctx context.Context) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.valid && time.Since(p.at) < p.cache {
		return p.n, nil
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	lister, err := p.kv.ListKeysFiltered(ctx, peerPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("natsstore: list peers: %w", err)
	}
	defer lister.Stop()
	n, self := 0, false
	for k := range lister.Keys() {
		n++
		self = self || k == peerPrefix+p.id
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("natsstore: list peers: %w", err)
	}
	if !self {
		n++ // this process is alive even if its last beat was lost
	}
	p.n, p.at, p.valid = n, time.Now(), true
	return n, nil
}
