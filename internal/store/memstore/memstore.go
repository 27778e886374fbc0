// Package memstore is a store.Backend held in memory: maps behind one
// mutex, for tests and local runs that need no JetStream. Handles opened
// from one another (Store.Open) share their storage, as several processes
// share one NATS system; nothing survives the process.
//
// It keeps natsstore's observable behaviour where callers rely on it: an
// append to a closed or missing log is store.ErrNotFound, messages older
// than the retention vanish from reads, stream records round-trip through
// JSON, and concurrent appends to a shard are packed into shared messages
// (group commit) with the batch format's size limits.
package memstore

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
)

// Config tunes a storage. The zero value is ready to use.
type Config struct {
	// MaxPayload is the largest stored message in bytes, as the batch
	// format counts them; an entry that fits no message is
	// store.ErrTooLarge. Default 16 MiB, the embedded NATS server's limit.
	MaxPayload int
	// Now stamps messages and drives retention; default time.Now.
	Now func() time.Time
}

const (
	defaultMaxPayload = 16 << 20
	// packTarget is the size group commit aims for per message, as in
	// natsstore, so reads see messages of similar sizes.
	packTarget = 1 << 20
	// gatherYields bounds how often a round's leader yields to let
	// concurrent appends join its round.
	gatherYields = 8
)

// Store is one handle on a storage. It is safe for concurrent use.
type Store struct {
	st     *storage
	closed atomic.Bool
}

var _ store.Backend = (*Store)(nil)

// New returns a handle on fresh, empty storage.
func New(cfg Config) *Store {
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = defaultMaxPayload
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{st: &storage{
		cfg:      cfg,
		target:   min(packTarget, cfg.MaxPayload),
		streams:  map[store.StreamKey]record{},
		values:   map[string]record{},
		res:      map[resKey]record{},
		logs:     map[store.ShardRef]*shardLog{},
		queues:   map[store.ShardRef]*queue{},
		logWatch: map[store.ShardRef]map[*watcher]struct{}{},
		valWatch: map[string]map[*watcher]struct{}{},
	}}
}

// Open returns another handle on the same storage, as a second process
// would have. Closing either handle leaves the other working.
func (s *Store) Open() *Store { return &Store{st: s.st} }

// Close ends this handle's watches and makes its later calls return
// store.ErrClosed. Calling it again is a no-op.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	st := s.st
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, set := range st.logWatch {
		for w := range set {
			if w.owner == s {
				w.stopLocked()
			}
		}
	}
	for _, set := range st.valWatch {
		for w := range set {
			if w.owner == s {
				w.stopLocked()
			}
		}
	}
	return nil
}

// check is the common entry test: a closed handle, then a finished ctx.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// storage is what the handles of one New share.
type storage struct {
	cfg    Config
	target int

	mu       sync.Mutex
	rev      store.Revision // last revision handed out, for streams and values alike
	streams  map[store.StreamKey]record
	values   map[string]record
	res      map[resKey]record // store.Resources
	secret   []byte
	logs     map[store.ShardRef]*shardLog
	queues   map[store.ShardRef]*queue
	logWatch map[store.ShardRef]map[*watcher]struct{}
	valWatch map[string]map[*watcher]struct{}
}

// record is a stored stream (JSON) or value with its revision.
type record struct {
	val []byte
	rev store.Revision
}

func (st *storage) now() time.Time { return st.cfg.Now().UTC() }

// nextRev hands out a revision. One counter for every key, so a key
// deleted and created again never reuses a revision.
func (st *storage) nextRev() store.Revision {
	st.rev++
	return st.rev
}

// casLocked is the compare-and-swap shared by streams and values:
// rev 0 creates, anything else must match the stored revision.
func casLocked[K comparable](st *storage, m map[K]record, k K, val []byte, rev store.Revision) (store.Revision, error) {
	cur, ok := m[k]
	switch {
	case rev == 0 && ok:
		return 0, store.ErrExists
	case rev != 0 && (!ok || cur.rev != rev):
		return 0, store.ErrConflict
	}
	n := st.nextRev()
	m[k] = record{val: val, rev: n}
	return n, nil
}

// Get reads a stream's record.
func (s *Store) Get(ctx context.Context, key store.StreamKey) (*store.Stream, store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	s.st.mu.Lock()
	r, ok := s.st.streams[key]
	s.st.mu.Unlock()
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	st, err := decodeStream(r.val)
	if err != nil {
		return nil, 0, err
	}
	return st, r.rev, nil
}

