package rivulet

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/rivulet/rivulet/internal/store/natsstore"
)

// ClusterStatus is the cluster as one node sees it: its name, the
// JetStream meta leader, the nodes it has routes to, and the leader of
// every JetStream stream (docs/CLUSTER.md).
type ClusterStatus = natsstore.ClusterStatus

// ClusterStatus reports the cluster as this node sees it; outside a
// cluster the names are empty.
func (s *Server) ClusterStatus(ctx context.Context) (ClusterStatus, error) {
	return s.st.ClusterStatus(ctx)
}

// clusterHandler serves GET /admin/cluster on the admin listener.
func clusterHandler(st *natsstore.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"message":"use GET"}` + "\n"))
			return
		}
		cs, err := st.ClusterStatus(r.Context())
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"message": err.Error()})
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(cs)
	})
}
