package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/store"
	"github.com/rivulet/rivulet/internal/store/batch"
)

// shardNames returns the JetStream stream and subject of a shard's log.
func shardNames(ref store.ShardRef) (stream, subject string, err error) {
	if ref.StreamID == "" || ref.Shard < 0 {
		return "", "", fmt.Errorf("natsstore: invalid shard ref %+v", ref)
	}
	// The ID is used inside a stream name and as one subject token.
	for _, c := range []byte(ref.StreamID) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", "", fmt.Errorf("natsstore: stream ID %q has characters other than [-_a-zA-Z0-9]", ref.StreamID)
		}
	}
	n := strconv.Itoa(ref.Shard)
	return "KDS_" + ref.StreamID + "_" + n, "kds." + ref.StreamID + "." + n, nil
}

// dupWindow is the stream's dedup window. Rivulet sets no message IDs, so
// it only needs to be valid: at least 100ms and at most MaxAge.
func dupWindow(retention time.Duration) time.Duration {
	if retention > 0 && retention < time.Second {
		return max(retention, 100*time.Millisecond)
	}
	return time.Second
}

func (s *Store) shardConfig(name, subject string, retention time.Duration) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        name,
		Subjects:    []string{subject},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      retention,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		Storage:     s.storage,
		Replicas:    s.replicas,
		Duplicates:  dupWindow(retention),
		AllowDirect: true,
	}
}

// CreateShard creates the shard's stream, with spec and the segment table
// in its config metadata, and the shard's reservation. An existing stream,
// whatever its retention, counts as created. A log re-created under an old
// reservation (rivulet recover) starts above it.
func (s *Store) CreateShard(ctx context.Context, ref store.ShardRef, retention time.Duration, spec store.ShardSpec) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	name, subject, err := shardNames(ref)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	h, _, err := s.readHWM(ctx, ref)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	table := identity
	if h.Reserved > 0 {
		table = segTable{{From: 1, Offset: h.Reserved}}
	}
	if err := s.checkLiveNodes("create " + name); err != nil {
		return err
	}
	cfg := s.shardConfig(name, subject, retention)
	specJSON, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	cfg.Metadata = map[string]string{metaShard: string(specJSON), metaSegments: table.String()}
	_, err = s.createStream(ctx, cfg)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return s.storeErr("create "+name, err)
	}
	if _, err := s.raiseHWM(ctx, ref, hwm{Reserved: h.Reserved}); err != nil {
		return s.storeErr("reservation of "+name, err)
	}
	s.log.Debug("shard created", "stream", name, "retention", retention)
	return nil
}

// DeleteShard deletes the shard's stream and its data. A missing stream is
// not an error.
func (s *Store) DeleteShard(ctx context.Context, ref store.ShardRef) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	name, _, err := shardNames(ref)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	err = s.js.DeleteStream(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("natsstore: delete %s: %w", name, err)
	}
	s.segs.drop(name)
	// The log is gone, so its reservation guards nothing any more.
	if err := s.kv.Delete(ctx, valuePrefix+hwmKey(ref)); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		s.log.Warn("delete reservation", "stream", name, "err", err)
	}
	s.quota.freed()
	s.log.Debug("shard deleted", "stream", name)
	return nil
}

// SetRetention changes the shard stream's MaxAge.
func (s *Store) SetRetention(ctx context.Context, ref store.ShardRef, retention time.Duration) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	name, _, err := shardNames(ref)
	if err != nil {
		return err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	st, err := s.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("natsstore: stream %s: %w", name, err)
	}
	cfg := st.CachedInfo().Config
	cfg.MaxAge = retention
	cfg.Duplicates = dupWindow(retention)
	defer s.quota.freed() // a shorter retention may have trimmed records
	if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return store.ErrNotFound
		}
		return s.storeErr("update "+name, err)
	}
	return nil
}

