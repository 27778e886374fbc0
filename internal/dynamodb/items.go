package dynamodb

import (
	"context"
	"errors"
	"math"
	"slices"

	"github.com/rivulet/rivulet/internal/dynamodb/expr"
	"github.com/rivulet/rivulet/internal/dynamodb/item"
	"github.com/rivulet/rivulet/internal/store"
)

const invalidParams = "One or more parameter values were invalid: "

// keyOf checks a Key parameter against the table's schema and returns
// its stored key bytes.
func (m *tableMeta) keyOf(key item.Item) ([]byte, error) {
	want := 1
	if m.Range != "" {
		want = 2
	}
	if len(key) != want {
		return nil, validationf("The provided key element does not match the schema")
	}
	return m.keyBytes(key, false)
}

// keyBytes checks the key attributes of it (a key or a whole item) and
// encodes them. asItem selects PutItem's messages.
func (m *tableMeta) keyBytes(it item.Item, asItem bool) ([]byte, error) {
	var hash, rng item.Value
	for i, name := range []string{m.Hash, m.Range} {
		if name == "" {
			continue
		}
		typ := m.attrType(name)
		v, ok := it[name]
		switch {
		case !ok && asItem:
			return nil, validationf(invalidParams+"Missing the key %s in the item", name)
		case asItem && v.Type.String() != typ:
			return nil, validationf(invalidParams+"Type mismatch for key %s expected: %s actual: %s", name, typ, v.Type.String())
		case !ok || v.Type.String() != typ:
			return nil, validationf("The provided key element does not match the schema")
		}
		if (v.Type == item.S && v.Str == "") || (v.Type == item.B && len(v.Bytes) == 0) {
			kind := ternary(v.Type == item.S, "string", "binary")
			if asItem {
				return nil, validationf("One or more parameter values are not valid. The AttributeValue for a key attribute "+
					"cannot contain an empty %s value. Key: %s", kind, name)
			}
			return nil, validationf(invalidParams+"The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s", kind, name)
		}
		size := len(v.Str) + len(v.Bytes)
		if v.Type == item.N {
			size = 0
		}
		if i == 0 && size > maxHashKey {
			return nil, validationf(invalidParams + "Size of hashkey has exceeded the maximum size limit of2048 bytes")
		}
		if i == 1 && size > maxRangeKey {
			return nil, validationf(invalidParams + "Aggregated size of all range keys has exceeded the size limit of 1024 bytes")
		}
		if i == 0 {
			hash = v
		} else {
			rng = v
		}
	}
	if m.Range == "" {
		return item.Key(hash, nil), nil
	}
	return item.Key(hash, &rng), nil
}

// checkIndexTypes refuses an item whose GSI key attributes have the
// wrong type.
func (m *tableMeta) checkIndexTypes(it item.Item) error {
	for _, g := range m.GSIs {
		for _, name := range []string{g.Hash, g.Range} {
			if name == "" {
				continue
			}
			v, ok := it[name]
			if want := m.attrType(name); ok && v.Type.String() != want {
				return validationf(invalidParams+"Type mismatch for Index Key %s Expected: %s Actual: %s IndexName: %s",
					name, want, v.Type.String(), g.Name)
			}
		}
	}
	return nil
}

// keyItem is the key attributes of it.
func (m *tableMeta) keyItem(it item.Item) item.Item {
	k := item.Item{m.Hash: it[m.Hash]}
	if m.Range != "" {
		k[m.Range] = it[m.Range]
	}
	return k
}

// capacity renders ReturnConsumedCapacity for one table.
func capacity(mode *string, table string, units float64, indexes []string) *ConsumedCapacity {
	switch deref(mode) {
	case "TOTAL":
		return &ConsumedCapacity{TableName: table, CapacityUnits: units}
	case "INDEXES":
		c := &ConsumedCapacity{TableName: table, CapacityUnits: units, Table: &Capacity{CapacityUnits: units}}
		if len(indexes) > 0 {
			c.GlobalSecondaryIndexes = map[string]Capacity{}
			for _, ix := range indexes {
				c.GlobalSecondaryIndexes[ix] = Capacity{CapacityUnits: units}
				c.CapacityUnits += units
			}
		}
		return c
	}
	return nil
}

