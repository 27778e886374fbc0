package consumer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

func TestConfigDefaults(t *testing.T) {
	base := Config{AppName: "app", Stream: "s", Kinesis: &kinesis.Client{}, DynamoDB: &dynamodb.Client{}, Processor: ProcessorFunc(nil)}
	s, err := base.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if s.LeaseTable != "app" || s.WorkerID == "" || s.InitialPosition.Type != SentinelLatest ||
		s.FailoverTime != 10*time.Second || s.renewInterval != 10*time.Second/3-25*time.Millisecond ||
		s.TakeInterval != 20*time.Second || s.MaxLeasesForWorker != 0 || s.MaxLeasesToStealAtOneTime != 1 ||
		s.ShardSyncInterval != time.Minute || s.polling.MaxRecords != 10000 || s.polling.IdleTimeBetweenReads != time.Second || s.polling.MinCallInterval != 200*time.Millisecond || s.fanOut != nil {
		t.Errorf("defaults: %+v", s)
	}
	f := base
	f.Retrieval = FanOut{}
	if s, _ := f.withDefaults(); s.fanOut == nil || s.fanOut.ConsumerName != "app" {
		t.Errorf("fan-out consumer name defaults to AppName: %+v", s.fanOut)
	}
	n := base
	n.Retrieval = Polling{MinCallInterval: -1}
	if s, _ := n.withDefaults(); s.polling.MinCallInterval != 0 {
		t.Errorf("negative MinCallInterval: %v, want no pause", s.polling.MinCallInterval)
	}
	for name, mod := range map[string]func(*Config){
		"no app":              func(c *Config) { c.AppName = "" },
		"no stream":           func(c *Config) { c.Stream = "" },
		"no processor":        func(c *Config) { c.Processor = nil },
		"no clients":          func(c *Config) { c.Kinesis = nil },
		"timestamp missing":   func(c *Config) { c.InitialPosition = InitialPosition{Type: SentinelAtTimestamp} },
		"bad position":        func(c *Config) { c.InitialPosition = InitialPosition{Type: "AT_SEQUENCE_NUMBER"} },
		"failover too short":  func(c *Config) { c.FailoverTime = 50 * time.Millisecond },
		"negative steal":      func(c *Config) { c.MaxLeasesToStealAtOneTime = -1 },
		"too many records":    func(c *Config) { c.Retrieval = Polling{MaxRecords: 10001} },
		"negative sync":       func(c *Config) { c.ShardSyncInterval = -time.Second },
		"unknown retrieval":   func(c *Config) { c.Retrieval = (*badRetrieval)(nil) },
		"negative take":       func(c *Config) { c.TakeInterval = -1 },
		"negative shutdown":   func(c *Config) { c.ShutdownTimeout = -1 },
		"negative max leases": func(c *Config) { c.MaxLeasesForWorker = -1 },
	} {
		c := base
		mod(&c)
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

type badRetrieval struct{ Polling }

// TestRunMissingStream: Run returns the error that keeps it from starting.
func TestRunMissingStream(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, e *env) {
		w, err := New(Config{AppName: uniqueName(t), Stream: "no-such-stream", Kinesis: e.kin, DynamoDB: e.ddb, Processor: ProcessorFunc(nil), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), hangTimeout)
		defer cancel()
		if err := w.Run(ctx); err == nil || !isCode(err, "ResourceNotFoundException") {
			t.Errorf("Run: %v, want ResourceNotFoundException", err)
		}
	})
}
