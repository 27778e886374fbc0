package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/rivulet/rivulet/consumer"
	"github.com/rivulet/rivulet/internal/delivery/process"
	"github.com/rivulet/rivulet/internal/firehose/model"
)

// KinesisLeaseTablePrefix starts the name of a Kinesis source's lease
// table (and its consumer application): the prefix plus the delivery
// stream's ID, so a stream created again with the same name starts afresh.
const KinesisLeaseTablePrefix = "rivulet-firehose-"

// KinesisLeaseTable names the lease table of a delivery stream or channel.
func KinesisLeaseTable(ds *model.DeliveryStream) string { return KinesisLeaseTablePrefix + ds.ID }

// Consumer timing for a Kinesis source. Firehose reads each shard once a
// second. The lease table is small and leases move only when engines
// start or stop, so frequent takes and parent checks cost little and let
// child shards start soon after a reshard.
const (
	kinesisCallInterval = time.Second
	kinesisTakeInterval = 2 * time.Second
	kinesisParentPoll   = time.Second
	kinesisShardSync    = 30 * time.Second
)

// runKinesis delivers a KinesisStreamAsSource delivery stream (or a
// channel) until ctx ends: a consumer worker reads the source stream, one
// buffer per shard, and a shard's checkpoint moves only past records
// deliver has accepted. It returns nil once ctx ended and the worker has
// stopped, or an error when the worker could not start or stopped by
// itself (a missing stream, say); the caller retries.
func (e *Engine) runKinesis(ctx context.Context, ds *model.DeliveryStream) error {
	if ds.Source == nil || model.Str(ds.Source.KinesisStreamARN) == "" {
		return fmt.Errorf("delivery: %s has no Kinesis source stream", ds.Name)
	}
	if e.cfg.Clients == nil {
		return errors.New("delivery: no Kinesis clients configured")
	}
	kc, ddb := e.cfg.Clients(ds.Account, ds.Region)
	if kc == nil || ddb == nil {
		return errors.New("delivery: no Kinesis or DynamoDB client")
	}
	log := e.cfg.Logger.With("deliveryStream", ds.Name, "id", ds.ID, "source", *ds.Source.KinesisStreamARN)
	size, interval := bufferHints(ds)
	table := KinesisLeaseTable(ds)
	w, err := consumer.New(consumer.Config{
		AppName: table,
		// The consumer creates the table when missing.
		LeaseTable: table,
		// Every process runs a worker; the lease table shares the shards
		// among them. A fresh ID per run: leases an earlier run did not
		// release expire and are taken, never mistaken for ours.
		WorkerID: e.cfg.Owner + "-" + uuid.NewString()[:8],
		Stream:   *ds.Source.KinesisStreamARN,
		Kinesis:  kc,
		DynamoDB: ddb,
		Processor: consumer.ProcessorFactoryFunc(func(shardID string) consumer.Processor {
			return &kinesisShard{e: e, ds: ds, run: ctx, shardID: shardID, size: size, interval: interval,
				log: log.With("shard", shardID)}
		}),
		InitialPosition:   kinesisStart(ds),
		TakeInterval:      kinesisTakeInterval,
		ShardSyncInterval: kinesisShardSync,
		// Children of a split must not wait long for their parent.
		ParentShardPollInterval: kinesisParentPoll,
		Retrieval:               consumer.Polling{MinCallInterval: kinesisCallInterval},
		// Empty batches drive the interval flush of a quiet shard.
		CallProcessRecordsEvenForEmptyRecordList: true,
		Logger:                                   log,
	})
	if err != nil {
		return err
	}
	err = w.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err == nil {
		err = errors.New("delivery: consumer worker stopped")
	}
	return err
}

// dropKinesis deletes the lease table of a deleted delivery stream or
// channel. Call it after runKinesis for it has returned (or on a process
// that never ran it): a running worker would fail on the missing table.
// A missing table is not an error.
func (e *Engine) dropKinesis(ctx context.Context, ds *model.DeliveryStream) error {
	if e.cfg.Clients == nil {
		return errors.New("delivery: no Kinesis clients configured")
	}
	_, ddb := e.cfg.Clients(ds.Account, ds.Region)
	return DeleteLeaseTable(ctx, ddb, ds)
}

