// Package rivulet runs a Kinesis Data Streams server inside a Go
// process: the same server as `rivulet serve`, assembled in one place.
//
// A test starts one with the zero Config: it keeps everything in memory,
// listens on a free loopback port, makes streams ACTIVE at once, and
// answers requests as soon as Start returns. Point any Kinesis client at
// Endpoint:
//
//	srv, err := rivulet.Start(ctx, rivulet.Config{})
//	if err != nil {
//		t.Fatal(err)
//	}
//	t.Cleanup(func() { srv.Close() })
//	client := kinesis.New(kinesis.Options{
//		BaseEndpoint: aws.String(srv.Endpoint()),
//		Region:       "us-east-1",
//		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
//		HTTPClient:   srv.HTTPClient(),
//	})
//
// HTTPClient (or SDKTransport around a transport of your own) works
// around a race in smithy-go that, against a server this fast, sometimes
// fails a request that succeeded.
//
// Any credentials are accepted; the region comes from the request's
// signature, and an access key id of 12 digits selects that account.
// With Auth set to AuthSigV4 and a Credentials file, signatures are
// verified as AWS verifies them and each key works in its own account
// (docs/SECURITY.md).
//
// With DataDir set, records are kept on disk and survive a restart of
// the process; Close waits for in-flight requests, then closes storage.
package rivulet
