package consumer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// Lease table attribute names, the Java KCL 2.x's.
const (
	attrKey             = "leaseKey"
	attrOwner           = "leaseOwner"
	attrCounter         = "leaseCounter"
	attrOwnerSwitches   = "ownerSwitchesSinceCheckpoint"
	attrCheckpoint      = "checkpoint"
	attrCheckpointSub   = "checkpointSubSequenceNumber"
	attrPending         = "pendingCheckpoint"
	attrPendingSub      = "pendingCheckpointSubSequenceNumber"
	attrParents         = "parentShardId"
	attrChildren        = "childShardIds"
	attrStartingHashKey = "startingHashKey"
	attrEndingHashKey   = "endingHashKey"
)

// lease is one item of the lease table.
type lease struct {
	key           string
	owner         string // "" when unowned
	counter       int64
	ownerSwitches int64
	checkpoint    ExtendedSequenceNumber
	pending       *ExtendedSequenceNumber
	parents       []string
	children      []string
	startingHash  string
	endingHash    string
}

// awaitsParents: the lease's shard has not started and will read from its
// start, so its parents' records must come first.
func (l *lease) awaitsParents() bool {
	return l.checkpoint == TrimHorizon || l.checkpoint == AtTimestamp
}

// errConditionFailed: a conditional write found the lease changed.
var errConditionFailed = errors.New("consumer: conditional check failed")

// leaseStore is the lease table, with the Java KCL's conditional calls.
type leaseStore struct {
	ddb   DynamoDBAPI
	table string
	limit int32 // Scan page size; 0 leaves DynamoDB's (tests page with it)
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && slices.Contains(codes, ae.ErrorCode())
}

func isCCF(err error) bool { return isCode(err, "ConditionalCheckFailedException") }

// ensureTable creates the table if DescribeTable does not find it, then
// waits until it is ACTIVE (or UPDATING, which serves too).
func (s *leaseStore) ensureTable(ctx context.Context) error {
	created := false
	for attempt := 1; ; attempt++ {
		out, err := s.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.table)})
		switch {
		case err == nil && out.Table != nil:
			if st := out.Table.TableStatus; st == types.TableStatusActive || st == types.TableStatusUpdating {
				return nil
			}
		case isCode(err, "ResourceNotFoundException") && !created:
			_, err = s.ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String(s.table),
				KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeHash}},
				AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS}},
				BillingMode:          types.BillingModePayPerRequest,
			})
			if err != nil && !isCode(err, "ResourceInUseException") {
				return fmt.Errorf("consumer: creating lease table %s: %w", s.table, err)
			}
			created = true
			continue
		case isCode(err, "ResourceNotFoundException"):
			// Just created: not visible yet.
		default:
			if !retryable(err) {
				return fmt.Errorf("consumer: describing lease table %s: %w", s.table, err)
			}
		}
		if err := sleep(ctx, backoff(attempt, 50*time.Millisecond, 10*time.Second)); err != nil {
			return err
		}
	}
}

func keyOf(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: &types.AttributeValueMemberS{Value: k}}
}

func sAttr(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func nAttr(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func nuAttr(v uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(v, 10)}
}

func put(v types.AttributeValue) types.AttributeValueUpdate {
	return types.AttributeValueUpdate{Action: types.AttributeActionPut, Value: v}
}

var del = types.AttributeValueUpdate{Action: types.AttributeActionDelete}

func expectValue(v types.AttributeValue) types.ExpectedAttributeValue {
	return types.ExpectedAttributeValue{Value: v}
}

// toItem serializes a new lease as the KCL does.
func (l *lease) toItem() map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{
		attrKey:           sAttr(l.key),
		attrCounter:       nAttr(l.counter),
		attrOwnerSwitches: nAttr(l.ownerSwitches),
		attrCheckpoint:    sAttr(l.checkpoint.SequenceNumber),
		attrCheckpointSub: nuAttr(l.checkpoint.SubSequenceNumber),
	}
	if l.owner != "" {
		it[attrOwner] = sAttr(l.owner)
	}
	if len(l.parents) > 0 {
		it[attrParents] = &types.AttributeValueMemberSS{Value: l.parents}
	}
	if len(l.children) > 0 {
		it[attrChildren] = &types.AttributeValueMemberSS{Value: l.children}
	}
	if l.pending != nil {
		it[attrPending] = sAttr(l.pending.SequenceNumber)
		it[attrPendingSub] = nuAttr(l.pending.SubSequenceNumber)
	}
	if l.startingHash != "" && l.endingHash != "" {
		it[attrStartingHashKey] = sAttr(l.startingHash)
		it[attrEndingHashKey] = sAttr(l.endingHash)
	}
	return it
}

func getS(it map[string]types.AttributeValue, k string) string {
	if v, ok := it[k].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getN(it map[string]types.AttributeValue, k string) int64 {
	if v, ok := it[k].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return 0
}

func getSS(it map[string]types.AttributeValue, k string) []string {
	if v, ok := it[k].(*types.AttributeValueMemberSS); ok {
		return slices.Sorted(slices.Values(v.Value))
	}
	return nil
}

func fromItem(it map[string]types.AttributeValue) *lease {
	l := &lease{
		key:           getS(it, attrKey),
		owner:         getS(it, attrOwner),
		counter:       getN(it, attrCounter),
		ownerSwitches: getN(it, attrOwnerSwitches),
		checkpoint:    ExtendedSequenceNumber{SequenceNumber: getS(it, attrCheckpoint), SubSequenceNumber: uint64(getN(it, attrCheckpointSub))},
		parents:       getSS(it, attrParents),
		children:      getSS(it, attrChildren),
		startingHash:  getS(it, attrStartingHashKey),
		endingHash:    getS(it, attrEndingHashKey),
	}
	if p := getS(it, attrPending); p != "" {
		l.pending = &ExtendedSequenceNumber{SequenceNumber: p, SubSequenceNumber: uint64(getN(it, attrPendingSub))}
	}
	return l
}

// create writes l if no lease has its key; false means one had.
func (s *leaseStore) create(ctx context.Context, l *lease) (bool, error) {
	_, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item:      l.toItem(),
		Expected:  map[string]types.ExpectedAttributeValue{attrKey: {Exists: aws.Bool(false)}},
	})
	if isCCF(err) {
		return false, nil
	}
	return err == nil, err
}

