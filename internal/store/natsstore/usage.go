package natsstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/metrics"
	"github.com/rivulet/rivulet/internal/store"
)

// StreamStorage lists what JetStream holds per Kinesis stream (summed
// over its shard logs) and per delivery stream's DirectPut buffer, read
// from the stream infos in one listing. Logs are named by ID; the stream
// and delivery-stream records give the names. A log whose record is gone
// (a deletion under way, or damage that check reports) is left out.
func (s *Store) StreamStorage(ctx context.Context) ([]metrics.StreamStorage, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	names, err := s.logOwners(ctx)
	if err != nil {
		return nil, err
	}
	byOwner := make(map[owner]*metrics.StreamStorage)
	lister := s.js.ListStreams(ctx, jetstream.WithStreamListSubject("kds.>"))
	for info := range lister.Info() {
		ref, ok := parseShardName(info.Config.Name)
		if !ok {
			continue
		}
		o, ok := names[ref.StreamID]
		if !ok {
			continue
		}
		u := byOwner[o]
		if u == nil {
			u = &metrics.StreamStorage{Account: o.account, Region: o.region, Stream: o.name, Kind: o.kind}
			byOwner[o] = u
		}
		u.Bytes += info.State.Bytes
		u.Messages += info.State.Msgs
	}
	if err := lister.Err(); err != nil {
		return nil, fmt.Errorf("natsstore: list logs: %w", err)
	}
	out := make([]metrics.StreamStorage, 0, len(byOwner))
	for _, u := range byOwner {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b metrics.StreamStorage) int {
		return strings.Compare(a.Kind+"\x00"+a.Account+"\x00"+a.Region+"\x00"+a.Stream,
			b.Kind+"\x00"+b.Account+"\x00"+b.Region+"\x00"+b.Stream)
	})
	return out, nil
}

// owner is what a log ID belongs to.
type owner struct{ account, region, name, kind string }

// logOwners maps log IDs (ShardRef.StreamID) to the Kinesis streams and
// delivery streams that own them, decoding only the names and IDs of
// their records.
func (s *Store) logOwners(ctx context.Context) (map[string]owner, error) {
	out := make(map[string]owner)
	streams, err := s.latestValues(ctx, "KV_"+metaBucket, kvSubjectPrefix+"streams.>")
	if err != nil {
		return nil, fmt.Errorf("natsstore: list streams: %w", err)
	}
	for subj, m := range streams {
		var rec struct {
			Key store.StreamKey
			ID  string
		}
		if err := json.Unmarshal(m.data, &rec); err != nil {
			return nil, fmt.Errorf("natsstore: decode %s: %w", strings.TrimPrefix(subj, kvSubjectPrefix), err)
		}
		if rec.ID != "" {
			out[rec.ID] = owner{rec.Key.Account, rec.Key.Region, rec.Key.Name, metrics.StorageStream}
		}
	}
	prefix := kvSubjectPrefix + store.KindDeliveryStream + "."
	buffers, err := s.latestValues(ctx, "KV_"+metaBucket, prefix+">")
	if err != nil {
		return nil, fmt.Errorf("natsstore: list delivery streams: %w", err)
	}
	for subj, m := range buffers {
		// The key gives account, region and name; the record, in the
		// firehose service's JSON, gives the ID its buffer is named after.
		parts := strings.Split(strings.TrimPrefix(subj, prefix), ".")
		if len(parts) != 3 {
			continue
		}
		name, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil {
			continue
		}
		var rec struct{ ID string }
		if json.Unmarshal(m.data, &rec) != nil || rec.ID == "" {
			continue // not a record this store can attribute
		}
		out[store.BufferLogPrefix+rec.ID] = owner{parts[0], parts[1], string(name), metrics.StorageDeliveryStream}
	}
	return out, nil
}
