// Package prefix parses and evaluates Firehose S3 prefixes: the
// !{timestamp:…}, !{firehose:…}, !{partitionKeyFromQuery:…} and
// !{partitionKeyFromLambda:…} expressions, and builds object keys in AWS's
// layout.
package prefix

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// Expr is a parsed prefix.
type Expr struct {
	src   string
	kind  Kind
	parts []part
	// hasTimestamp: AWS appends yyyy/MM/dd/HH/ only without one.
	hasTimestamp  bool
	hasErrorType  bool
	usesPartition bool
}

// Kind tells a Prefix from an ErrorOutputPrefix: their rules differ.
type Kind int

const (
	KindPrefix Kind = iota
	KindError
)

// Namespaces and firehose values, as AWS spells them.
const (
	nsTimestamp    = "timestamp"
	nsFirehose     = "firehose"
	nsQuery        = "partitionKeyFromQuery"
	nsLambda       = "partitionKeyFromLambda"
	valRandom      = "random-string"
	valErrorOutput = "error-output-type"
)

// MaxEvaluatedLength is the most characters an evaluated prefix may have.
const MaxEvaluatedLength = 512

// RandomLength is the length of !{firehose:random-string}'s value.
const RandomLength = 11

type partKind int

const (
	partLiteral partKind = iota
	partTimestamp
	partRandom
	partErrorType
	partQuery
	partLambda
)

type part struct {
	kind partKind
	text string // literal text, or the partition key's name
	lay  layout
}

// InvalidArgumentError is a prefix that CreateDeliveryStream and
// UpdateDestination reject with InvalidArgumentException; Message is the
// text AWS returns.
type InvalidArgumentError struct {
	Message string
}

func (e *InvalidArgumentError) Error() string { return e.Message }

// constraintPrefix starts AWS's prefix-validation messages, typo included
// ("Ths"), so clients matching on the text see what AWS sends.
const constraintPrefix = "Ths supplied prefix(es) do not satisfy the following constraint: "

func invalid(format string, args ...any) error {
	return &InvalidArgumentError{Message: constraintPrefix + fmt.Sprintf(format, args...)}
}

// Errors from Eval; the engine turns them into record failures.
var (
	// ErrMissingPartitionKey: a partitionKeyFrom* key has no value.
	ErrMissingPartitionKey = errors.New("partition key not found")
	// ErrTooLong: the evaluated prefix exceeds MaxEvaluatedLength.
	ErrTooLong = errors.New("evaluated prefix is longer than 512 characters")
	// ErrNoErrorType: error-output-type was evaluated without a value.
	ErrNoErrorType = errors.New("no error output type to evaluate !{firehose:error-output-type}")
)

// Parse parses a prefix. Errors carry AWS's InvalidArgumentException text.
func Parse(s string, kind Kind) (*Expr, error) {
	e := &Expr{src: s, kind: kind}
	field := "Prefix"
	if kind == KindError {
		field = "ErrorOutputPrefix"
	}
	rest := s
	for {
		i := strings.Index(rest, "!{")
		if i < 0 {
			e.addLiteral(rest)
			break
		}
		e.addLiteral(rest[:i])
		end := strings.IndexByte(rest[i:], '}')
		if end < 0 {
			return nil, invalid("The sequence !{ in %s can only appear in !{namespace:value} expressions", field)
		}
		body := rest[i+2 : i+end]
		rest = rest[i+end+1:]
		ns, val, ok := strings.Cut(body, ":")
		if !ok || ns == "" {
			return nil, invalid("The sequence !{ in %s can only appear in !{namespace:value} expressions", field)
		}
		if err := e.addExpr(ns, val, field); err != nil {
			return nil, err
		}
	}
	if kind == KindError && e.HasExpressions() && !e.hasErrorType {
		return nil, invalid("ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions")
	}
	return e, nil
}

func (e *Expr) addLiteral(s string) {
	if s != "" {
		e.parts = append(e.parts, part{kind: partLiteral, text: s})
	}
}

