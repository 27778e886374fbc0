package dynamodb

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rivulet/rivulet/internal/dynamodb/expr"
	"github.com/rivulet/rivulet/internal/dynamodb/item"
)

// checker collects constraint failures the way Coral reports them: up to
// ten, in the order the parameters are declared, in one message.
type checker struct{ errs []string }

const namePattern = "[a-zA-Z0-9_.-]+"

func (c *checker) fail(value, path, msg string) {
	if len(c.errs) >= 10 {
		return
	}
	c.errs = append(c.errs, "Value "+value+" at '"+path+"' failed to satisfy constraint: "+msg)
}

func quote(s string) string { return "'" + s + "'" }

func (c *checker) notNull(path string, present bool) {
	if !present {
		c.fail("null", path, "Member must not be null")
	}
}

// name checks a table or index name: pattern, then length.
func (c *checker) name(path string, v *string, notNull bool) {
	if v == nil {
		if notNull {
			c.notNull(path, false)
		}
		return
	}
	if !validName(*v) {
		c.fail(quote(*v), path, "Member must satisfy regular expression pattern: "+namePattern)
	}
	c.length(path, *v, 3, 255)
}

func (c *checker) length(path, v string, lo, hi int) {
	n := len([]rune(v))
	if n < lo {
		c.fail(quote(v), path, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	}
	if hi > 0 && n > hi {
		c.fail(quote(v), path, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
}

func (c *checker) enum(path string, v *string, values ...string) {
	if v != nil && !slices.Contains(values, *v) {
		c.fail(quote(*v), path, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
	}
}

func (c *checker) min(path string, v *int64, lo int64) {
	if v != nil && *v < lo {
		c.fail(quote(strconv.FormatInt(*v, 10)), path, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	}
}

func (c *checker) max(path string, v *int64, hi int64) {
	if v != nil && *v > hi {
		c.fail(quote(strconv.FormatInt(*v, 10)), path, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

func (c *checker) throughput(path string, p *ProvisionedThroughput) {
	if p == nil {
		return
	}
	c.notNull(path+".writeCapacityUnits", p.WriteCapacityUnits != nil)
	c.min(path+".writeCapacityUnits", p.WriteCapacityUnits, 1)
	c.notNull(path+".readCapacityUnits", p.ReadCapacityUnits != nil)
	c.min(path+".readCapacityUnits", p.ReadCapacityUnits, 1)
}

func (c *checker) err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return validationf("1 validation error detected: %s", c.errs[0])
	}
	return validationf("%d validation errors detected: %s", len(c.errs), strings.Join(c.errs, "; "))
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// requiredTableName is the check of the table operations, which Coral
// makes before any other.
func requiredTableName(v *string) error {
	if v == nil {
		return validationf("The parameter 'TableName' is required but was not present in the request")
	}
	if n := len([]rune(*v)); n < 3 || n > 255 {
		return validationf("TableName must be at least 3 characters long and at most 255 characters long")
	}
	return nil
}

var (
	enumCapacity = []string{"INDEXES", "TOTAL", "NONE"}
	enumReturn   = []string{"ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"}
	enumMetrics  = []string{"SIZE", "NONE"}
	enumCondOp   = []string{"OR", "AND"}
	enumSelect   = []string{"SPECIFIC_ATTRIBUTES", "COUNT", "ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"}
	enumCompare  = []string{"IN", "NULL", "BETWEEN", "LT", "NOT_CONTAINS", "EQ", "GT", "NOT_NULL", "NE", "LE", "BEGINS_WITH", "GE", "CONTAINS"}
	enumBilling  = []string{"PROVISIONED", "PAY_PER_REQUEST"}
	enumProjType = []string{"ALL", "INCLUDE", "KEYS_ONLY"}
)

// exprParamsCheck refuses mixing the two dialects and placeholders
// without expressions, in DynamoDB's words. present lists, in order, which
// of the named parameters the request carries.
func exprParamsCheck(exprs, nonExprs []named, names map[string]string, values rawItem) error {
	var usedExpr, usedNon []string
	for _, e := range exprs {
		if e.set {
			usedExpr = append(usedExpr, e.name)
		}
	}
	if len(usedExpr) > 0 {
		for _, n := range nonExprs {
			if n.set {
				usedNon = append(usedNon, n.name)
			}
		}
		if len(usedNon) > 0 {
			return validationf("Can not use both expression and non-expression parameters in the same request: "+
				"Non-expression parameters: {%s} Expression parameters: {%s}",
				strings.Join(usedNon, ", "), strings.Join(usedExpr, ", "))
		}
	}
	if names != nil && len(usedExpr) == 0 {
		return validationf("ExpressionAttributeNames can only be specified when using expressions")
	}
	var valExprs []string
	anyValExpr := false
	for _, e := range exprs {
		if e.name != "ProjectionExpression" {
			valExprs = append(valExprs, e.name)
			anyValExpr = anyValExpr || e.set
		}
	}
	if len(valExprs) > 0 && values != nil && !anyValExpr {
		verb := "is"
		if len(valExprs) > 1 {
			verb = "are"
		}
		return validationf("ExpressionAttributeValues can only be specified when using expressions: %s %s null",
			strings.Join(valExprs, " and "), verb)
	}
	return nil
}

type named struct {
	name string
	set  bool
}

// decodeValue reads one attribute value, validated by package item.
func decodeValue(raw json.RawMessage) (item.Value, error) {
	var v item.Value
	if len(raw) == 0 || string(raw) == "null" {
		return v, validationf("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		fixed, ok := coerceBools(raw)
		if !ok {
			return v, valueError(err)
		}
		if err := json.Unmarshal(fixed, &v); err != nil {
			return v, valueError(err)
		}
	}
	if v.Type == 0 {
		return v, validationf("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
	}
	return v, nil
}

// valueError classifies a failure to read an attribute value: DynamoDB's
// complaints about the value, or a body it cannot deserialize.
func valueError(err error) error {
	var ie *item.Error
	if errors.As(err, &ie) {
		return validationf("%s", ie.Message)
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	return &Error{Kind: ErrSerialization}
}

// decodeItem reads an item or key; nil stays nil.
func decodeItem(raw rawItem) (item.Item, error) {
	if raw == nil {
		return nil, nil
	}
	it := make(item.Item, len(raw))
	for _, k := range sortedKeys(raw) {
		v, err := decodeValue(raw[k])
		if err != nil {
			return nil, err
		}
		it[k] = v
	}
	return it, nil
}

func decodeValues(raws []json.RawMessage) ([]item.Value, error) {
	out := make([]item.Value, 0, len(raws))
	for _, r := range raws {
		v, err := decodeValue(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compileExpected converts the legacy Expected parameter; nil if absent.
func compileExpected(exp map[string]ExpectedRaw, condOp *string) (*expr.Condition, error) {
	if exp == nil {
		return nil, nil
	}
	m := make(map[string]expr.Expected, len(exp))
	for _, k := range sortedKeys(exp) {
		e := exp[k]
		var x expr.Expected
		if e.Value != nil && string(e.Value) != "null" {
			v, err := decodeValue(e.Value)
			if err != nil {
				return nil, err
			}
			x.Value = &v
		}
		x.Exists = e.Exists
		if e.ComparisonOperator != nil {
			x.ComparisonOperator = *e.ComparisonOperator
		}
		if e.AttributeValueList != nil {
			vs, err := decodeValues(e.AttributeValueList)
			if err != nil {
				return nil, err
			}
			x.AttributeValueList = vs
			if x.AttributeValueList == nil {
				x.AttributeValueList = []item.Value{}
			}
		}
		m[k] = x
	}
	return expr.FromExpected(m, deref(condOp))
}

// compileConds converts ScanFilter, QueryFilter or KeyConditions.
func compileConds(m map[string]CondRaw, condOp *string) (*expr.Condition, error) {
	if m == nil {
		return nil, nil
	}
	out := make(map[string]expr.Cond, len(m))
	for _, k := range sortedKeys(m) {
		c := m[k]
		vs, err := decodeValues(c.AttributeValueList)
		if err != nil {
			return nil, err
		}
		out[k] = expr.Cond{ComparisonOperator: deref(c.ComparisonOperator), AttributeValueList: vs}
	}
	return expr.FromConditions(out, deref(condOp))
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// compile parses a request's expressions. values are decoded here, so
// their errors name the placeholder as DynamoDB does.
func compile(in expr.Input, values rawItem) (*expr.Compiled, error) {
	if values != nil {
		in.Values = make(map[string]item.Value, len(values))
		for _, k := range sortedKeys(values) {
			v, err := decodeValue(values[k])
			if err != nil {
				var de *Error
				if errors.As(err, &de) && de.Kind == ErrValidation {
					return nil, validationf("ExpressionAttributeValues contains invalid value: %s for key %s", de.Message, k)
				}
				return nil, err
			}
			in.Values[k] = v
		}
	}
	c, err := expr.Compile(in)
	if err != nil {
		return nil, valueError(err)
	}
	return c, nil
}

// findDuplicate returns a repeated string, or "".
func findDuplicate(s []string) string {
	seen := make(map[string]bool, len(s))
	for _, v := range s {
		if seen[v] {
			return v
		}
		seen[v] = true
	}
	return ""
}