// Cached is Get: every handle sees the storage itself, so it is never
// stale.
func (s *Store) Cached(ctx context.Context, key store.StreamKey) (*store.Stream, store.Revision, error) {
	return s.Get(ctx, key)
}

// Put creates (rev 0) or replaces (rev = the revision read) a stream's
// record. The record is stored as JSON, as natsstore stores it, so a
// field that does not survive encoding fails here too.
func (s *Store) Put(ctx context.Context, st *store.Stream, rev store.Revision) (store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	val, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("memstore: encode %s: %w", st.Key.Name, err)
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	return casLocked(s.st, s.st.streams, st.Key, val, rev)
}

// Delete removes a stream's record if its revision is still rev; rev 0
// deletes whatever is there.
func (s *Store) Delete(ctx context.Context, key store.StreamKey, rev store.Revision) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.streams[key]
	switch {
	case !ok:
		return store.ErrNotFound
	case rev != 0 && cur.rev != rev:
		return store.ErrConflict
	}
	delete(s.st.streams, key)
	return nil
}

// List returns a namespace's streams sorted by name.
func (s *Store) List(ctx context.Context, account, region string) ([]*store.Stream, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	var raw [][]byte
	s.st.mu.Lock()
	for k, r := range s.st.streams {
		if k.Account == account && k.Region == region {
			raw = append(raw, r.val)
		}
	}
	s.st.mu.Unlock()
	out := make([]*store.Stream, 0, len(raw))
	for _, b := range raw {
		st, err := decodeStream(b)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b *store.Stream) int { return strings.Compare(a.Key.Name, b.Key.Name) })
	return out, nil
}

func decodeStream(b []byte) (*store.Stream, error) {
	var st store.Stream
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("memstore: decode stream: %w", err)
	}
	return &st, nil
}

// Secret returns the storage's 32-byte key, created on first use.
func (s *Store) Secret(ctx context.Context) ([]byte, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.secret == nil {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, fmt.Errorf("memstore: secret: %w", err)
		}
		s.st.secret = k
	}
	return slices.Clone(s.st.secret), nil
}

// checkValueKey accepts what natsstore accepts: tokens of [-_a-zA-Z0-9]
// separated by single dots.
func checkValueKey(key string) error {
	if key == "" || strings.HasPrefix(key, ".") || strings.HasSuffix(key, ".") || strings.Contains(key, "..") {
		return fmt.Errorf("memstore: invalid value key %q", key)
	}
	for _, c := range []byte(key) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("memstore: value key %q has characters other than [-_.a-zA-Z0-9]", key)
		}
	}
	return nil
}