func (e *Expr) addExpr(ns, val, field string) error {
	expr := "!{" + ns + ":" + val + "}"
	switch ns {
	case nsTimestamp:
		if val == "" {
			return invalid("Invalid timestamp expression %s in %s: the format is empty", expr, field)
		}
		lay, err := compileLayout(val)
		if err != nil {
			return invalid("Invalid timestamp expression %s in %s: %v", expr, field, err)
		}
		e.parts = append(e.parts, part{kind: partTimestamp, lay: lay})
		e.hasTimestamp = true
	case nsFirehose:
		switch val {
		case valRandom:
			e.parts = append(e.parts, part{kind: partRandom})
		case valErrorOutput:
			if e.kind != KindError {
				return invalid("Prefix cannot contain !{firehose:error-output-type}")
			}
			e.parts = append(e.parts, part{kind: partErrorType})
			e.hasErrorType = true
		default:
			return invalid("Invalid firehose expression %s in %s: the value must be %s or %s", expr, field, valRandom, valErrorOutput)
		}
	case nsQuery, nsLambda:
		if e.kind == KindError {
			return invalid("ErrorOutputPrefix cannot contain %s or %s expressions", nsQuery, nsLambda)
		}
		if val == "" || strings.Contains(val, "!{") {
			return invalid("Invalid %s expression %s in %s: the key name is empty or invalid", ns, expr, field)
		}
		k := partQuery
		if ns == nsLambda {
			k = partLambda
		}
		e.parts = append(e.parts, part{kind: k, text: val})
		e.usesPartition = true
	default:
		return invalid("Unknown namespace %q in expression %s in %s; the namespace must be one of %s, %s, %s or %s",
			ns, expr, field, nsFirehose, nsTimestamp, nsQuery, nsLambda)
	}
	return nil
}

