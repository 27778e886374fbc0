package kinesis

import (
	"context"
	"testing"

	"github.com/rivulet/rivulet/internal/store"
)

type noFaults struct{}

func (noFaults) Before(context.Context, string, string) error      { return nil }
func (noFaults) Entry(store.StreamKey, int) (code, message string) { return "", "" }

// TestStreamingOperations: only SubscribeToShard answers with an event
// stream, and the guard that wraps operations keeps the mark.
func TestStreamingOperations(t *testing.T) {
	be := openBackend(t)
	plain, _ := newTestService(t, be)
	guarded := New(be, Config{Faults: noFaults{}})
	t.Cleanup(guarded.Close)
	for _, s := range []*Service{plain, guarded} {
		for name, op := range s.Operations() {
			if op.Streaming != (name == "SubscribeToShard") {
				t.Errorf("%s: Streaming %v", name, op.Streaming)
			}
		}
	}
}
