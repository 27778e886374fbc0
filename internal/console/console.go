// Package console is the web console served on the admin listener: static
// pages embedded in the binary that call the AWS APIs (Kinesis, Firehose,
// CloudWatch, the lease table) through the admin listener's API pass-through,
// signing them with SigV4 in the browser when auth is on.
package console

import "net/http"

// Handler serves GET / and /console/....
func Handler() http.Handler { return handler() }
