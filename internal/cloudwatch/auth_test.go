package cloudwatch

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/rivulet/rivulet/internal/auth"
	"github.com/rivulet/rivulet/internal/auth/authz"
	"github.com/rivulet/rivulet/internal/auth/sigv4"
)

// TestSigV4AndPolicies: with a verifier for "monitoring" the caller is
// the key's account, its data only, and every operation is authorized as
// cloudwatch:<Op> on "*".
func TestSigV4AndPolicies(t *testing.T) {
	policy := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["cloudwatch:GetMetricStatistics","cloudwatch:GetMetricData"],"Resource":"*"}]}`
	keys, err := auth.NewKeyring([]auth.Principal{{AccessKeyID: "AKIAALICE", SecretAccessKey: "secret",
		Account: "111111111111", ARN: "arn:aws:iam::111111111111:user/alice", Policies: []json.RawMessage{json.RawMessage(policy)}}})
	if err != nil {
		t.Fatal(err)
	}
	v := sigv4.New(sigv4.Config{Service: "monitoring", MaxSkew: sigv4.SkewKinesis, Keys: keys})
	// The key's account holds one datum in eu-west-1 (and one in
	// us-east-1, workload's).
	d := datum("IncomingBytes", "Bytes", minute(11, 30), 1, 5, 5, 5, "StreamName", "S")
	d.Account, d.Region = "111111111111", "eu-west-1"
	st := &fakeStore{ds: append(workload(), d)}
	svc := New(st, Config{Now: func() time.Time { return testNow }, Authorizer: authz.New()})
	srv := httptest.NewServer(NewHandler(svc, HandlerOptions{Logger: slog.New(slog.DiscardHandler), Verifier: v}))
	t.Cleanup(srv.Close)
	client := func(secret string, p int) *cw.Client {
		return cw.NewFromConfig(aws.Config{Region: "eu-west-1", HTTPClient: srv.Client(),
			Credentials: credentials.NewStaticCredentialsProvider("AKIAALICE", secret, "")}, func(o *cw.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.RetryMaxAttempts = 1
			if protocols[p].proto != nil {
				o.Protocol = protocols[p].proto()
			}
		})
	}
	ctx := context.Background()
	for p := range protocols {
		c := client("secret", p)
		out, err := c.GetMetricStatistics(ctx, &cw.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Kinesis"), MetricName: aws.String("IncomingBytes"),
			Dimensions: dims("StreamName", "S"),
			StartTime:  aws.Time(minute(11, 0)), EndTime: aws.Time(minute(12, 0)), Period: aws.Int32(3600),
			Statistics: []types.Statistic{types.StatisticSum},
		})
		if err != nil {
			t.Fatalf("%s: %v", protocols[p].name, err)
		}
		if len(out.Datapoints) != 1 || *out.Datapoints[0].Sum != 5 {
			t.Errorf("%s: %+v, want the key's account's datum only", protocols[p].name, out.Datapoints)
		}
		_, err = c.ListMetrics(ctx, &cw.ListMetricsInput{})
		apiError(t, err, "AccessDenied", "User: arn:aws:iam::111111111111:user/alice is not authorized to perform: "+
			"cloudwatch:ListMetrics on resource: * because no identity-based policy allows the cloudwatch:ListMetrics action")

		_, err = client("wrong", p).ListMetrics(ctx, &cw.ListMetricsInput{})
		apiError(t, err, "SignatureDoesNotMatch", "")
		if !strings.Contains(err.Error(), "The request signature we calculated does not match") {
			t.Errorf("%s: %v", protocols[p].name, err)
		}
	}
}
