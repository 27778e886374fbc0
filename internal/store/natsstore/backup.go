package natsstore

// Backup and restore through JetStream's stream snapshot API, spoken
// directly with nats.go requests: jsm.go has helpers for it, but it pulls in
// an expression language, YAML and x/text, and lifts nats-server's no-op
// antithesis SDK to the real one, for about 200 lines of protocol.
//
// Consistency: each snapshot is a point-in-time copy of one JetStream
// stream, not of the whole system. The metadata bucket is snapshotted
// FIRST and the shard streams are listed after it, so every shard the
// restored metadata names was created before its log was copied, and a
// shard log only grows (up to retention) — the restored logs hold at least
// what the restored metadata says (ending sequence numbers of closed
// shards included). Records written during the backup may or may not be in
// it. Taking the metadata last could instead name shards, or a closed
// shard's end, that the earlier log copies lack.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BackupFormat is the manifest format this code writes and reads.
const BackupFormat = 1

// ManifestName is the manifest's file name inside a backup directory.
const ManifestName = "manifest.json"

const (
	metaStreamName  = "KV_" + metaBucket
	peersStreamName = "KV_" + peersBucket
	shardPrefix     = "KDS_"
	snapshotSuffix  = ".snap"
	apiPrefix       = "$JS.API."
	// restoreChunk stays well under the default 1 MiB max_payload of an
	// external NATS.
	restoreChunk = 128 << 10
	// chunkWait bounds the silence between two snapshot chunks, and a
	// restore chunk's acknowledgement; the server itself gives up after
	// a similar time without acks.
	chunkWait = time.Minute
	// finishWait bounds the server's final step of a restore, which
	// rebuilds the stream's indexes.
	finishWait = 10 * time.Minute
)

// ErrNotEmpty is returned by Restore when the target already holds
// Rivulet streams or buckets.
var ErrNotEmpty = errors.New("natsstore: restore target is not empty")

// Manifest describes a backup directory.
type Manifest struct {
	Format  int       `json:"format"`
	Created time.Time `json:"created"`
	// Streams lists the metadata bucket's stream first, then the shards.
	Streams []BackupStream `json:"streams"`
	// Vanished are shard streams deleted between listing and snapshot.
	Vanished []string `json:"vanished,omitempty"`
}

// BackupStream is one JetStream stream in a backup.
type BackupStream struct {
	Name string `json:"name"`
	// File is the snapshot's file name in the backup directory.
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// Config is the stream's configuration as the server reported it.
	Config json.RawMessage `json:"config"`
	State  StreamState     `json:"state"`
}

// StreamState is the part of a stream's state a backup records, taken
// when its snapshot began: the file may also hold later writes.
type StreamState struct {
	Messages uint64 `json:"messages"`
	Bytes    uint64 `json:"bytes"`
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
}

// Totals sums messages and snapshot bytes over the manifest's streams.
func (m *Manifest) Totals() (messages uint64, size int64) {
	for _, s := range m.Streams {
		messages += s.State.Messages
		size += s.Size
	}
	return messages, size
}

// OpenRaw connects like Open (embedded server in cfg.DataDir, or cfg.URL)
// but creates nothing, so a restore target stays empty.
func OpenRaw(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" && cfg.InMemory {
		return nil, errors.New("natsstore: snapshots need file storage, not InMemory")
	}
	return connect(ctx, cfg)
}

// Backup writes a snapshot of every Rivulet stream into dir (created if
// missing, else it must be empty) and the manifest last. See the top of
// this file for what is consistent.
func (s *Store) Backup(ctx context.Context, dir string) (*Manifest, error) {
	return Backup(ctx, s.nc, dir, s.log)
}

// Restore restores the backup in dir into this Store's NATS, which must
// hold no Rivulet stream or bucket yet.
func (s *Store) Restore(ctx context.Context, dir string) (*Manifest, error) {
	return Restore(ctx, s.nc, dir, s.log)
}

// Backup is Store.Backup on any connection to Rivulet's NATS.
func Backup(ctx context.Context, nc *nats.Conn, dir string, log *slog.Logger) (*Manifest, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("natsstore: backup dir: %w", err)
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return nil, fmt.Errorf("natsstore: backup dir: %w", err)
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("natsstore: backup dir %s is not empty", dir)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsstore: jetstream: %w", err)
	}
	m := &Manifest{Format: BackupFormat, Created: time.Now().UTC()}

	// Metadata first: see the top of this file.
	bs, err := snapshotStream(ctx, nc, metaStreamName, dir)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("natsstore: no %s stream: is this Rivulet's NATS?", metaStreamName)
	}
	if err != nil {
		return nil, err
	}
	m.Streams = append(m.Streams, bs)

	names, err := rivuletStreams(ctx, js)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, shardPrefix) && !strings.HasPrefix(name, itemStreamPrefix) {
			continue
		}
		bs, err := snapshotStream(ctx, nc, name, dir)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			log.Warn("stream deleted during backup", "stream", name)
			m.Vanished = append(m.Vanished, name)
			continue
		}
		if err != nil {
			return nil, err
		}
		log.Debug("stream backed up", "stream", name, "messages", bs.State.Messages, "size", bs.Size)
		m.Streams = append(m.Streams, bs)
	}
	if err := writeManifest(dir, m); err != nil {
		return nil, err
	}
	return m, nil
}

