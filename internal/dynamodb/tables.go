package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rivulet/rivulet/internal/dynamodb/item"
	"github.com/rivulet/rivulet/internal/kinesis"
	"github.com/rivulet/rivulet/internal/store"
)

// TableDescription is DescribeTable's shape.
type TableDescription struct {
	AttributeDefinitions      []AttributeDefinition `json:"AttributeDefinitions"`
	TableName                 string                `json:"TableName"`
	KeySchema                 []KeySchemaElement    `json:"KeySchema"`
	TableStatus               string                `json:"TableStatus"`
	CreationDateTime          float64               `json:"CreationDateTime"`
	ProvisionedThroughput     ThroughputDescription `json:"ProvisionedThroughput"`
	TableSizeBytes            int64                 `json:"TableSizeBytes"`
	ItemCount                 int64                 `json:"ItemCount"`
	TableArn                  string                `json:"TableArn"`
	TableId                   string                `json:"TableId"`
	BillingModeSummary        *BillingModeSummary   `json:"BillingModeSummary,omitempty"`
	GlobalSecondaryIndexes    []GSIDescription      `json:"GlobalSecondaryIndexes,omitempty"`
	StreamSpecification       *StreamSpecification  `json:"StreamSpecification,omitempty"`
	SSEDescription            *SSEDescription       `json:"SSEDescription,omitempty"`
	TableClassSummary         *TableClassSummary    `json:"TableClassSummary,omitempty"`
	DeletionProtectionEnabled bool                  `json:"DeletionProtectionEnabled"`
}

type ThroughputDescription struct {
	LastIncreaseDateTime   *float64 `json:"LastIncreaseDateTime,omitempty"`
	LastDecreaseDateTime   *float64 `json:"LastDecreaseDateTime,omitempty"`
	NumberOfDecreasesToday int      `json:"NumberOfDecreasesToday"`
	ReadCapacityUnits      int64    `json:"ReadCapacityUnits"`
	WriteCapacityUnits     int64    `json:"WriteCapacityUnits"`
}

type BillingModeSummary struct {
	BillingMode                       string   `json:"BillingMode"`
	LastUpdateToPayPerRequestDateTime *float64 `json:"LastUpdateToPayPerRequestDateTime,omitempty"`
}

type GSIDescription struct {
	IndexName             string                `json:"IndexName"`
	KeySchema             []KeySchemaElement    `json:"KeySchema"`
	Projection            Projection            `json:"Projection"`
	IndexStatus           string                `json:"IndexStatus"`
	ProvisionedThroughput ThroughputDescription `json:"ProvisionedThroughput"`
	IndexSizeBytes        int64                 `json:"IndexSizeBytes"`
	ItemCount             int64                 `json:"ItemCount"`
	IndexArn              string                `json:"IndexArn"`
}

type SSEDescription struct {
	Status          string `json:"Status"`
	SSEType         string `json:"SSEType"`
	KMSMasterKeyArn string `json:"KMSMasterKeyArn,omitempty"`
}

type TableClassSummary struct {
	TableClass string `json:"TableClass"`
}

type TableOutput struct {
	TableDescription *TableDescription `json:"TableDescription,omitempty"`
	Table            *TableDescription `json:"Table,omitempty"`
}

func ptr[T any](v T) *T { return &v }

func keySchema(hash, rng string) []KeySchemaElement {
	ks := []KeySchemaElement{{AttributeName: ptr(hash), KeyType: ptr("HASH")}}
	if rng != "" {
		ks = append(ks, KeySchemaElement{AttributeName: ptr(rng), KeyType: ptr("RANGE")})
	}
	return ks
}