// GetValue reads a value and its revision.
func (s *Store) GetValue(ctx context.Context, key string) ([]byte, store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkValueKey(key); err != nil {
		return nil, 0, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	r, ok := s.st.values[key]
	if !ok {
		return nil, 0, store.ErrNotFound
	}
	return slices.Clone(r.val), r.rev, nil
}

// PutValue creates (rev 0) or replaces (rev = the revision read) a value.
func (s *Store) PutValue(ctx context.Context, key string, val []byte, rev store.Revision) (store.Revision, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	if err := checkValueKey(key); err != nil {
		return 0, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	n, err := casLocked(s.st, s.st.values, key, slices.Clone(val), rev)
	if err != nil {
		return 0, err
	}
	signalLocked(s.st.valWatch[key])
	return n, nil
}

// DeleteValue removes a value if its revision is still rev (0: any). A
// missing value is not an error.
func (s *Store) DeleteValue(ctx context.Context, key string, rev store.Revision) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	if err := checkValueKey(key); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	cur, ok := s.st.values[key]
	switch {
	case !ok:
		return nil
	case rev != 0 && cur.rev != rev:
		return store.ErrConflict
	}
	delete(s.st.values, key)
	signalLocked(s.st.valWatch[key])
	return nil
}

// watcher is one Watch or WatchValue. Its channel has room for one
// signal, so signals coalesce and a writer never blocks on a reader.
type watcher struct {
	ch     chan struct{}
	owner  *Store
	remove func() // takes it out of its set; under storage.mu
}

func (w *watcher) stopLocked() {
	if w.remove != nil {
		w.remove()
		w.remove = nil
	}
}

func signalLocked(set map[*watcher]struct{}) {
	for w := range set {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// addWatch registers a watcher in m[k] and returns its channel and stop.
func addWatch[K comparable](s *Store, m map[K]map[*watcher]struct{}, k K) (<-chan struct{}, func()) {
	st := s.st
	w := &watcher{ch: make(chan struct{}, 1), owner: s}
	st.mu.Lock()
	set := m[k]
	if set == nil {
		set = map[*watcher]struct{}{}
		m[k] = set
	}
	set[w] = struct{}{}
	// While w is registered, m[k] is the set holding it: a set leaves m
	// only once empty.
	w.remove = func() {
		delete(m[k], w)
		if len(m[k]) == 0 {
			delete(m, k)
		}
	}
	st.mu.Unlock()
	stop := func() {
		st.mu.Lock()
		w.stopLocked()
		st.mu.Unlock()
	}
	return w.ch, stop
}

// WatchValue signals after every change of the value under key.
func (s *Store) WatchValue(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	if err := s.check(ctx); err != nil {
		return nil, nil, err
	}
	if err := checkValueKey(key); err != nil {
		return nil, nil, err
	}
	ch, stop := addWatch(s, s.st.valWatch, key)
	return ch, stop, nil
}

// Watch signals after every committed round of appends to the shard,
// whether or not its log exists yet.
func (s *Store) Watch(ctx context.Context, ref store.ShardRef) (<-chan struct{}, func(), error) {
	if err := s.check(ctx); err != nil {
		return nil, nil, err
	}
	ch, stop := addWatch(s, s.st.logWatch, ref)
	return ch, stop, nil
}

// shardLog is one shard's log. Sequences are contiguous: messages only
// leave from the front, by retention.
type shardLog struct {
	retention time.Duration // <= 0 keeps everything
	msgs      []message     // retained messages, oldest first
	last      uint64        // sequence of the last message ever stored
	lastTime  time.Time
	closed    bool
}

type message struct {
	store.Message
	size int // batch-encoded size
}

func (l *shardLog) first() uint64 { return l.last + 1 - uint64(len(l.msgs)) }

// expire drops messages older than the retention.
func (l *shardLog) expire(now time.Time) {
	if l.retention <= 0 {
		return
	}
	cut := now.Add(-l.retention)
	i := sort.Search(len(l.msgs), func(i int) bool { return !l.msgs[i].Time.Before(cut) })
	if i > 0 {
		l.msgs = slices.Clone(l.msgs[i:])
	}
}

// logLocked finds a shard's log, expired up to now.
func (st *storage) logLocked(ref store.ShardRef) (*shardLog, error) {
	l := st.logs[ref]
	if l == nil {
		return nil, store.ErrNotFound
	}
	l.expire(st.now())
	return l, nil
}

// CreateShard creates a shard's log; an existing one is left as it is.
func (s *Store) CreateShard(ctx context.Context, ref store.ShardRef, retention time.Duration, _ store.ShardSpec) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	if s.st.logs[ref] == nil {
		s.st.logs[ref] = &shardLog{retention: retention}
	}
	return nil
}

// DeleteShard removes a shard's log; a missing one is not an error.
func (s *Store) DeleteShard(ctx context.Context, ref store.ShardRef) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	delete(s.st.logs, ref)
	return nil
}

// CloseShard fences the log: every later append fails with
// store.ErrNotFound, as natsstore's does once its subject is retired.
func (s *Store) CloseShard(ctx context.Context, ref store.ShardRef) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	l, err := s.st.logLocked(ref)
	if err != nil {
		return 0, err
	}
	l.closed = true
	return l.last, nil
}

// SetRetention changes how long the shard's messages are kept.
func (s *Store) SetRetention(ctx context.Context, ref store.ShardRef, retention time.Duration) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	l := s.st.logs[ref]
	if l == nil {
		return store.ErrNotFound
	}
	l.retention = retention
	return nil
}

// Read returns copies of the messages from seq from on: at most maxMsgs
// (<= 0 means 1), and no more than maxBytes of payload unless the first
// message alone is larger (maxBytes <= 0: no byte limit).
func (s *Store) Read(ctx context.Context, ref store.ShardRef, from uint64, maxMsgs, maxBytes int) ([]store.Message, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	maxMsgs = max(maxMsgs, 1)
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	l, err := s.st.logLocked(ref)
	if err != nil {
		return nil, err
	}
	if from > l.last {
		return nil, nil
	}
	i := int(max(from, l.first()) - l.first())
	var out []store.Message
	bytes := 0
	for ; i < len(l.msgs) && len(out) < maxMsgs; i++ {
		m := l.msgs[i]
		if len(out) > 0 && maxBytes > 0 && bytes+m.size > maxBytes {
			break
		}
		bytes += m.size
		out = append(out, copyMessage(m.Message))
	}
	return out, nil
}

