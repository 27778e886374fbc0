package natsstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
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
// authenticate with the listener's user and password (auth.go), so a
// route listener beyond loopback without them is refused as a client
// listener would be.
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
	if auth.User == "" && !auth.AllowAnonymous && !netaddr.IsLoopback(listen) {
		return fmt.Errorf("natsstore: refusing cluster routes on %s without authentication: "+
			"whoever reaches it joins the cluster and sees every stream; "+
			"require a user and password, or allow anonymous routes explicitly", listen)
	}
	opts.ServerName = c.Node
	opts.Cluster = server.ClusterOpts{
		Name:     c.Name,
		Host:     host,
		Port:     p,
		Username: auth.User,
		Password: auth.Password,
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
	if s.replicas <= 1 || s.ns == nil || !s.ns.JetStreamIsClustered() {
		return nil
	}
	if live := liveNodes(s.ns); live < s.replicas {
		return fmt.Errorf("natsstore: %s: %w: %d replicas wanted, %d cluster node(s) live", what, store.ErrReplicas, s.replicas, live)
	}
	return nil
}

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
