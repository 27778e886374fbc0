// Package cluster is the fault suite of cluster mode (docs/CLUSTER.md):
// three `rivulet serve` processes on loopback, each with its own data
// directory and ports, joined into one JetStream cluster, under continuous
// writes and reads while a fault hits one or all of them. A checker then
// verifies that every acknowledged record is still there, once, in the
// same order on every node.
//
// The harness (Start, Cluster, Node) runs the processes: kill -9, SIGTERM,
// SIGSTOP/SIGCONT, restart on the same data directory and ports, and a
// wiped data directory as a replacement machine. The workload and the
// checker (StartWorkload, Check) drive the nodes with aws-sdk-go-v2.
//
// Short and long suites: by default TestFaults runs only the short set
// (kill -9 of a node leading a shard log), which is what `make test` and
// CI run. RIVULET_CLUSTER_FAULTS=all (make cluster-faults) runs every
// fault of issue 17 in the default sync mode, then all of them again with
// --sync=always; give it a long timeout:
//
//	RIVULET_CLUSTER_FAULTS=all go test -count=1 -timeout 60m -run TestFaults ./test/cluster
//
// RIVULET_CLUSTER_BINARY names a prebuilt rivulet binary to test instead
// of building ./cmd/rivulet (with -race when the tests run with -race).
package cluster
