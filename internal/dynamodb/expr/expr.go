// Package expr parses and evaluates DynamoDB expressions (condition,
// filter, key condition, update, projection) and turns the legacy
// parameters (Expected, AttributeUpdates, ScanFilter, QueryFilter,
// KeyConditions, AttributesToGet) into the same trees, so the service
// evaluates one form. Every error is an *item.Error carrying DynamoDB's
// ValidationException message.
package expr

import "github.com/rivulet/rivulet/internal/dynamodb/item"

// Input is a request's expressions, each nil when the request did not
// carry it, with its ExpressionAttributeNames and -Values (nil if absent).
type Input struct {
	Condition    *string // ConditionExpression
	Update       *string // UpdateExpression
	Projection   *string // ProjectionExpression
	Filter       *string // FilterExpression
	KeyCondition *string // KeyConditionExpression
	Names        map[string]string
	Values       map[string]item.Value
}

// Compiled holds Input's expressions parsed, with every #name and :value
// substituted; nil where the input had none.
type Compiled struct {
	Condition    *Condition
	Update       *Update
	Projection   *Projection
	Filter       *Condition
	KeyCondition *Condition
}

// Compile parses every expression of in and checks placeholders the way
// DynamoDB does: undefined names and values, names or values no
// expression uses, empty maps, syntax errors, reserved words used as
// names, functions in the wrong place.
func Compile(in Input) (*Compiled, error) { panic("TODO") }

// Condition is a parsed condition, filter or key condition.
type Condition struct{}

// Eval reports whether it holds for it (a nil or empty item means "no
// item": attribute_not_exists holds, comparisons fail).
func (c *Condition) Eval(it item.Item) (bool, error) { panic("TODO") }

// Key splits a KeyConditionExpression for a table (or index) whose key is
// hashName and, if not "", rangeName: the hash key's required value, and
// the condition on the range key (nil if none). Errors are DynamoDB's
// ("Query condition missed key schema element: x", ...).
func (c *Condition) Key(hashName, rangeName string) (hash item.Value, rng *Condition, err error) {
	panic("TODO")
}

// Update is a parsed update.
type Update struct{}

// Apply returns a copy of it with the update applied (it may be nil: an
// upsert), or DynamoDB's error for an impossible update (a missing
// list_append operand, ADD on a string, a path into a missing map, ...).
func (u *Update) Apply(it item.Item) (item.Item, error) { panic("TODO") }

// Paths are the top-level attribute names the update writes or removes,
// sorted: the service refuses updates of key attributes and computes
// UPDATED_OLD and UPDATED_NEW from them.
func (u *Update) Paths() []string { panic("TODO") }

// Projection is a parsed ProjectionExpression or AttributesToGet.
type Projection struct{}

// Apply returns the projected copy of it.
func (p *Projection) Apply(it item.Item) item.Item { panic("TODO") }

// Expected is one entry of the legacy Expected parameter.
type Expected struct {
	Value              *item.Value
	Exists             *bool
	ComparisonOperator string
	AttributeValueList []item.Value
}

// FromExpected converts Expected, joined by ConditionalOperator ("AND"
// when ""), with DynamoDB's validation of the legacy form.
func FromExpected(exp map[string]Expected, conditionalOperator string) (*Condition, error) {
	panic("TODO")
}

// AttributeUpdate is one entry of the legacy AttributeUpdates parameter.
type AttributeUpdate struct {
	Value  *item.Value
	Action string // PUT (default), DELETE or ADD
}

// FromAttributeUpdates converts AttributeUpdates.
func FromAttributeUpdates(m map[string]AttributeUpdate) (*Update, error) { panic("TODO") }

// Cond is one entry of ScanFilter, QueryFilter or KeyConditions.
type Cond struct {
	ComparisonOperator string
	AttributeValueList []item.Value
}

// FromConditions converts ScanFilter, QueryFilter or KeyConditions,
// joined by ConditionalOperator ("AND" when "").
func FromConditions(m map[string]Cond, conditionalOperator string) (*Condition, error) {
	panic("TODO")
}

// FromAttributesToGet converts AttributesToGet.
func FromAttributesToGet(names []string) *Projection { panic("TODO") }