// Read returns stored messages from seq from on, with one batched direct
// get: the server answers with up to maxMsgs messages (stopping once about
// maxBytes were sent) and an end-of-batch marker. maxMsgs <= 0 means 1,
// maxBytes <= 0 leaves the byte limit to the server. Entries' Data alias
// the received message and are not shared with anyone else.
func (s *Store) Read(ctx context.Context, ref store.ShardRef, from uint64, maxMsgs, maxBytes int) ([]store.Message, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	name, _, err := shardNames(ref)
	if err != nil {
		return nil, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	table, err := s.segmentsOf(ctx, name)
	if err != nil {
		return nil, err
	}
	req := directReq{Seq: max(table.js(from), 1), Batch: max(maxMsgs, 1), MaxBytes: max(maxBytes, 0)}
	raw, _, err := s.directGet(ctx, name, req)
	if err != nil {
		return nil, err
	}
	out := make([]store.Message, 0, len(raw))
	for _, m := range raw {
		entries, err := batch.Decode(m.data)
		if err != nil {
			return nil, fmt.Errorf("natsstore: %s seq %d: %w", name, m.seq, err)
		}
		out = append(out, store.Message{Seq: table.logical(m.seq), Time: m.time, Entries: entries})
	}
	return out, nil
}

// Tip reads the shard stream's state.
func (s *Store) Tip(ctx context.Context, ref store.ShardRef) (store.Tip, error) {
	if s.isClosed() {
		return store.Tip{}, store.ErrClosed
	}
	name, _, err := shardNames(ref)
	if err != nil {
		return store.Tip{}, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	st, err := s.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return store.Tip{}, store.ErrNotFound
	}
	if err != nil {
		return store.Tip{}, fmt.Errorf("natsstore: stream %s: %w", name, err)
	}
	info := st.CachedInfo()
	table, err := s.tableFrom(name, info)
	if err != nil {
		return store.Tip{}, err
	}
	state := info.State
	t := store.Tip{FirstSeq: table.logical(state.FirstSeq), LastSeq: table.lastLogical(state.LastSeq), LastTime: state.LastTime}
	if state.Msgs == 0 {
		// A new stream reports FirstSeq 0; an expired one LastSeq+1.
		t.FirstSeq = t.LastSeq + 1
	}
	return t, nil
}

// SeekTime asks the server for the first message at or after t.
func (s *Store) SeekTime(ctx context.Context, ref store.ShardRef, t time.Time) (uint64, error) {
	// Read the tip first: a message stored after it has seq >= LastSeq+1,
	// so LastSeq+1 stays a correct answer when the lookup finds nothing.
	tip, err := s.Tip(ctx, ref)
	if err != nil {
		return 0, err
	}
	name, _, _ := shardNames(ref)
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	t = t.UTC()
	msgs, _, err := s.directGet(ctx, name, directReq{StartTime: &t, Batch: 1, MaxBytes: 1})
	if err != nil {
		return 0, err
	}
	if len(msgs) == 0 {
		return tip.LastSeq + 1, nil
	}
	table, err := s.segmentsOf(ctx, name)
	if err != nil {
		return 0, err
	}
	return table.logical(msgs[0].seq), nil
}

// directReq is JetStream's direct get request (JSApiMsgGetRequest).
type directReq struct {
	Seq       uint64     `json:"seq,omitempty"`
	NextFor   string     `json:"next_by_subj,omitempty"`
	Batch     int        `json:"batch,omitempty"`
	MaxBytes  int        `json:"max_bytes,omitempty"`
	StartTime *time.Time `json:"start_time,omitempty"`
}

// rawMsg is one message of a direct get reply.
type rawMsg struct {
	subject string
	seq     uint64
	time    time.Time
	header  nats.Header
	data    []byte
}

// directGet sends a batched direct get (req.Batch must be >= 1) and
// collects the replies up to the end-of-batch marker. pending is the
// server's count of matching messages after the batch. A stream that is
// missing (no responders) gives store.ErrNotFound.
func (s *Store) directGet(ctx context.Context, stream string, req directReq) (msgs []rawMsg, pending uint64, err error) {
	if s.replicas <= 1 {
		return s.directGetOnce(ctx, stream, req)
	}
	// Any replica may take a direct get, and the local one always does. A
	// replica that is catching up or changing roles can leave it
	// unanswered, so in a cluster an attempt is bounded and a silent one
	// is asked of the stream's leader through the JetStream API instead.
	for {
		actx, cancel := context.WithTimeout(ctx, clusterGetTimeout)
		msgs, pending, err = s.directGetOnce(actx, stream, req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return msgs, pending, err
		}
		s.log.Debug("direct get unanswered; asking the leader", "stream", stream)
		actx, cancel = context.WithTimeout(ctx, clusterGetTimeout)
		msgs, pending, err = s.leaderGet(actx, stream, req)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			return msgs, pending, err
		}
	}
}