// Validate checks a destination's Prefix and ErrorOutputPrefix together,
// as CreateDeliveryStream does, dynamic partitioning on or off. The error's
// text is AWS's message.
func Validate(prefix, errorPrefix string, dynamicPartitioning bool) error {
	p, err := Parse(prefix, KindPrefix)
	if err != nil {
		return err
	}
	if errorPrefix != "" {
		if _, err := Parse(errorPrefix, KindError); err != nil {
			return err
		}
	}
	if dynamicPartitioning && !p.usesPartition {
		return invalid("Prefix must contain at least one %s or %s expression when dynamic partitioning is enabled", nsQuery, nsLambda)
	}
	if !dynamicPartitioning && p.usesPartition {
		return invalid("Prefix can contain %s or %s expressions only when dynamic partitioning is enabled", nsQuery, nsLambda)
	}
	if p.HasExpressions() && errorPrefix == "" {
		// Verbatim from AWS.
		return invalid("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions")
	}
	return nil
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

// Eval evaluates the prefix. A Prefix (KindPrefix) with no timestamp
// expression gets the default "yyyy/MM/dd/HH/" appended, as AWS does;
// the append is plain concatenation, so "logs" gives "logs2024/01/02/03/".
// Two exceptions follow AWS's documented examples: a prefix with
// partitionKeyFrom* expressions (dynamic partitioning) gets nothing
// appended, and neither does an ErrorOutputPrefix.
func (e *Expr) Eval(v Values) (string, error) {
	loc := v.Location
	if loc == nil {
		loc = time.UTC
	}
	t := v.Time.In(loc)
	var b strings.Builder
	for _, p := range e.parts {
		switch p.kind {
		case partLiteral:
			b.WriteString(p.text)
		case partTimestamp:
			b.WriteString(p.lay.format(t))
		case partRandom:
			if v.Random != nil {
				b.WriteString(v.Random())
			} else {
				b.WriteString(RandomString())
			}
		case partErrorType:
			if v.ErrorType == "" {
				return "", ErrNoErrorType
			}
			b.WriteString(v.ErrorType)
		case partQuery, partLambda:
			m, ns := v.Query, nsQuery
			if p.kind == partLambda {
				m, ns = v.Lambda, nsLambda
			}
			val, ok := m[p.text]
			if !ok {
				return "", fmt.Errorf("%w: !{%s:%s}", ErrMissingPartitionKey, ns, p.text)
			}
			b.WriteString(val)
		}
		if b.Len() > 4*MaxEvaluatedLength {
			return "", ErrTooLong // no need to build more
		}
	}
	if e.kind == KindPrefix && !e.hasTimestamp && !e.usesPartition {
		b.WriteString(hourPath(t))
	}
	if utf8.RuneCountInString(b.String()) > MaxEvaluatedLength {
		return "", ErrTooLong
	}
	return b.String(), nil
}

// UsesPartitionKeys reports whether the prefix has partitionKeyFrom*
// expressions (dynamic partitioning).
func (e *Expr) UsesPartitionKeys() bool { return e.usesPartition }

// HasExpressions reports whether the prefix has any !{…} expression.
func (e *Expr) HasExpressions() bool {
	for _, p := range e.parts {
		if p.kind != partLiteral {
			return true
		}
	}
	return false
}

// Keys returns the partition key names the prefix uses, by source, in
// order of first use.
func (e *Expr) Keys() (query, lambda []string) {
	seen := map[string]bool{}
	for _, p := range e.parts {
		id := fmt.Sprint(p.kind, ":", p.text)
		if seen[id] {
			continue
		}
		seen[id] = true
		switch p.kind {
		case partQuery:
			query = append(query, p.text)
		case partLambda:
			lambda = append(lambda, p.text)
		}
	}
	return query, lambda
}

// String returns the prefix as written.
func (e *Expr) String() string { return e.src }

// hourPath is AWS's default time prefix, "yyyy/MM/dd/HH/".
func hourPath(t time.Time) string { return t.Format("2006/01/02/15/") }

// DefaultPrefix is the prefix AWS uses when Prefix is empty:
// "yyyy/MM/dd/HH/" at t in loc (nil = UTC).
func DefaultPrefix(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return hourPath(t.In(loc))
}

// DefaultErrorPrefix is the error path AWS uses when ErrorOutputPrefix
// is empty: "<errorType>/yyyy/MM/dd/HH/", e.g.
// "processing-failed/2024/01/02/03/". AWS puts it after the (expression
// free) Prefix: "<Prefix><errorType>/yyyy/MM/dd/HH/", so Prefix "logs/"
// sends failures to "logs/processing-failed/2024/01/02/03/"; see
// DefaultErrorOutput.
func DefaultErrorPrefix(errorType string, t time.Time, loc *time.Location) string {
	return errorType + "/" + DefaultPrefix(t, loc)
}

// DefaultErrorOutput is the whole default error path for a destination
// whose ErrorOutputPrefix is empty; prefix is its Prefix, which then has
// no expressions (Validate enforces that).
func DefaultErrorOutput(prefix, errorType string, t time.Time, loc *time.Location) string {
	return prefix + DefaultErrorPrefix(errorType, t, loc)
}

// ObjectName is the object's name after the prefix, in AWS's layout:
// "<stream>-<version>-YYYY-MM-dd-HH-mm-ss-<id><ext>", time in UTC.
func ObjectName(stream string, version int, t time.Time, id, ext string) string {
	return ObjectNameIn(stream, version, t, time.UTC, id, ext)
}

// ObjectNameIn is ObjectName with the time in loc (nil = UTC): AWS uses
// CustomTimeZone for the suffix as well as the prefix.
func ObjectNameIn(stream string, version int, t time.Time, loc *time.Location, id, ext string) string {
	if loc == nil {
		loc = time.UTC
	}
	return fmt.Sprintf("%s-%d-%s-%s%s", stream, version, t.In(loc).Format("2006-01-02-15-04-05"), id, ext)
}

// RandomString returns a fresh random-string value: 11 lowercase hex
// digits, like AWS's examples ("5abf82daaa5").
func RandomString() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])[:RandomLength]
}

// SeededRandom returns a Values.Random whose sequence depends only on
// seed, so a retried batch evaluates to the same prefix.
func SeededRandom(seed uint64) func() string {
	r := mrand.New(mrand.NewPCG(seed, 0x9e3779b97f4a7c15))
	return func() string {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], r.Uint64())
		return hex.EncodeToString(b[:])[:RandomLength]
	}
}