// readUnits is DynamoDB's read cost of size bytes: 4 KB units, half for
// an eventually consistent read.
func readUnits(size int, consistent bool) float64 {
	u := math.Max(1, math.Ceil(float64(size)/4096))
	if !consistent {
		u /= 2
	}
	return u
}

// writeUnits is the write cost of the larger of the old and new item.
func writeUnits(old, new item.Item) float64 {
	size := max(itemSize(old), itemSize(new))
	return math.Max(1, math.Ceil(float64(size)/1024))
}

func itemSize(it item.Item) int {
	if it == nil {
		return 0
	}
	return item.ItemSize(it)
}

// writtenIndexes are the GSIs a write touches, for INDEXES capacity.
func (m *tableMeta) writtenIndexes(old, new item.Item) []string {
	var out []string
	for i := range m.GSIs {
		if (old != nil && inIndex(&m.GSIs[i], old)) || (new != nil && inIndex(&m.GSIs[i], new)) {
			out = append(out, m.GSIs[i].Name)
		}
	}
	return out
}

// mutation decides, given the current item (nil if none), what to write:
// the new item, or nil to delete.
type mutation func(old item.Item) (item.Item, error)

// write is the conditional write: read the item and its revision, let
// fn decide, and write by compare-and-swap on that revision; a lost swap
// means another writer came first, so it starts over.
func (s *Service) write(ctx context.Context, m *tableMeta, key []byte, fn mutation) (old, new item.Item, err error) {
	for range maxCASAttempts {
		raw, rev, err := s.tables.GetItem(ctx, m.Bucket, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			old, rev = nil, 0
		case err != nil:
			return nil, nil, err
		default:
			if old, err = item.Decode(raw); err != nil {
				return nil, nil, errorf(ErrInternal, "table %s: corrupt item %x: %v", m.Name, key, err)
			}
		}
		new, err = fn(old)
		if err != nil {
			return old, nil, err
		}
		switch {
		case new == nil && old == nil:
			return nil, nil, nil
		case new == nil:
			err = s.tables.DeleteItem(ctx, m.Bucket, key, rev)
		default:
			var b []byte
			if b, err = item.Encode(new); err != nil {
				return nil, nil, err
			}
			_, err = s.tables.PutItem(ctx, m.Bucket, key, b, rev)
		}
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			// The bucket went with its table.
			return nil, nil, notFound(m.Name, false)
		}
		if err != nil {
			return nil, nil, err
		}
		return old, new, nil
	}
	return nil, nil, errorf(ErrInternal, "table %s: item written too often concurrently to update", m.Name)
}

// checkCondition evaluates cond against old; a failure carries the old
// item when the request asked for it.
func checkCondition(cond *expr.Condition, old item.Item, onFailure *string) error {
	if cond == nil {
		return nil
	}
	ok, err := cond.Eval(old)
	if err != nil {
		return valueError(err)
	}
	if ok {
		return nil
	}
	e := &Error{Kind: ErrConditionalCheckFailed, Message: "The conditional request failed"}
	if deref(onFailure) == "ALL_OLD" && len(old) > 0 {
		e.Item = old
	}
	return e
}

