package prefix

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var (
	aug27 = time.Date(2018, 8, 27, 10, 30, 0, 0, time.UTC) // the docs' example instant
	jul06 = time.Date(2018, 7, 6, 23, 5, 0, 0, time.UTC)
	aug03 = time.Date(2018, 8, 3, 12, 0, 0, 0, time.UTC)
)

func fixed(s string) func() string { return func() string { return s } }

func mustParse(t *testing.T, s string, k Kind) *Expr {
	t.Helper()
	e, err := Parse(s, k)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return e
}

// TestDocExamples evaluates the examples of the developer guide's
// "Custom Prefixes for Amazon S3 Objects" and dynamic partitioning pages.
func TestDocExamples(t *testing.T) {
	pf := Values{ErrorType: "processing-failed"}
	cases := []struct {
		name string
		src  string
		kind Kind
		at   time.Time
		v    Values
		want string
	}{
		{"unspecified prefix", "", KindPrefix, aug27, pf, "2018/08/27/10/"},
		{"error prefix without timestamp gets nothing appended",
			"myFirehoseFailures/!{firehose:error-output-type}/", KindError, aug27, pf,
			"myFirehoseFailures/processing-failed/"},
		{"timestamp and random-string",
			"myFirehose/DeliveredYear=!{timestamp:yyyy}/anyMonth/rand=!{firehose:random-string}", KindPrefix, aug27,
			Values{Random: fixed("5abf82daaa5")}, "myFirehose/DeliveredYear=2018/anyMonth/rand=5abf82daaa5"},
		// The guide prints ".../anyMonth/10" for dd on Aug 27: a slip; dd is 27.
		{"error prefix with timestamps",
			"myFirehoseFailures/!{firehose:error-output-type}/!{timestamp:yyyy}/anyMonth/!{timestamp:dd}", KindError, aug27, pf,
			"myFirehoseFailures/processing-failed/2018/anyMonth/27"},
		{"hive style",
			"myPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/", KindPrefix, jul06, pf,
			"myPrefix/year=2018/month=07/day=06/hour=23/"},
		{"hive style error prefix",
			"myErrorPrefix/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/!{firehose:error-output-type}",
			KindError, jul06, pf, "myErrorPrefix/year=2018/month=07/day=06/hour=23/processing-failed"},
		{"quoted literals in one timestamp",
			"myErrorPrefix/!{timestamp:'year='yyyy'/month='MM'/day='dd'/hour='HH}/!{firehose:error-output-type}",
			KindError, jul06, pf, "myErrorPrefix/year=2018/month=07/day=06/hour=23/processing-failed"},
		// The guide's rule: "<specified-prefix>YYYY/MM/DD/HH/" (no slash added).
		{"literal prefix gets the hour path", "myFirehosePrefix", KindPrefix, aug27, pf, "myFirehosePrefix2018/08/27/10/"},
		{"literal prefix with slash", "myFirehosePrefix/", KindPrefix, aug27, pf, "myFirehosePrefix/2018/08/27/10/"},
		{"error-output-type table example",
			"myPrefix/result=!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}", KindError, aug03, pf,
			"myPrefix/result=processing-failed/2018/08/03"},
		{"random-string table example, hour path appended",
			"myPrefix/!{firehose:random-string}/", KindPrefix, aug27, Values{Random: fixed("046b6c7f-0b")},
			"myPrefix/046b6c7f-0b/2018/08/27/10/"},
		{"dynamic partitioning, nothing appended",
			"customer_id=!{partitionKeyFromQuery:customer_id}/device=!{partitionKeyFromQuery:device}/year=!{partitionKeyFromQuery:year}/month=!{partitionKeyFromQuery:month}/day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/",
			KindPrefix, aug27,
			Values{Query: map[string]string{"customer_id": "1234567890", "device": "mobile", "year": "2019", "month": "08", "day": "09", "hour": "20"}},
			"customer_id=1234567890/device=mobile/year=2019/month=08/day=09/hour=20/"},
		{"Athena guide example",
			"prefix/!{timestamp:yyyy}-!{timestamp:MM}-!{timestamp:dd}/!{partitionKeyFromQuery:customer_id}/", KindPrefix,
			time.Date(2021, 11, 1, 8, 0, 0, 0, time.UTC), Values{Query: map[string]string{"customer_id": "customer-1234"}},
			"prefix/2021-11-01/customer-1234/"},
		{"lambda keys",
			"!{partitionKeyFromLambda:customerId}/!{timestamp:yyyy'-'MM'-'dd}/", KindPrefix, aug27,
			Values{Lambda: map[string]string{"customerId": "c1"}}, "c1/2018-08-27/"},
		{"quoted dashes", "dt=!{timestamp:yyyy'-'MM'-'dd}/h=!{timestamp:HH}/", KindPrefix, aug27, pf, "dt=2018-08-27/h=10/"},
		{"bang without brace is literal", "a!b{c}/!!{timestamp:yyyy}/", KindPrefix, aug27, pf, "a!b{c}/!2018/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := mustParse(t, c.src, c.kind)
			v := c.v
			v.Time = c.at
			got, err := e.Eval(v)
			if err != nil {
				t.Fatalf("Eval: %v", err)
			}
			if got != c.want {
				t.Fatalf("Eval(%q) = %q, want %q", c.src, got, c.want)
			}
		})
	}
}

