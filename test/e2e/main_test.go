// Package e2e drives a real `rivulet serve` process with unmodified AWS
// clients: AWS CLI v2, boto3, the JS SDK v3 and aws-sdk-go-v2. It also kills
// and restarts the server to check that acknowledged writes survive.
//
// The clients are installed by `make test` (scripts/install-clients.sh).
package e2e

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	code := m.Run()
	rivuletBin.Remove()
	natsBin.Remove()
	if code == 0 {
		// Every test closes its HTTP clients and waits for its processes, so
		// nothing of ours may still run here.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
