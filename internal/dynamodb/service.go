// Package dynamodb serves the subset of the DynamoDB API that lease
// tables need (the Kinesis Client Library's, above all): tables, items,
// conditional writes in both the expression and the legacy dialect,
// Scan and Query, over a store.Tables. Every write is a compare-and-swap
// on the item's revision, retried when another writer got there first,
// so several processes on one store stay consistent.
package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// Config tunes the service.
type Config struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives unexpected failures; nil means slog.Default().
	Logger *slog.Logger
	// Authorizer decides every request; nil allows all.
	Authorizer kinesis.Authorizer
}

// Service is the lease-table API over a table store.
type Service struct {
	tables store.Tables
	cfg    Config
	log    *slog.Logger
}

// New returns a service over tables.
func New(tables store.Tables, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{tables: tables, cfg: cfg, log: cfg.Logger}
}

// Limits of the service, DynamoDB's where it has one.
const (
	maxItemBytes   = 400 << 10
	maxPageBytes   = 1 << 20
	maxCASAttempts = 64
	maxGSIs        = 20
	maxTags        = 50
	maxBatchGet    = 100
	maxBatchWrite  = 25
	maxHashKey     = 2048
	maxRangeKey    = 1024
)

// tableMeta is a table's record in the store, as JSON.
type tableMeta struct {
	Name    string    `json:"name"`
	ID      string    `json:"id"`
	Bucket  string    `json:"bucket"`
	Created time.Time `json:"created"`
	Attrs   []attrDef `json:"attrs"`
	Hash    string    `json:"hash"`
	Range   string    `json:"range,omitempty"`
	Billing string    `json:"billing"`
	RCU     int64     `json:"rcu,omitempty"`
	WCU     int64     `json:"wcu,omitempty"`
	// BillingChanged is when the table last switched to PAY_PER_REQUEST.
	BillingChanged time.Time  `json:"billingChanged,omitzero"`
	LastIncrease   time.Time  `json:"lastIncrease,omitzero"`
	LastDecrease   time.Time  `json:"lastDecrease,omitzero"`
	Decreases      int        `json:"decreases,omitempty"`
	GSIs           []gsiMeta  `json:"gsis,omitempty"`
	Tags           []tagKV    `json:"tags,omitempty"`
	Protected      bool       `json:"protected,omitempty"`
	SSE            *sseMeta   `json:"sse,omitempty"`
	Stream         *streamSet `json:"stream,omitempty"`
	TableClass     string     `json:"tableClass,omitempty"`
	PITR           bool       `json:"pitr,omitempty"`
	PITRDays       int64      `json:"pitrDays,omitempty"`
}

type attrDef struct {
	Name string `json:"n"`
	Type string `json:"t"`
}

type gsiMeta struct {
	Name       string   `json:"name"`
	Hash       string   `json:"hash"`
	Range      string   `json:"range,omitempty"`
	Projection string   `json:"projection"`
	NonKey     []string `json:"nonKey,omitempty"`
	RCU        int64    `json:"rcu,omitempty"`
	WCU        int64    `json:"wcu,omitempty"`
}

type tagKV struct {
	Key   string `json:"k"`
	Value string `json:"v"`
}

type sseMeta struct {
	Type string `json:"type"`
	Key  string `json:"key,omitempty"`
}

type streamSet struct {
	Enabled  bool   `json:"enabled"`
	ViewType string `json:"viewType,omitempty"`
}

func (m *tableMeta) attrType(name string) string {
	for _, a := range m.Attrs {
		if a.Name == name {
			return a.Type
		}
	}
	return ""
}

func (m *tableMeta) gsi(name string) *gsiMeta {
	for i := range m.GSIs {
		if m.GSIs[i].Name == name {
			return &m.GSIs[i]
		}
	}
	return nil
}

func (m *tableMeta) tagMap() map[string]string {
	t := make(map[string]string, len(m.Tags))
	for _, kv := range m.Tags {
		t[kv.Key] = kv.Value
	}
	return t
}

func tableARN(c kinesis.Caller, name string) string {
	return "arn:aws:dynamodb:" + c.Region + ":" + c.Account + ":table/" + name
}

func (s *Service) key(ctx context.Context, name string) store.TableKey {
	c := kinesis.CallerFrom(ctx)
	return store.TableKey{Account: c.Account, Region: c.Region, Name: name}
}

// load reads a table's record; store.ErrNotFound passes through.
func (s *Service) load(ctx context.Context, name string) (*tableMeta, store.Revision, error) {
	b, rev, err := s.tables.GetTable(ctx, s.key(ctx, name))
	if err != nil {
		return nil, 0, err
	}
	var m tableMeta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, 0, errorf(ErrInternal, "table %s: corrupt record: %v", name, err)
	}
	return &m, rev, nil
}

func (s *Service) save(ctx context.Context, m *tableMeta, rev store.Revision) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = s.tables.PutTable(ctx, s.key(ctx, m.Name), b, rev)
	return err
}

// notFound is ResourceNotFoundException; the table operations name the
// table, the item operations do not.
func notFound(name string, named bool) error {
	if named {
		return errorf(ErrResourceNotFound, "Requested resource not found: Table: %s not found", name)
	}
	return errorf(ErrResourceNotFound, "Requested resource not found")
}

// authorize asks the Authorizer about action on resource.
func (s *Service) authorize(ctx context.Context, op, resource string, tags map[string]string) error {
	if s.cfg.Authorizer == nil {
		return nil
	}
	return s.cfg.Authorizer.Authorize(ctx, kinesis.CallerFrom(ctx), "dynamodb:"+op, resource,
		kinesis.Resource{Tags: tags})
}

// table loads the table an operation names and authorizes op on it (or
// on its index), then answers ResourceNotFound if it is missing.
func (s *Service) table(ctx context.Context, op, name, index string, named bool) (*tableMeta, store.Revision, error) {
	m, rev, err := s.load(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, 0, err
	}
	var tags map[string]string
	if m != nil {
		tags = m.tagMap()
	}
	arn := tableARN(kinesis.CallerFrom(ctx), name)
	if index != "" {
		arn += "/index/" + index
	}
	if err := s.authorize(ctx, op, arn, tags); err != nil {
		return nil, 0, err
	}
	if m == nil {
		return nil, 0, notFound(name, named)
	}
	return m, rev, nil
}

// updateMeta applies fn to a table's record by compare-and-swap.
func (s *Service) updateMeta(ctx context.Context, op, name string, fn func(m *tableMeta) error) (*tableMeta, error) {
	for range maxCASAttempts {
		m, rev, err := s.table(ctx, op, name, "", true)
		if err != nil {
			return nil, err
		}
		if err := fn(m); err != nil {
			return nil, err
		}
		err = s.save(ctx, m, rev)
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return m, nil
	}
	return nil, errorf(ErrInternal, "table %s: too many concurrent updates", name)
}

func newBucketID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// itemsOf reads every item of a table, decoded, in key-byte order.
func (s *Service) itemsOf(ctx context.Context, m *tableMeta) ([]storedItem, error) {
	raw, err := s.tables.Items(ctx, m.Bucket)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	out := make([]storedItem, 0, len(raw))
	for _, r := range raw {
		it, err := item.Decode(r.Val)
		if err != nil {
			return nil, errorf(ErrInternal, "table %s: corrupt item %x: %v", m.Name, r.Key, err)
		}
		out = append(out, storedItem{key: r.Key, it: it})
	}
	return out, nil
}

type storedItem struct {
	key []byte
	it  item.Item
}

func epochSeconds(t time.Time) float64 {
	return float64(t.UnixMilli()) / 1000
}

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
