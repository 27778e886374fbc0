package consumer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// Defaults, the Java KCL 2.x's unless said otherwise.
const (
	DefaultFailoverTime              = 10 * time.Second
	DefaultShardSyncInterval         = time.Minute
	DefaultParentShardPollInterval   = 10 * time.Second
	DefaultMaxLeasesToStealAtOneTime = 1
	DefaultMaxRecords                = 10000
	// DefaultIdleTimeBetweenReads is the pause after an empty GetRecords.
	DefaultIdleTimeBetweenReads = time.Second
	// DefaultShutdownTimeout bounds the graceful shutdown (not a KCL
	// setting): ShutdownRequested, final checkpoints and evictions.
	DefaultShutdownTimeout = 30 * time.Second
	// epsilon is the KCL's margin on the renewal period.
	epsilon = 25 * time.Millisecond
	// DefaultMinCallInterval keeps below the 5 GetRecords calls a second
	// a shard allows.
	DefaultMinCallInterval = 200 * time.Millisecond
)

// KinesisAPI is the part of *kinesis.Client a worker uses.
type KinesisAPI interface {
	ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(context.Context, *kinesis.GetShardIteratorInput, ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(context.Context, *kinesis.GetRecordsInput, ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
	DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	RegisterStreamConsumer(context.Context, *kinesis.RegisterStreamConsumerInput, ...func(*kinesis.Options)) (*kinesis.RegisterStreamConsumerOutput, error)
	DescribeStreamConsumer(context.Context, *kinesis.DescribeStreamConsumerInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamConsumerOutput, error)
	SubscribeToShard(context.Context, *kinesis.SubscribeToShardInput, ...func(*kinesis.Options)) (*kinesis.SubscribeToShardOutput, error)
}

// DynamoDBAPI is the part of *dynamodb.Client the lease table uses.
type DynamoDBAPI interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var (
	_ KinesisAPI  = (*kinesis.Client)(nil)
	_ DynamoDBAPI = (*dynamodb.Client)(nil)
)

// Config says what a worker consumes and how. Zero fields take the
// defaults; AppName, Stream, Kinesis, DynamoDB and Processor are required.
type Config struct {
	// AppName names the application; workers with the same AppName share
	// the stream's shards.
	AppName string
	// LeaseTable is the DynamoDB lease table; empty means AppName.
	LeaseTable string
	// WorkerID identifies this worker in the lease table; empty means
	// the host name and a random suffix. It must differ between workers.
	WorkerID string
	// Stream is the stream's name or ARN ("arn:...").
	Stream string

	Kinesis  KinesisAPI
	DynamoDB DynamoDBAPI
	// Processor makes a processor for each shard the worker processes.
	Processor ProcessorFactory

	// InitialPosition is where shards with no checkpoint start; zero
	// means LATEST, as in the KCL.
	InitialPosition InitialPosition

	// FailoverTime is how long a lease's counter must stay unchanged
	// before other workers may take it (default 10 s). Leases are renewed
	// every FailoverTime/3 − 25 ms.
	FailoverTime time.Duration
	// TakeInterval is how often the worker scans the table to take or
	// steal leases; zero means 2 × FailoverTime.
	TakeInterval time.Duration
	// MaxLeasesForWorker caps the leases this worker takes; zero means no
	// cap.
	MaxLeasesForWorker int
	// MaxLeasesToStealAtOneTime caps the leases stolen per take (default 1).
	MaxLeasesToStealAtOneTime int
	// ShardSyncInterval is how often shards are listed to create leases
	// and clean up (default 60 s).
	ShardSyncInterval time.Duration
	// ParentShardPollInterval is how often a child shard checks whether
	// its parents reached SHARD_END (default 10 s).
	ParentShardPollInterval time.Duration

	// Retrieval is Polling (the default) or FanOut.
	Retrieval Retrieval
	// CallProcessRecordsEvenForEmptyRecordList calls ProcessRecords for
	// empty batches too.
	CallProcessRecordsEvenForEmptyRecordList bool
	// ShutdownTimeout bounds a graceful shutdown (default 30 s); after it
	// the worker stops without waiting further.
	ShutdownTimeout time.Duration

	// Logger receives the worker's logs; nil discards them.
	Logger *slog.Logger
}

// Retrieval is how records are read: a Polling or a FanOut.
type Retrieval interface{ retrieval() }

// Polling reads with GetShardIterator and GetRecords.
type Polling struct {
	// MaxRecords is GetRecords' Limit (default 10000).
	MaxRecords int32
	// IdleTimeBetweenReads is the pause after a response without records
	// (default 1 s).
	IdleTimeBetweenReads time.Duration
	// MinCallInterval is the least time between two calls to one shard:
	// zero means 200 ms, Kinesis's 5 calls a second per shard; a negative
	// value means no pause, for servers without that limit.
	MinCallInterval time.Duration
}

// FanOut reads with enhanced fan-out: SubscribeToShard on a registered
// stream consumer.
type FanOut struct {
	// ConsumerARN uses an existing consumer; otherwise ConsumerName
	// (default AppName) is registered if missing.
	ConsumerARN  string
	ConsumerName string
}

func (Polling) retrieval() {}
func (FanOut) retrieval()  {}

// settings is Config with defaults applied.
type settings struct {
	Config
	renewInterval time.Duration
	polling       Polling
	fanOut        *FanOut
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

func (c Config) withDefaults() (settings, error) {
	switch {
	case c.AppName == "":
		return settings{}, invalid("AppName is required")
	case c.Stream == "":
		return settings{}, invalid("Stream is required")
	case c.Kinesis == nil || c.DynamoDB == nil:
		return settings{}, invalid("Kinesis and DynamoDB clients are required")
	case c.Processor == nil:
		return settings{}, invalid("Processor is required")
	case c.FailoverTime < 0 || c.TakeInterval < 0 || c.ShardSyncInterval < 0 || c.ParentShardPollInterval < 0 || c.ShutdownTimeout < 0:
		return settings{}, invalid("negative duration")
	case c.MaxLeasesForWorker < 0 || c.MaxLeasesToStealAtOneTime < 0:
		return settings{}, invalid("negative lease count")
	}
	s := settings{Config: c}
	if s.LeaseTable == "" {
		s.LeaseTable = s.AppName
	}
	if s.WorkerID == "" {
		host, _ := os.Hostname()
		var b [8]byte
		_, _ = rand.Read(b[:])
		s.WorkerID = host + "-" + hex.EncodeToString(b[:])
	}
	switch s.InitialPosition.Type {
	case "":
		s.InitialPosition.Type = SentinelLatest
	case SentinelLatest, SentinelTrimHorizon:
	case SentinelAtTimestamp:
		if s.InitialPosition.Timestamp.IsZero() {
			return settings{}, invalid("AT_TIMESTAMP needs a timestamp")
		}
	default:
		return settings{}, invalid("initial position %q", s.InitialPosition.Type)
	}
	if s.FailoverTime == 0 {
		s.FailoverTime = DefaultFailoverTime
	}
	s.renewInterval = s.FailoverTime/3 - epsilon
	if s.renewInterval <= 0 {
		return settings{}, invalid("FailoverTime %v too short", s.FailoverTime)
	}
	if s.TakeInterval == 0 {
		s.TakeInterval = 2 * s.FailoverTime
	}
	if s.MaxLeasesToStealAtOneTime == 0 {
		s.MaxLeasesToStealAtOneTime = DefaultMaxLeasesToStealAtOneTime
	}
	if s.ShardSyncInterval == 0 {
		s.ShardSyncInterval = DefaultShardSyncInterval
	}
	if s.ParentShardPollInterval == 0 {
		s.ParentShardPollInterval = DefaultParentShardPollInterval
	}
	if s.ShutdownTimeout == 0 {
		s.ShutdownTimeout = DefaultShutdownTimeout
	}
	switch r := s.Retrieval.(type) {
	case nil:
		s.polling = Polling{}
	case Polling:
		s.polling = r
	case *Polling:
		s.polling = *r
	case FanOut:
		s.fanOut = &r
	case *FanOut:
		f := *r
		s.fanOut = &f
	default:
		return settings{}, invalid("retrieval %T", r)
	}
	if s.polling.MaxRecords == 0 {
		s.polling.MaxRecords = DefaultMaxRecords
	}
	if s.polling.MaxRecords < 0 || s.polling.MaxRecords > 10000 {
		return settings{}, invalid("MaxRecords %d not in [1, 10000]", s.polling.MaxRecords)
	}
	if s.polling.IdleTimeBetweenReads == 0 {
		s.polling.IdleTimeBetweenReads = DefaultIdleTimeBetweenReads
	}
	switch {
	case s.polling.MinCallInterval == 0:
		s.polling.MinCallInterval = DefaultMinCallInterval
	case s.polling.MinCallInterval < 0:
		s.polling.MinCallInterval = 0
	}
	if s.fanOut != nil && s.fanOut.ConsumerName == "" {
		s.fanOut.ConsumerName = s.AppName
	}
	if s.Logger == nil {
		s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.Logger = s.Logger.With("worker", s.WorkerID)
	return s, nil
}