// copyMessage copies the entries' data into one buffer, so a caller that
// changes what it read cannot change the log.
func copyMessage(m store.Message) store.Message {
	n := 0
	for _, e := range m.Entries {
		n += len(e.Data)
	}
	buf := make([]byte, 0, n)
	ents := make([]store.Entry, len(m.Entries))
	for i, e := range m.Entries {
		start := len(buf)
		buf = append(buf, e.Data...)
		ents[i] = store.Entry{PartitionKey: e.PartitionKey, Data: buf[start:len(buf):len(buf)], Key: e.Key}
	}
	m.Entries = ents
	return m
}

// Tip reports the log's extent.
func (s *Store) Tip(ctx context.Context, ref store.ShardRef) (store.Tip, error) {
	if err := s.check(ctx); err != nil {
		return store.Tip{}, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	l, err := s.st.logLocked(ref)
	if err != nil {
		return store.Tip{}, err
	}
	return store.Tip{FirstSeq: l.first(), LastSeq: l.last, LastTime: l.lastTime}, nil
}

// SeekTime finds the first message stored at or after t.
func (s *Store) SeekTime(ctx context.Context, ref store.ShardRef, t time.Time) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	l, err := s.st.logLocked(ref)
	if err != nil {
		return 0, err
	}
	i := sort.Search(len(l.msgs), func(i int) bool { return !l.msgs[i].Time.Before(t) })
	return l.first() + uint64(i), nil
}

// Group commit. Appends to a shard queue up; the caller that finds no
// round in progress leads one: it yields so that concurrent appends can
// join, takes the whole queue, packs it into messages and stores them in
// one step under the storage lock. Then it hands the next round to the
// oldest waiting caller, so no caller leads forever.

type queue struct {
	pending []*appendReq
	leading bool
}

type appendReq struct {
	ctx     context.Context
	entries []store.Entry // copies of the caller's
	sizes   []int         // batch.EntrySize of each entry
	total   int
	done    chan appendResult // buffered: the leader never blocks on it
	wake    chan struct{}     // buffered: "lead the next round"
}

type appendResult struct {
	pos []store.Position
	err error
}

// Append stores entries as one contiguous run and returns their
// positions. If ctx ends while the call is still queued, nothing is
// stored and Append returns ctx.Err().
func (s *Store) Append(ctx context.Context, ref store.ShardRef, entries []store.Entry) ([]store.Position, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	if len(entries) == 0 {
		return []store.Position{}, nil
	}
	st := s.st
	r := &appendReq{
		ctx:   ctx,
		sizes: make([]int, len(entries)),
		done:  make(chan appendResult, 1),
		wake:  make(chan struct{}, 1),
	}
	n := 0
	for i, e := range entries {
		r.sizes[i] = batch.EntrySize(e)
		if sz := batch.Size(1, r.sizes[i]); sz > st.cfg.MaxPayload {
			return nil, fmt.Errorf("%w: entry %d needs %d bytes, limit %d", store.ErrTooLarge, i, sz, st.cfg.MaxPayload)
		}
		r.total += r.sizes[i]
		n += len(e.Data)
	}
	// One buffer for the data: the caller may reuse its slices at once.
	buf := make([]byte, 0, n)
	r.entries = make([]store.Entry, len(entries))
	for i, e := range entries {
		start := len(buf)
		buf = append(buf, e.Data...)
		r.entries[i] = store.Entry{PartitionKey: e.PartitionKey, Data: buf[start:len(buf):len(buf)], Key: e.Key}
	}

	st.mu.Lock()
	q := st.queues[ref]
	if q == nil {
		q = &queue{}
		st.queues[ref] = q
	}
	q.pending = append(q.pending, r)
	lead := !q.leading
	q.leading = true
	st.mu.Unlock()
	if lead {
		st.lead(ref, q)
	}
	for {
		select {
		case res := <-r.done:
			return res.pos, res.err
		case <-r.wake:
			st.mu.Lock()
			lead := !q.leading && slices.Contains(q.pending, r)
			if lead {
				q.leading = true
			}
			st.mu.Unlock()
			if lead {
				st.lead(ref, q)
			}
		case <-ctx.Done():
			st.mu.Lock()
			i := slices.Index(q.pending, r)
			if i >= 0 {
				// Not taken yet: it is never stored. Pass on a wake-up
				// this caller may have been sent.
				q.pending = slices.Delete(q.pending, i, i+1)
				st.handOffLocked(ref, q)
			}
			st.mu.Unlock()
			if i < 0 {
				// Taken, so settled: rounds commit under the lock.
				res := <-r.done
				return res.pos, res.err
			}
			return nil, ctx.Err()
		}
	}
}

