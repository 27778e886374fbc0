package limits

import (
	"encoding/json"
	"net/http"
)

// Status is what GET /admin/limits shows.
type Status struct {
	// Mode is "off" or "aws".
	Mode string `json:"mode"`
	// Peers is the process count the limits are divided by.
	Peers int `json:"peers,omitempty"`
	// PerShard and Control are this process's share of each limit.
	PerShard *ShardLimits           `json:"perShard,omitempty"`
	Control  map[string]ControlRate `json:"control,omitempty"`
	// Buckets is how many rate buckets are held in memory.
	Buckets int `json:"buckets"`
}

// ShardLimits are the per-shard rates.
type ShardLimits struct {
	WriteRecordsPerSec float64 `json:"writeRecordsPerSecond"`
	WriteBytesPerSec   float64 `json:"writeBytesPerSecond"`
	ReadCallsPerSec    float64 `json:"readCallsPerSecond"`
	ReadBytesPerSec    float64 `json:"readBytesPerSecond"`
	PenaltyAfterBytes  int     `json:"penaltyAfterBytes"`
	PenaltySeconds     float64 `json:"penaltySeconds"`
	// IteratorCallsPerSec is GetShardIterator's; SubscribeCallsPerSec is
	// SubscribeToShard's, per consumer.
	IteratorCallsPerSec  float64 `json:"getShardIteratorCallsPerSecond"`
	SubscribeCallsPerSec float64 `json:"subscribeToShardCallsPerSecond"`
}

// Status reports the mode and this process's share of the limits. A nil
// Limiter is --limits=off.
func (l *Limiter) Status() Status {
	if l == nil {
		return Status{Mode: "off"}
	}
	n := l.Peers()
	div := float64(n)
	ctl := make(map[string]ControlRate, len(ControlRates))
	for op, cr := range ControlRates {
		ctl[op] = ControlRate{PerSec: cr.PerSec / div, Scope: cr.Scope}
	}
	return Status{
		Mode:  "aws",
		Peers: n,
		PerShard: &ShardLimits{
			WriteRecordsPerSec:   WriteRecordsPerSec / div,
			WriteBytesPerSec:     WriteBytesPerSec / div,
			ReadCallsPerSec:      ReadCallsPerSec / div,
			ReadBytesPerSec:      ReadBytesPerSec / div,
			PenaltyAfterBytes:    BigRead,
			PenaltySeconds:       Penalty.Seconds(),
			IteratorCallsPerSec:  IteratorCallsPerSec / div,
			SubscribeCallsPerSec: SubscribeCallsPerSec / div,
		},
		Control: ctl,
		Buckets: l.Size(),
	}
}

// Handler serves GET /admin/limits for l, which may be nil (off).
func Handler(l *Limiter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"message":"use GET"}` + "\n"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodHead {
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(l.Status())
	})
}
