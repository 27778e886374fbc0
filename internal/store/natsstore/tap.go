package natsstore

import (
	"sync"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

var _ store.Tapper = (*Store)(nil)

// taps holds the Tap callbacks by JetStream stream name.
type taps struct {
	mu sync.RWMutex
	fn map[string]*tapFunc
}

type tapFunc struct {
	fn func(seq uint64, at time.Time, data []byte)
}

// Tap implements store.Tapper: commit calls fn for every message it
// stores in ref's log. A later Tap on the same log replaces fn.
func (s *Store) Tap(ref store.ShardRef, fn func(seq uint64, at time.Time, data []byte)) (stop func()) {
	name, _, err := shardNames(ref)
	if err != nil {
		return func() {}
	}
	t := &tapFunc{fn: fn}
	s.taps.mu.Lock()
	if s.taps.fn == nil {
		s.taps.fn = map[string]*tapFunc{}
	}
	s.taps.fn[name] = t
	s.taps.mu.Unlock()
	return func() {
		s.taps.mu.Lock()
		if s.taps.fn[name] == t {
			delete(s.taps.fn, name)
		}
		s.taps.mu.Unlock()
	}
}

// tapOf returns the tap on a stream, or nil.
func (s *Store) tapOf(stream string) func(uint64, time.Time, []byte) {
	s.taps.mu.RLock()
	defer s.taps.mu.RUnlock()
	if t := s.taps.fn[stream]; t != nil {
		return t.fn
	}
	return nil
}