// rivuletStreams lists the JetStream streams Rivulet owns, sorted.
func rivuletStreams(ctx context.Context, js jetstream.JetStream) ([]string, error) {
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	lister := js.StreamNames(ctx)
	var names []string
	for n := range lister.Name() {
		if strings.HasPrefix(n, shardPrefix) || strings.HasPrefix(n, itemStreamPrefix) || n == metaStreamName || n == peersStreamName {
			names = append(names, n)
		}
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("natsstore: list streams: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// apiError is the error part of a JetStream API response.
type apiError struct {
	Code        int    `json:"code"`
	ErrCode     int    `json:"err_code"`
	Description string `json:"description"`
}

func (e *apiError) err(op, stream string) error {
	if e == nil {
		return nil
	}
	if e.ErrCode == int(jetstream.JSErrCodeStreamNotFound) {
		return fmt.Errorf("natsstore: %s %s: %w", op, stream, jetstream.ErrStreamNotFound)
	}
	return fmt.Errorf("natsstore: %s %s: %s (code %d, err_code %d)", op, stream, e.Description, e.Code, e.ErrCode)
}

// snapshotStream streams one snapshot into dir/<name>.snap.
func snapshotStream(ctx context.Context, nc *nats.Conn, name, dir string) (BackupStream, error) {
	bs := BackupStream{Name: name, File: name + snapshotSuffix}
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
	}
	defer sub.Unsubscribe()
	// The server sends up to its window (8 MiB) ahead of our acks.
	if err := sub.SetPendingLimits(-1, 64<<20); err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
	}
	// Consumers are skipped: Rivulet keeps none that outlive a reader.
	req, _ := json.Marshal(map[string]any{"deliver_subject": inbox, "no_consumers": true, "jsck": true})
	rctx, cancel := context.WithTimeout(ctx, opTimeout)
	resp, err := nc.RequestWithContext(rctx, apiPrefix+"STREAM.SNAPSHOT."+name, req)
	cancel()
	if err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
	}
	var r struct {
		Error  *apiError       `json:"error"`
		Config json.RawMessage `json:"config"`
		State  StreamState     `json:"state"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: bad response: %w", name, err)
	}
	if err := r.Error.err("snapshot", name); err != nil {
		return bs, err
	}
	bs.Config, bs.State = r.Config, r.State

	path := filepath.Join(dir, bs.File)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
	}
	defer f.Close()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	for {
		mctx, cancel := context.WithTimeout(ctx, chunkWait)
		msg, err := sub.NextMsgWithContext(mctx)
		cancel()
		if err != nil {
			return bs, fmt.Errorf("natsstore: snapshot %s: waiting for data: %w", name, err)
		}
		if len(msg.Data) == 0 {
			// End of snapshot; a status other than 204 reports a failure.
			if st := msg.Header.Get("Status"); st != "" && st != "204" {
				return bs, fmt.Errorf("natsstore: snapshot %s failed: %s %s", name, st, msg.Header.Get("Description"))
			}
			break
		}
		n, err := w.Write(msg.Data)
		bs.Size += int64(n)
		if err != nil {
			return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
		}
		if msg.Reply != "" {
			// The ack returns a slot of the server's send window.
			if err := msg.Respond(nil); err != nil {
				return bs, fmt.Errorf("natsstore: snapshot %s: ack: %w", name, err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return bs, fmt.Errorf("natsstore: snapshot %s: %w", name, err)
	}
	bs.SHA256 = hex.EncodeToString(h.Sum(nil))
	return bs, nil
}

// writeManifest writes the manifest atomically: a backup directory
// without one is incomplete.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("natsstore: manifest: %w", err)
	}
	tmp := filepath.Join(dir, ManifestName+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("natsstore: manifest: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ManifestName))
	}
	if err != nil {
		return fmt.Errorf("natsstore: manifest: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable where the OS allows it
		d.Close()
	}
	return nil
}

// ReadManifest reads and checks dir's manifest and verifies every
// snapshot file's size and checksum.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("natsstore: manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("natsstore: manifest: %w", err)
	}
	if m.Format != BackupFormat {
		return nil, fmt.Errorf("natsstore: manifest format %d, this version reads only %d", m.Format, BackupFormat)
	}
	if len(m.Streams) == 0 || m.Streams[0].Name != metaStreamName {
		return nil, fmt.Errorf("natsstore: manifest does not start with %s", metaStreamName)
	}
	seen := map[string]bool{}
	for _, s := range m.Streams {
		known := s.Name == metaStreamName || strings.HasPrefix(s.Name, shardPrefix) || strings.HasPrefix(s.Name, itemStreamPrefix)
		if !known || seen[s.Name] {
			return nil, fmt.Errorf("natsstore: manifest: unexpected stream %q", s.Name)
		}
		seen[s.Name] = true
		if s.File != s.Name+snapshotSuffix {
			return nil, fmt.Errorf("natsstore: manifest: stream %s has file %q", s.Name, s.File)
		}
	}
	for _, s := range m.Streams {
		if err := verifyFile(filepath.Join(dir, s.File), s.Size, s.SHA256); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

func verifyFile(path string, size int64, sum string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("natsstore: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("natsstore: %s: %w", path, err)
	}
	if n != size {
		return fmt.Errorf("natsstore: %s has %d bytes, manifest says %d", path, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("natsstore: %s: checksum mismatch: sha256 %s, manifest says %s", path, got, sum)
	}
	return nil
}

// Restore is Store.Restore on any connection to a NATS with JetStream. It
// verifies the whole backup before it creates anything.
func Restore(ctx context.Context, nc *nats.Conn, dir string, log *slog.Logger) (*Manifest, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("natsstore: jetstream: %w", err)
	}
	existing, err := rivuletStreams(ctx, js)
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return nil, fmt.Errorf("%w: it already has %s", ErrNotEmpty, strings.Join(existing, ", "))
	}
	for _, s := range m.Streams {
		if err := restoreStream(ctx, nc, dir, s); err != nil {
			return nil, err
		}
		log.Debug("stream restored", "stream", s.Name, "messages", s.State.Messages)
	}
	return m, nil
}

func restoreStream(ctx context.Context, nc *nats.Conn, dir string, s BackupStream) error {
	req, err := json.Marshal(struct {
		Config json.RawMessage `json:"config"`
		State  StreamState     `json:"state"`
	}{s.Config, s.State})
	if err != nil {
		return fmt.Errorf("natsstore: restore %s: %w", s.Name, err)
	}
	var r struct {
		Error          *apiError `json:"error"`
		DeliverSubject string    `json:"deliver_subject"`
	}
	if err := request(ctx, nc, apiPrefix+"STREAM.RESTORE."+s.Name, req, opTimeout, &r); err != nil {
		return fmt.Errorf("natsstore: restore %s: %w", s.Name, err)
	}
	if err := r.Error.err("restore", s.Name); err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(dir, s.File))
	if err != nil {
		return fmt.Errorf("natsstore: restore %s: %w", s.Name, err)
	}
	defer f.Close()
	buf := make([]byte, restoreChunk)
	for {
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			// Each chunk is acknowledged with an empty reply, or refused
			// with an error response.
			var ack struct {
				Error *apiError `json:"error"`
			}
			if rerr := request(ctx, nc, r.DeliverSubject, buf[:n], chunkWait, &ack); rerr != nil {
				return fmt.Errorf("natsstore: restore %s: %w", s.Name, rerr)
			}
			if aerr := ack.Error.err("restore", s.Name); aerr != nil {
				return aerr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("natsstore: restore %s: %w", s.Name, err)
		}
	}
	// An empty message ends the upload; the reply is the stream's info.
	var done struct {
		Error *apiError   `json:"error"`
		State StreamState `json:"state"`
	}
	if err := request(ctx, nc, r.DeliverSubject, nil, finishWait, &done); err != nil {
		return fmt.Errorf("natsstore: restore %s: %w", s.Name, err)
	}
	if err := done.Error.err("restore", s.Name); err != nil {
		return err
	}
	// The manifest's state is from the snapshot's start; writes made while
	// it streamed may be in the file too, so only less is an error.
	if done.State.LastSeq < s.State.LastSeq {
		return fmt.Errorf("natsstore: restore %s: restored last seq %d, backup had %d",
			s.Name, done.State.LastSeq, s.State.LastSeq)
	}
	return nil
}

// request sends a request and decodes a non-empty JSON reply into out.
func request(ctx context.Context, nc *nats.Conn, subj string, data []byte, wait time.Duration, out any) error {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	resp, err := nc.RequestWithContext(ctx, subj, data)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(resp.Data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Data, out); err != nil {
		return fmt.Errorf("bad response %q: %w", resp.Data, err)
	}
	return nil
}
