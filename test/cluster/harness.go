package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/rivulet/rivulet"
	"github.com/rivulet/rivulet/internal/testbin"
)

// HarnessWait bounds every wait of the harness on a process or on the
// cluster. Only a hang reaches it: three race-enabled nodes on two shared
// cores take long to form a cluster or move leaders.
const HarnessWait = 3 * time.Minute

// statusWait bounds one /admin/cluster request, so that a paused node
// does not hold up a query of the others.
const statusWait = 5 * time.Second

// rivuletBin is ./cmd/rivulet, with -race when the tests run with -race,
// so the cluster doubles as a race test of the server.
// RIVULET_CLUSTER_BINARY names a prebuilt binary instead.
var rivuletBin = &testbin.Binary{Pkg: "./cmd/rivulet", Name: "rivulet", Race: raceEnabled, Env: "RIVULET_CLUSTER_BINARY"}

// Binary builds ./cmd/rivulet once per test binary and returns its path.
func Binary(t testing.TB) string { return rivuletBin.Path(t) }

// RemoveBinary removes what Binary built; TestMain calls it.
func RemoveBinary() { rivuletBin.Remove() }

// nodeLog is a node's output over all its runs. It keeps only the newest
// logKeep bytes, since a long fault run logs a lot, and remembers whether
// the race detector ever fired.
type nodeLog struct {
	mu    sync.Mutex
	buf   []byte
	races bool
}

const logKeep = 4 << 20

var raceMark = []byte("WARNING: DATA RACE")

func (l *nodeLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The mark may straddle two writes: look a little before p too.
	from := max(0, len(l.buf)-len(raceMark))
	l.buf = append(l.buf, p...)
	if bytes.Contains(l.buf[from:], raceMark) {
		l.races = true
	}
	if len(l.buf) > logKeep {
		l.buf = append(l.buf[:0], l.buf[len(l.buf)-logKeep/2:]...)
	}
	return len(p), nil
}

func (l *nodeLog) tail(limit int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) <= limit {
		return string(l.buf)
	}
	return "...\n" + string(l.buf[len(l.buf)-limit:])
}

func (l *nodeLog) raced() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.races
}

// Options configure a cluster.
type Options struct {
	Nodes int      // 3 if zero
	Sync  string   // --sync: "" for the server's default, or "always"
	Extra []string // more `rivulet serve` flags for every node
}

// Node is one `rivulet serve` process of a cluster. Its ports and data
// directory stay the same over restarts.
type Node struct {
	Name      string // n0, n1, …: the node name and JetStream server name
	Addr      string // Kinesis API host:port
	AdminAddr string // admin listener host:port (/admin/cluster)
	RouteAddr string // cluster route host:port
	DataDir   string

	args []string
	http *http.Client
	log  *nodeLog

	mu           sync.Mutex
	p            *process // the current or last run; nil before the first
	runs         int
	startupExits int
}

// process is one run of a node.
type process struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Endpoint is the node's Kinesis endpoint.
func (n *Node) Endpoint() string { return "http://" + n.Addr }

// Running reports whether the node's process is alive (a paused one is).
func (n *Node) Running() bool {
	p := n.current()
	return p != nil && !p.exited()
}

func (n *Node) current() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// Kinesis returns an aws-sdk-go-v2 client for this node. The server
// accepts any credentials by default.
func (n *Node) Kinesis() *kinesis.Client {
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "x", ""),
		HTTPClient:  n.http,
	}
	return kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(n.Endpoint()) })
}

// spawn starts a run of the node without waiting for it to serve.
func (n *Node) spawn(bin string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p != nil && !n.p.exited() {
		return fmt.Errorf("%s is already running", n.Name)
	}
	n.runs++
	fmt.Fprintf(n.log, "=== harness: %s run %d at %s ===\n", n.Name, n.runs, time.Now().Format(time.TimeOnly))
	cmd := exec.Command(bin, n.args...)
	// Only the harness's flags configure the node, not the RIVULET_*
	// settings of whoever runs the tests.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RIVULET_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout = n.log
	cmd.Stderr = n.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.Name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	n.p = p
	return nil
}

