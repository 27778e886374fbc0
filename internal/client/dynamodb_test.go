package client

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestNewDynamoDB(t *testing.T) {
	for _, tc := range []struct {
		endpoint, ddb string
		want          string // BaseEndpoint; "" for AWS's own
		err           string
	}{
		{endpoint: "http://127.0.0.1:4567", want: "http://127.0.0.1:4567"},
		{endpoint: "http://127.0.0.1:4567", ddb: "http://127.0.0.1:8000", want: "http://127.0.0.1:8000"},
		{endpoint: "http://127.0.0.1:4567", ddb: "aws", want: ""},
		{endpoint: "http://127.0.0.1:4567", ddb: "localhost:8000", err: `invalid --dynamodb-endpoint "localhost:8000"`},
		{endpoint: "localhost:4567", err: `invalid --endpoint "localhost:4567"`},
	} {
		c, err := NewDynamoDB(Config{Endpoint: tc.endpoint, DynamoDBEndpoint: tc.ddb, Region: "us-east-1"})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q, %q: error %v, want %q", tc.endpoint, tc.ddb, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q, %q: %v", tc.endpoint, tc.ddb, err)
			continue
		}
		if got := aws.ToString(c.Options().BaseEndpoint); got != tc.want || c.Options().Region != "us-east-1" {
			t.Errorf("%q, %q: endpoint %q region %q, want %q", tc.endpoint, tc.ddb, got, c.Options().Region, tc.want)
		}
	}
}