// leaderKV reads key's latest value in KV bucket through the bucket
// stream's leader. In a cluster a KV get is answered by this node's
// replica, which may not have the key yet: a "not found" from it is
// confirmed here before anyone is told the key does not exist.
func (s *Store) leaderKV(ctx context.Context, bucket, key string) ([]byte, store.Revision, error) {
	ctx, cancel := context.WithTimeout(ctx, clusterGetTimeout)
	defer cancel()
	m, err := s.msgGet(ctx, "KV_"+bucket, map[string]string{"last_by_subj": "$KV." + bucket + "." + key})
	if err != nil {
		return nil, 0, err
	}
	if op := m.header.Get("KV-Operation"); op == "DEL" || op == "PURGE" {
		return nil, 0, store.ErrNotFound
	}
	return m.Data, store.Revision(m.Seq), nil
}

// apiMsg is a message as the JetStream API's STREAM.MSG.GET returns it.
type apiMsg struct {
	Subject string    `json:"subject"`
	Seq     uint64    `json:"seq"`
	Header  []byte    `json:"hdrs"`
	Data    []byte    `json:"data"`
	Time    time.Time `json:"time"`
	header  nats.Header
}

// msgGet asks stream's leader for the one message req selects;
// store.ErrNotFound when none matches or there is no such stream.
func (s *Store) msgGet(ctx context.Context, stream string, req any) (*apiMsg, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	m, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("natsstore: get from %s's leader: %w", stream, err)
	}
	var resp struct {
		Message *apiMsg `json:"message"`
		Error   *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return nil, fmt.Errorf("natsstore: get from %s's leader: %w", stream, err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404:
		return nil, store.ErrNotFound
	case resp.Error != nil:
		return nil, fmt.Errorf("natsstore: get from %s's leader: %d %s", stream, resp.Error.Code, resp.Error.Description)
	case resp.Message == nil:
		return nil, fmt.Errorf("natsstore: get from %s's leader: empty answer", stream)
	}
	msg := resp.Message
	msg.header = nats.Header{}
	if len(msg.Header) > 0 {
		if msg.header, err = nats.DecodeHeadersMsg(msg.Header); err != nil {
			return nil, fmt.Errorf("natsstore: get from %s's leader: headers: %w", stream, err)
		}
	}
	return msg, nil
}

// clusterGetTimeout bounds one get attempt in a cluster.
const clusterGetTimeout = 2 * time.Second