// waitHealthy waits until the node answers GET /health with 200.
func (n *Node) waitHealthy(ctx context.Context) error {
	p := n.current()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, n.Endpoint()+"/health", nil)
		if err != nil {
			return err
		}
		if resp, err := n.http.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was healthy: %v", n.Name, p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s not healthy: %w", n.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startRetries is how many times a node that exits during start-up is
// started again, as a supervisor (systemd's Restart=on-failure) would.
// Zero: a node waits in start-up for its cluster to recover (the cluster
// wait), so an exit there is a failure. Each exit is logged and counted in
// StartupExits.
const startRetries = 0

// supervise starts the node and waits until it is healthy, starting it
// again when it exits during start-up.
func (n *Node) supervise(ctx context.Context, bin string, logf func(string, ...any)) error {
	for attempt := 0; ; attempt++ {
		if err := n.spawn(bin); err != nil {
			return err
		}
		err := n.waitHealthy(ctx)
		if err == nil {
			return nil
		}
		p := n.current()
		if !p.exited() || attempt == startRetries || ctx.Err() != nil ||
			strings.Contains(n.log.tail(16<<10), "address already in use") {
			return err
		}
		n.mu.Lock()
		n.startupExits++
		n.mu.Unlock()
		logf("%s exited during start-up (%v): %s; starting it again", n.Name, p.waitErr, lastLine(n.log.tail(2<<10)))
	}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// StartupExits counts the runs of the node that exited during start-up
// and were started again.
func (n *Node) StartupExits() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.startupExits
}

// Start starts the node again on its data directory and ports, and waits
// until it is healthy.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	bin := Binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), HarnessWait)
	defer cancel()
	if err := n.supervise(ctx, bin, t.Logf); err != nil {
		t.Fatalf("%v\n%s log:\n%s", err, n.Name, n.log.tail(8<<10))
	}
}

// running returns the current process, failing the test if there is none.
func (n *Node) running(t testing.TB) *process {
	t.Helper()
	p := n.current()
	if p == nil || p.exited() {
		t.Fatalf("%s is not running", n.Name)
	}
	return p
}

// Kill9 ends the node with SIGKILL, as a crash would, and waits for it.
func (n *Node) Kill9(t testing.TB) {
	t.Helper()
	p := n.running(t)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Errorf("SIGKILL %s: %v", n.Name, err)
	}
	<-p.done
	n.checkRaces(t)
}

// Stop shuts the node down with SIGTERM and requires a clean exit.
func (n *Node) Stop(t testing.TB) {
	t.Helper()
	p := n.running(t)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM %s: %v", n.Name, err)
	}
	select {
	case <-p.done:
	case <-time.After(HarnessWait):
		t.Errorf("%s did not exit within %v of SIGTERM", n.Name, HarnessWait)
		p.cmd.Process.Kill()
		<-p.done
	}
	if p.waitErr != nil {
		t.Errorf("%s exited uncleanly after SIGTERM: %v", n.Name, p.waitErr)
	}
	n.checkRaces(t)
}

// Pause freezes the node with SIGSTOP: its sockets stay open but nothing
// answers, as on a machine that stalls.
func (n *Node) Pause(t testing.TB) {
	t.Helper()
	if err := n.running(t).cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("SIGSTOP %s: %v", n.Name, err)
	}
}

// Resume continues a paused node with SIGCONT.
func (n *Node) Resume(t testing.TB) {
	t.Helper()
	if err := n.running(t).cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatalf("SIGCONT %s: %v", n.Name, err)
	}
}

