package producer

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// hashKey is an unsigned 128-bit Kinesis hash key.
type hashKey struct{ hi, lo uint64 }

func hashOfPartitionKey(pk string) hashKey {
	sum := md5.Sum([]byte(pk))
	return hashKey{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

var errHashKey = errors.New("not a decimal in [0, 2^128-1]")

// parseHashKey reads a decimal hash key as the Kinesis API accepts it.
func parseHashKey(s string) (hashKey, error) {
	if s == "" || len(s) > 39 {
		return hashKey{}, errHashKey
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return hashKey{}, errHashKey
		}
	}
	n, ok := new(big.Int).SetString(s, 10)
	if !ok || n.BitLen() > 128 {
		return hashKey{}, errHashKey
	}
	var b [16]byte
	n.FillBytes(b[:])
	return hashKey{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}, nil
}

func (k hashKey) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return new(big.Int).SetBytes(b[:]).String()
}

func (k hashKey) cmp(o hashKey) int {
	switch {
	case k.hi != o.hi:
		if k.hi < o.hi {
			return -1
		}
		return 1
	case k.lo < o.lo:
		return -1
	case k.lo > o.lo:
		return 1
	}
	return 0
}

// hashRange is a shard's hash key range, both ends included.
type hashRange struct{ start, end hashKey }

func (r hashRange) contains(k hashKey) bool { return r.start.cmp(k) <= 0 && k.cmp(r.end) <= 0 }

type shardInfo struct {
	id string
	hashRange
}

// shardMap is a snapshot of a stream's shards from ListShards.
type shardMap struct {
	// open shards, sorted by starting hash key: where new records go.
	open []shardInfo
	// all shards the listing returned, closed ones included: a shard's
	// range never changes, so this tells whether a record that landed on
	// a shard is inside it.
	all map[string]hashRange
}

// route returns the open shard whose range holds k; false when the open
// shards leave k uncovered (a listing taken mid-reshard).
func (m *shardMap) route(k hashKey) (string, bool) {
	i, _ := slices.BinarySearchFunc(m.open, k, func(s shardInfo, k hashKey) int {
		if s.start.cmp(k) <= 0 {
			return -1
		}
		return 1
	})
	// open[i-1] is the last shard starting at or below k.
	if i == 0 || !m.open[i-1].contains(k) {
		return "", false
	}
	return m.open[i-1].id, true
}

// listShards pages through ListShards. Closed shards are kept so that a
// record's actual shard can be checked against its range.
func listShards(ctx context.Context, c KinesisAPI, stream string) (*shardMap, error) {
	m := &shardMap{all: make(map[string]hashRange)}
	in := &kinesis.ListShardsInput{}
	if strings.HasPrefix(stream, "arn:") {
		in.StreamARN = aws.String(stream)
	} else {
		in.StreamName = aws.String(stream)
	}
	for pages := 0; ; pages++ {
		if pages == 10000 {
			return nil, errors.New("ListShards: too many pages")
		}
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, s := range out.Shards {
			if s.ShardId == nil || s.HashKeyRange == nil || s.HashKeyRange.StartingHashKey == nil || s.HashKeyRange.EndingHashKey == nil {
				return nil, errors.New("ListShards: shard without id or hash key range")
			}
			start, err1 := parseHashKey(*s.HashKeyRange.StartingHashKey)
			end, err2 := parseHashKey(*s.HashKeyRange.EndingHashKey)
			if err1 != nil || err2 != nil || start.cmp(end) > 0 {
				return nil, fmt.Errorf("ListShards: shard %s has an invalid hash key range", *s.ShardId)
			}
			r := hashRange{start, end}
			m.all[*s.ShardId] = r
			if s.SequenceNumberRange == nil || s.SequenceNumberRange.EndingSequenceNumber == nil {
				m.open = append(m.open, shardInfo{id: *s.ShardId, hashRange: r})
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	if len(m.open) == 0 {
		return nil, errors.New("ListShards: stream has no open shards")
	}
	slices.SortFunc(m.open, func(a, b shardInfo) int { return a.start.cmp(b.start) })
	return m, nil
}
