package kinesis

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rivulet/rivulet/api"
	"github.com/rivulet/rivulet/internal/store"
)

const testStreamARN = "arn:aws:kinesis:us-east-1:000000000000:stream/"

func register(t *testing.T, s *Service, stream, name string) api.Consumer {
	t.Helper()
	out, err := s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + stream), ConsumerName: &name})
	if err != nil {
		t.Fatal(err)
	}
	return out.Consumer
}

func describeConsumer(t *testing.T, s *Service, arn string) api.ConsumerDescription {
	t.Helper()
	out, err := s.DescribeStreamConsumer(ctx, &api.DescribeStreamConsumerInput{ConsumerARN: &arn})
	if err != nil {
		t.Fatal(err)
	}
	return out.ConsumerDescription
}

func TestConsumerLifecycle(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "fan", 1)
	created := c.Now()
	cons := register(t, s, "fan", "app")
	wantARN := fmt.Sprintf("arn:aws:kinesis:us-east-1:000000000000:stream/fan/consumer/app:%d", created.Unix())
	if cons.ConsumerARN != wantARN || cons.ConsumerStatus != api.ConsumerStatusCreating || cons.ConsumerName != "app" ||
		!cons.ConsumerCreationTimestamp.Equal(created.Truncate(time.Millisecond)) {
		t.Fatalf("registered %+v, want ARN %s in CREATING", cons, wantARN)
	}
	_, err := s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "fan"), ConsumerName: ptr("app")})
	wantErr(t, err, ErrResourceInUse, "Consumer app under stream fan already exists for account 000000000000.")

	// By name and stream ARN, or by consumer ARN.
	byName, err := s.DescribeStreamConsumer(ctx, &api.DescribeStreamConsumerInput{StreamARN: ptr(testStreamARN + "fan"), ConsumerName: ptr("app")})
	if err != nil || byName.ConsumerDescription.ConsumerARN != wantARN || byName.ConsumerDescription.StreamARN != testStreamARN+"fan" {
		t.Fatalf("describe by name: %+v %v", byName, err)
	}
	if d := describeConsumer(t, s, wantARN); d.ConsumerStatus != api.ConsumerStatusCreating {
		t.Fatalf("status %s, want CREATING", d.ConsumerStatus)
	}
	c.Add(DefaultConsumerCreateDelay)
	if d := describeConsumer(t, s, wantARN); d.ConsumerStatus != api.ConsumerStatusActive {
		t.Fatalf("status %s after the delay, want ACTIVE", d.ConsumerStatus)
	}
	_, err = s.DescribeStreamConsumer(ctx, &api.DescribeStreamConsumerInput{ConsumerName: ptr("app")})
	wantErr(t, err, ErrInvalidArgument, "ConsumerARN or both ConsumerName and StreamARN are required for this request.")
	// An ARN with another creation time names another consumer.
	_, err = s.DescribeStreamConsumer(ctx, &api.DescribeStreamConsumerInput{ConsumerARN: ptr(strings.Replace(wantARN, ":1", ":2", 1))})
	if err == nil {
		t.Fatal("a consumer ARN with the wrong creation time was accepted")
	}

	sum, err := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("fan")})
	if err != nil || sum.StreamDescriptionSummary.ConsumerCount != 1 {
		t.Fatalf("ConsumerCount: %+v %v", sum, err)
	}
	_, err = s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("fan")})
	wantErr(t, err, ErrResourceInUse, "DeleteStream can't delete arn:aws:kinesis:us-east-1:000000000000:stream/fan because there are consumers "+
		"associated with this data stream. To delete fan anyway, set the EnforceConsumerDeletion parameter to true to force "+
		"the deletion of all the consumers that are associated with it.")

	if _, err := s.DeregisterStreamConsumer(ctx, &api.DeregisterStreamConsumerInput{ConsumerARN: &wantARN}); err != nil {
		t.Fatal(err)
	}
	if d := describeConsumer(t, s, wantARN); d.ConsumerStatus != api.ConsumerStatusDeleting {
		t.Fatalf("status %s after deregistering, want DELETING", d.ConsumerStatus)
	}
	// Deregistering again while DELETING is harmless.
	if _, err := s.DeregisterStreamConsumer(ctx, &api.DeregisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "fan"), ConsumerName: ptr("app")}); err != nil {
		t.Fatal(err)
	}
	c.Add(DefaultConsumerDeleteDelay)
	_, err = s.DescribeStreamConsumer(ctx, &api.DescribeStreamConsumerInput{ConsumerARN: &wantARN})
	wantErr(t, err, ErrResourceNotFound, "Consumer app under stream fan under account 000000000000 not found.")
	_, err = s.DeregisterStreamConsumer(ctx, &api.DeregisterStreamConsumerInput{ConsumerARN: &wantARN})
	wantErr(t, err, ErrResourceNotFound, "")
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("fan")}); err != nil {
		t.Fatalf("DeleteStream without consumers: %v", err)
	}
}