// Wipe empties the data directory of a stopped node, as a replacement
// machine has, and starts it again under the same name and ports.
func (n *Node) Wipe(t testing.TB) {
	t.Helper()
	if n.Running() {
		t.Fatalf("wipe %s: still running", n.Name)
	}
	entries, err := os.ReadDir(n.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(n.DataDir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	n.Start(t)
}

// Status is the cluster as the node sees it (GET /admin/cluster).
func (n *Node) Status(ctx context.Context) (rivulet.ClusterStatus, error) {
	var cs rivulet.ClusterStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.AdminAddr+"/admin/cluster", nil)
	if err != nil {
		return cs, err
	}
	resp, err := n.http.Do(req)
	if err != nil {
		return cs, fmt.Errorf("%s: %w", n.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var msg bytes.Buffer
		_, _ = msg.ReadFrom(resp.Body)
		return cs, fmt.Errorf("%s: /admin/cluster: %s: %s", n.Name, resp.Status, strings.TrimSpace(msg.String()))
	}
	if err := json.NewDecoder(resp.Body).Decode(&cs); err != nil {
		return cs, fmt.Errorf("%s: /admin/cluster: %w", n.Name, err)
	}
	return cs, nil
}

func (n *Node) checkRaces(t testing.TB) {
	t.Helper()
	if n.log.raced() {
		t.Errorf("the race detector fired inside %s", n.Name)
	}
}

// Cluster is a set of nodes started together.
type Cluster struct {
	Nodes []*Node

	tr *http.Transport
}

// Start starts o.Nodes nodes at once (each waits in start-up for the
// others) and waits until every one is healthy. Every process is killed
// at cleanup; if the test failed, the tail of each node's log is printed.
func Start(t *testing.T, o Options) *Cluster {
	t.Helper()
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	bin := Binary(t)
	base := t.TempDir()
	c := &Cluster{tr: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: statusWait}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
	}}
	httpc := &http.Client{Transport: rivulet.SDKTransport(c.tr)}
	t.Cleanup(func() { c.cleanup(t) })

	// A free port can be taken by someone else before a node binds it;
	// then start over on new ports.
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 3*o.Nodes)
		var routes []string
		for i := range o.Nodes {
			routes = append(routes, "nats://127.0.0.1:"+strconv.Itoa(ports[3*i+2]))
		}
		c.Nodes = nil
		for i := range o.Nodes {
			n := &Node{
				Name:      fmt.Sprintf("n%d", i),
				Addr:      "127.0.0.1:" + strconv.Itoa(ports[3*i]),
				AdminAddr: "127.0.0.1:" + strconv.Itoa(ports[3*i+1]),
				RouteAddr: "127.0.0.1:" + strconv.Itoa(ports[3*i+2]),
				DataDir:   filepath.Join(base, fmt.Sprintf("try%d", attempt), fmt.Sprintf("n%d", i)),
				http:      httpc,
				log:       &nodeLog{},
			}
			if err := os.MkdirAll(n.DataDir, 0o755); err != nil {
				t.Fatal(err)
			}
			n.args = []string{"serve", "--addr", n.Addr, "--admin-addr", n.AdminAddr, "--data-dir", n.DataDir,
				"--cluster-name", "test", "--node-name", n.Name, "--cluster-listen", n.RouteAddr,
				"--cluster-routes", strings.Join(routes, ","), "--create-delay", "100ms"}
			if o.Sync != "" {
				n.args = append(n.args, "--sync", o.Sync)
			}
			n.args = append(n.args, o.Extra...)
			c.Nodes = append(c.Nodes, n)
		}
		err := c.startAll(bin, t.Logf)
		if err == nil {
			return c
		}
		inUse := false
		for _, n := range c.Nodes {
			inUse = inUse || strings.Contains(n.log.tail(logKeep), "address already in use")
		}
		if !inUse || attempt == 3 {
			t.Fatal(err) // the cleanup prints the logs
		}
		t.Logf("a port was taken, starting over: %v", err)
		c.killAll()
	}
}

// startAll starts every node at once and waits for all to be healthy.
func (c *Cluster) startAll(bin string, logf func(string, ...any)) error {
	ctx, cancel := context.WithTimeout(context.Background(), HarnessWait)
	defer cancel()
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.supervise(ctx, bin, logf)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StartAll starts every stopped node at once, as after a coordinated
// crash (one node alone cannot form the cluster), and waits for health.
func (c *Cluster) StartAll(t testing.TB) {
	t.Helper()
	var stopped []*Node
	for _, n := range c.Nodes {
		if !n.Running() {
			stopped = append(stopped, n)
		}
	}
	sub := &Cluster{Nodes: stopped}
	if err := sub.startAll(Binary(t), t.Logf); err != nil {
		t.Fatal(err)
	}
}

// Kill9All sends SIGKILL to every running node at once, as a power cut
// would end them, and waits for all.
func (c *Cluster) Kill9All(t testing.TB) {
	t.Helper()
	nodes := c.Running()
	for _, n := range nodes {
		if err := n.current().cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Errorf("SIGKILL %s: %v", n.Name, err)
		}
	}
	for _, n := range nodes {
		<-n.current().done
		n.checkRaces(t)
	}
}

