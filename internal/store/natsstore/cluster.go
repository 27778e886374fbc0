package natsstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/rivulet/rivulet/internal/netaddr"
	"github.com/rivulet/rivulet/internal/store"
)

// Cluster joins the embedded server to other embedded (or standalone)
// NATS servers as one JetStream cluster (docs/CLUSTER.md).
type Cluster struct {
	// Name is the cluster's name, the same on every node; empty means
	// no cluster.
	Name string
	// Node is this server's name, unique in the cluster; JetStream's
	// placement and Raft groups know the node by it.
	Node string
	// Listen is the host:port of the route listener (port 0 picks one).
	Listen string
	// Routes are the other nodes' route URLs (nats://host:port); this
	// node's own address may be among them.
	Routes []string
	// Wait bounds how long Open waits for the cluster to elect its
	// JetStream meta leader and take the metadata bucket; 0 means
	// DefaultClusterWait.
	Wait time.Duration
}

// DefaultClusterWait is how long Open waits for the cluster by default:
// the other nodes may be starting at the same time.
const DefaultClusterWait = 60 * time.Second

// DefaultClusterReplicas is the replica count of a cluster's streams
// when none is given.
const DefaultClusterReplicas = 3

// apply sets the server options of a cluster node. Routes
// authenticate with the listener's user and password, or by mutual TLS
// with its certificate and CA (auth.go), so a route listener beyond
// loopback without either is refused as a client listener would be.
func (c Cluster) apply(opts *server.Options, auth ServerAuth) error {
	if c.Node == "" {
		return errors.New("natsstore: cluster: a node name is required")
	}
	if strings.ContainsAny(c.Name, " \t\n") || strings.ContainsAny(c.Node, " \t\n") {
		return errors.New("natsstore: cluster: names must not contain spaces")
	}
	listen := c.Listen
	if listen == "" {
		listen = "127.0.0.1:6222"
	}
	host, p, err := listenAddr("cluster listen", listen)
	if err != nil {
		return err
	}
	tc, err := auth.routeTLS()
	if err != nil {
		return err
	}
	if auth.User == "" && tc == nil && !auth.AllowAnonymous && !netaddr.IsLoopback(listen) {
		return fmt.Errorf("natsstore: refusing cluster routes on %s without authentication: "+
			"whoever reaches it joins the cluster and sees every stream; "+
			"require a user and password or mutual TLS (a certificate, its key and a CA), "+
			"or allow anonymous routes explicitly", listen)
	}
	opts.ServerName = c.Node
	opts.Cluster = server.ClusterOpts{
		Name:     c.Name,
		Host:     host,
		Port:     p,
		Username: auth.User,
		Password: auth.Password,
	}
	if tc != nil {
		opts.Cluster.TLSConfig = tc
		opts.Cluster.TLSTimeout = routeTLSTimeout.Seconds()
	}
	for _, r := range c.Routes {
		u, err := url.Parse(strings.TrimSpace(r))
		if err != nil || u.Host == "" {
			return fmt.Errorf("natsstore: cluster route %q is not a URL like nats://host:6222", r)
		}
		if auth.User != "" && u.User == nil {
			u.User = url.UserPassword(auth.User, auth.Password)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return nil
}

// routeTLSTimeout bounds a route's TLS handshake: generous, as nodes
// start together on busy machines (nats-server's default is 2s).
const routeTLSTimeout = 5 * time.Second

// routeTLS is the routes' mutual TLS from the listener's certificate and
// CA, or nil without a certificate. Each node dials and accepts routes,
// so it presents its certificate both ways and checks its peers' against
// the CA both ways; route URLs stay nats://.
func (a ServerAuth) routeTLS() (*tls.Config, error) {
	switch {
	case a.TLSCertFile == "" && a.TLSCAFile == "":
		return nil, nil
	case a.TLSCertFile == "" || a.TLSKeyFile == "":
		return nil, errors.New("natsstore: cluster TLS: a CA needs a certificate and key to present to the other nodes")
	case a.TLSCAFile == "":
		return nil, errors.New("natsstore: cluster TLS: routes verify each other, so a certificate needs the CA that signed every node's")
	}
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: a.TLSCertFile,
		KeyFile:  a.TLSKeyFile,
		CaFile:   a.TLSCAFile,
		Verify:   true,
	})
	if err != nil {
		return nil, fmt.Errorf("natsstore: cluster TLS: %w", err)
	}
	tc.RootCAs = tc.ClientCAs
	return tc, nil
}

func (c Cluster) wait() time.Duration {
	if c.Wait > 0 {
		return c.Wait
	}
	return DefaultClusterWait
}

