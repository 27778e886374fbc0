# make test is THE test command (CI runs it through .ci/run).
SHELL := /bin/bash
GO ?= go
# One go test timeout per package; the e2e package is the slowest.
TEST_TIMEOUT ?= 15m
FUZZTIME ?= 15s

.PHONY: run build test clients fmt-check vet go-test fuzz bench bench-peers

run:
	$(GO) run ./cmd/rivulet serve

build:
	$(GO) build -o rivulet ./cmd/rivulet

test: clients fmt-check vet go-test

# Real AWS clients for test/e2e: AWS CLI v2, boto3, JS SDK v3.
clients:
	bash scripts/install-clients.sh

fmt-check:
	@out=$$(gofmt -l .); \
	if [[ -n "$$out" ]]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

go-test:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

bench:
	$(GO) test -bench . -run '^$$' ./bench/...

# Side by side with kinesalite and kinesis-mock (npm, into bench/.peers);
# writes docs/BENCHMARKS.md. QUICK=1 for a short smoke run of the harness.
bench-peers:
	$(GO) run ./bench/peers