// lead runs one commit round for the shard.
func (st *storage) lead(ref store.ShardRef, q *queue) {
	st.mu.Lock()
	for range gatherYields {
		n := len(q.pending)
		st.mu.Unlock()
		runtime.Gosched()
		st.mu.Lock()
		if len(q.pending) == n {
			break
		}
	}
	reqs := q.pending
	q.pending = nil
	st.commitLocked(ref, reqs)
	q.leading = false
	st.handOffLocked(ref, q)
	st.mu.Unlock()
}

// handOffLocked wakes the oldest waiting caller to lead the next round,
// or drops the idle queue. Only when no round is in progress.
func (st *storage) handOffLocked(ref store.ShardRef, q *queue) {
	if q.leading {
		return
	}
	if len(q.pending) == 0 {
		if st.queues[ref] == q {
			delete(st.queues, ref)
		}
		return
	}
	select {
	case q.pending[0].wake <- struct{}{}:
	default:
	}
}

// commitLocked stores one round and settles every caller in it.
func (st *storage) commitLocked(ref store.ShardRef, reqs []*appendReq) {
	live := reqs[:0]
	for _, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			r.done <- appendResult{err: err} // the caller gave up: store nothing
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	l, err := st.logLocked(ref)
	if err == nil && l.closed {
		err = store.ErrNotFound
	}
	if err != nil {
		for _, r := range live {
			r.done <- appendResult{err: err}
		}
		return
	}
	pos := make(map[*appendReq][]store.Position, len(live))
	for _, r := range live {
		pos[r] = make([]store.Position, len(r.entries))
	}
	now := st.now()
	if now.Before(l.lastTime) {
		now = l.lastTime // message times never go backwards
	}
	for _, m := range st.pack(live) {
		l.last++
		msg := message{Message: store.Message{Seq: l.last, Time: now}}
		for _, p := range m.parts {
			for k := range p.n {
				pos[p.req][p.first+k] = store.Position{Seq: l.last, Sub: len(msg.Entries), Time: now}
				msg.Entries = append(msg.Entries, p.req.entries[p.first+k])
			}
		}
		msg.size = m.size()
		l.msgs = append(l.msgs, msg)
		l.lastTime = now
	}
	for _, r := range live {
		r.done <- appendResult{pos: pos[r]}
	}
	signalLocked(st.logWatch[ref])
}

// part is a run of one call's entries inside a message being packed.
type part struct {
	req      *appendReq
	first, n int
}

type outMsg struct {
	parts []part
	count int // entries
	bytes int // sum of their sizes
}

func (m *outMsg) size() int { return batch.Size(m.count, m.bytes) }

// pack lays calls out in order over messages of about st.target bytes. A
// call that fits one message stays whole; a larger one is cut between
// entries.
func (st *storage) pack(reqs []*appendReq) []*outMsg {
	var out []*outMsg
	cur := &outMsg{}
	flush := func() {
		if cur.count > 0 {
			out = append(out, cur)
			cur = &outMsg{}
		}
	}
	add := func(r *appendReq, first, n, bytes int) {
		if cur.count > 0 && batch.Size(cur.count+n, cur.bytes+bytes) > st.target {
			flush()
		}
		cur.parts = append(cur.parts, part{req: r, first: first, n: n})
		cur.count += n
		cur.bytes += bytes
	}
	for _, r := range reqs {
		if batch.Size(len(r.entries), r.total) <= st.cfg.MaxPayload {
			add(r, 0, len(r.entries), r.total)
			continue
		}
		flush()
		for i, sz := range r.sizes {
			add(r, i, 1, sz)
		}
		flush()
	}
	flush()
	return out
}