func TestDeleteStreamEnforceConsumerDeletion(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "gone", 1)
	cons := register(t, s, "gone", "app")
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("gone"), EnforceConsumerDeletion: ptr(false)}); err == nil {
		t.Fatal("EnforceConsumerDeletion=false deleted a stream with consumers")
	}
	if _, err := s.DeleteStream(ctx, &api.DeleteStreamInput{StreamName: ptr("gone"), EnforceConsumerDeletion: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Second)
	_, err := s.DescribeStreamConsumer(ctx, &api.DescribeStreamConsumerInput{ConsumerARN: &cons.ConsumerARN})
	wantErr(t, err, ErrResourceNotFound, "Stream gone under account 000000000000 not found.")
	// A new stream of the same name starts without consumers.
	mustCreate(t, s, c, "gone", 1)
	out, err := s.ListStreamConsumers(ctx, &api.ListStreamConsumersInput{StreamARN: ptr(testStreamARN + "gone")})
	if err != nil || len(out.Consumers) != 0 {
		t.Fatalf("consumers of the new stream: %+v %v", out, err)
	}
}

func TestConsumerLimits(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "lim", 1)
	for i := 0; i < maxCreatingConsumers; i++ {
		register(t, s, "lim", fmt.Sprintf("c%02d", i))
	}
	_, err := s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "lim"), ConsumerName: ptr("sixth")})
	wantErr(t, err, ErrLimitExceeded, "Only 5 consumers can be in CREATING status at the same time for stream lim under account 000000000000.")
	for i := maxCreatingConsumers; i < maxConsumers; i++ {
		if i%maxCreatingConsumers == 0 {
			c.Add(DefaultConsumerCreateDelay)
		}
		register(t, s, "lim", fmt.Sprintf("c%02d", i))
	}
	c.Add(DefaultConsumerCreateDelay)
	_, err = s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "lim"), ConsumerName: ptr("c20")})
	wantErr(t, err, ErrLimitExceeded, "Consumer limit of 20 has been reached for stream lim under account 000000000000.")
	_, err = s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "nope"), ConsumerName: ptr("x")})
	wantErr(t, err, ErrResourceNotFound, "Stream nope under account 000000000000 not found.")
	_, err = s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "lim"), ConsumerName: ptr("bad name")})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value 'bad name' at 'consumerName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
	_, err = s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{ConsumerName: ptr("x")})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value null at 'streamARN' failed to satisfy constraint: Member must not be null")
}

