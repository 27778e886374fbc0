// Package interop checks that package aggregation and the npm package
// aws-kinesis-agg read each other's aggregated records. Its test runs
// kpl_agg.cjs with /usr/bin/node against the copy of aws-kinesis-agg pinned
// in test/e2e/clients (scripts/install-clients.sh installs it).
package interop