// describe renders m; items are counted when given.
func (s *Service) describe(ctx context.Context, m *tableMeta, status string, items []storedItem) *TableDescription {
	c := kinesis.CallerFrom(ctx)
	arn := tableARN(c, m.Name)
	d := &TableDescription{
		TableName:                 m.Name,
		KeySchema:                 keySchema(m.Hash, m.Range),
		TableStatus:               status,
		CreationDateTime:          epochSeconds(m.Created),
		TableArn:                  arn,
		TableId:                   m.ID,
		DeletionProtectionEnabled: m.Protected,
		ProvisionedThroughput: ThroughputDescription{
			NumberOfDecreasesToday: m.Decreases, ReadCapacityUnits: m.RCU, WriteCapacityUnits: m.WCU,
		},
		BillingModeSummary: &BillingModeSummary{BillingMode: m.Billing},
	}
	for _, a := range m.Attrs {
		d.AttributeDefinitions = append(d.AttributeDefinitions, AttributeDefinition{AttributeName: ptr(a.Name), AttributeType: ptr(a.Type)})
	}
	if !m.LastIncrease.IsZero() {
		d.ProvisionedThroughput.LastIncreaseDateTime = ptr(epochSeconds(m.LastIncrease))
	}
	if !m.LastDecrease.IsZero() {
		d.ProvisionedThroughput.LastDecreaseDateTime = ptr(epochSeconds(m.LastDecrease))
	}
	if m.Billing == "PAY_PER_REQUEST" {
		t := m.BillingChanged
		if t.IsZero() {
			t = m.Created
		}
		d.BillingModeSummary.LastUpdateToPayPerRequestDateTime = ptr(epochSeconds(t))
	}
	for _, it := range items {
		d.ItemCount++
		d.TableSizeBytes += int64(item.ItemSize(it.it))
	}
	for _, g := range m.GSIs {
		gd := GSIDescription{
			IndexName:   g.Name,
			KeySchema:   keySchema(g.Hash, g.Range),
			Projection:  Projection{ProjectionType: ptr(g.Projection), NonKeyAttributes: g.NonKey},
			IndexStatus: "ACTIVE",
			ProvisionedThroughput: ThroughputDescription{
				ReadCapacityUnits: g.RCU, WriteCapacityUnits: g.WCU,
			},
			IndexArn: arn + "/index/" + g.Name,
		}
		for _, it := range items {
			if inIndex(&g, it.it) {
				gd.ItemCount++
				gd.IndexSizeBytes += int64(item.ItemSize(it.it))
			}
		}
		d.GlobalSecondaryIndexes = append(d.GlobalSecondaryIndexes, gd)
	}
	if m.Stream != nil && m.Stream.Enabled {
		d.StreamSpecification = &StreamSpecification{StreamEnabled: ptr(true), StreamViewType: ptr(m.Stream.ViewType)}
	}
	if m.SSE != nil {
		d.SSEDescription = &SSEDescription{Status: "ENABLED", SSEType: m.SSE.Type, KMSMasterKeyArn: m.SSE.Key}
	}
	if m.TableClass != "" {
		d.TableClassSummary = &TableClassSummary{TableClass: m.TableClass}
	}
	return d
}

// inIndex reports whether an item appears in a GSI: it has the index's
// key attributes.
func inIndex(g *gsiMeta, it item.Item) bool {
	if _, ok := it[g.Hash]; !ok {
		return false
	}
	if g.Range != "" {
		if _, ok := it[g.Range]; !ok {
			return false
		}
	}
	return true
}