func TestListStreamConsumersPaging(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "pages", 1)
	mustCreate(t, s, c, "other", 1)
	names := []string{"g", "c", "e", "a", "f", "b", "d"}
	for i, n := range names {
		if i%maxCreatingConsumers == 0 {
			c.Add(DefaultConsumerCreateDelay)
		}
		register(t, s, "pages", n)
	}
	var got []string
	var tok *string
	in := &api.ListStreamConsumersInput{StreamARN: ptr(testStreamARN + "pages"), MaxResults: ptr(int64(3))}
	for pages := 0; ; pages++ {
		in.NextToken = tok
		out, err := s.ListStreamConsumers(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Consumers) > 3 {
			t.Fatalf("page of %d", len(out.Consumers))
		}
		for _, x := range out.Consumers {
			got = append(got, x.ConsumerName)
		}
		if out.NextToken == nil {
			break
		}
		tok = out.NextToken
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		if pages == 0 {
			// The token belongs to its stream.
			_, err := s.ListStreamConsumers(ctx, &api.ListStreamConsumersInput{StreamARN: ptr(testStreamARN + "other"), NextToken: tok})
			wantErr(t, err, ErrInvalidArgument, "Invalid NextToken.")
		}
	}
	if strings.Join(got, "") != "abcdefg" {
		t.Fatalf("listed %v, want a..g in name order", got)
	}
	sum, _ := s.DescribeStreamSummary(ctx, &api.DescribeStreamSummaryInput{StreamName: ptr("pages")})
	_, err := s.ListStreamConsumers(ctx, &api.ListStreamConsumersInput{StreamARN: ptr(testStreamARN + "pages"),
		StreamCreationTimestamp: &api.Time{Time: sum.StreamDescriptionSummary.StreamCreationTimestamp.Add(time.Second)}})
	wantErr(t, err, ErrResourceNotFound, "Stream pages under account 000000000000 not found.")
	out, err := s.ListStreamConsumers(ctx, &api.ListStreamConsumersInput{StreamARN: ptr(testStreamARN + "pages"),
		StreamCreationTimestamp: &sum.StreamDescriptionSummary.StreamCreationTimestamp})
	if err != nil || len(out.Consumers) != len(names) || out.NextToken != nil {
		t.Fatalf("list with the right creation time: %+v %v", out, err)
	}
	_, err = s.ListStreamConsumers(ctx, &api.ListStreamConsumersInput{StreamARN: ptr(testStreamARN + "pages"), MaxResults: ptr(int64(0))})
	wantErr(t, err, ErrValidation, "1 validation error detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1")
}