// GetItem reads one item.
func (s *Service) GetItem(ctx context.Context, in *GetItemInput) (*ItemOutput, error) {
	var c checker
	c.enum("returnConsumedCapacity", in.ReturnConsumedCapacity, enumCapacity...)
	if in.AttributesToGet != nil && len(in.AttributesToGet) < 1 {
		c.fail("'[]'", "attributesToGet", "Member must have length greater than or equal to 1")
	}
	c.name("tableName", in.TableName, true)
	c.notNull("key", in.Key != nil)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := exprParamsCheck([]named{{"ProjectionExpression", in.ProjectionExpression != nil}},
		[]named{{"AttributesToGet", in.AttributesToGet != nil}}, in.ExpressionAttributeNames, nil); err != nil {
		return nil, err
	}
	key, err := decodeItem(in.Key)
	if err != nil {
		return nil, err
	}
	if d := findDuplicate(in.AttributesToGet); d != "" {
		return nil, validationf(invalidParams+"Duplicate value in attribute name: %s", d)
	}
	comp, err := compile(expr.Input{Projection: in.ProjectionExpression, Names: in.ExpressionAttributeNames}, nil)
	if err != nil {
		return nil, err
	}
	proj := comp.Projection
	if proj == nil && in.AttributesToGet != nil {
		proj = expr.FromAttributesToGet(in.AttributesToGet)
	}
	m, _, err := s.table(ctx, "GetItem", *in.TableName, "", false)
	if err != nil {
		return nil, err
	}
	kb, err := m.keyOf(key)
	if err != nil {
		return nil, err
	}
	var it item.Item
	raw, _, err := s.tables.GetItem(ctx, m.Bucket, kb)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		if it, err = item.Decode(raw); err != nil {
			return nil, errorf(ErrInternal, "table %s: corrupt item: %v", m.Name, err)
		}
	}
	out := &ItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, m.Name,
		readUnits(itemSize(it), deref(in.ConsistentRead)), nil)}
	if it != nil {
		if proj != nil {
			it = proj.Apply(it)
		}
		out.Item = nonNil(it)
	}
	return out, nil
}

// nonNil keeps an empty projection as {} rather than leaving Item out.
func nonNil(it item.Item) item.Item {
	if it == nil {
		return item.Item{}
	}
	return it
}

// checkWriteCommon validates what PutItem, DeleteItem and UpdateItem
// share: Expected's operators and the return-value options.
func checkExpectedOps(c *checker, exp map[string]ExpectedRaw) {
	for _, k := range sortedKeys(exp) {
		c.enum("expected."+k+".member.comparisonOperator", exp[k].ComparisonOperator, enumCompare...)
	}
}

// PutItem writes a whole item, optionally on a condition.
func (s *Service) PutItem(ctx context.Context, in *PutItemInput) (*ItemOutput, error) {
	var c checker
	c.enum("returnConsumedCapacity", in.ReturnConsumedCapacity, enumCapacity...)
	c.name("tableName", in.TableName, true)
	c.notNull("item", in.Item != nil)
	c.enum("conditionalOperator", in.ConditionalOperator, enumCondOp...)
	checkExpectedOps(&c, in.Expected)
	c.enum("returnValues", in.ReturnValues, enumReturn...)
	c.enum("returnItemCollectionMetrics", in.ReturnItemCollectionMetrics, enumMetrics...)
	c.enum("returnValuesOnConditionCheckFailure", in.ReturnValuesOnConditionCheckFailure, "ALL_OLD", "NONE")
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := exprParamsCheck([]named{{"ConditionExpression", in.ConditionExpression != nil}},
		[]named{{"Expected", in.Expected != nil}}, in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	it, err := decodeItem(in.Item)
	if err != nil {
		return nil, err
	}
	if rv := deref(in.ReturnValues); rv != "" && rv != "ALL_OLD" && rv != "NONE" {
		return nil, validationf("ReturnValues can only be ALL_OLD or NONE")
	}
	if item.ItemSize(it) > maxItemBytes {
		return nil, validationf("Item size has exceeded the maximum allowed size")
	}
	cond, err := s.condition(in.Expected, in.ConditionalOperator, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	m, _, err := s.table(ctx, "PutItem", *in.TableName, "", false)
	if err != nil {
		return nil, err
	}
	kb, err := m.keyBytes(it, true)
	if err != nil {
		return nil, err
	}
	if err := m.checkIndexTypes(it); err != nil {
		return nil, err
	}
	old, _, err := s.write(ctx, m, kb, func(old item.Item) (item.Item, error) {
		if err := checkCondition(cond, old, in.ReturnValuesOnConditionCheckFailure); err != nil {
			return nil, err
		}
		return it, nil
	})
	if err != nil {
		return nil, err
	}
	out := &ItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, m.Name, writeUnits(old, it), m.writtenIndexes(old, it))}
	if deref(in.ReturnValues) == "ALL_OLD" && old != nil {
		out.Attributes = old
	}
	return out, nil
}

