# make test is THE test command (CI runs it through .ci/run).
SHELL := /bin/bash
GO ?= go
# One go test timeout per package; the e2e package is the slowest.
TEST_TIMEOUT ?= 15m
FUZZTIME ?= 15s

.PHONY: run build test clients fmt-check vet go-test e2e-net-http e2e-sigv4 examples fuzz bench bench-peers cluster-faults

run:
	$(GO) run ./cmd/rivulet serve

build:
	$(GO) build -o rivulet ./cmd/rivulet

test: clients fmt-check vet go-test e2e-net-http e2e-sigv4 examples

# Real AWS clients for test/e2e: AWS CLI v2, boto3, JS SDK v3.
clients:
	bash scripts/install-clients.sh

fmt-check:
	@out=$$(gofmt -l .); \
	if [[ -n "$$out" ]]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd examples/embedded && $(GO) vet ./...

go-test:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# The end-to-end suite again, with rivulet serve --http-fast-path=false.
e2e-net-http:
	E2E_HTTP_FAST_PATH=false $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./test/e2e

# The end-to-end suite again, with rivulet serve --auth=sigv4: every
# request's signature checked against a credentials file.
e2e-sigv4:
	E2E_AUTH=sigv4 $(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./test/e2e

# The examples with a go.mod of their own, as an application uses Rivulet.
examples:
	cd examples/embedded && $(GO) test -race -count=1 ./...

fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Every fault of the cluster suite (test/cluster, docs/CLUSTER.md): three
# rivulet serve processes per fault. make test runs only kill -9 of one node.
cluster-faults:
	RIVULET_CLUSTER_FAULTS=all $(GO) test -count=1 -timeout 60m -run TestFaults -v ./test/cluster

bench:
	$(GO) test -bench . -run '^$$' ./bench/...

# Side by side with kinesalite and kinesis-mock (npm, into bench/.peers);
# writes docs/BENCHMARKS.md. QUICK=1 for a short smoke run of the harness.
bench-peers:
	$(GO) run ./bench/peers