func TestTimestampPatterns(t *testing.T) {
	at := time.Date(2024, 3, 5, 14, 7, 9, 123456789, time.UTC) // a Tuesday, day 65
	jst := time.FixedZone("JST", 9*3600)
	ist := time.FixedZone("IST", 5*3600+1800)
	neg := time.FixedZone("", -(3*3600 + 30*60))
	cases := []struct {
		pat  string
		loc  *time.Location
		want string
	}{
		{"yyyy", nil, "2024"}, {"yy", nil, "24"}, {"y", nil, "2024"}, {"yyyyy", nil, "02024"}, {"uuuu", nil, "2024"},
		{"M", nil, "3"}, {"MM", nil, "03"}, {"MMM", nil, "Mar"}, {"MMMM", nil, "March"}, {"MMMMM", nil, "M"}, {"LL", nil, "03"},
		{"d", nil, "5"}, {"dd", nil, "05"}, {"D", nil, "65"}, {"DDD", nil, "065"},
		{"H", nil, "14"}, {"HH", nil, "14"}, {"h", nil, "2"}, {"hh", nil, "02"}, {"K", nil, "2"}, {"k", nil, "14"}, {"a", nil, "PM"},
		{"m", nil, "7"}, {"mm", nil, "07"}, {"s", nil, "9"}, {"ss", nil, "09"},
		{"S", nil, "1"}, {"SSS", nil, "123"}, {"SSSSSSSSS", nil, "123456789"}, {"A", nil, "50829123"},
		{"E", nil, "Tue"}, {"EEE", nil, "Tue"}, {"EEEE", nil, "Tuesday"},
		{"Q", nil, "1"}, {"QQQ", nil, "Q1"}, {"QQQQ", nil, "1st quarter"}, {"G", nil, "AD"},
		{"Z", nil, "+0000"}, {"ZZZZ", nil, "GMT"}, {"ZZZZZ", nil, "Z"}, {"X", nil, "Z"}, {"xx", nil, "+0000"}, {"xxx", nil, "+00:00"},
		{"yyyy/MM/dd/HH", jst, "2024/03/05/23"}, {"Z", jst, "+0900"}, {"ZZZZ", jst, "GMT+09:00"}, {"ZZZZZ", jst, "+09:00"},
		{"X", jst, "+09"}, {"XX", jst, "+0900"}, {"XXX", jst, "+09:00"}, {"x", jst, "+09"}, {"X", ist, "+0530"},
		{"XXX", neg, "-03:30"}, {"HH", neg, "10"},
		{"yyyy-MM-dd'T'HH:mm:ss", nil, "2024-03-05T14:07:09"},
		{"HH 'o''clock'", nil, "14 o'clock"}, {"''", nil, "'"}, {"[yyyy]", nil, "2024"},
		{"yyyy_MM.dd HH-mm", nil, "2024_03.05 14-07"},
	}
	for _, c := range cases {
		e := mustParse(t, "!{timestamp:"+c.pat+"}", KindPrefix)
		got, err := e.Eval(Values{Time: at, Location: c.loc})
		if err != nil {
			t.Fatalf("%q: %v", c.pat, err)
		}
		if got != c.want {
			t.Errorf("pattern %q in %v = %q, want %q", c.pat, c.loc, got, c.want)
		}
	}

	midnight := time.Date(2024, 3, 5, 0, 30, 0, 0, time.UTC)
	for pat, want := range map[string]string{"h": "12", "k": "24", "K": "0", "a": "AM"} {
		got, err := mustParse(t, "!{timestamp:"+pat+"}", KindPrefix).Eval(Values{Time: midnight})
		if err != nil || got != want {
			t.Errorf("pattern %q at 00:30 = %q, %v; want %q", pat, got, err, want)
		}
	}
}

