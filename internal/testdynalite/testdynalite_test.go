package testdynalite

import (
	"net/http"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The install make clients provides starts, answers as a DynamoDB and
// stops.
func TestRun(t *testing.T) {
	var url string
	t.Run("run", func(t *testing.T) {
		url = Run(t)
		if !isDynamoDB(url) {
			t.Fatalf("%s does not answer ListTables", url)
		}
	})
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Fatalf("dynalite still answers on %s after the test ended", url)
	}
}