func (c *Cluster) killAll() {
	for _, n := range c.Nodes {
		if p := n.current(); p != nil && !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func (c *Cluster) cleanup(t *testing.T) {
	c.killAll()
	for _, n := range c.Nodes {
		n.checkRaces(t)
		if t.Failed() {
			t.Logf("%s (%s) log:\n%s", n.Name, n.Addr, n.log.tail(16<<10))
		}
	}
	c.tr.CloseIdleConnections()
}

// freePorts returns n distinct loopback ports nobody listened on a moment
// ago; nodes need each other's ports before any starts.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// Running returns the nodes whose process is alive.
func (c *Cluster) Running() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// Endpoints are the Kinesis endpoints of the running nodes.
func (c *Cluster) Endpoints() []string {
	var out []string
	for _, n := range c.Running() {
		out = append(out, n.Endpoint())
	}
	return out
}

// Node returns the node of that name, or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// leaderBy asks the running nodes in turn until one names, through pick,
// a running node, and returns it; it retries until ctx ends, as right
// after a fault the survivors may still name the lost node.
func (c *Cluster) leaderBy(ctx context.Context, what string, pick func(rivulet.ClusterStatus) string) (*Node, error) {
	var last error
	for {
		for _, n := range c.Running() {
			sctx, cancel := context.WithTimeout(ctx, statusWait)
			cs, err := n.Status(sctx)
			cancel()
			if err != nil {
				last = err
				continue
			}
			name := pick(cs)
			if l := c.Node(name); l != nil && l.Running() {
				return l, nil
			}
			last = fmt.Errorf("%s names %q as the leader of %s", n.Name, name, what)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no running leader of %s: %w (last: %v)", what, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// MetaLeader is the running node that leads the JetStream meta group.
func (c *Cluster) MetaLeader(ctx context.Context) (*Node, error) {
	return c.leaderBy(ctx, "the meta group", func(cs rivulet.ClusterStatus) string { return cs.MetaLeader })
}

// LeaderOf is the running node that leads the JetStream stream jsStream
// (a shard log is "KDS_<streamID>_<shard index>").
func (c *Cluster) LeaderOf(ctx context.Context, jsStream string) (*Node, error) {
	return c.leaderBy(ctx, jsStream, func(cs rivulet.ClusterStatus) string { return cs.Leaders[jsStream] })
}

// WaitSettled waits until every running node answers /admin/cluster,
// names the same running meta leader, has routes to every other running
// node, and names a running leader for every JetStream stream it lists.
func (c *Cluster) WaitSettled(ctx context.Context) error {
	for {
		why := c.unsettled(ctx)
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not settled: %s", why)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// unsettled says why the cluster is not settled, or "" if it is.
func (c *Cluster) unsettled(ctx context.Context) string {
	running := c.Running()
	if len(running) == 0 {
		return "no node is running"
	}
	meta := ""
	for _, n := range running {
		sctx, cancel := context.WithTimeout(ctx, statusWait)
		cs, err := n.Status(sctx)
		cancel()
		if err != nil {
			return err.Error()
		}
		if l := c.Node(cs.MetaLeader); l == nil || !l.Running() {
			return fmt.Sprintf("%s names meta leader %q, not a running node", n.Name, cs.MetaLeader)
		}
		if meta == "" {
			meta = cs.MetaLeader
		} else if cs.MetaLeader != meta {
			return fmt.Sprintf("%s names meta leader %s, another node %s", n.Name, cs.MetaLeader, meta)
		}
		for _, o := range running {
			if o != n && !slices.Contains(cs.Peers, o.Name) {
				return fmt.Sprintf("%s has no route to %s (peers %v)", n.Name, o.Name, cs.Peers)
			}
		}
		for js, name := range cs.Leaders {
			if l := c.Node(name); l == nil || !l.Running() {
				return fmt.Sprintf("%s names leader %q of %s, not a running node", n.Name, name, js)
			}
		}
	}
	return ""
}