func TestTimestampSameInstantAndLocation(t *testing.T) {
	e := mustParse(t, "!{timestamp:HH}/!{timestamp:mm}/!{timestamp:HH:mm}", KindPrefix)
	got, err := e.Eval(Values{Time: time.Date(2024, 1, 1, 20, 59, 59, 999999999, time.UTC)})
	if err != nil || got != "20/59/20:59" {
		t.Fatalf("got %q, %v", got, err)
	}
	// The default hour path follows CustomTimeZone too.
	jst := time.FixedZone("JST", 9*3600)
	got, err = mustParse(t, "logs/", KindPrefix).Eval(Values{Time: time.Date(2024, 1, 1, 20, 0, 0, 0, time.UTC), Location: jst})
	if err != nil || got != "logs/2024/01/02/05/" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		src  string
		kind Kind
		want string // substring of the message
	}{
		{"a/!{timestamp:yyyy", KindPrefix, "The sequence !{ in Prefix can only appear in !{namespace:value} expressions"},
		{"!{timestamp}", KindPrefix, "can only appear in !{namespace:value} expressions"},
		{"!{:yyyy}", KindPrefix, "can only appear in !{namespace:value} expressions"},
		{"e/!{firehose:error-output-type}/!{x", KindError, "The sequence !{ in ErrorOutputPrefix can only appear"},
		{"!{foo:bar}", KindPrefix, `Unknown namespace "foo"`},
		{"!{Timestamp:yyyy}", KindPrefix, `Unknown namespace "Timestamp"`},
		{"!{firehose:uuid}", KindPrefix, "Invalid firehose expression !{firehose:uuid}"},
		{"a/!{firehose:error-output-type}/", KindPrefix, "Prefix cannot contain !{firehose:error-output-type}"},
		{"e/!{firehose:error-output-type}/!{partitionKeyFromQuery:id}/", KindError, "ErrorOutputPrefix cannot contain partitionKeyFromQuery or partitionKeyFromLambda expressions"},
		{"e/!{firehose:error-output-type}/!{partitionKeyFromLambda:id}/", KindError, "ErrorOutputPrefix cannot contain"},
		{"!{partitionKeyFromQuery:}", KindPrefix, "Invalid partitionKeyFromQuery expression"},
		{"err/!{timestamp:yyyy}/", KindError, "ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions"},
		{"!{timestamp:}", KindPrefix, "the format is empty"},
		{"!{timestamp:yyyy-bb}", KindPrefix, "unsupported pattern letter 'b'"},
		{"!{timestamp:ww}", KindPrefix, "unsupported pattern letter 'w'"},
		{"!{timestamp:ddd}", KindPrefix, "too many pattern letters: d"},
		{"!{timestamp:aa}", KindPrefix, "too many pattern letters: a"},
		{"!{timestamp:VVV}", KindPrefix, "too many pattern letters: V"},
		{"!{timestamp:'abc}", KindPrefix, "incomplete string literal"},
		{"!{timestamp:yyyy]}", KindPrefix, "] without previous ["},
		{"!{timestamp:#}", KindPrefix, "reserved character '#'"},
		{"!{timestamp:!{x}", KindPrefix, "reserved character '{'"},
	}
	for _, c := range cases {
		_, err := Parse(c.src, c.kind)
		var ia *InvalidArgumentError
		if !errors.As(err, &ia) {
			t.Errorf("Parse(%q) = %v, want InvalidArgumentError", c.src, err)
			continue
		}
		if !strings.HasPrefix(ia.Message, constraintPrefix) || !strings.Contains(ia.Message, c.want) {
			t.Errorf("Parse(%q) message %q, want it to contain %q", c.src, ia.Message, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	const errType = "e/!{firehose:error-output-type}/"
	cases := []struct {
		prefix, errPrefix string
		dp                bool
		want              string // "" = valid; else exact message
	}{
		{"", "", false, ""},
		{"logs/", "", false, ""},
		{"logs/", "errors/", false, ""},
		{"!{timestamp:yyyy}/", errType, false, ""},
		{"x/!{partitionKeyFromQuery:a}/!{partitionKeyFromLambda:b}/", errType + "!{timestamp:yyyy}/", true, ""},
		// AWS's own text, verbatim.
		{"!{timestamp:yyyy/MM/dd}", "", false,
			"Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"},
		{"r/!{firehose:random-string}/", "", false,
			"Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"},
		{"x/!{partitionKeyFromQuery:a}/", "", true,
			"Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions"},
		{"x/", "err/!{timestamp:yyyy}", false,
			constraintPrefix + "ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions"},
		{"x/!{partitionKeyFromQuery:a}/", errType, false,
			constraintPrefix + "Prefix can contain partitionKeyFromQuery or partitionKeyFromLambda expressions only when dynamic partitioning is enabled"},
		{"!{timestamp:yyyy}/", errType, true,
			constraintPrefix + "Prefix must contain at least one partitionKeyFromQuery or partitionKeyFromLambda expression when dynamic partitioning is enabled"},
		{"", "", true,
			constraintPrefix + "Prefix must contain at least one partitionKeyFromQuery or partitionKeyFromLambda expression when dynamic partitioning is enabled"},
		{"x/!{partitionKeyFromQuery:a}/", errType + "!{partitionKeyFromQuery:a}/", true,
			constraintPrefix + "ErrorOutputPrefix cannot contain partitionKeyFromQuery or partitionKeyFromLambda expressions"},
		{"a/!{firehose:error-output-type}", errType, false, constraintPrefix + "Prefix cannot contain !{firehose:error-output-type}"},
	}
	for _, c := range cases {
		err := Validate(c.prefix, c.errPrefix, c.dp)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Validate(%q, %q, %v) = %v, want nil", c.prefix, c.errPrefix, c.dp, err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("Validate(%q, %q, %v) = %v, want %q", c.prefix, c.errPrefix, c.dp, err, c.want)
		case c.want != "":
			var ia *InvalidArgumentError
			if !errors.As(err, &ia) {
				t.Errorf("Validate(%q, %q): %T is not InvalidArgumentError", c.prefix, c.errPrefix, err)
			}
		}
	}
}

func TestEvalErrors(t *testing.T) {
	e := mustParse(t, "!{partitionKeyFromQuery:id}/!{partitionKeyFromLambda:k}/", KindPrefix)
	_, err := e.Eval(Values{Time: aug27, Query: map[string]string{"id": "1"}})
	if !errors.Is(err, ErrMissingPartitionKey) || !strings.Contains(err.Error(), "!{partitionKeyFromLambda:k}") {
		t.Fatalf("missing lambda key: %v", err)
	}
	_, err = e.Eval(Values{Time: aug27, Lambda: map[string]string{"k": "1"}})
	if !errors.Is(err, ErrMissingPartitionKey) || !strings.Contains(err.Error(), "!{partitionKeyFromQuery:id}") {
		t.Fatalf("missing query key: %v", err)
	}

	_, err = mustParse(t, "!{firehose:error-output-type}/", KindError).Eval(Values{Time: aug27})
	if !errors.Is(err, ErrNoErrorType) {
		t.Fatalf("no error type: %v", err)
	}

	// 498 + len("2018/08/27/10/") = 512 is the limit; counted in characters.
	for _, lit := range []string{strings.Repeat("a", 498), strings.Repeat("é", 498)} {
		got, err := mustParse(t, lit, KindPrefix).Eval(Values{Time: aug27})
		if err != nil || utf8.RuneCountInString(got) != MaxEvaluatedLength {
			t.Fatalf("512 characters: %d, %v", utf8.RuneCountInString(got), err)
		}
		if _, err := mustParse(t, lit+"a", KindPrefix).Eval(Values{Time: aug27}); !errors.Is(err, ErrTooLong) {
			t.Fatalf("513 characters: %v", err)
		}
	}
	// A partition key value can push it over too.
	_, err = mustParse(t, "!{partitionKeyFromQuery:id}", KindPrefix).Eval(Values{Query: map[string]string{"id": strings.Repeat("x", 5000)}})
	if !errors.Is(err, ErrTooLong) {
		t.Fatalf("long key: %v", err)
	}
}

func TestRandomString(t *testing.T) {
	e := mustParse(t, "!{firehose:random-string}/!{firehose:random-string}/", KindPrefix)
	got, err := e.Eval(Values{Time: aug27})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(got, "/")
	if len(parts[0]) != RandomLength || len(parts[1]) != RandomLength || parts[0] == parts[1] {
		t.Fatalf("random strings %q", got)
	}
	if !strings.HasSuffix(got, "/2018/08/27/10/") {
		t.Fatalf("no hour path: %q", got)
	}

	calls := 0
	_, _ = e.Eval(Values{Time: aug27, Random: func() string { calls++; return "r" }})
	if calls != 2 {
		t.Fatalf("Random called %d times, want one per use", calls)
	}

	a, b := SeededRandom(42), SeededRandom(42)
	x1, x2 := a(), a()
	if x1 != b() || x2 != b() || x1 == x2 || len(x1) != RandomLength {
		t.Fatalf("seeded: %q %q", x1, x2)
	}
	if SeededRandom(43)() == x1 {
		t.Fatal("different seeds gave the same string")
	}
}

func TestKeysAndFlags(t *testing.T) {
	e := mustParse(t, "!{partitionKeyFromQuery:a}/!{partitionKeyFromLambda:b}/!{partitionKeyFromQuery:a}/!{partitionKeyFromQuery:c}", KindPrefix)
	q, l := e.Keys()
	if strings.Join(q, ",") != "a,c" || strings.Join(l, ",") != "b" {
		t.Fatalf("Keys = %v %v", q, l)
	}
	if !e.UsesPartitionKeys() || !e.HasExpressions() || e.String() != e.src {
		t.Fatal("flags")
	}
	lit := mustParse(t, "logs/", KindPrefix)
	if lit.UsesPartitionKeys() || lit.HasExpressions() {
		t.Fatal("literal prefix has expressions")
	}
	if mustParse(t, "!{timestamp:yyyy}", KindPrefix).UsesPartitionKeys() {
		t.Fatal("timestamp counted as partition key")
	}
}

func TestDefaultsAndObjectName(t *testing.T) {
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := DefaultErrorPrefix("processing-failed", at, nil); got != "processing-failed/2024/01/02/03/" {
		t.Fatalf("DefaultErrorPrefix = %q", got)
	}
	if got := DefaultErrorOutput("logs/", "http-endpoint-failed", at, nil); got != "logs/http-endpoint-failed/2024/01/02/03/" {
		t.Fatalf("DefaultErrorOutput = %q", got)
	}
	jst := time.FixedZone("JST", 9*3600)
	if got := DefaultPrefix(at, jst); got != "2024/01/02/12/" {
		t.Fatalf("DefaultPrefix JST = %q", got)
	}
	// The dynamic partitioning guide's object, with the stream version
	// the guide's example leaves out.
	got := ObjectName("my-delivery-stream", 1, time.Date(2019, 8, 9, 23, 55, 9, 0, time.UTC), "a9fa96af-e4e4-409f-bac3-1f804714faaa", "")
	if got != "my-delivery-stream-1-2019-08-09-23-55-09-a9fa96af-e4e4-409f-bac3-1f804714faaa" {
		t.Fatalf("ObjectName = %q", got)
	}
	// ObjectName is UTC whatever t's location.
	if got := ObjectName("s", 3, at.In(jst), "id", ".gz"); got != "s-3-2024-01-02-03-04-05-id.gz" {
		t.Fatalf("ObjectName = %q", got)
	}
	if got := ObjectNameIn("s", 3, at, jst, "id", ".parquet"); got != "s-3-2024-01-02-12-04-05-id.parquet" {
		t.Fatalf("ObjectNameIn = %q", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "logs/", "!{timestamp:yyyy/MM/dd/HH}/", "!{firehose:random-string}",
		"e/!{firehose:error-output-type}/!{timestamp:'year='yyyy}", "!{partitionKeyFromQuery:id}/!{partitionKeyFromLambda:x}",
		"!{timestamp:'a''b'[yyyy]SSSSSSSSS XXXXX ZZZZ z VV}", "!{", "!{x", "!{a:b}", "!{timestamp:y}" + strings.Repeat("x", 510),
	} {
		f.Add(s, false, int64(0))
		f.Add(s, true, int64(-62135596800))
	}
	f.Fuzz(func(t *testing.T, s string, isErr bool, sec int64) {
		kind := KindPrefix
		if isErr {
			kind = KindError
		}
		e, err := Parse(s, kind)
		if err != nil {
			var ia *InvalidArgumentError
			if !errors.As(err, &ia) || ia.Message == "" {
				t.Fatalf("Parse(%q) error %v is not an InvalidArgumentError", s, err)
			}
			return
		}
		q, l := e.Keys()
		v := Values{Time: time.Unix(sec, 0), Location: time.FixedZone("", -12345), Query: map[string]string{}, Lambda: map[string]string{}, ErrorType: "processing-failed"}
		for _, k := range q {
			v.Query[k] = "q"
		}
		for _, k := range l {
			v.Lambda[k] = "l"
		}
		out, err := e.Eval(v)
		if err != nil {
			if !errors.Is(err, ErrTooLong) {
				t.Fatalf("Eval(%q): %v", s, err)
			}
			return
		}
		if utf8.RuneCountInString(out) > MaxEvaluatedLength {
			t.Fatalf("Eval(%q) gave %d characters", s, utf8.RuneCountInString(out))
		}
		if _, err := e.Eval(Values{}); err != nil && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrMissingPartitionKey) && !errors.Is(err, ErrNoErrorType) {
			t.Fatalf("Eval(%q) with no values: %v", s, err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	f.Add("!{timestamp:yyyy}/", "", false)
	f.Add("x/!{partitionKeyFromQuery:a}/", "e/!{firehose:error-output-type}/", true)
	f.Add("logs/", "errors/", false)
	f.Fuzz(func(t *testing.T, p, ep string, dp bool) {
		err := Validate(p, ep, dp)
		if err == nil {
			return
		}
		var ia *InvalidArgumentError
		if !errors.As(err, &ia) || !strings.HasPrefix(ia.Message, constraintPrefix) {
			t.Fatalf("Validate(%q, %q, %v): %v", p, ep, dp, err)
		}
	})
}
