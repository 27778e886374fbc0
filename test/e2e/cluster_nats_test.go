package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/testbin"
)

// natsBin is nats-server, built from the module in go.mod.
var natsBin = &testbin.Binary{Pkg: "github.com/nats-io/nats-server/v2", Name: "nats-server"}

func natsServerBinary(t *testing.T) string { return natsBin.Path(t) }

// natsNode is one nats-server process of an external JetStream cluster.
type natsNode struct {
	name                     string
	port, routePort, monitor int
	conf                     string // its configuration file
	cmd                      *exec.Cmd
	log                      *syncBuffer
	done                     chan struct{}
	running                  bool
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

// startNATSCluster starts an n-node JetStream cluster on loopback, each
// node with its own store directory, and waits for its meta leader. Every
// process is killed at cleanup.
func startNATSCluster(t *testing.T, n int) []*natsNode {
	t.Helper()
	bin := natsServerBinary(t)
	nodes := make([]*natsNode, n)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{name: fmt.Sprintf("ns%d", i), port: freePort(t), routePort: freePort(t), monitor: freePort(t)}
		routes = append(routes, fmt.Sprintf("%q", fmt.Sprintf("nats://127.0.0.1:%d", nodes[i].routePort)))
	}
	dir := t.TempDir()
	for _, nd := range nodes {
		nd.conf = filepath.Join(dir, nd.name+".conf")
		conf := fmt.Sprintf(`server_name: %q
listen: "127.0.0.1:%d"
http: "127.0.0.1:%d"
jetstream {
  store_dir: %q
}
cluster {
  name: "ext"
  listen: "127.0.0.1:%d"
  routes: [%s]
}
`, nd.name, nd.port, nd.monitor, filepath.Join(dir, nd.name), nd.routePort, strings.Join(routes, ", "))
		if err := os.WriteFile(nd.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		nd.start(t, bin)
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			if nd.running {
				nd.kill(t)
			}
			if t.Failed() {
				t.Logf("nats-server %s log:\n%s", nd.name, tail(nd.log.String()))
			}
		}
	})
	waitNATSMeta(t, nodes, n)
	return nodes
}

// start runs the node on its configuration (and so its store directory).
func (n *natsNode) start(t *testing.T, bin string) {
	t.Helper()
	if n.log == nil {
		n.log = &syncBuffer{}
	}
	n.cmd = exec.Command(bin, "-c", n.conf)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nats-server %s: %v", n.name, err)
	}
	n.done = make(chan struct{})
	n.running = true
	go func() {
		n.cmd.Wait()
		close(n.done)
	}()
}

// kill ends the node with SIGKILL.
func (n *natsNode) kill(t *testing.T) {
	t.Helper()
	n.running = false
	n.cmd.Process.Kill()
	<-n.done
}

// natsMeta is the part of /jsz the tests read.
type natsMeta struct {
	Meta *struct {
		Leader   string `json:"leader"`
		Size     int    `json:"cluster_size"`
		Replicas []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"meta_cluster"`
}

// waitNATSMeta waits until every running node follows one meta leader,
// and that leader counts live current peers, itself included.
func waitNATSMeta(t *testing.T, nodes []*natsNode, live int) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	deadline := time.Now().Add(2 * hangTimeout)
	var last string
	for {
		leaders := map[string]bool{}
		ok, counted := true, false
		for _, nd := range nodes {
			if !nd.running {
				continue
			}
			var m natsMeta
			resp, err := hc.Get(fmt.Sprintf("http://127.0.0.1:%d/jsz", nd.monitor))
			if err == nil {
				err = json.NewDecoder(resp.Body).Decode(&m)
				resp.Body.Close()
			}
			if err != nil || m.Meta == nil || m.Meta.Leader == "" {
				ok, last = false, fmt.Sprintf("%s: no meta leader (%v)", nd.name, err)
				continue
			}
			leaders[m.Meta.Leader] = true
			if m.Meta.Leader == nd.name {
				counted = true
				current := 1
				for _, r := range m.Meta.Replicas {
					if r.Current && !r.Offline {
						current++
					}
				}
				if current < live {
					ok, last = false, fmt.Sprintf("leader %s: %d of %d nodes current", nd.name, current, live)
				}
			}
		}
		if ok && counted && len(leaders) == 1 {
			return
		}
		if len(leaders) > 1 {
			last = fmt.Sprintf("nodes disagree on the meta leader: %v", leaders)
		}
		if time.Now().After(deadline) {
			t.Fatalf("external NATS cluster not ready: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shardLeader names the NATS node leading the first shard log
// (KDS_…) that the cluster at url holds.
func shardLeader(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to the NATS cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, hangTimeout)
	defer cancel()
	var names []string
	list := js.StreamNames(ctx)
	for name := range list.Name() {
		if strings.HasPrefix(name, "KDS_") {
			names = append(names, name)
		}
	}
	if err := list.Err(); err != nil || len(names) == 0 {
		t.Fatalf("shard logs: %v, %v", names, err)
	}
	slices.Sort(names)
	st, err := js.Stream(ctx, names[0])
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	if info.Cluster == nil || info.Cluster.Leader == "" {
		t.Fatalf("%s has no leader: %+v", names[0], info.Cluster)
	}
	return info.Cluster.Leader
}

// waitMetaPeerDown waits until the metadata bucket's stream info, the
// view Rivulet has of an external cluster, shows a peer offline or not
// current.
func waitMetaPeerDown(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to the NATS cluster: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*hangTimeout)
	defer cancel()
	for {
		// Each request bounded: one sent to a leader as it dies is lost.
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := js.Stream(rctx, "KV_rivulet-meta")
		rcancel()
		if err == nil && st.CachedInfo().Cluster != nil {
			for _, p := range st.CachedInfo().Cluster.Replicas {
				if p.Offline || !p.Current {
					return
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no metadata replica counted down")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