// condition compiles a write's condition from either dialect.
func (s *Service) condition(exp map[string]ExpectedRaw, condOp, condExpr *string, names map[string]string, values rawItem) (*expr.Condition, error) {
	legacy, err := compileExpected(exp, condOp)
	if err != nil {
		return nil, valueError(err)
	}
	comp, err := compile(expr.Input{Condition: condExpr, Names: names}, values)
	if err != nil {
		return nil, err
	}
	if comp.Condition != nil {
		return comp.Condition, nil
	}
	return legacy, nil
}

// DeleteItem deletes one item, optionally on a condition.
func (s *Service) DeleteItem(ctx context.Context, in *DeleteItemInput) (*ItemOutput, error) {
	var c checker
	c.enum("returnConsumedCapacity", in.ReturnConsumedCapacity, enumCapacity...)
	c.name("tableName", in.TableName, true)
	c.enum("returnValues", in.ReturnValues, enumReturn...)
	c.enum("returnItemCollectionMetrics", in.ReturnItemCollectionMetrics, enumMetrics...)
	c.notNull("key", in.Key != nil)
	c.enum("conditionalOperator", in.ConditionalOperator, enumCondOp...)
	checkExpectedOps(&c, in.Expected)
	c.enum("returnValuesOnConditionCheckFailure", in.ReturnValuesOnConditionCheckFailure, "ALL_OLD", "NONE")
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := exprParamsCheck([]named{{"ConditionExpression", in.ConditionExpression != nil}},
		[]named{{"Expected", in.Expected != nil}}, in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	key, err := decodeItem(in.Key)
	if err != nil {
		return nil, err
	}
	if rv := deref(in.ReturnValues); rv != "" && rv != "ALL_OLD" && rv != "NONE" {
		return nil, validationf("ReturnValues can only be ALL_OLD or NONE")
	}
	cond, err := s.condition(in.Expected, in.ConditionalOperator, in.ConditionExpression, in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	m, _, err := s.table(ctx, "DeleteItem", *in.TableName, "", false)
	if err != nil {
		return nil, err
	}
	kb, err := m.keyOf(key)
	if err != nil {
		return nil, err
	}
	old, _, err := s.write(ctx, m, kb, func(old item.Item) (item.Item, error) {
		return nil, checkCondition(cond, old, in.ReturnValuesOnConditionCheckFailure)
	})
	if err != nil {
		return nil, err
	}
	out := &ItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, m.Name, writeUnits(old, nil), m.writtenIndexes(old, nil))}
	if deref(in.ReturnValues) == "ALL_OLD" && old != nil {
		out.Attributes = old
	}
	return out, nil
}

