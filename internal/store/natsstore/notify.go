package natsstore

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"

	"github.com/rivulet/rivulet/internal/store"
)

// Append notifications. After a group-commit round has its PubAcks, the
// flusher publishes an empty core-NATS message on the shard's notify
// subject. JetStream does not capture that subject, so it costs one tiny
// message and no storage; every process on the same NATS system sees it,
// and it always follows the data it announces.

// notifySubject is where appends to a shard are announced.
func notifySubject(ref store.ShardRef) (string, error) {
	if _, _, err := shardNames(ref); err != nil {
		return "", err
	}
	return "kdsn." + ref.StreamID + "." + strconv.Itoa(ref.Shard), nil
}

// announce tells watchers that a round for the shard was acknowledged.
// Losing one is harmless: readers also wake up on a timer.
func (s *Store) announce(ref store.ShardRef) {
	subj, err := notifySubject(ref)
	if err != nil {
		return
	}
	if err := s.nc.Publish(subj, nil); err != nil {
		s.log.Debug("append notification failed", "subject", subj, "err", err)
	}
}

// Watch subscribes to the shard's notify subject.
func (s *Store) Watch(ctx context.Context, ref store.ShardRef) (<-chan struct{}, func(), error) {
	subj, err := notifySubject(ref)
	if err != nil {
		return nil, nil, err
	}
	return s.watchSubject(ctx, subj)
}

// watchSubject turns every message on subj into a coalesced signal. The
// subscription is confirmed by the server before it returns, so nothing
// published afterwards is missed.
func (s *Store) watchSubject(ctx context.Context, subj string) (<-chan struct{}, func(), error) {
	if s.isClosed() {
		return nil, nil, store.ErrClosed
	}
	ch := make(chan struct{}, 1)
	// A callback nats.go has already dispatched may run after Unsubscribe
	// returns; the flag, under the lock, keeps it from signalling after
	// stop, as the contract promises.
	var mu sync.Mutex
	stopped := false
	sub, err := s.nc.Subscribe(subj, func(*nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("natsstore: watch %s: %w", subj, err)
	}
	stop := func() {
		mu.Lock()
		stopped = true
		mu.Unlock()
		_ = sub.Unsubscribe()
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	if err := s.nc.FlushWithContext(ctx); err != nil {
		stop()
		return nil, nil, fmt.Errorf("natsstore: watch %s: %w", subj, err)
	}
	return ch, stop, nil
}
