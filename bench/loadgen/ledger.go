package loadgen

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
)

// Every record the generator writes starts with a 16-byte id: the run's
// nonce, then the worker number (high 24 bits) and the worker's record
// counter (low 40 bits), both big-endian. The nonce tells this run's
// records from any others in the stream.
const idLen = 16

func putID(dst []byte, nonce uint64, worker int, seq uint64) {
	var id [idLen]byte
	binary.BigEndian.PutUint64(id[:8], nonce)
	binary.BigEndian.PutUint64(id[8:], uint64(worker)<<40|seq)
	copy(dst, id[:]) // records shorter than 16 bytes keep a prefix
}

// parseID reads an id written with nonce; ok is false for records of
// another run or too short to hold one.
func parseID(data []byte, nonce uint64) (worker int, seq uint64, ok bool) {
	if len(data) < idLen || binary.BigEndian.Uint64(data[:8]) != nonce {
		return 0, 0, false
	}
	v := binary.BigEndian.Uint64(data[8:16])
	return int(v >> 40), v & (1<<40 - 1), true
}

// ledger remembers which records were acknowledged and how often each was
// read back. A worker marks its own records while writing (a slot per
// record it generated); reads count with atomics, from any goroutine, once
// writing is over.
type ledger struct {
	workers [][]atomic.Uint32 // per worker, per record: ackedBit | times read

	mu         sync.Mutex
	maxAcked   map[string]string // shard id -> highest sequence number acknowledged
	foreign    atomic.Int64      // records of other runs
	unexpected atomic.Int64      // ids this run never generated
}

const ackedBit = 1 << 31

func newLedger(workers int) *ledger {
	return &ledger{workers: make([][]atomic.Uint32, workers), maxAcked: map[string]string{}}
}

// grow makes room for worker w's records up to seq; only w calls it.
func (l *ledger) grow(w int, seq uint64) {
	s := l.workers[w]
	if seq < uint64(len(s)) {
		return
	}
	n := max(2*len(s), int(seq)+1, 1024)
	grown := make([]atomic.Uint32, n)
	for i := range s {
		grown[i].Store(s[i].Load())
	}
	l.workers[w] = grown
}

// ack marks a record acknowledged on shardID with sequence number seqNum.
func (l *ledger) ack(w int, seq uint64, shardID, seqNum string) {
	l.workers[w][seq].Or(ackedBit)
	if shardID == "" {
		return
	}
	l.mu.Lock()
	if cur, ok := l.maxAcked[shardID]; !ok || seqLess(cur, seqNum) {
		l.maxAcked[shardID] = seqNum
	}
	l.mu.Unlock()
}

// read counts one read of data.
func (l *ledger) read(data []byte, nonce uint64) {
	w, seq, ok := parseID(data, nonce)
	switch {
	case !ok:
		l.foreign.Add(1)
	case w >= len(l.workers) || seq >= uint64(len(l.workers[w])):
		l.unexpected.Add(1)
	default:
		l.workers[w][seq].Add(1)
	}
}

// highestAcked is the highest sequence number acknowledged on shardID.
func (l *ledger) highestAcked(shardID string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.maxAcked[shardID]
	return s, ok
}

// check tallies the ledger: every acknowledged record must have been read
// exactly once.
func (l *ledger) check() *Check {
	c := &Check{Foreign: l.foreign.Load(), Unacknowledged: l.unexpected.Load()}
	for _, recs := range l.workers {
		for i := range recs {
			v := recs[i].Load()
			acked, reads := v&ackedBit != 0, int64(v&^ackedBit)
			if acked {
				c.Expected++
			}
			switch {
			case reads == 0 && acked:
				c.Missing++
			case reads == 0:
			case !acked:
				c.Unacknowledged++
				c.Duplicates += reads - 1
			default:
				c.Read++
				c.Duplicates += reads - 1
			}
		}
	}
	c.OK = c.Missing == 0 && c.Duplicates == 0
	return c
}

// seqLess compares Kinesis sequence numbers, decimal strings without
// leading zeros.
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