func TestConsumerTags(t *testing.T) {
	s, c := newTestService(t, nil)
	mustCreate(t, s, c, "tagged", 1)
	out, err := s.RegisterStreamConsumer(ctx, &api.RegisterStreamConsumerInput{StreamARN: ptr(testStreamARN + "tagged"),
		ConsumerName: ptr("app"), Tags: map[string]string{"team": "a"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Consumer.ConsumerARN
	if _, err := s.TagResource(ctx, &api.TagResourceInput{ResourceARN: &arn, Tags: map[string]string{"env": "dev", "team": "b"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UntagResource(ctx, &api.UntagResourceInput{ResourceARN: &arn, TagKeys: []string{"env"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := s.ListTagsForResource(ctx, &api.ListTagsForResourceInput{ResourceARN: &arn})
	if err != nil || len(tags.Tags) != 1 || tags.Tags[0].Key != "team" || *tags.Tags[0].Value != "b" {
		t.Fatalf("consumer tags: %+v %v", tags, err)
	}
	// The stream's own tags are separate.
	st, err := s.ListTagsForResource(ctx, &api.ListTagsForResourceInput{ResourceARN: ptr(testStreamARN + "tagged")})
	if err != nil || len(st.Tags) != 0 {
		t.Fatalf("stream tags: %+v %v", st, err)
	}
	many := map[string]string{}
	for i := 0; i < maxTags; i++ {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	_, err = s.TagResource(ctx, &api.TagResourceInput{ResourceARN: &arn, Tags: many})
	wantErr(t, err, ErrInvalidArgument, "")
	_, err = s.ListTagsForResource(ctx, &api.ListTagsForResourceInput{ResourceARN: ptr(testStreamARN + "tagged/consumer/nobody:1")})
	wantErr(t, err, ErrResourceNotFound, "Consumer nobody under stream tagged under account 000000000000 not found.")
}

func TestParseConsumerARN(t *testing.T) {
	k := store.StreamKey{Account: "123456789012", Region: "eu-west-1", Name: "my.stream"}
	arn := ConsumerARN(k, "app-1", time.Unix(1700000000, 0))
	if arn != "arn:aws:kinesis:eu-west-1:123456789012:stream/my.stream/consumer/app-1:1700000000" {
		t.Fatalf("ARN %s", arn)
	}
	r, ok := parseConsumerARN(arn)
	if !ok || r.Stream != k || r.Name != "app-1" || r.Created != 1700000000 || r.arn() != arn {
		t.Fatalf("parsed %+v %v", r, ok)
	}
	for _, bad := range []string{
		"", "arn:aws:kinesis:r:1:stream/s", "arn:aws:kinesis:r:1:stream/s/consumer/c",
		"arn:aws:kinesis:r:1:stream/s/consumer/c:", "arn:aws:kinesis:r:1:stream/s/consumer/c:x1",
		"arn:aws:kinesis:r:1:stream/s/consumer/:1", "arn:aws:kinesis:r:1:stream//consumer/c:1",
		"arn:aws:kinesis:r:1:stream/s/x/consumer/c:1", "arn:aws:sqs:r:1:stream/s/consumer/c:1",
		"arn:aws:kinesis::1:stream/s/consumer/c:1", "arn:aws:kinesis:r:1:stream/s/consumer/c:99999999999999",
	} {
		if r, ok := parseConsumerARN(bad); ok {
			t.Errorf("parseConsumerARN(%q) = %+v", bad, r)
		}
	}
}

func FuzzParseConsumerARN(f *testing.F) {
	f.Add("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1700000000")
	f.Add("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b/consumer/x_y:0")
	f.Add("arn:aws:kinesis:r:1:stream/s/consumer/c/consumer/d:1")
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := parseConsumerARN(s)
		if !ok {
			return
		}
		if !validName(r.Name) || !validName(r.Stream.Name) || r.Created < 0 {
			t.Fatalf("accepted %q as %+v", s, r)
		}
		// What it accepts it renders back to an ARN naming the same consumer.
		again, ok := parseConsumerARN(r.arn())
		if !ok || again != r {
			t.Fatalf("%q -> %+v -> %q -> %+v", s, r, r.arn(), again)
		}
	})
}

// FuzzConsumerValidators: the new inputs' validators never panic and
// answer either nil or a ValidationException in AWS's format.
func FuzzConsumerValidators(f *testing.F) {
	f.Add("arn:aws:kinesis:us-east-1:000000000000:stream/s", "app", "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/app:1", "shardId-000000000000", "LATEST", "1", int64(5))
	f.Add("", "", "", "", "", "", int64(0))
	f.Add("arn:aws:kinesis:r:1:stream/\x00", "a b", "x", "\u2028", "AT_TIMESTAMP", "01", int64(-1))
	f.Fuzz(func(t *testing.T, streamARN, name, consumerARN, shard, typ, seq string, max int64) {
		check := func(err error) {
			if err == nil {
				return
			}
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrValidation) || !strings.Contains(e.Message, " validation error") {
				t.Fatalf("validator answered %v", err)
			}
		}
		check(validateRegisterStreamConsumer(&api.RegisterStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &name,
			Tags: map[string]string{name: seq}}))
		check(validateConsumerTarget(&api.DescribeStreamConsumerInput{StreamARN: &streamARN, ConsumerName: &name, ConsumerARN: &consumerARN}))
		check(validateListStreamConsumers(&api.ListStreamConsumersInput{StreamARN: &streamARN, NextToken: &seq, MaxResults: &max}))
		check(validateSubscribeToShard(&api.SubscribeToShardInput{ConsumerARN: &consumerARN, ShardId: &shard,
			StartingPosition: &api.StartingPosition{Type: &typ, SequenceNumber: &seq}}))
		// Whatever passes validation parses, or is refused with a domain error.
		if validateSubscribeToShard(&api.SubscribeToShardInput{ConsumerARN: &consumerARN, ShardId: &shard,
			StartingPosition: &api.StartingPosition{Type: ptr(api.Latest)}}) == nil {
			if _, ok := parseConsumerARN(consumerARN); !ok && !strings.Contains(consumerARN, "stream/") {
				t.Fatalf("validated ARN %q has no stream", consumerARN)
			}
		}
	})
}