// leaderGet answers a direct get request through the stream's leader
// ($JS.API.STREAM.MSG.GET), one message a request: slower, but answered
// whatever state the local replica is in. pending is 1 when the batch
// stopped at its limits (more may follow), else 0.
func (s *Store) leaderGet(ctx context.Context, stream string, req directReq) (msgs []rawMsg, pending uint64, err error) {
	batch := max(req.Batch, 1)
	one := directReq{Seq: req.Seq, NextFor: req.NextFor, StartTime: req.StartTime}
	size := 0
	for len(msgs) < batch {
		m, err := s.msgGet(ctx, stream, one)
		if errors.Is(err, store.ErrNotFound) && len(msgs) > 0 {
			return msgs, 0, nil // nothing more
		}
		if errors.Is(err, store.ErrNotFound) {
			// As a direct get answers: no message at or after the start.
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		t := m.Time
		if m.header.Get(timeHeader) != "" {
			if t, err = msgTime(m.header); err != nil {
				return nil, 0, fmt.Errorf("natsstore: get %s: %w", stream, err)
			}
		}
		msgs = append(msgs, rawMsg{subject: m.Subject, seq: m.Seq, time: t, header: m.header, data: m.Data})
		size += len(m.Subject) + len(m.Header) + len(m.Data)
		if req.MaxBytes > 0 && size >= req.MaxBytes {
			break
		}
		// The next message after this one; a batch steps over deleted
		// sequences as the direct get does.
		one = directReq{Seq: m.Seq + 1, NextFor: req.NextFor}
		if one.NextFor == "" {
			one.NextFor = ">"
		}
	}
	return msgs, 1, nil
}

func (s *Store) directGetOnce(ctx context.Context, stream string, req directReq) (msgs []rawMsg, pending uint64, err error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, 0, err
	}
	inbox := s.nc.NewRespInbox()
	sub, err := s.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, fmt.Errorf("natsstore: direct get %s: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	// A batch can be far above the default pending limits; it is bounded
	// by the request itself.
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, 0, err
	}
	if err := s.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
		return nil, 0, fmt.Errorf("natsstore: direct get %s: %w", stream, err)
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, 0, store.ErrNotFound // no such stream
		}
		if err != nil {
			return nil, 0, fmt.Errorf("natsstore: direct get %s: %w", stream, err)
		}
		if status := m.Header.Get("Status"); status != "" {
			switch status {
			case "204": // end of batch
				pending, _ = strconv.ParseUint(m.Header.Get("Nats-Num-Pending"), 10, 64)
				return msgs, pending, nil
			case "404": // nothing at or after the start
				return msgs, 0, nil
			default:
				return nil, 0, fmt.Errorf("natsstore: direct get %s: status %s %s", stream, status, m.Header.Get("Description"))
			}
		}
		seq, err := strconv.ParseUint(m.Header.Get("Nats-Sequence"), 10, 64)
		if err != nil {
			return nil, 0, fmt.Errorf("natsstore: direct get %s: bad Nats-Sequence: %w", stream, err)
		}
		ts, err := msgTime(m.Header)
		if err != nil {
			return nil, 0, fmt.Errorf("natsstore: direct get %s: %w", stream, err)
		}
		msgs = append(msgs, rawMsg{subject: m.Header.Get("Nats-Subject"), seq: seq, time: ts, header: m.Header, data: m.Data})
	}
}

// closedSuffix is appended to a closed shard's subject. JetStream stops
// capturing the old subject at once, so a publish from any process, even
// one holding stale metadata, finds no stream and fails; the messages
// stay, and MaxAge still expires them (a sealed stream would keep them).
const closedSuffix = ".closed"

// CloseShard retires the shard's subject and returns its last sequence.
func (s *Store) CloseShard(ctx context.Context, ref store.ShardRef) (uint64, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	name, subject, err := shardNames(ref)
	if err != nil {
		return 0, err
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	st, err := s.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, store.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("natsstore: stream %s: %w", name, err)
	}
	cfg := st.CachedInfo().Config
	if len(cfg.Subjects) != 1 || cfg.Subjects[0] != subject+closedSuffix {
		cfg.Subjects = []string{subject + closedSuffix}
		if _, err := s.js.UpdateStream(ctx, cfg); err != nil {
			return 0, s.storeErr("close "+name, err)
		}
	}
	// A publish captured just before the update may still be stored after
	// it; wait until the last sequence stops moving.
	var last uint64
	for i := 0; i < 20; i++ {
		info, err := st.Info(ctx)
		if err != nil {
			return 0, fmt.Errorf("natsstore: stream %s: %w", name, err)
		}
		if i > 0 && info.State.LastSeq == last {
			break
		}
		last = info.State.LastSeq
		time.Sleep(5 * time.Millisecond)
	}
	table, err := s.tableFrom(name, st.CachedInfo())
	if err != nil {
		return 0, err
	}
	return table.lastLogical(last), nil
}

// timeHeader carries the time Append stamped on a message, in Unix
// nanoseconds. Messages written before it existed have only JetStream's.
const timeHeader = "Rivulet-Time"

// msgTime is a stored message's time: Append's stamp, else JetStream's.
func msgTime(h nats.Header) (time.Time, error) {
	if v := h.Get(timeHeader); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad %s: %w", timeHeader, err)
		}
		return time.Unix(0, n), nil
	}
	ts, err := time.Parse(time.RFC3339Nano, h.Get("Nats-Time-Stamp"))
	if err != nil {
		return time.Time{}, fmt.Errorf("bad Nats-Time-Stamp: %w", err)
	}
	return ts, nil
}
