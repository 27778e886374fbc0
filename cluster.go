package rivulet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"

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

// StartCluster starts n nodes of one cluster at once, as Start would
// each, on free loopback route ports, and returns them when all are up:
// for tests of code that must survive a node loss. Each node gets cfg
// with its own Cluster (name cfg.Cluster.Name or "test", nodes "n0",
// "n1", …) and its own data directory under cfg.DataDir, which is
// required. A node that fails to start stops the others.
func StartCluster(ctx context.Context, n int, cfg Config) ([]*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("rivulet: StartCluster needs a DataDir for the nodes' directories")
	}
	if n < 1 {
		return nil, fmt.Errorf("rivulet: StartCluster of %d nodes", n)
	}
	name := cfg.Cluster.Name
	if name == "" {
		name = "test"
	}
	// Every node's routes name the others' ports before any starts.
	var listens, routes []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listens = append(listens, l.Addr().String())
		routes = append(routes, "nats://"+l.Addr().String())
		l.Close()
	}
	srvs := make([]*Server, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		c := cfg
		c.DataDir = filepath.Join(cfg.DataDir, fmt.Sprintf("n%d", i))
		c.Cluster = Cluster{Name: name, Node: fmt.Sprintf("n%d", i), Listen: listens[i], Routes: routes, Wait: cfg.Cluster.Wait}
		wg.Go(func() { srvs[i], errs[i] = Start(ctx, c) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, s := range srvs {
			if s != nil {
				s.Close()
			}
		}
		return nil, err
	}
	return srvs, nil
}
