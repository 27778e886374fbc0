package dynamodb

import (
	"bytes"
	"context"
	"hash/fnv"
	"math"
	"slices"

	"github.com/rivulet/rivulet/internal/dynamodb/expr"
	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// readPlan is a Scan or Query after validation.
type readPlan struct {
	op         string
	m          *tableMeta
	gsi        *gsiMeta
	filter     *expr.Condition
	proj       *expr.Projection
	startKey   item.Item
	limit      int
	count      bool
	consistent bool
}

// checkRead validates what Scan and Query share and resolves the table
// and index.
func (s *Service) checkRead(ctx context.Context, op string, in *ScanInput) (*readPlan, *expr.Compiled, error) {
	var c checker
	c.enum("select", in.Select, enumSelect...)
	if in.IndexName != nil {
		c.name("indexName", in.IndexName, false)
	}
	if op == "Scan" {
		c.min("totalSegments", in.TotalSegments, 1)
		c.max("totalSegments", in.TotalSegments, 1000000)
	}
	c.enum("returnConsumedCapacity", in.ReturnConsumedCapacity, enumCapacity...)
	c.name("tableName", in.TableName, true)
	c.enum("conditionalOperator", in.ConditionalOperator, enumCondOp...)
	filters := in.ScanFilter
	if op == "Query" {
		filters = in.QueryFilter
	}
	for _, k := range sortedKeys(filters) {
		c.notNull("scanFilter."+k+".member.comparisonOperator", filters[k].ComparisonOperator != nil)
		c.enum("scanFilter."+k+".member.comparisonOperator", filters[k].ComparisonOperator, enumCompare...)
	}
	if op == "Scan" {
		c.min("segment", in.Segment, 0)
		c.max("segment", in.Segment, 999999)
	}
	c.min("limit", in.Limit, 1)
	if in.AttributesToGet != nil && len(in.AttributesToGet) < 1 {
		c.fail("'[]'", "attributesToGet", "Member must have length greater than or equal to 1")
	}
	if err := c.err(); err != nil {
		return nil, nil, err
	}
	var exprs, nonExprs []named
	exprs = append(exprs, named{"ProjectionExpression", in.ProjectionExpression != nil}, named{"FilterExpression", in.FilterExpression != nil})
	nonExprs = append(nonExprs, named{"AttributesToGet", in.AttributesToGet != nil})
	if op == "Query" {
		exprs = append(exprs, named{"KeyConditionExpression", in.KeyConditionExpression != nil})
		nonExprs = append(nonExprs, named{"QueryFilter", in.QueryFilter != nil}, named{"ConditionalOperator", in.ConditionalOperator != nil})
		// KeyConditions may go with the other expressions, but not with
		// a KeyConditionExpression.
		nonExprs = append(nonExprs, named{"KeyConditions", in.KeyConditions != nil && in.KeyConditionExpression != nil})
	} else {
		nonExprs = append(nonExprs, named{"ScanFilter", in.ScanFilter != nil}, named{"ConditionalOperator", in.ConditionalOperator != nil})
	}
	if err := exprParamsCheck(exprs, nonExprs, in.ExpressionAttributeNames, in.ExpressionAttributeValues); err != nil {
		return nil, nil, err
	}
	if d := findDuplicate(in.AttributesToGet); d != "" {
		return nil, nil, validationf(invalidParams+"Duplicate value in attribute name: %s", d)
	}
	filter, err := compileConds(filters, in.ConditionalOperator)
	if err != nil {
		return nil, nil, valueError(err)
	}
	start, err := decodeItem(in.ExclusiveStartKey)
	if err != nil {
		return nil, nil, startKeyError(err)
	}
	if op == "Scan" {
		if in.Segment != nil && in.TotalSegments == nil {
			return nil, nil, validationf("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
		}
		if in.TotalSegments != nil {
			if in.Segment == nil {
				return nil, nil, validationf("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
			}
			if *in.Segment >= *in.TotalSegments {
				return nil, nil, validationf("The Segment parameter is zero-based and must be less than parameter TotalSegments: "+
					"Segment: %d is not less than TotalSegments: %d", *in.Segment, *in.TotalSegments)
			}
		}
	} else if in.KeyConditions == nil && in.KeyConditionExpression == nil {
		return nil, nil, validationf("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
	}
	comp, err := compile(expr.Input{Projection: in.ProjectionExpression, Filter: in.FilterExpression,
		KeyCondition: in.KeyConditionExpression, Names: in.ExpressionAttributeNames}, in.ExpressionAttributeValues)
	if err != nil {
		return nil, nil, err
	}
	p := &readPlan{op: op, filter: filter, startKey: start, limit: math.MaxInt,
		count: deref(in.Select) == "COUNT", consistent: deref(in.ConsistentRead)}
	if comp.Filter != nil {
		p.filter = comp.Filter
	}
	p.proj = comp.Projection
	if p.proj == nil && in.AttributesToGet != nil {
		p.proj = expr.FromAttributesToGet(in.AttributesToGet)
	}
	if in.Limit != nil {
		p.limit = int(min(*in.Limit, math.MaxInt32))
	}
	p.m, _, err = s.table(ctx, op, *in.TableName, deref(in.IndexName), false)
	if err != nil {
		return nil, nil, err
	}
	if in.IndexName != nil {
		if p.gsi = p.m.gsi(*in.IndexName); p.gsi == nil {
			return nil, nil, validationf("The table does not have the specified index: %s", *in.IndexName)
		}
		if p.consistent {
			return nil, nil, validationf("Consistent reads are not supported on global secondary indexes")
		}
		if deref(in.Select) == "ALL_ATTRIBUTES" && p.gsi.Projection != "ALL" {
			return nil, nil, validationf(invalidParams+"Select type ALL_ATTRIBUTES is not supported for global secondary index %s "+
				"because its projection type is not ALL", p.gsi.Name)
		}
	}
	return p, comp, nil
}

func startKeyError(err error) error {
	if de, ok := err.(*Error); ok && de.Kind == ErrValidation {
		return validationf("The provided starting key is invalid: %s", de.Message)
	}
	return err
}

// startKeyNames are the attributes an ExclusiveStartKey must have.
func (p *readPlan) startKeyNames() []string {
	names := []string{p.m.Hash}
	if p.m.Range != "" {
		names = append(names, p.m.Range)
	}
	if p.gsi != nil {
		for _, n := range []string{p.gsi.Hash, p.gsi.Range} {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// checkStartKey checks ExclusiveStartKey against the schema.
func (p *readPlan) checkStartKey() error {
	if p.startKey == nil {
		return nil
	}
	names := p.startKeyNames()
	bad := len(p.startKey) != len(names)
	for _, n := range names {
		v, ok := p.startKey[n]
		if !ok || v.Type.String() != p.m.attrType(n) {
			bad = true
		}
	}
	if bad {
		if p.gsi != nil {
			return validationf("The provided starting key is invalid")
		}
		return validationf("The provided starting key is invalid: The provided key element does not match the schema")
	}
	return nil
}

// lastKey is the LastEvaluatedKey for it.
func (p *readPlan) lastKey(it item.Item) item.Item {
	k := item.Item{}
	for _, n := range p.startKeyNames() {
		if v, ok := it[n]; ok {
			k[n] = v
		}
	}
	return k
}

// present projects an item the way the index stores it, then by the
// request's projection.
func (p *readPlan) present(it item.Item) item.Item {
	if g := p.gsi; g != nil && g.Projection != "ALL" {
		keep := p.startKeyNames()
		if g.Projection == "INCLUDE" {
			keep = append(keep, g.NonKey...)
		}
		out := item.Item{}
		for _, n := range keep {
			if v, ok := it[n]; ok {
				out[n] = v
			}
		}
		it = out
	}
	if p.proj != nil {
		it = p.proj.Apply(it)
	}
	return it
}

// page evaluates candidates in order: Limit and the 1 MB page cap count
// items before the filter, as DynamoDB does.
func (p *readPlan) page(cands []item.Item, capMode *string) (*ScanOutput, error) {
	out := &ScanOutput{}
	size := 0
	var last item.Item
	for _, it := range cands {
		if out.ScannedCount >= p.limit || size >= maxPageBytes {
			break
		}
		out.ScannedCount++
		size += item.ItemSize(it)
		last = it
		if p.filter != nil {
			ok, err := p.filter.Eval(it)
			if err != nil {
				return nil, valueError(err)
			}
			if !ok {
				continue
			}
		}
		out.Count++
		if !p.count {
			out.Items = append(out.Items, nonNil(p.present(it)))
		}
	}
	if last != nil && (out.ScannedCount >= p.limit || size >= maxPageBytes) {
		out.LastEvaluatedKey = p.lastKey(last)
	}
	if !p.count && out.Items == nil {
		out.Items = []item.Item{}
	}
	units := readUnits(size, p.consistent)
	var idx []string
	if p.gsi != nil {
		idx = []string{p.gsi.Name}
	}
	out.ConsumedCapacity = capacity(capMode, p.m.Name, units, nil)
	if out.ConsumedCapacity != nil && idx != nil && deref(capMode) == "INDEXES" {
		out.ConsumedCapacity.Table = &Capacity{CapacityUnits: 0}
		out.ConsumedCapacity.GlobalSecondaryIndexes = map[string]Capacity{p.gsi.Name: {CapacityUnits: units}}
	}
	return out, nil
}

// Scan reads a table or index in key order, a page at a time.
func (s *Service) Scan(ctx context.Context, in *ScanInput) (*ScanOutput, error) {
	p, _, err := s.checkRead(ctx, "Scan", in)
	if err != nil {
		return nil, err
	}
	if err := p.checkStartKey(); err != nil {
		return nil, err
	}
	all, err := s.itemsOf(ctx, p.m)
	if err != nil {
		return nil, err
	}
	var startBytes []byte
	if p.startKey != nil {
		if startBytes, err = p.m.keyBytes(p.startKey, false); err != nil {
			return nil, startKeyError(err)
		}
	}
	total := uint32(max(deref(in.TotalSegments), 1))
	seg := uint32(deref(in.Segment))
	var cands []item.Item
	for _, si := range all {
		if startBytes != nil && bytes.Compare(si.key, startBytes) <= 0 {
			continue
		}
		if total > 1 && segmentOf(si.key, total) != seg {
			continue
		}
		if p.gsi != nil && !inIndex(p.gsi, si.it) {
			continue
		}
		cands = append(cands, si.it)
	}
	return p.page(cands, in.ReturnConsumedCapacity)
}

// segmentOf spreads keys over parallel-scan segments by a hash, so each
// segment is a fixed, disjoint share of the table.
func segmentOf(key []byte, total uint32) uint32 {
	h := fnv.New32a()
	_, _ = h.Write(key)
	return h.Sum32() % total
}

// Query reads the items of one partition (of the table or a GSI) in
// range-key order. GSIs are not materialized: a Query on one scans.
func (s *Service) Query(ctx context.Context, in *ScanInput) (*ScanOutput, error) {
	p, comp, err := s.checkRead(ctx, "Query", in)
	if err != nil {
		return nil, err
	}
	hashName, rangeName := p.m.Hash, p.m.Range
	if p.gsi != nil {
		hashName, rangeName = p.gsi.Hash, p.gsi.Range
	}
	keyCond := comp.KeyCondition
	if keyCond == nil {
		if keyCond, err = compileConds(in.KeyConditions, nil); err != nil {
			return nil, valueError(err)
		}
	}
	hashVal, rangeCond, err := keyCond.KeyTyped(hashName, p.m.attrType(hashName), rangeName, p.m.attrType(rangeName))
	if err != nil {
		return nil, valueError(err)
	}
	var heads map[string]bool
	switch {
	case in.QueryFilter != nil:
		heads = make(map[string]bool, len(in.QueryFilter))
		for k := range in.QueryFilter {
			heads[k] = true
		}
	case in.FilterExpression != nil:
		heads = pathHeads(*in.FilterExpression, in.ExpressionAttributeNames)
	}
	prop := ternary(in.QueryFilter != nil, "QueryFilter", "Filter Expression")
	for _, k := range []string{hashName, rangeName} {
		if k != "" && heads[k] {
			return nil, validationf("%s can only contain non-primary key attributes: Primary key attribute: %s", prop, k)
		}
	}
	if err := p.checkStartKey(); err != nil {
		return nil, err
	}
	if p.startKey != nil && !item.Equal(p.startKey[hashName], hashVal) {
		return nil, validationf("The provided starting key is outside query boundaries based on provided conditions")
	}
	all, err := s.itemsOf(ctx, p.m)
	if err != nil {
		return nil, err
	}
	var cands []storedItem
	for _, si := range all {
		v, ok := si.it[hashName]
		if !ok || !item.Equal(v, hashVal) {
			continue
		}
		if p.gsi != nil && !inIndex(p.gsi, si.it) {
			continue
		}
		if rangeCond != nil {
			ok, err := rangeCond.Eval(si.it)
			if err != nil {
				return nil, valueError(err)
			}
			if !ok {
				continue
			}
		}
		cands = append(cands, si)
	}
	// Order by the range key, then (for an index) by the table's key.
	order := func(a, b storedItem) int {
		if rangeName != "" {
			if c, ok := item.Compare(a.it[rangeName], b.it[rangeName]); ok && c != 0 {
				return c
			}
		}
		return bytes.Compare(a.key, b.key)
	}
	slices.SortStableFunc(cands, order)
	if in.ScanIndexForward != nil && !*in.ScanIndexForward {
		slices.Reverse(cands)
	}
	if p.startKey != nil {
		sk, err := p.m.keyBytes(p.startKey, false)
		if err != nil {
			return nil, startKeyError(err)
		}
		start := storedItem{key: sk, it: p.startKey}
		forward := in.ScanIndexForward == nil || *in.ScanIndexForward
		i := 0
		for i < len(cands) {
			c := order(cands[i], start)
			if (forward && c > 0) || (!forward && c < 0) {
				break
			}
			i++
		}
		cands = cands[i:]
	}
	its := make([]item.Item, len(cands))
	for i, c := range cands {
		its[i] = c.it
	}
	return p.page(its, in.ReturnConsumedCapacity)
}