// openClustered opens the metadata bucket, retrying while the cluster
// elects leaders or waits for nodes: the first node up cannot place a
// replicated bucket alone.
func (s *Store) openClustered(ctx context.Context, c Cluster) error {
	ctx, cancel := context.WithTimeout(ctx, c.wait())
	defer cancel()
	backoff := 100 * time.Millisecond
	for {
		rctx, rcancel := context.WithTimeout(ctx, opTimeout)
		err := s.openBucket(rctx)
		if err == nil {
			err = s.replicaCurrent(rctx, "KV_"+metaBucket)
		}
		if err == nil {
			err = s.directReady(rctx)
		}
		rcancel()
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			if rerr := s.replicaError("meta bucket", err); rerr != nil {
				return rerr
			}
			return fmt.Errorf("natsstore: cluster not ready after %v: %w", c.wait(), err)
		case <-time.After(backoff):
		}
		s.log.Debug("waiting for the cluster", "err", err)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// replicaCurrent waits until this node leads stream or holds a current
// replica of it: a replica still catching up may take direct gets and
// leave them unanswered (nats-server drops a batch get it cannot count).
func (s *Store) replicaCurrent(ctx context.Context, stream string) error {
	for {
		st, err := s.js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		info := st.CachedInfo()
		if c := info.Cluster; c == nil || c.Leader == s.ns.Name() {
			return nil
		} else {
			for _, p := range c.Replicas {
				if p.Name == s.ns.Name() && p.Current && p.Lag == 0 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsstore: %s: this node's replica is not current: %w", stream, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// clusterRetry runs a start-up step; on a cluster node it runs it again
// while it fails for a reason that passes as the cluster settles (a
// stream or leader this node does not know of yet), each attempt with the
// usual bound, for up to the cluster's wait.
func (s *Store) clusterRetry(ctx context.Context, c Cluster, step func(context.Context) error) error {
	if s.ns == nil || c.Name == "" {
		sctx, cancel := withTimeout(ctx)
		defer cancel()
		return step(sctx)
	}
	ctx, cancel := context.WithTimeout(ctx, c.wait())
	defer cancel()
	backoff := 100 * time.Millisecond
	for {
		sctx, scancel := context.WithTimeout(ctx, opTimeout)
		err := step(sctx)
		scancel()
		if err == nil || !settling(err) || ctx.Err() != nil {
			return err
		}
		s.log.Debug("start-up step failed while the cluster settles; again", "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// settling reports whether err is one a cluster that has just formed
// gives until every node knows every stream and leader.
func settling(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(server.JSStreamNotFoundErr) {
		return true
	}
	return retryable(err) || errors.Is(err, jetstream.ErrStreamNotFound)
}

// directReady checks that the metadata bucket answers direct gets here:
// each replica subscribes to them only once it has caught up, and until
// then a get finds no responder or none replies.
func (s *Store) directReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _, err := s.directGet(ctx, "KV_"+metaBucket, directReq{Seq: 1, NextFor: kvSubjectPrefix + ">", Batch: 1})
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("natsstore: meta bucket: no direct get responder yet: %w", nats.ErrNoResponders)
	}
	return err
}

// waitCluster waits until the cluster has a JetStream meta leader this
// server follows, so the first API requests are not lost to an election.
func waitCluster(ctx context.Context, ns *server.Server) error {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if ns.JetStreamIsClustered() && ns.JetStreamIsCurrent() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("natsstore: cluster: no JetStream meta leader elected, %d cluster node(s) live "+
				"(a leader needs a majority of the nodes): %w", liveNodes(ns), ctx.Err())
		case <-t.C:
		}
	}
}

// liveNodes is how many cluster nodes this server reaches, itself
// included.
func liveNodes(ns *server.Server) int {
	rz, err := ns.Routez(nil)
	if err != nil {
		return 1
	}
	names := map[string]bool{}
	for _, r := range rz.Routes {
		names[r.RemoteName] = true
	}
	return len(names) + 1
}

// checkLiveNodes refuses a new log this node sees too few live nodes to
// replicate. JetStream would place it on a quorum and leave it short of
// replicas until the missing node returns.
func (s *Store) checkLiveNodes(what string) error {
	if s.replicas > 1 && s.ns == nil && s.js != nil {
		return s.checkExternalLive(what)
	}
	if s.replicas <= 1 || s.ns == nil || !s.ns.JetStreamIsClustered() {
		return nil
	}
	if live := liveNodes(s.ns); live < s.replicas {
		return fmt.Errorf("natsstore: %s: %w: %d replicas wanted, %d cluster node(s) live", what, store.ErrReplicas, s.replicas, live)
	}
	return nil
}

// checkExternalLive is checkLiveNodes on an external NATS, where this
// client sees no routes: the metadata bucket's peers stand for the
// cluster's nodes, so with as many replicas as wanted, its peers that are
// offline or not current (unheard of for JetStream's lost-quorum
// interval, 10s, or catching up) are nodes down. A bucket with fewer
// replicas tells nothing.
func (s *Store) checkExternalLive(what string) error {
	// CanPlace takes no context; the bound is the store's usual one.
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	// A replica just created or catching up is briefly not current
	// either: a count short of replicas is asked again before it counts.
	for attempt := 0; ; attempt++ {
		st, err := s.js.Stream(ctx, "KV_"+metaBucket)
		if err != nil {
			return nil // JetStream decides, as without the check
		}
		c := st.CachedInfo().Cluster
		if c == nil || len(c.Replicas)+1 < s.replicas {
			return nil
		}
		live := 0
		if c.Leader != "" {
			live++
		}
		for _, p := range c.Replicas {
			if !p.Offline && p.Current {
				live++
			}
		}
		if live >= s.replicas {
			return nil
		}
		if attempt == 3 {
			return fmt.Errorf("natsstore: %s: %w: %d replicas wanted, %d NATS cluster node(s) live", what, store.ErrReplicas, s.replicas, live)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

var _ store.Placer = (*Store)(nil)

// CanPlace implements store.Placer.
func (s *Store) CanPlace(what string) error { return s.checkLiveNodes(what) }

// createStream creates a stream, retrying while every node is live but
// JetStream still counts one offline: a node that just joined is placed
// only once its first statistics arrive.
func (s *Store) createStream(ctx context.Context, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	for {
		st, err := s.js.CreateStream(ctx, cfg)
		if err == nil || s.replicas <= 1 || s.ns == nil || !placementError(err) || liveNodes(s.ns) < s.replicas {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// placementError reports whether err is JetStream refusing a stream it
// cannot place: no suitable peers, or not enough of them.
func placementError(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode {
	case jetstream.ErrorCode(server.JSInsufficientResourcesErr), jetstream.ErrorCode(server.JSClusterNoPeersErrF):
		return true
	}
	return false
}

// replicaError is store.ErrReplicas, naming the replica count and the
// live nodes, when err is a placement refusal by a cluster short of
// nodes; else nil. JetStream says "insufficient resources" for both a
// full disk and missing peers, so the live nodes decide.
func (s *Store) replicaError(what string, err error) error {
	if s.replicas <= 1 || !placementError(err) {
		return nil
	}
	var apiErr *jetstream.APIError
	noPeers := errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(server.JSClusterNoPeersErrF)
	if s.ns != nil && s.ns.JetStreamIsClustered() {
		if live := liveNodes(s.ns); live < s.replicas || noPeers {
			return fmt.Errorf("natsstore: %s: %w: %d replicas wanted, %d cluster node(s) live: %w",
				what, store.ErrReplicas, s.replicas, live, err)
		}
		return nil
	}
	if noPeers {
		return fmt.Errorf("natsstore: %s: %w: %d replicas wanted: %w", what, store.ErrReplicas, s.replicas, err)
	}
	return nil
}

// retryable reports whether a failed request during cluster start may
// succeed later: an election, or nodes still joining.
func retryable(err error) bool {
	if placementError(err) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.ErrorCode(server.JSClusterNotAvailErr) {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders)
}

// listenAddr splits a "host:port" the embedded server listens on; port 0
// becomes the server's "pick one".
func listenAddr(what, addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("natsstore: %s: %w", what, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", 0, fmt.Errorf("natsstore: %s port: %w", what, err)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	return host, p, nil
}

// ClusterStatus is what this node knows of its cluster: served on the
// admin listener as /admin/cluster, for operators and the fault tests.
type ClusterStatus struct {
	// Node and Cluster are this node's names; empty outside a cluster.
	Node    string `json:"node"`
	Cluster string `json:"cluster"`
	// MetaLeader leads the JetStream meta group (placement); empty while
	// there is none.
	MetaLeader string `json:"metaLeader"`
	// Peers are the nodes this one has routes to, by name.
	Peers []string `json:"peers"`
	// Leaders maps each JetStream stream (shard logs "KDS_…", buckets
	// "KV_…") to the node leading it.
	Leaders map[string]string `json:"leaders"`
}

// ClusterStatus reports the cluster as this node sees it.
func (s *Store) ClusterStatus(ctx context.Context) (ClusterStatus, error) {
	st := ClusterStatus{Leaders: map[string]string{}}
	if s.ns != nil {
		st.Node = s.ns.Name()
		st.Cluster = s.ns.ClusterName()
		if jsz, err := s.ns.Jsz(&server.JSzOptions{}); err == nil && jsz.Meta != nil {
			st.MetaLeader = jsz.Meta.Leader
		}
		if rz, err := s.ns.Routez(nil); err == nil {
			seen := map[string]bool{}
			for _, r := range rz.Routes {
				if r.RemoteName != "" && !seen[r.RemoteName] {
					seen[r.RemoteName] = true
					st.Peers = append(st.Peers, r.RemoteName)
				}
			}
			slices.Sort(st.Peers)
		}
	}
	names := s.js.ListStreams(ctx)
	for info := range names.Info() {
		if info.Cluster != nil {
			st.Leaders[info.Config.Name] = info.Cluster.Leader
		}
	}
	if err := names.Err(); err != nil {
		return st, fmt.Errorf("natsstore: cluster status: %w", err)
	}
	return st, nil
}
