package client

import (
	"flag"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// AddDynamoDBFlags registers --dynamodb-endpoint, for the commands that
// keep state in DynamoDB (KCL lease tables). Call it after AddFlags.
func (c *Config) AddDynamoDBFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DynamoDBEndpoint, "dynamodb-endpoint", "", "DynamoDB endpoint `URL`; \"aws\" for AWS's own (default: the --endpoint, as rivulet serve speaks both APIs)")
}

// dynamoDB is c with the DynamoDB endpoint in place of the Kinesis one.
func (c Config) dynamoDB() (Config, error) {
	if c.DynamoDBEndpoint == "" {
		return c, c.Validate()
	}
	d := c
	d.Endpoint = c.DynamoDBEndpoint
	if err := d.Validate(); err != nil {
		if d.Region == "" || d.Timeout < 0 {
			return d, err
		}
		return d, fmt.Errorf("invalid --dynamodb-endpoint %q: want http://HOST:PORT, https://HOST:PORT or aws", c.DynamoDBEndpoint)
	}
	return d, nil
}

// NewDynamoDB returns a DynamoDB client for c: at c.DynamoDBEndpoint, or
// else at c.Endpoint, with the region, credentials, HTTP settings and
// retries New gives Kinesis clients.
func NewDynamoDB(c Config) (*dynamodb.Client, error) {
	d, err := c.dynamoDB()
	if err != nil {
		return nil, err
	}
	attempts := d.MaxAttempts
	if attempts <= 0 {
		attempts = retry.DefaultMaxAttempts
	}
	o := dynamodb.Options{
		Region:      d.Region,
		Credentials: credentials(d.LookupEnv),
		HTTPClient:  HTTPClient(d),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.RateLimiter = ratelimit.None
		}),
	}
	if !d.awsEndpoint() {
		o.BaseEndpoint = aws.String(d.Endpoint)
	}
	return dynamodb.New(o), nil
}