// CreateTable creates a table, ACTIVE at once.
func (s *Service) CreateTable(ctx context.Context, in *CreateTableInput) (*TableOutput, error) {
	if err := requiredTableName(in.TableName); err != nil {
		return nil, err
	}
	var c checker
	c.notNull("attributeDefinitions", in.AttributeDefinitions != nil)
	for i, a := range in.AttributeDefinitions {
		p := fmt.Sprintf("attributeDefinitions.%d.member", i+1)
		c.notNull(p+".attributeName", a.AttributeName != nil)
		c.notNull(p+".attributeType", a.AttributeType != nil)
		c.enum(p+".attributeType", a.AttributeType, "B", "N", "S")
	}
	c.name("tableName", in.TableName, false)
	c.enum("billingMode", in.BillingMode, enumBilling...)
	c.throughput("provisionedThroughput", in.ProvisionedThroughput)
	c.notNull("keySchema", in.KeySchema != nil)
	if in.KeySchema != nil {
		if n := len(in.KeySchema); n < 1 || n > 2 {
			c.fail("'"+fmt.Sprint(keyList(in.KeySchema))+"'", "keySchema", ternary(n < 1,
				"Member must have length greater than or equal to 1", "Member must have length less than or equal to 2"))
		}
	}
	for i, k := range in.KeySchema {
		p := fmt.Sprintf("keySchema.%d.member", i+1)
		c.notNull(p+".attributeName", k.AttributeName != nil)
		c.notNull(p+".keyType", k.KeyType != nil)
		c.enum(p+".keyType", k.KeyType, "HASH", "RANGE")
	}
	checkIndexes(&c, "localSecondaryIndexes", in.LocalSecondaryIndexes)
	checkIndexes(&c, "globalSecondaryIndexes", in.GlobalSecondaryIndexes)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := createTableCustom(in); err != nil {
		return nil, err
	}
	if in.LocalSecondaryIndexes != nil {
		return nil, validationf("One or more parameter values were invalid: LocalSecondaryIndexes are not supported by this lease-table service")
	}
	if len(in.Tags) > maxTags {
		return nil, validationf("One or more parameter values were invalid: Too many tags")
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}

	name := *in.TableName
	now := s.cfg.Now()
	m := &tableMeta{
		Name: name, ID: uuid.NewString(), Bucket: newBucketID(), Created: now,
		Billing: "PROVISIONED", Protected: deref(in.DeletionProtectionEnabled),
		TableClass: deref(in.TableClass),
	}
	if in.BillingMode != nil {
		m.Billing = *in.BillingMode
	}
	if m.Billing == "PROVISIONED" {
		m.RCU, m.WCU = *in.ProvisionedThroughput.ReadCapacityUnits, *in.ProvisionedThroughput.WriteCapacityUnits
	}
	for _, a := range in.AttributeDefinitions {
		m.Attrs = append(m.Attrs, attrDef{Name: *a.AttributeName, Type: *a.AttributeType})
	}
	m.Hash = *in.KeySchema[0].AttributeName
	if len(in.KeySchema) == 2 {
		m.Range = *in.KeySchema[1].AttributeName
	}
	for _, g := range in.GlobalSecondaryIndexes {
		m.GSIs = append(m.GSIs, newGSI(g))
	}
	for _, t := range in.Tags {
		m.Tags = setTag(m.Tags, *t.Key, *t.Value)
	}
	if sse := in.SSESpecification; sse != nil && deref(sse.Enabled) {
		m.SSE = &sseMeta{Type: "KMS", Key: deref(sse.KMSMasterKeyId)}
		if m.SSE.Key == "" {
			c := kinesis.CallerFrom(ctx)
			m.SSE.Key = "arn:aws:kms:" + c.Region + ":" + c.Account + ":alias/aws/dynamodb"
		}
	}
	if st := in.StreamSpecification; st != nil && deref(st.StreamEnabled) {
		m.Stream = &streamSet{Enabled: true, ViewType: deref(st.StreamViewType)}
	}

	if err := s.authorize(ctx, "CreateTable", tableARN(kinesis.CallerFrom(ctx), name), nil); err != nil {
		return nil, err
	}
	// The bucket exists before the record names it, so no reader ever
	// finds a table without one.
	if err := s.tables.CreateBucket(ctx, m.Bucket); err != nil {
		return nil, err
	}
	if err := s.save(ctx, m, 0); err != nil {
		_ = s.tables.DropBucket(context.WithoutCancel(ctx), m.Bucket)
		if errors.Is(err, store.ErrExists) {
			return nil, errorf(ErrResourceInUse, "Table already exists: %s", name)
		}
		return nil, err
	}
	return &TableOutput{TableDescription: s.describe(ctx, m, "ACTIVE", nil)}, nil
}