// DeleteLeaseTable deletes the lease table of ds's Kinesis source, or,
// with a client that cannot delete tables, every lease in it, so that no
// old checkpoint applies again. A missing table is not an error.
func DeleteLeaseTable(ctx context.Context, ddb consumer.DynamoDBAPI, ds *model.DeliveryStream) error {
	if ddb == nil {
		return errors.New("delivery: no DynamoDB client")
	}
	table := KinesisLeaseTable(ds)
	if d, ok := ddb.(tableDeleter); ok {
		_, err := d.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &table})
		if err != nil && !isNotFound(err) {
			return fmt.Errorf("delivery: deleting lease table %s: %w", table, err)
		}
		return nil
	}
	in := &dynamodb.ScanInput{TableName: &table, ConsistentRead: aws.Bool(true)}
	for {
		out, err := ddb.Scan(ctx, in)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delivery: reading lease table %s: %w", table, err)
		}
		for _, item := range out.Items {
			key, ok := item["leaseKey"]
			if !ok {
				continue
			}
			_, err := ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table,
				Key: map[string]dtypes.AttributeValue{"leaseKey": key}})
			if err != nil && !isNotFound(err) {
				return fmt.Errorf("delivery: deleting lease in %s: %w", table, err)
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

type tableDeleter interface {
	DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
}

func isNotFound(err error) bool {
	var nf *dtypes.ResourceNotFoundException
	return errors.As(err, &nf)
}

// kinesisStart is where shards without a checkpoint start. Firehose reads
// from LATEST as of its creation: records put once the delivery stream
// exists are delivered, older ones are not. Reading at the creation time
// does that even when the engine starts later, or restarts before a shard
// saw its first record (a LATEST checkpoint would skip what came between).
func kinesisStart(ds *model.DeliveryStream) consumer.InitialPosition {
	if ds.Created.IsZero() {
		return consumer.InitialPosition{Type: consumer.SentinelLatest}
	}
	return consumer.InitialPosition{Type: consumer.SentinelAtTimestamp, Timestamp: ds.Created}
}

// kinesisShard buffers one shard's records and delivers them. The worker
// calls it from one goroutine.
type kinesisShard struct {
	e        *Engine
	ds       *model.DeliveryStream
	run      context.Context // runKinesis's: its end stops deliveries
	shardID  string
	size     int
	interval time.Duration
	log      *slog.Logger

	buf     []process.Record
	bytes   int
	last    consumer.Record // the last record buffered: the checkpoint after delivery
	started time.Time       // when the buffer got its first record
	stopped bool            // a delivery was cut off: deliver no more
}

func (p *kinesisShard) Initialize(context.Context, consumer.InitializeInput) {}

func (p *kinesisShard) ProcessRecords(ctx context.Context, in consumer.ProcessRecordsInput) {
	if p.stopped {
		return
	}
	for _, r := range in.Records {
		p.add(r)
		if p.bytes >= p.size && !p.flush(ctx, in.Checkpointer) {
			return
		}
	}
	if len(p.buf) > 0 && !p.kinesisDue() {
		return
	}
	p.flush(ctx, in.Checkpointer)
}

func (p *kinesisShard) kinesisDue() bool {
	return p.e.cfg.Now().Sub(p.started) >= p.interval
}

func (p *kinesisShard) add(r consumer.Record) {
	if len(p.buf) == 0 {
		p.started = p.e.cfg.Now()
	}
	p.buf = append(p.buf, process.Record{
		ID:      kinesisRecordID(p.shardID, r),
		Data:    r.Data,
		Arrival: r.ApproximateArrivalTimestamp,
		Kinesis: &process.KinesisMetadata{
			ShardID:           p.shardID,
			PartitionKey:      r.PartitionKey,
			SequenceNumber:    r.SequenceNumber,
			SubsequenceNumber: r.SubSequenceNumber,
			Arrival:           r.ApproximateArrivalTimestamp,
		},
	})
	p.bytes += len(r.Data)
	p.last = r
}

// flush delivers the buffer, then checkpoints its last record. False
// means the delivery was cut off (shutdown or a lost lease): the records
// stay unconfirmed, and the next owner reads them again.
func (p *kinesisShard) flush(ctx context.Context, cp consumer.Checkpointer) bool {
	if len(p.buf) == 0 {
		return true
	}
	// ctx ends when the lease is lost, p.run at shutdown: either stops
	// the delivery.
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.run, cancel)()
	first := p.buf[0].Kinesis
	b := Batch{ID: stableID("kinesis", p.ds.ID, p.shardID, first.SequenceNumber, strconv.FormatUint(first.SubsequenceNumber, 10)), Records: p.buf}
	for n := 0; ; n++ {
		err := p.e.deliver(dctx, p.ds, b)
		if err == nil {
			break
		}
		if dctx.Err() == nil {
			// deliver fails only when ctx ends; anything else is retried
			// rather than left unconfirmed behind a live lease.
			p.log.Warn("delivery failed; retrying", "err", err)
			err = sleep(dctx, p.e.backoff(min(n, 7)))
		}
		if err != nil {
			p.log.Info("delivery cut off; records stay unconfirmed", "err", err)
			p.drop()
			p.stopped = true
			return false
		}
	}
	last := p.last
	p.drop()
	if err := cp.CheckpointRecord(ctx, last); err != nil {
		if errors.Is(err, consumer.ErrLeaseLost) {
			p.stopped = true
			return false
		}
		// Delivered all the same; the next checkpoint covers it.
		p.log.Warn("checkpoint failed", "err", err)
	}
	return true
}

func (p *kinesisShard) drop() {
	p.buf, p.bytes = nil, 0
}

func (p *kinesisShard) ShardEnded(ctx context.Context, in consumer.ShardEndedInput) {
	if p.stopped || !p.flush(ctx, in.Checkpointer) {
		return // not SHARD_END: the worker gives up at shutdown or on a lost lease
	}
	if err := in.Checkpointer.Checkpoint(ctx); err != nil {
		p.log.Warn("checkpointing the end of the shard", "err", err) // the worker calls again
	}
}

func (p *kinesisShard) LeaseLost(context.Context, consumer.LeaseLostInput) {
	p.drop() // the next owner reads them again from the checkpoint
}

func (p *kinesisShard) ShutdownRequested(context.Context, consumer.ShutdownRequestedInput) {
	// Everything delivered is checkpointed already; the rest is read
	// again by the next owner.
	p.drop()
}

// kinesisRecordID is fixed by the record's position in the stream.
func kinesisRecordID(shardID string, r consumer.Record) string {
	return shardID + "-" + r.SequenceNumber + "-" + strconv.FormatUint(r.SubSequenceNumber, 10)
}