// get reads a lease strongly; nil when there is none.
func (s *leaseStore) get(ctx context.Context, key string) (*lease, error) {
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.table), Key: keyOf(key), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return fromItem(out.Item), nil
}

// list reads every lease with a paginated Scan.
func (s *leaseStore) list(ctx context.Context) ([]*lease, error) {
	var out []*lease
	in := &dynamodb.ScanInput{TableName: aws.String(s.table), ConsistentRead: aws.Bool(true)}
	if s.limit > 0 {
		in.Limit = aws.Int32(s.limit)
	}
	for {
		page, err := s.ddb.Scan(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, it := range page.Items {
			out = append(out, fromItem(it))
		}
		if len(page.LastEvaluatedKey) == 0 {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func (s *leaseStore) update(ctx context.Context, key string, expected map[string]types.ExpectedAttributeValue, updates map[string]types.AttributeValueUpdate) error {
	_, err := s.ddb.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.table),
		Key:              keyOf(key),
		Expected:         expected,
		AttributeUpdates: updates,
	})
	if isCCF(err) {
		return errConditionFailed
	}
	return err
}

func expectCounter(n int64) map[string]types.ExpectedAttributeValue {
	return map[string]types.ExpectedAttributeValue{attrCounter: expectValue(nAttr(n))}
}

// confirm is the KCL's rule after a conditional failure on our own write:
// the write may have been applied by an attempt whose answer was lost, so
// a lease that shows owner and counter+1 is still ours.
func (s *leaseStore) confirm(ctx context.Context, key, owner string, counter int64, check func(*lease) bool) (bool, error) {
	l, err := s.get(ctx, key)
	if err != nil {
		return false, err
	}
	return l != nil && l.owner == owner && l.counter == counter+1 && (check == nil || check(l)), nil
}

// renew increments the counter of a lease owner holds at counter.
// errConditionFailed means it is lost.
func (s *leaseStore) renew(ctx context.Context, key, owner string, counter int64) error {
	err := s.update(ctx, key, expectCounter(counter), map[string]types.AttributeValueUpdate{attrCounter: put(nAttr(counter + 1))})
	if errors.Is(err, errConditionFailed) {
		ok, gerr := s.confirm(ctx, key, owner, counter, nil)
		if gerr != nil {
			return gerr
		}
		if ok {
			return nil
		}
	}
	return err
}

// take makes owner the owner of l, read at l.counter.
func (s *leaseStore) take(ctx context.Context, l *lease, owner string) error {
	up := map[string]types.AttributeValueUpdate{
		attrOwner:   put(sAttr(owner)),
		attrCounter: put(nAttr(l.counter + 1)),
	}
	// As the KCL: only a change of owner counts as a switch.
	if l.owner != "" && l.owner != owner {
		up[attrOwnerSwitches] = types.AttributeValueUpdate{Action: types.AttributeActionAdd, Value: nAttr(1)}
	}
	return s.update(ctx, l.key, expectCounter(l.counter), up)
}

// evict releases a lease owner holds at counter.
func (s *leaseStore) evict(ctx context.Context, key, owner string, counter int64) error {
	return s.update(ctx, key,
		map[string]types.ExpectedAttributeValue{attrOwner: expectValue(sAttr(owner))},
		map[string]types.AttributeValueUpdate{attrOwner: del, attrCounter: put(nAttr(counter + 1))})
}

// checkpoint records cp on a lease owner holds at counter, clearing any
// pending checkpoint.
func (s *leaseStore) checkpoint(ctx context.Context, key, owner string, counter int64, cp ExtendedSequenceNumber) error {
	err := s.update(ctx, key, expectCounter(counter), map[string]types.AttributeValueUpdate{
		attrCounter:       put(nAttr(counter + 1)),
		attrCheckpoint:    put(sAttr(cp.SequenceNumber)),
		attrCheckpointSub: put(nuAttr(cp.SubSequenceNumber)),
		attrOwnerSwitches: put(nAttr(0)),
		attrPending:       del,
		attrPendingSub:    del,
	})
	if errors.Is(err, errConditionFailed) {
		ok, gerr := s.confirm(ctx, key, owner, counter, func(l *lease) bool { return l.checkpoint == cp })
		if gerr != nil {
			return gerr
		}
		if ok {
			return nil
		}
	}
	return err
}

// setChildren records a shard's children at SHARD_END; a lease already
// deleted is not an error.
func (s *leaseStore) setChildren(ctx context.Context, key string, children []string) error {
	err := s.update(ctx, key,
		map[string]types.ExpectedAttributeValue{attrKey: {Exists: aws.Bool(true), Value: sAttr(key)}},
		map[string]types.AttributeValueUpdate{attrChildren: put(&types.AttributeValueMemberSS{Value: children})})
	if errors.Is(err, errConditionFailed) {
		return nil
	}
	return err
}

func (s *leaseStore) delete(ctx context.Context, key string) error {
	_, err := s.ddb.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: keyOf(key)})
	return err
}
