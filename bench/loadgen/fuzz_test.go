package loadgen

import "testing"

// FuzzParseID: ids round-trip, and any bytes read back are classified
// without a panic.
func FuzzParseID(f *testing.F) {
	f.Add([]byte("0123456789abcdefXYZ"), uint64(7), 3, uint64(12))
	f.Add([]byte{}, uint64(0), 0, uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, nonce uint64, worker int, seq uint64) {
		l := newLedger(2)
		l.read(data, nonce) // arbitrary data: counted, not trusted
		worker &= 1<<24 - 1
		seq &= 1<<40 - 1
		b := make([]byte, idLen+len(data))
		putID(b, nonce, worker, seq)
		w, s, ok := parseID(b, nonce)
		if !ok || w != worker || s != seq {
			t.Fatalf("round trip of %d/%d gave %d/%d %v", worker, seq, w, s, ok)
		}
		if _, _, ok := parseID(b, nonce+1); ok {
			t.Fatal("another run's id accepted")
		}
	})
}