// UpdateItem changes (or creates) one item, optionally on a condition.
func (s *Service) UpdateItem(ctx context.Context, in *UpdateItemInput) (*ItemOutput, error) {
	var c checker
	c.enum("returnConsumedCapacity", in.ReturnConsumedCapacity, enumCapacity...)
	c.name("tableName", in.TableName, true)
	c.enum("returnItemCollectionMetrics", in.ReturnItemCollectionMetrics, enumMetrics...)
	c.enum("returnValues", in.ReturnValues, enumReturn...)
	c.notNull("key", in.Key != nil)
	c.enum("conditionalOperator", in.ConditionalOperator, enumCondOp...)
	checkExpectedOps(&c, in.Expected)
	for _, k := range sortedKeys(in.AttributeUpdates) {
		c.enum("attributeUpdates."+k+".member.action", in.AttributeUpdates[k].Action, "ADD", "PUT", "DELETE")
	}
	c.enum("returnValuesOnConditionCheckFailure", in.ReturnValuesOnConditionCheckFailure, "ALL_OLD", "NONE")
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := exprParamsCheck(
		[]named{{"UpdateExpression", in.UpdateExpression != nil}, {"ConditionExpression", in.ConditionExpression != nil}},
		[]named{{"AttributeUpdates", in.AttributeUpdates != nil}, {"Expected", in.Expected != nil}},
		in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	key, err := decodeItem(in.Key)
	if err != nil {
		return nil, err
	}
	legacyUpd, err := attributeUpdates(in.AttributeUpdates)
	if err != nil {
		return nil, err
	}
	cond, err := s.condition(in.Expected, in.ConditionalOperator, nil, nil, nil)
	if err != nil {
		return nil, err
	}
	comp, err := compile(expr.Input{Condition: in.ConditionExpression, Update: in.UpdateExpression,
		Names: in.ExpressionAttributeNames}, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if comp.Condition != nil {
		cond = comp.Condition
	}
	upd := legacyUpd
	if comp.Update != nil {
		upd = comp.Update
	}
	m, _, err := s.table(ctx, "UpdateItem", *in.TableName, "", false)
	if err != nil {
		return nil, err
	}
	kb, err := m.keyOf(key)
	if err != nil {
		return nil, err
	}
	var paths []string
	if upd != nil {
		paths = upd.Paths()
		for _, k := range []string{m.Hash, m.Range} {
			if k != "" && slices.Contains(paths, k) {
				return nil, validationf(invalidParams+"Cannot update attribute %s. This attribute is part of the key", k)
			}
		}
	}
	old, new, err := s.write(ctx, m, kb, func(old item.Item) (item.Item, error) {
		if err := checkCondition(cond, old, in.ReturnValuesOnConditionCheckFailure); err != nil {
			return nil, err
		}
		base := old
		if base == nil {
			base = key
		}
		next := base.Clone()
		if upd != nil {
			var err error
			if next, err = upd.Apply(base); err != nil {
				return nil, valueError(err)
			}
		}
		for k, v := range key { // an update cannot drop the key
			next[k] = v
		}
		if item.ItemSize(next) > maxItemBytes {
			return nil, validationf("Item size to update has exceeded the maximum allowed size")
		}
		if err := m.checkIndexTypes(next); err != nil {
			return nil, err
		}
		return next, nil
	})
	if err != nil {
		return nil, err
	}
	out := &ItemOutput{ConsumedCapacity: capacity(in.ReturnConsumedCapacity, m.Name, writeUnits(old, new), m.writtenIndexes(old, new))}
	switch deref(in.ReturnValues) {
	case "ALL_OLD":
		if old != nil {
			out.Attributes = old
		}
	case "ALL_NEW":
		out.Attributes = new
	case "UPDATED_OLD":
		out.Attributes = nonEmpty(upd.Updated().Apply(old))
	case "UPDATED_NEW":
		out.Attributes = nonEmpty(upd.Updated().Apply(new))
	}
	return out, nil
}

// nonEmpty is it, or nil when it has no attributes: DynamoDB then leaves
// Attributes out.
func nonEmpty(it item.Item) item.Item {
	if len(it) == 0 {
		return nil
	}
	return it
}

// attributeUpdates converts the legacy AttributeUpdates after DynamoDB's
// checks of each action against its value.
func attributeUpdates(raw map[string]AttributeUpdateRaw) (*expr.Update, error) {
	if raw == nil {
		return nil, nil
	}
	m := make(map[string]expr.AttributeUpdate, len(raw))
	for _, k := range sortedKeys(raw) {
		u := raw[k]
		action := deref(u.Action)
		if action == "" {
			action = "PUT"
		}
		au := expr.AttributeUpdate{Action: action}
		if u.Value != nil && string(u.Value) != "null" {
			v, err := decodeValue(u.Value)
			if err != nil {
				return nil, err
			}
			au.Value = &v
		}
		switch t := ""; {
		case au.Value == nil && action != "DELETE":
			return nil, validationf(invalidParams + "Only DELETE action is allowed when no attribute value is specified")
		case au.Value != nil && action == "DELETE":
			if t = au.Value.Type.String(); t != "SS" && t != "NS" && t != "BS" {
				return nil, validationf(invalidParams+"DELETE action with value is not supported for the type %s", t)
			}
		case au.Value != nil && action == "ADD":
			if t = au.Value.Type.String(); t != "L" && t != "SS" && t != "NS" && t != "BS" && t != "N" {
				return nil, validationf(invalidParams+"ADD action is not supported for the type %s", t)
			}
		}
		m[k] = au
	}
	upd, err := expr.FromAttributeUpdates(m)
	if err != nil {
		return nil, valueError(err)
	}
	return upd, nil
}
