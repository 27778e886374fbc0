// Package prefix parses and evaluates Firehose S3 prefixes: the
// !{timestamp:…}, !{firehose:…}, !{partitionKeyFromQuery:…} and
// !{partitionKeyFromLambda:…} expressions, and builds object keys in AWS's
// layout.
package prefix

import (
	"errors"
	"time"
)

// Expr is a parsed prefix.
type Expr struct {
	src string
}

// Kind tells a Prefix from an ErrorOutputPrefix: their rules differ.
type Kind int

const (
	KindPrefix Kind = iota
	KindError
)

// Parse parses a prefix. Errors carry AWS's InvalidArgumentException text.
func Parse(s string, kind Kind) (*Expr, error) { return nil, errors.New("prefix: not implemented") }

// Validate checks a destination's Prefix and ErrorOutputPrefix together,
// as CreateDeliveryStream does, dynamic partitioning on or off. The error's
// text is AWS's message.
func Validate(prefix, errorPrefix string, dynamicPartitioning bool) error {
	return errors.New("prefix: not implemented")
}

// Values are what an expression evaluates against.
type Values struct {
	// Time is the oldest record's arrival time; every timestamp
	// expression in one prefix sees it.
	Time time.Time
	// Location is CustomTimeZone's; nil means UTC.
	Location *time.Location
	Query    map[string]string // partitionKeyFromQuery
	Lambda   map[string]string // partitionKeyFromLambda
	// ErrorType is firehose:error-output-type's value.
	ErrorType string
	// Random returns firehose:random-string's 11 characters. The engine
	// seeds it from the batch's source position, so a retry names the
	// same object.
	Random func() string
}

// Eval evaluates the prefix. With no timestamp expression the default
// "yyyy/MM/dd/HH/" is appended, as AWS does.
func (e *Expr) Eval(v Values) (string, error) { return "", errors.New("prefix: not implemented") }

// UsesPartitionKeys reports whether the prefix has partitionKeyFrom*
// expressions (dynamic partitioning).
func (e *Expr) UsesPartitionKeys() bool { return false }

// ObjectName is the object's name after the prefix, in AWS's layout:
// "<stream>-<version>-YYYY-MM-dd-HH-mm-ss-<id><ext>".
func ObjectName(stream string, version int, t time.Time, id, ext string) string { return "" }