func ternary[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

func keyList(ks []KeySchemaElement) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = "KeySchemaElement(attributeName=" + deref(k.AttributeName) + ", keyType=" + deref(k.KeyType) + ")"
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func checkIndexes(c *checker, path string, idx []SecondaryIndex) {
	for i, g := range idx {
		p := fmt.Sprintf("%s.%d.member", path, i+1)
		checkIndex(c, p, g)
	}
}

func checkIndex(c *checker, p string, g SecondaryIndex) {
	c.name(p+".indexName", g.IndexName, true)
	c.notNull(p+".keySchema", g.KeySchema != nil)
	if g.KeySchema != nil {
		if n := len(g.KeySchema); n < 1 || n > 2 {
			c.fail(quote(keyList(g.KeySchema)), p+".keySchema", ternary(n < 1,
				"Member must have length greater than or equal to 1", "Member must have length less than or equal to 2"))
		}
	}
	for j, k := range g.KeySchema {
		kp := fmt.Sprintf("%s.keySchema.%d.member", p, j+1)
		c.notNull(kp+".attributeName", k.AttributeName != nil)
		c.notNull(kp+".keyType", k.KeyType != nil)
	}
	c.notNull(p+".projection", g.Projection != nil)
	if g.Projection != nil {
		c.enum(p+".projection.projectionType", g.Projection.ProjectionType, enumProjType...)
		if g.Projection.NonKeyAttributes != nil && len(g.Projection.NonKeyAttributes) < 1 {
			c.fail("'[]'", p+".projection.nonKeyAttributes", "Member must have length greater than or equal to 1")
		}
	}
	c.throughput(p+".provisionedThroughput", g.ProvisionedThroughput)
}

// createTableCustom is CreateTable's cross-parameter checks, in
// DynamoDB's order.
func createTableCustom(in *CreateTableInput) error {
	const invalid = "One or more parameter values were invalid: "
	if deref(in.BillingMode) == "PAY_PER_REQUEST" {
		if in.ProvisionedThroughput != nil {
			return validationf(invalid + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	} else {
		pt := in.ProvisionedThroughput
		if pt == nil || deref(pt.ReadCapacityUnits) == 0 || deref(pt.WriteCapacityUnits) == 0 {
			return validationf(invalid + "ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
		if *pt.ReadCapacityUnits > 1e12 {
			return validationf("Given value %d for ReadCapacityUnits is out of bounds", *pt.ReadCapacityUnits)
		}
		if *pt.WriteCapacityUnits > 1e12 {
			return validationf("Given value %d for WriteCapacityUnits is out of bounds", *pt.WriteCapacityUnits)
		}
	}
	var defns, keys []string
	for _, a := range in.AttributeDefinitions {
		defns = append(defns, *a.AttributeName)
	}
	for _, k := range in.KeySchema {
		keys = append(keys, *k.AttributeName)
	}
	if len(keys) > len(defns) {
		return validationf("Invalid KeySchema: Some index key attribute have no definition")
	}
	if err := keysDefined(keys, defns); err != nil {
		return err
	}
	if len(keys) == 2 && keys[0] == keys[1] {
		return validationf("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	if *in.KeySchema[0].KeyType != "HASH" {
		return validationf("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
	}
	if len(keys) == 2 && *in.KeySchema[1].KeyType != "RANGE" {
		return validationf("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
	}
	if in.LocalSecondaryIndexes == nil && in.GlobalSecondaryIndexes == nil && len(keys) != len(defns) {
		return validationf(invalid + "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	if in.GlobalSecondaryIndexes != nil {
		if len(in.GlobalSecondaryIndexes) == 0 {
			return validationf(invalid + "List of GlobalSecondaryIndexes is empty")
		}
		seen := map[string]bool{}
		for _, g := range in.GlobalSecondaryIndexes {
			if err := indexCustom(g, defns, deref(in.BillingMode)); err != nil {
				return err
			}
			if seen[*g.IndexName] {
				return validationf(invalid+"Duplicate index name: %s", *g.IndexName)
			}
			seen[*g.IndexName] = true
		}
		if len(in.GlobalSecondaryIndexes) > maxGSIs {
			return validationf(invalid+"GlobalSecondaryIndex count exceeds the per-table limit of %d", maxGSIs)
		}
	}
	return nil
}

func keysDefined(keys, defns []string) error {
	for _, k := range keys {
		if !slices.Contains(defns, k) {
			return validationf("One or more parameter values were invalid: Some index key attributes are not defined in "+
				"AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]", strings.Join(keys, ", "), strings.Join(defns, ", "))
		}
	}
	return nil
}

func indexCustom(g SecondaryIndex, defns []string, billing string) error {
	const invalid = "One or more parameter values were invalid: "
	var keys []string
	for _, k := range g.KeySchema {
		keys = append(keys, *k.AttributeName)
	}
	if err := keysDefined(keys, defns); err != nil {
		return err
	}
	if len(keys) == 2 && keys[0] == keys[1] {
		return validationf("Both the Hash Key and the Range Key element in the KeySchema have the same name")
	}
	if *g.KeySchema[0].KeyType != "HASH" {
		return validationf("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
	}
	if len(keys) == 2 && *g.KeySchema[1].KeyType != "RANGE" {
		return validationf("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
	}
	if g.Projection.ProjectionType == nil {
		return validationf(invalid + "Unknown ProjectionType: null")
	}
	if pt := *g.Projection.ProjectionType; g.Projection.NonKeyAttributes != nil && pt != "INCLUDE" {
		return validationf(invalid+"ProjectionType is %s, but NonKeyAttributes is specified", pt)
	}
	if billing == "PAY_PER_REQUEST" && g.ProvisionedThroughput != nil {
		return validationf(invalid+"ProvisionedThroughput should not be specified for index: %s when BillingMode is PAY_PER_REQUEST", *g.IndexName)
	}
	return nil
}

func newGSI(g SecondaryIndex) gsiMeta {
	m := gsiMeta{Name: *g.IndexName, Hash: *g.KeySchema[0].AttributeName, Projection: *g.Projection.ProjectionType,
		NonKey: g.Projection.NonKeyAttributes}
	if len(g.KeySchema) == 2 {
		m.Range = *g.KeySchema[1].AttributeName
	}
	if pt := g.ProvisionedThroughput; pt != nil {
		m.RCU, m.WCU = deref(pt.ReadCapacityUnits), deref(pt.WriteCapacityUnits)
	}
	return m
}

func checkTags(tags []Tag) error {
	for _, t := range tags {
		if t.Key == nil || *t.Key == "" || len([]rune(*t.Key)) > 128 {
			return validationf("One or more parameter values were invalid: Tag keys must be between 1 and 128 characters long")
		}
		if t.Value == nil || len([]rune(*t.Value)) > 256 {
			return validationf("One or more parameter values were invalid: Tag values must be between 0 and 256 characters long")
		}
	}
	return nil
}

func setTag(tags []tagKV, k, v string) []tagKV {
	for i := range tags {
		if tags[i].Key == k {
			tags[i].Value = v
			return tags
		}
	}
	return append(tags, tagKV{Key: k, Value: v})
}

// DescribeTable describes a table, counting its items.
func (s *Service) DescribeTable(ctx context.Context, in *TableNameInput) (*TableOutput, error) {
	if err := requiredTableName(in.TableName); err != nil {
		return nil, err
	}
	var c checker
	c.name("tableName", in.TableName, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	m, _, err := s.table(ctx, "DescribeTable", *in.TableName, "", true)
	if err != nil {
		return nil, err
	}
	items, err := s.itemsOf(ctx, m)
	if err != nil {
		return nil, err
	}
	return &TableOutput{Table: s.describe(ctx, m, "ACTIVE", items)}, nil
}

// DeleteTable deletes a table and its items, unless it is protected.
func (s *Service) DeleteTable(ctx context.Context, in *TableNameInput) (*TableOutput, error) {
	if err := requiredTableName(in.TableName); err != nil {
		return nil, err
	}
	var c checker
	c.name("tableName", in.TableName, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	name := *in.TableName
	for range maxCASAttempts {
		m, rev, err := s.table(ctx, "DeleteTable", name, "", true)
		if err != nil {
			return nil, err
		}
		if m.Protected {
			return nil, validationf("Resource cannot be deleted as it is currently protected against deletion. " +
				"Disable deletion protection first.")
		}
		items, err := s.itemsOf(ctx, m)
		if err != nil {
			return nil, err
		}
		d := s.describe(ctx, m, "DELETING", items)
		err = s.tables.DeleteTable(ctx, s.key(ctx, name), rev)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := s.tables.DropBucket(ctx, m.Bucket); err != nil {
			// The table is gone; its orphaned bucket is only space.
			s.log.Warn("dynamodb: dropping a deleted table's bucket", "table", name, "bucket", m.Bucket, "err", err)
		}
		return &TableOutput{TableDescription: d}, nil
	}
	return nil, errorf(ErrInternal, "table %s: too many concurrent updates", name)
}

// ListTables lists the caller's tables in name order.
func (s *Service) ListTables(ctx context.Context, in *ListTablesInput) (*ListTablesOutput, error) {
	var c checker
	c.min("limit", in.Limit, 1)
	c.max("limit", in.Limit, 100)
	c.name("exclusiveStartTableName", in.ExclusiveStartTableName, false)
	if err := c.err(); err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, "ListTables", "*", nil); err != nil {
		return nil, err
	}
	cl := kinesis.CallerFrom(ctx)
	names, err := s.tables.ListTables(ctx, cl.Account, cl.Region)
	if err != nil {
		return nil, err
	}
	if in.ExclusiveStartTableName != nil {
		i, found := slices.BinarySearch(names, *in.ExclusiveStartTableName)
		if found {
			i++
		}
		names = names[i:]
	}
	out := &ListTablesOutput{TableNames: names}
	limit := 100
	if in.Limit != nil {
		limit = int(*in.Limit)
	}
	if len(names) > limit {
		// More remain: the page names its last table to start after.
		out.TableNames = names[:limit]
		out.LastEvaluatedTableName = ptr(out.TableNames[limit-1])
	}
	if out.TableNames == nil {
		out.TableNames = []string{}
	}
	return out, nil
}

// UpdateTable changes billing, throughput, deletion protection, streams
// and SSE settings, and creates or deletes GSIs, all at once.
func (s *Service) UpdateTable(ctx context.Context, in *UpdateTableInput) (*TableOutput, error) {
	if err := requiredTableName(in.TableName); err != nil {
		return nil, err
	}
	var c checker
	c.name("tableName", in.TableName, false)
	c.throughput("provisionedThroughput", in.ProvisionedThroughput)
	c.enum("billingMode", in.BillingMode, enumBilling...)
	for i, u := range in.GlobalSecondaryIndexUpdates {
		p := fmt.Sprintf("globalSecondaryIndexUpdates.%d.member", i+1)
		if u.Update != nil {
			c.name(p+".update.indexName", u.Update.IndexName, true)
		}
		if u.Create != nil {
			checkIndex(&c, p+".create", *u.Create)
		}
		if u.Delete != nil {
			c.name(p+".delete.indexName", u.Delete.IndexName, true)
		}
	}
	for i, a := range in.AttributeDefinitions {
		p := fmt.Sprintf("attributeDefinitions.%d.member", i+1)
		c.notNull(p+".attributeName", a.AttributeName != nil)
		c.notNull(p+".attributeType", a.AttributeType != nil)
		c.enum(p+".attributeType", a.AttributeType, "B", "N", "S")
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	if in.ProvisionedThroughput == nil && in.BillingMode == nil && in.GlobalSecondaryIndexUpdates == nil &&
		in.DeletionProtectionEnabled == nil && in.SSESpecification == nil && in.StreamSpecification == nil &&
		in.TableClass == nil && in.OnDemandThroughput == nil && in.WarmThroughput == nil {
		return nil, validationf("At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, " +
			"GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required")
	}
	if deref(in.BillingMode) == "PROVISIONED" && in.ProvisionedThroughput == nil {
		return nil, validationf("One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		if *pt.ReadCapacityUnits > 1e12 {
			return nil, validationf("Given value %d for ReadCapacityUnits is out of bounds", *pt.ReadCapacityUnits)
		}
		if *pt.WriteCapacityUnits > 1e12 {
			return nil, validationf("Given value %d for WriteCapacityUnits is out of bounds", *pt.WriteCapacityUnits)
		}
	}
	seen := map[string]bool{}
	for _, u := range in.GlobalSecondaryIndexUpdates {
		var name string
		switch {
		case u.Update != nil:
			name = *u.Update.IndexName
		case u.Create != nil:
			name = *u.Create.IndexName
		case u.Delete != nil:
			name = *u.Delete.IndexName
		default:
			return nil, validationf("One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, " +
				"GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null")
		}
		if seen[name] {
			return nil, validationf("One or more parameter values were invalid: Only one global secondary index update "+
				"per index is allowed simultaneously. Index: %s", name)
		}
		seen[name] = true
	}
	if in.ReplicaUpdates != nil {
		return nil, validationf("One or more parameter values were invalid: ReplicaUpdates are not supported by this lease-table service")
	}
	now := s.cfg.Now()
	m, err := s.updateMeta(ctx, "UpdateTable", *in.TableName, func(m *tableMeta) error {
		return s.applyTableUpdate(m, in, now)
	})
	if err != nil {
		return nil, err
	}
	items, err := s.itemsOf(ctx, m)
	if err != nil {
		return nil, err
	}
	return &TableOutput{TableDescription: s.describe(ctx, m, "ACTIVE", items)}, nil
}

func (s *Service) applyTableUpdate(m *tableMeta, in *UpdateTableInput, now time.Time) error {
	const invalid = "One or more parameter values were invalid: "
	billing := m.Billing
	if in.BillingMode != nil {
		billing = *in.BillingMode
	}
	if pt := in.ProvisionedThroughput; pt != nil {
		if billing == "PAY_PER_REQUEST" {
			return validationf(invalid + "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
		r, w := *pt.ReadCapacityUnits, *pt.WriteCapacityUnits
		if billing == m.Billing && r == m.RCU && w == m.WCU && in.GlobalSecondaryIndexUpdates == nil {
			return validationf("The provisioned throughput for the table will not change. The requested value equals the current value. "+
				"Current ReadCapacityUnits provisioned for the table: %d. Requested ReadCapacityUnits: %d. "+
				"Current WriteCapacityUnits provisioned for the table: %d. Requested WriteCapacityUnits: %d. "+
				"Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.", m.RCU, r, m.WCU, w)
		}
		if r > m.RCU || w > m.WCU {
			m.LastIncrease = now
		}
		if r < m.RCU || w < m.WCU {
			m.LastDecrease = now
			m.Decreases++
		}
		m.RCU, m.WCU = r, w
	}
	if billing != m.Billing {
		if billing == "PAY_PER_REQUEST" {
			m.RCU, m.WCU = 0, 0
			m.BillingChanged = now
			for i := range m.GSIs {
				m.GSIs[i].RCU, m.GSIs[i].WCU = 0, 0
			}
		}
		m.Billing = billing
	}
	for _, a := range in.AttributeDefinitions {
		if t := m.attrType(*a.AttributeName); t != "" && t != *a.AttributeType {
			return validationf(invalid+"Cannot change the type of attribute %s", *a.AttributeName)
		}
	}
	for _, u := range in.GlobalSecondaryIndexUpdates {
		switch {
		case u.Create != nil:
			g := *u.Create
			if m.gsi(*g.IndexName) != nil {
				return validationf(invalid+"Index already exists: %s", *g.IndexName)
			}
			defns := make([]string, 0, len(m.Attrs)+len(in.AttributeDefinitions))
			for _, a := range m.Attrs {
				defns = append(defns, a.Name)
			}
			for _, a := range in.AttributeDefinitions {
				if !slices.Contains(defns, *a.AttributeName) {
					defns = append(defns, *a.AttributeName)
				}
			}
			if err := indexCustom(g, defns, m.Billing); err != nil {
				return err
			}
			if m.Billing == "PROVISIONED" && g.ProvisionedThroughput == nil {
				return validationf(invalid+"ProvisionedThroughput must be specified for index: %s", *g.IndexName)
			}
			if len(m.GSIs) >= maxGSIs {
				return errorf(ErrLimitExceeded, "Subscriber limit exceeded: The number of global secondary indexes of table %s exceeds the limit of %d", m.Name, maxGSIs)
			}
			for _, a := range in.AttributeDefinitions {
				if m.attrType(*a.AttributeName) == "" {
					m.Attrs = append(m.Attrs, attrDef{Name: *a.AttributeName, Type: *a.AttributeType})
				}
			}
			m.GSIs = append(m.GSIs, newGSI(g))
		case u.Update != nil:
			g := m.gsi(*u.Update.IndexName)
			if g == nil {
				return errorf(ErrResourceNotFound, "Requested resource not found: Index: %s not found", *u.Update.IndexName)
			}
			if pt := u.Update.ProvisionedThroughput; pt != nil {
				g.RCU, g.WCU = deref(pt.ReadCapacityUnits), deref(pt.WriteCapacityUnits)
			}
		case u.Delete != nil:
			i := slices.IndexFunc(m.GSIs, func(g gsiMeta) bool { return g.Name == *u.Delete.IndexName })
			if i < 0 {
				return errorf(ErrResourceNotFound, "Requested resource not found: Index: %s not found", *u.Delete.IndexName)
			}
			m.GSIs = slices.Delete(m.GSIs, i, i+1)
		}
	}
	if in.DeletionProtectionEnabled != nil {
		m.Protected = *in.DeletionProtectionEnabled
	}
	if sse := in.SSESpecification; sse != nil {
		if deref(sse.Enabled) {
			m.SSE = &sseMeta{Type: "KMS", Key: deref(sse.KMSMasterKeyId)}
		} else {
			m.SSE = nil
		}
	}
	if st := in.StreamSpecification; st != nil {
		if deref(st.StreamEnabled) {
			m.Stream = &streamSet{Enabled: true, ViewType: deref(st.StreamViewType)}
		} else {
			m.Stream = nil
		}
	}
	if in.TableClass != nil {
		m.TableClass = *in.TableClass
	}
	return nil
}
