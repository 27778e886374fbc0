// Package config reads the settings of `rivulet serve` from flags, the
// environment and a config file.
//
// Every setting has a flag (--data-dir), an environment variable
// (RIVULET_DATA_DIR) and a config-file key (data-dir). Precedence, highest
// first: flag, environment, file, default. The file is named by --config or
// RIVULET_CONFIG and holds `key = value` lines; '#' starts a comment line and
// a value may be double-quoted. Unknown keys, repeated keys and bad values
// are errors. An empty environment variable counts as unset.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/kinesis/fault"
	"github.com/rivulet/rivulet/internal/kms"
	"github.com/rivulet/rivulet/internal/netaddr"
	"github.com/rivulet/rivulet/internal/readfile"
)

// EnvPrefix starts every environment variable name.
const EnvPrefix = "RIVULET_"

// Sync modes.
const (
	// StorageJetStream keeps records in NATS JetStream.
	StorageJetStream = "jetstream"
	// StorageDiscard throws records away: a benchmark ceiling.
	StorageDiscard = "discard"
	// SyncDefault acknowledges a write once JetStream has written it to its
	// files (it survives kill -9); JetStream fsyncs in the background.
	SyncDefault = "default"
	// SyncAlways fsyncs every write before acknowledging it (it survives
	// power loss).
	SyncAlways = "always"
)

// Limit modes.
const (
	// LimitsOff does not throttle.
	LimitsOff = "off"
	// LimitsAWS enforces AWS's per-shard and control-plane rates.
	LimitsAWS = "aws"
)

// AdminOff turns the admin listener off.
const AdminOff = "off"

// Authentication modes.
const (
	AuthNone  = "none"
	AuthSigV4 = "sigv4"
)

// Log formats.
const (
	LogText = "text"
	LogJSON = "json"
)

// Config is the complete serve configuration.
type Config struct {
	// Addr is the plain listener: HTTP/1.1 and h2c on one port.
	Addr string
	// TLSPort adds a TLS listener on Addr's host; 0 means none.
	TLSPort int
	// TLSCert and TLSKey are PEM files; both empty means self-signed.
	TLSCert string
	TLSKey  string
	DataDir string
	// InMemory keeps nothing on disk, not even a generated certificate.
	InMemory bool
	// HTTPFastPath answers plain HTTP/1.1 requests with Rivulet's own
	// small server; false hands every request to net/http.
	HTTPFastPath bool
	// Storage is StorageJetStream, or StorageDiscard for benchmarks.
	Storage string
	// NATSURL names an external NATS; empty runs one in-process.
	NATSURL string
	// PprofAddr, if set, serves net/http/pprof there (profiling only).
	PprofAddr string
	// MemoryLimit is the Go runtime's soft memory limit in bytes; 0 means
	// none.
	MemoryLimit int64
	// MaxStorage caps the embedded JetStream's storage in bytes; 0 means
	// JetStream's default (75% of the free disk).
	MaxStorage int64
	// KMSKeys is the key ring file of server-side encryption; "" means
	// only alias/aws/kinesis.
	KMSKeys string
	// Delivery streams (docs/FIREHOSE.md): BucketDir holds BucketARN
	// buckets as directories unless S3Endpoint names an S3-compatible
	// store; LambdaEndpoint invokes transformation functions given as
	// ARNs; NoDelivery serves the API without delivering from this process.
	BucketDir         string
	S3Endpoint        string
	S3Region          string
	S3AccessKeyID     string
	S3SecretAccessKey string
	S3VirtualHosted   bool
	LambdaEndpoint    string
	Delivery          bool
	// Metrics (docs/METRICS.md): off counts nothing; datapoints are kept
	// MetricsRetention and written every MetricsFlush; MetricsOpen serves
	// /metrics unsigned with --auth=sigv4.
	MetricsOff       bool
	MetricsRetention time.Duration
	MetricsFlush     time.Duration
	MetricsOpen      bool
	// NATSStoreKey turns on JetStream's encryption of the embedded file
	// store (the key itself, read from the file when given as @FILE);
	// NATSStoreCipher is "aes" or "chacha".
	NATSStoreKey    string
	NATSStoreCipher string
	// NATSListen makes the embedded NATS accept clients, so other rivulet
	// processes can share its storage with --nats-url.
	NATSListen string
	// NATSUser and NATSPassword, or NATSToken, are what the embedded NATS
	// requires (with NATSListen) or what this process presents (with
	// NATSURL); NATSCreds is a credentials file, for NATSURL only.
	NATSUser, NATSPassword, NATSToken, NATSCreds string
	// NATSTLSCert and NATSTLSKey are the embedded NATS's certificate
	// (NATSListen, and the routes with ClusterName) or a client
	// certificate (NATSURL); NATSTLSCA is the CA clients' and other
	// nodes' certificates must chain to (NATSListen, ClusterName) or the
	// server's (NATSURL).
	NATSTLSCert, NATSTLSKey, NATSTLSCA string
	// NATSAllowAnonymous lets NATSListen or ClusterListen be a
	// non-loopback address with no authentication.
	NATSAllowAnonymous bool
	// ClusterName joins the embedded NATS to the nodes at ClusterRoutes
	// as one JetStream cluster, this one named NodeName, taking routes at
	// ClusterListen (docs/CLUSTER.md).
	ClusterName, NodeName, ClusterListen, ClusterRoutes string
	// AdminAddr is the admin listener's address, or AdminOff.
	AdminAddr string
	Replicas  int
	// replicasGiven is set when a source named --replicas: a cluster's
	// default is 3, not 1.
	replicasGiven bool
	// Sync is SyncDefault or SyncAlways.
	Sync                string
	CreateDelay         time.Duration
	DeleteDelay         time.Duration
	ReshardDelay        time.Duration
	ConsumerCreateDelay time.Duration
	ConsumerDeleteDelay time.Duration
	OnDemandSplitAfter  time.Duration
	OnDemandMergeAfter  time.Duration
	OnDemandHotRecords  int
	OnDemandHotBytes    int
	ShardLimit          int
	// Limits is LimitsOff or LimitsAWS.
	Limits string
	// Faults is the fault rules as given: inline JSON or @file, checked
	// by fault.Load; "" means none.
	Faults string
	// ShutdownTimeout bounds how long shutdown waits for in-flight
	// requests.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request head.
	ReadHeaderTimeout time.Duration
	// ReadBodyTimeout (0: none) plus the body's length at ReadBodyMinRate
	// bytes a second (0: no allowance) bounds reading a request body.
	ReadBodyTimeout time.Duration
	ReadBodyMinRate int64
	// MaxConnections caps open connections per listener; 0 means none.
	MaxConnections int
	// Auth is AuthNone or AuthSigV4 as set by a flag, the environment or
	// the file; "" is the default, which is AuthNone without asking for
	// it (see CheckExposure).
	Auth string
	// Credentials is the credentials file for AuthSigV4.
	Credentials string
	LogLevel    slog.Level
	// LogFormat is LogText or LogJSON.
	LogFormat string
	// File is the config file that was read, or "".
	File string
}

// TLSAddr is the TLS listener's address, or "" when TLS is off.
func (c *Config) TLSAddr() string {
	if c.TLSPort == 0 {
		return ""
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return ""
	}
	return net.JoinHostPort(host, strconv.Itoa(c.TLSPort))
}

// setting is one configurable value. name is the flag and the file key.
type setting struct {
	name    string
	def     string
	usage   string
	isBool  bool
	set     func(c *Config, v string) error
	defText string // shown in usage instead of def, if set
}

// EnvName is the environment variable of a setting name ("data-dir" ->
// "RIVULET_DATA_DIR").
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

var settings = []setting{
	{name: "addr", def: "127.0.0.1:4567", usage: "listen address for HTTP/1.1 and cleartext HTTP/2 (prior knowledge)",
		set: func(c *Config, v string) error {
			if _, err := parseAddr(v); err != nil {
				return err
			}
			c.Addr = v
			return nil
		}},
	{name: "tls-port", def: "0", defText: "off", usage: "also serve TLS (h2 by ALPN and HTTP/1.1) on this port of the --addr host",
		set: func(c *Config, v string) error {
			p, err := parsePort(v)
			c.TLSPort = p
			return err
		}},
	{name: "tls-cert", usage: "PEM certificate (chain) for TLS; without it a self-signed certificate is kept in the data directory",
		set: func(c *Config, v string) error { c.TLSCert = v; return nil }},
	{name: "tls-key", usage: "PEM private key for --tls-cert",
		set: func(c *Config, v string) error { c.TLSKey = v; return nil }},
	{name: "http-fast-path", def: "true", isBool: true, usage: "answer plain HTTP/1.1 requests with Rivulet's own small server; false hands every request to Go's net/http",
		set: func(c *Config, v string) (err error) { c.HTTPFastPath, err = parseBool(v); return err }},
	{name: "data-dir", def: "./rivulet-data", usage: "directory for stored data (the embedded NATS) and the generated TLS certificate",
		set: func(c *Config, v string) error {
			if v == "" {
				return errors.New("must not be empty")
			}
			c.DataDir = v
			return nil
		}},
	{name: "storage", def: StorageJetStream, usage: "\"jetstream\" stores records; \"discard\" acknowledges and throws them away (benchmarks only: the ceiling without storage)",
		set: func(c *Config, v string) error {
			switch v {
			case StorageJetStream, StorageDiscard:
				c.Storage = v
				return nil
			}
			return fmt.Errorf("%q is not one of jetstream, discard", v)
		}},
	{name: "in-memory", def: "false", isBool: true, usage: "keep everything in memory; nothing survives a restart",
		set: func(c *Config, v string) (err error) { c.InMemory, err = parseBool(v); return err }},
	{name: "nats-url", defText: "embedded", usage: "URL(s) of an external NATS 2.11+ with JetStream, comma-separated; empty runs NATS in-process",
		set: func(c *Config, v string) error {
			if err := checkNATSURL(v); err != nil {
				return err
			}
			c.NATSURL = v
			return nil
		}},
	{name: "nats-listen", defText: "off", usage: "let other processes use the embedded NATS at this host:port (e.g. a second rivulet serve --nats-url nats://HOST:PORT); beyond loopback it needs --nats-user and --nats-password, --nats-token or --nats-tls-ca (docs/SECURITY.md)",
		set: func(c *Config, v string) error {
			if v == "" {
				c.NATSListen = ""
				return nil
			}
			if _, err := parseAddr(v); err != nil {
				return err
			}
			c.NATSListen = v
			return nil
		}},
	{name: "nats-user", usage: "with --nats-listen, the user the embedded NATS requires; with --nats-url, the user to present (needs --nats-password)",
		set: func(c *Config, v string) error { c.NATSUser = v; return nil }},
	{name: "nats-password", usage: "the password of --nats-user (better set as " + EnvPrefix + "NATS_PASSWORD or in the --config file: flags are visible in the process list)",
		set: func(c *Config, v string) error { c.NATSPassword = v; return nil }},
	{name: "nats-token", usage: "with --nats-listen, the token the embedded NATS requires; with --nats-url, the token to present (better set as " + EnvPrefix + "NATS_TOKEN)",
		set: func(c *Config, v string) error { c.NATSToken = v; return nil }},
	{name: "nats-creds", usage: "with --nats-url, a NATS credentials file (user JWT and NKey seed) to authenticate with",
		set: func(c *Config, v string) error { c.NATSCreds = v; return nil }},
	{name: "nats-tls-cert", usage: "PEM certificate: with --nats-listen the embedded NATS serves TLS only, with it; with --cluster-name the routes use mutual TLS with it (needs --nats-tls-ca); with --nats-url it is the client certificate (needs --nats-tls-key)",
		set: func(c *Config, v string) error { c.NATSTLSCert = v; return nil }},
	{name: "nats-tls-key", usage: "PEM private key for --nats-tls-cert",
		set: func(c *Config, v string) error { c.NATSTLSKey = v; return nil }},
	{name: "nats-tls-ca", usage: "PEM CA certificate(s): with --nats-listen clients, and with --cluster-name other nodes, must present a certificate they signed; with --nats-url the server's certificate is trusted if they signed it",
		set: func(c *Config, v string) error { c.NATSTLSCA = v; return nil }},
	{name: "nats-allow-anonymous", def: "false", isBool: true, usage: "allow --nats-listen on a non-loopback address without any authentication (anyone who reaches it can read and change every stream)",
		set: func(c *Config, v string) (err error) { c.NATSAllowAnonymous, err = parseBool(v); return err }},
	{name: "cluster-name", defText: "none", usage: "join the embedded NATS to the nodes of --cluster-routes as one JetStream cluster of this name, the same on every node (docs/CLUSTER.md)",
		set: func(c *Config, v string) error {
			if strings.ContainsAny(v, " \t") {
				return fmt.Errorf("%q contains a space", v)
			}
			c.ClusterName = v
			return nil
		}},
	{name: "node-name", usage: "with --cluster-name, this node's name, unique in the cluster",
		set: func(c *Config, v string) error {
			if strings.ContainsAny(v, " \t") {
				return fmt.Errorf("%q contains a space", v)
			}
			c.NodeName = v
			return nil
		}},
	{name: "cluster-listen", defText: "127.0.0.1:6222", usage: "with --cluster-name, the host:port other nodes' routes connect to; beyond loopback it needs --nats-user and --nats-password, or --nats-tls-cert, --nats-tls-key and --nats-tls-ca (mutual TLS), which routes then require and present (docs/CLUSTER.md)",
		set: func(c *Config, v string) error {
			if v != "" {
				if _, err := parseAddr(v); err != nil {
					return err
				}
			}
			c.ClusterListen = v
			return nil
		}},
	{name: "cluster-routes", defText: "none", usage: "with --cluster-name, the nodes' --cluster-listen addresses as nats://HOST:PORT, comma-separated; this node's own may be listed",
		set: func(c *Config, v string) error {
			if err := checkRoutes(v); err != nil {
				return err
			}
			c.ClusterRoutes = v
			return nil
		}},
	{name: "admin-addr", def: "127.0.0.1:4568", usage: "the admin listener (/admin/faults, /admin/limits, /health) at this host:port, or \"off\"; it refuses requests from other sites, and a non-loopback address is served with a warning (docs/SECURITY.md)",
		set: func(c *Config, v string) error {
			if v != AdminOff {
				if _, err := parseAddr(v); err != nil {
					return fmt.Errorf("%w, or \"off\"", err)
				}
			}
			c.AdminAddr = v
			return nil
		}},
	{name: "pprof-addr", defText: "off", usage: "serve Go's net/http/pprof profiles at this host:port (for profiling; keep it on loopback)",
		set: func(c *Config, v string) error {
			if v != "" {
				if _, err := parseAddr(v); err != nil {
					return err
				}
			}
			c.PprofAddr = v
			return nil
		}},
	{name: "memory-limit", def: "256MiB", usage: "soft memory limit for the Go runtime (e.g. 512MiB, 2GiB; 0 for none): the garbage collector works harder near it, the process may still go past it; a GOMEMLIMIT in the environment replaces the default",
		set: func(c *Config, v string) (err error) { c.MemoryLimit, err = parseSize(v); return err }},
	{name: "max-storage", def: "0", usage: "cap on the embedded JetStream's storage (e.g. 512MiB, 20GiB; 0 for JetStream's default, 75% of the free disk); checked at start against the data directory's free space, records stop a reserve below it so deletes and reads still work when full",
		set: func(c *Config, v string) (err error) { c.MaxStorage, err = parseSize(v); return err }},
	{name: "kms-keys", defText: "none", usage: "JSON file of KMS master keys for StartStreamEncryption (id, aliases, base64 material, enabled); alias/aws/kinesis always exists (docs/SECURITY.md)",
		set: func(c *Config, v string) error {
			if _, err := kms.Load(v); err != nil {
				return err
			}
			c.KMSKeys = v
			return nil
		}},
	{name: "bucket-dir", defText: "DATA-DIR/buckets", usage: "directory holding the S3 buckets delivery streams write to, one subdirectory per bucket (the local directory destination, a Rivulet extension), unless --s3-endpoint is set",
		set: func(c *Config, v string) error { c.BucketDir = v; return nil }},
	{name: "s3-endpoint", defText: "none", usage: "URL of an S3-compatible store (or \"aws\") that delivery streams write their buckets to, instead of --bucket-dir",
		set: func(c *Config, v string) error {
			if v != "aws" && v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return errors.New("want http://HOST:PORT, https://HOST:PORT or aws")
				}
			}
			c.S3Endpoint = v
			return nil
		}},
	{name: "s3-region", def: "us-east-1", usage: "region of --s3-endpoint",
		set: func(c *Config, v string) error { c.S3Region = v; return nil }},
	{name: "s3-access-key-id", defText: "from the environment", usage: "access key of --s3-endpoint; without it (and --s3-secret-access-key) the AWS SDK's default chain: AWS_ACCESS_KEY_ID and the like",
		set: func(c *Config, v string) error { c.S3AccessKeyID = v; return nil }},
	{name: "s3-secret-access-key", defText: "from the environment", usage: "secret key of --s3-endpoint",
		set: func(c *Config, v string) error { c.S3SecretAccessKey = v; return nil }},
	{name: "s3-virtual-hosted", def: "false", isBool: true, usage: "address --s3-endpoint's buckets as BUCKET.HOST instead of HOST/BUCKET",
		set: func(c *Config, v string) (err error) { c.S3VirtualHosted, err = parseBool(v); return err }},
	{name: "lambda-endpoint", defText: "none", usage: "URL of a Lambda-compatible invoke API (such as the Runtime Interface Emulator) for transformation functions given as ARNs; a LambdaArn that is an http(s) URL is posted to directly",
		set: func(c *Config, v string) error {
			if u, err := url.Parse(v); v != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
				return errors.New("want http://HOST:PORT or https://HOST:PORT")
			}
			c.LambdaEndpoint = v
			return nil
		}},
	{name: "delivery", def: "true", isBool: true, usage: "run delivery streams from this process; false serves the Firehose API only, leaving delivery to other processes on the same NATS",
		set: func(c *Config, v string) (err error) { c.Delivery, err = parseBool(v); return err }},
	{name: "metrics", def: "on", usage: "count AWS/Kinesis and AWS/Firehose metrics for /metrics, the CloudWatch API and the console: on or off (off only to measure their cost)",
		set: func(c *Config, v string) error {
			switch v {
			case "on":
				c.MetricsOff = false
			case "off":
				c.MetricsOff = true
			default:
				return errors.New("want on or off")
			}
			return nil
		}},
	{name: "metrics-retention", def: "24h", usage: "how long one-minute metric datapoints are kept in NATS for the CloudWatch API (e.g. 24h, 336h)",
		set: func(c *Config, v string) (err error) { c.MetricsRetention, err = parsePositive(v); return err }},
	{name: "metrics-flush", def: "10s", usage: "how often each process writes the metrics it counted to NATS; the CloudWatch API sees them after this",
		set: func(c *Config, v string) (err error) { c.MetricsFlush, err = parsePositive(v); return err }},
	{name: "metrics-open", def: "false", isBool: true, usage: "serve /metrics on the admin listener without a signature even with --auth=sigv4, for Prometheus scrapers",
		set: func(c *Config, v string) (err error) { c.MetricsOpen, err = parseBool(v); return err }},
	{name: "nats-store-key", defText: "off", usage: "encrypt everything the embedded NATS writes to disk with this key (JetStream store encryption); @FILE reads it from a file; the data directory then opens only with it",
		set: func(c *Config, v string) error {
			if name, ok := strings.CutPrefix(v, "@"); ok {
				b, err := os.ReadFile(name)
				if err != nil {
					return err
				}
				if v = strings.TrimSpace(string(b)); v == "" {
					return fmt.Errorf("%s is empty", name)
				}
			}
			c.NATSStoreKey = v
			return nil
		}},
	{name: "nats-store-cipher", def: "aes", usage: "cipher of --nats-store-key: \"aes\" (AES-GCM) or \"chacha\" (ChaCha20-Poly1305)",
		set: func(c *Config, v string) error {
			switch v {
			case "aes", "chacha":
				c.NATSStoreCipher = v
				return nil
			}
			return fmt.Errorf("%q is not one of aes, chacha", v)
		}},
	{name: "replicas", def: "1", defText: "1, or 3 with --cluster-name", usage: "JetStream replicas per stream (1-5; more than 1 needs --cluster-name or a clustered --nats-url)",
		set: func(c *Config, v string) error {
			n, err := parseInt(v, 1, 5)
			c.Replicas, c.replicasGiven = n, true
			return err
		}},
	{name: "sync", def: SyncDefault, usage: "when a write is acknowledged: \"default\" once written to the files (survives kill -9), \"always\" after fsync (survives power loss)",
		set: func(c *Config, v string) error {
			switch v {
			case SyncDefault, SyncAlways:
				c.Sync = v
				return nil
			}
			return fmt.Errorf("%q is not one of default, always", v)
		}},
	{name: "create-delay", def: "500ms", usage: "how long a new stream stays CREATING",
		set: func(c *Config, v string) (err error) { c.CreateDelay, err = parseDelay(v); return err }},
	{name: "delete-delay", def: "500ms", usage: "how long a deleted stream stays DELETING",
		set: func(c *Config, v string) (err error) { c.DeleteDelay, err = parseDelay(v); return err }},
	{name: "consumer-create-delay", def: "500ms", usage: "how long a new stream consumer stays CREATING",
		set: func(c *Config, v string) (err error) { c.ConsumerCreateDelay, err = parseDelay(v); return err }},
	{name: "consumer-delete-delay", def: "500ms", usage: "how long a deregistered stream consumer stays DELETING",
		set: func(c *Config, v string) (err error) { c.ConsumerDeleteDelay, err = parseDelay(v); return err }},
	{name: "reshard-delay", def: "500ms", usage: "how long a stream stays UPDATING before a reshard, mode change or encryption change takes effect",
		set: func(c *Config, v string) (err error) { c.ReshardDelay, err = parseDelay(v); return err }},
	{name: "ondemand-split-after", def: "30s", usage: "ON_DEMAND streams split a shard whose writes stay above --ondemand-hot-records or --ondemand-hot-bytes per second this long",
		set: func(c *Config, v string) (err error) { c.OnDemandSplitAfter, err = parseDelay(v); return err }},
	{name: "ondemand-merge-after", def: "10m", usage: "ON_DEMAND streams merge two adjacent shards whose writes both stay under a tenth of the hot rates this long",
		set: func(c *Config, v string) (err error) { c.OnDemandMergeAfter, err = parseDelay(v); return err }},
	{name: "ondemand-hot-records", def: "1000", usage: "records per second above which an ON_DEMAND shard counts as hot",
		set: func(c *Config, v string) (err error) {
			c.OnDemandHotRecords, err = parseInt(v, 1, 1_000_000_000)
			return err
		}},
	{name: "ondemand-hot-bytes", def: "1048576", usage: "bytes per second above which an ON_DEMAND shard counts as hot",
		set: func(c *Config, v string) (err error) { c.OnDemandHotBytes, err = parseInt(v, 1, 1<<40); return err }},
	{name: "shard-limit", def: "500", usage: "the account's shard limit per region",
		set: func(c *Config, v string) (err error) { c.ShardLimit, err = parseInt(v, 1, 1_000_000); return err }},
	{name: "limits", def: LimitsOff, usage: "\"off\" does not throttle; \"aws\" enforces AWS's per-shard and control-plane rates (docs/LIMITS.md)",
		set: func(c *Config, v string) error {
			switch v {
			case LimitsOff, LimitsAWS:
				c.Limits = v
				return nil
			}
			return fmt.Errorf("%q is not one of off, aws", v)
		}},
	{name: "faults", defText: "none", usage: "fault injection rules: a JSON array, or @FILE holding one; changeable at run time at /admin/faults (docs/LIMITS.md)",
		set: func(c *Config, v string) error {
			if _, err := fault.Load(v); err != nil {
				return err
			}
			c.Faults = v
			return nil
		}},
	{name: "shutdown-timeout", def: "10s", usage: "how long shutdown waits for in-flight requests before closing them",
		set: func(c *Config, v string) (err error) { c.ShutdownTimeout, err = parseDelay(v); return err }},
	{name: "read-header-timeout", def: "10s", usage: "how long a client may take to send a request head (on a new connection from its accept); slower ones are disconnected",
		set: func(c *Config, v string) error {
			d, err := parseDelay(v)
			if err == nil && d == 0 {
				err = fmt.Errorf("%q: must be more than 0", v)
			}
			c.ReadHeaderTimeout = d
			return err
		}},
	{name: "read-body-timeout", def: "30s", usage: "a request body must be read within this plus its length at --read-body-min-rate (0 for no limit; docs/OPERATIONS.md)",
		set: func(c *Config, v string) (err error) { c.ReadBodyTimeout, err = parseDelay(v); return err }},
	{name: "read-body-min-rate", def: "64KiB", usage: "bytes per second of request body allowed for on top of --read-body-timeout (e.g. 64KiB, 1MiB; 0 for none)",
		set: func(c *Config, v string) (err error) { c.ReadBodyMinRate, err = parseSize(v); return err }},
	{name: "max-connections", def: "10000", usage: "open connections allowed per listener; more are refused, with a warning at most once a minute (0 for no cap)",
		set: func(c *Config, v string) (err error) { c.MaxConnections, err = parseInt(v, 0, 100_000_000); return err }},
	{name: "auth", defText: AuthNone, usage: "\"none\" accepts any well-formed signature (a 12-digit access key id selects the account); \"sigv4\" verifies every signature against --credentials (docs/SECURITY.md)",
		set: func(c *Config, v string) error {
			switch v {
			case "", AuthNone, AuthSigV4:
				c.Auth = v
			default:
				return fmt.Errorf("%q is not one of none, sigv4", v)
			}
			return nil
		}},
	{name: "credentials", defText: "none", usage: "JSON file of access keys, their accounts and policies, for --auth=sigv4 (docs/SECURITY.md)",
		set: func(c *Config, v string) error { c.Credentials = v; return nil }},
	{name: "log-level", def: "info", usage: "debug, info, warn or error",
		set: func(c *Config, v string) error {
			switch strings.ToLower(v) {
			case "debug":
				c.LogLevel = slog.LevelDebug
			case "info":
				c.LogLevel = slog.LevelInfo
			case "warn", "warning":
				c.LogLevel = slog.LevelWarn
			case "error":
				c.LogLevel = slog.LevelError
			default:
				return fmt.Errorf("%q is not one of debug, info, warn, error", v)
			}
			return nil
		}},
	{name: "log-format", def: LogText, usage: "text or json",
		set: func(c *Config, v string) error {
			switch v {
			case LogText, LogJSON:
				c.LogFormat = v
				return nil
			}
			return fmt.Errorf("%q is not one of text, json", v)
		}},
}

func lookup(name string) (*setting, bool) {
	for i := range settings {
		if settings[i].name == name {
			return &settings[i], true
		}
	}
	return nil, false
}

// Default returns the configuration with every setting at its default.
func Default() *Config {
	c := &Config{}
	for _, s := range settings {
		if err := s.set(c, s.def); err != nil {
			panic(fmt.Sprintf("config: bad default for %s: %v", s.name, err))
		}
	}
	c.replicasGiven = false
	return c
}

// ErrHelp is returned by Load when the arguments ask for help.
var ErrHelp = flag.ErrHelp

// rawFlag records a flag's text; values are checked later, in precedence
// order, so errors name the source.
type rawFlag struct {
	isBool bool
	v      *string
}

func (f rawFlag) String() string {
	if f.v == nil {
		return ""
	}
	return *f.v
}
func (f rawFlag) Set(v string) error { *f.v = v; return nil }
func (f rawFlag) IsBoolFlag() bool   { return f.isBool }

// Load builds the configuration from command-line arguments (after the
// subcommand name), the environment (lookupEnv, usually os.LookupEnv) and
// the config file they name. The error says which flag, variable or file
// line is wrong.
func Load(args []string, lookupEnv func(string) (string, bool)) (*Config, error) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	flags := make(map[string]*string)
	for _, s := range settings {
		v := new(string)
		fs.Var(rawFlag{isBool: s.isBool, v: v}, s.name, s.usage)
		flags[s.name] = v
	}
	var file string
	fs.StringVar(&file, "config", "", "config file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, ErrHelp
		}
		return nil, flagError(err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (settings are flags: --name value)", fs.Arg(0))
	}
	given := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	env := func(name string) (string, bool) {
		if lookupEnv == nil {
			return "", false
		}
		v, ok := lookupEnv(EnvName(name))
		return v, ok && v != ""
	}
	if !given["config"] {
		file, _ = env("config")
	}

	c := Default()
	if file != "" {
		if err := loadFile(c, file); err != nil {
			return nil, err
		}
		c.File = file
	}
	for _, s := range settings {
		if v, ok := env(s.name); ok {
			if err := s.set(c, v); err != nil {
				return nil, fmt.Errorf("invalid %s: %w", EnvName(s.name), err)
			}
		}
	}
	for _, s := range settings {
		if given[s.name] {
			if err := s.set(c, *flags[s.name]); err != nil {
				return nil, fmt.Errorf("invalid --%s: %w", s.name, err)
			}
		}
	}
	if c.ClusterName != "" && !c.replicasGiven {
		c.Replicas = 3
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// flagError rewords the flag package's errors to use --name.
func flagError(err error) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return fmt.Errorf("unknown flag %s", dashes(name))
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return fmt.Errorf("flag %s needs a value", dashes(name))
	}
	return err
}

func dashes(name string) string { return "--" + strings.TrimLeft(name, "-") }

// check validates combinations of settings.
func (c *Config) check() error {
	switch {
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key must be given together")
	case c.TLSCert != "" && c.TLSPort == 0:
		return errors.New("--tls-cert and --tls-key need --tls-port")
	case c.NATSListen != "" && c.NATSURL != "":
		return errors.New("--nats-listen applies to the embedded NATS; it cannot be used with --nats-url")
	case c.ClusterName != "" && c.NATSURL != "":
		return errors.New("--cluster-name joins the embedded NATS to a cluster; it cannot be used with --nats-url")
	case c.ClusterName == "" && (c.NodeName != "" || c.ClusterListen != "" || c.ClusterRoutes != ""):
		return errors.New("--node-name, --cluster-listen and --cluster-routes need --cluster-name")
	case c.ClusterName != "" && c.NodeName == "":
		return errors.New("--cluster-name needs --node-name, unique in the cluster")
	case c.Replicas > 1 && c.NATSURL == "" && c.ClusterName == "":
		return errors.New("--replicas above 1 needs --cluster-name or a clustered --nats-url")
	case c.NATSStoreKey != "" && (c.NATSURL != "" || c.InMemory):
		return errors.New("--nats-store-key encrypts the embedded NATS's files; it cannot be used with --nats-url or --in-memory")
	case c.Auth != AuthSigV4 && c.Credentials != "":
		return errors.New("--credentials is used only with --auth=sigv4")
	}
	if c.TLSPort != 0 {
		if p, _ := parseAddr(c.Addr); p == c.TLSPort {
			return fmt.Errorf("--tls-port %d is the port of --addr", c.TLSPort)
		}
	}
	if err := c.checkAdmin(); err != nil {
		return err
	}
	return c.checkNATSAuth()
}

// checkAdmin refuses an admin address that is one of the API's.
func (c *Config) checkAdmin() error {
	if c.AdminAddr == AdminOff {
		return nil
	}
	host, port, _ := net.SplitHostPort(c.AdminAddr)
	apiHost, apiPort, _ := net.SplitHostPort(c.Addr)
	if port == "0" || host != apiHost {
		return nil
	}
	if port == apiPort || (c.TLSPort != 0 && port == strconv.Itoa(c.TLSPort)) {
		return fmt.Errorf("--admin-addr %s is an address of the API (--addr or --tls-port); the admin listener needs its own", c.AdminAddr)
	}
	return nil
}

// checkNATSAuth validates the NATS authentication settings for the mode:
// what the embedded NATS requires (--nats-listen) or what this process
// presents (--nats-url).
func (c *Config) checkNATSAuth() error {
	authn := c.NATSUser != "" || c.NATSPassword != "" || c.NATSToken != "" || c.NATSCreds != ""
	tls := c.NATSTLSCert != "" || c.NATSTLSKey != "" || c.NATSTLSCA != ""
	switch {
	case (authn || tls) && c.NATSURL == "" && c.NATSListen == "" && c.ClusterName == "":
		return errors.New("--nats-user, --nats-password, --nats-token, --nats-creds and --nats-tls-* apply to --nats-listen or --nats-url (and --nats-user and --nats-tls-* to --cluster-name)")
	case c.NATSAllowAnonymous && c.NATSListen == "" && c.ClusterName == "":
		return errors.New("--nats-allow-anonymous applies to --nats-listen and --cluster-listen")
	case c.NATSCreds != "" && c.NATSURL == "":
		return errors.New("--nats-creds applies to --nats-url (the embedded NATS takes --nats-user and --nats-password or --nats-token)")
	case (c.NATSUser == "") != (c.NATSPassword == ""):
		return errors.New("--nats-user and --nats-password must be given together")
	case countSet(c.NATSUser, c.NATSToken, c.NATSCreds) > 1:
		return errors.New("give one of --nats-user/--nats-password, --nats-token and --nats-creds")
	case (c.NATSTLSCert == "") != (c.NATSTLSKey == ""):
		return errors.New("--nats-tls-cert and --nats-tls-key must be given together")
	case c.NATSListen != "" && c.NATSTLSCA != "" && c.NATSTLSCert == "":
		return errors.New("--nats-tls-ca with --nats-listen requires client certificates over TLS, so it needs --nats-tls-cert and --nats-tls-key")
	}
	if err := c.checkClusterAuth(); err != nil {
		return err
	}
	if c.NATSListen == "" || c.NATSAllowAnonymous || c.NATSUser != "" || c.NATSToken != "" || c.NATSTLSCA != "" {
		return nil
	}
	if host, _, _ := net.SplitHostPort(c.NATSListen); host != "" && netaddr.IsLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("--nats-listen %s is not a loopback address, and without authentication whoever reaches it "+
		"could read, change and delete every stream: give --nats-user and --nats-password, --nats-token, or "+
		"--nats-tls-cert, --nats-tls-key and --nats-tls-ca (client certificates); or --nats-allow-anonymous to allow it anyway", c.NATSListen)
}

// checkClusterAuth refuses a route listener other hosts can reach without
// a user and password or mutual TLS: whoever reaches it would join the
// cluster. Routes take no token.
func (c *Config) checkClusterAuth() error {
	if c.ClusterName == "" {
		return nil
	}
	switch {
	case c.NATSTLSCert != "" && c.NATSTLSCA == "":
		return errors.New("--nats-tls-cert with --cluster-name secures the routes with mutual TLS, so it needs --nats-tls-ca, the CA that signed every node's certificate")
	case c.NATSTLSCA != "" && c.NATSTLSCert == "":
		return errors.New("--nats-tls-ca with --cluster-name verifies the other nodes over TLS, so it needs --nats-tls-cert and --nats-tls-key, this node's certificate")
	}
	if c.NATSAllowAnonymous || c.NATSUser != "" || c.NATSTLSCA != "" {
		return nil
	}
	listen := c.ClusterListen
	if listen == "" {
		return nil // 127.0.0.1:6222
	}
	if host, _, _ := net.SplitHostPort(listen); host != "" && netaddr.IsLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("--cluster-listen %s is not a loopback address, and without authentication whoever reaches it "+
		"could join the cluster and read, change and delete every stream: give --nats-user and --nats-password, "+
		"or --nats-tls-cert, --nats-tls-key and --nats-tls-ca for mutual TLS (routes require and present them), "+
		"or --nats-allow-anonymous to allow it anyway", listen)
}

func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

// CheckExposure refuses to serve without authentication on an address
// other hosts can reach, unless --auth=none was asked for: an open
// Rivulet lets anyone read, write and delete every stream.
func (c *Config) CheckExposure() error {
	if c.Auth != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil || netaddr.IsLoopbackHost(host) {
		return nil
	}
	what := "--addr " + c.Addr
	if c.TLSPort != 0 {
		what += " (and --tls-port " + strconv.Itoa(c.TLSPort) + ")"
	}
	return fmt.Errorf("%s is reachable from other hosts and --auth is not set, so anyone who can connect could "+
		"read, write and delete every stream. Use --auth=sigv4 --credentials FILE to require signed requests "+
		"(docs/SECURITY.md), or --auth=none to serve without authentication on purpose", what)
}

// maxFileSize keeps a wrong --config (say, a data file) from being read
// whole.
const maxFileSize = 1 << 20

func loadFile(c *Config, path string) error {
	data, err := readfile.Limited(path, maxFileSize)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	return parseFile(c, path, data)
}

// parseFile applies `key = value` lines to c.
func parseFile(c *Config, path string, data []byte) error {
	seen := make(map[string]int)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxFileSize)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("config file %s line %d", path, n)
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			return fmt.Errorf("%s: want key = value, got %q", where, line)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		s, known := lookup(key)
		if !known {
			return fmt.Errorf("%s: unknown key %q", where, key)
		}
		if prev, dup := seen[key]; dup {
			return fmt.Errorf("%s: key %q already set on line %d", where, key, prev)
		}
		seen[key] = n
		if strings.HasPrefix(val, `"`) {
			uq, err := strconv.Unquote(val)
			if err != nil {
				return fmt.Errorf("%s: bad quoted value %s", where, val)
			}
			val = uq
		}
		if err := s.set(c, val); err != nil {
			return fmt.Errorf("%s: invalid %s: %w", where, key, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	return nil
}

// Usage writes the settings, their variables and defaults.
func Usage(w io.Writer) {
	fmt.Fprintf(w, "  --config FILE\n        config file of `key = value` lines, keys as the flags below (env %s)\n", EnvName("config"))
	for _, s := range settings {
		arg := " VALUE"
		if s.isBool {
			arg = ""
		}
		def := s.def
		if s.defText != "" {
			def = s.defText
		}
		fmt.Fprintf(w, "  --%s%s\n        %s\n        (env %s", s.name, arg, s.usage, EnvName(s.name))
		if def != "" {
			fmt.Fprintf(w, ", default %s", def)
		}
		fmt.Fprintln(w, ")")
	}
	fmt.Fprintln(w, "\nPrecedence: flag > environment > config file > default.")
}

func parseAddr(v string) (port int, err error) {
	host, p, err := net.SplitHostPort(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not host:port", v)
	}
	if strings.ContainsAny(host, " /") {
		return 0, fmt.Errorf("%q has a bad host", v)
	}
	port, err = strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("%q has a bad port (want 0-65535)", v)
	}
	return port, nil
}

func parsePort(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port number (0-65535, 0 for off)", v)
	}
	return n, nil
}

func parseInt(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
	}
	return n, nil
}

// DefaultMemoryLimit is --memory-limit's default.
const DefaultMemoryLimit = 256 << 20

// parseSize reads a byte count: digits, optionally followed by KiB, MiB or
// GiB.
func parseSize(v string) (int64, error) {
	num, mult := v, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			num, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size (want e.g. 256MiB, 2GiB or 0)", v)
	}
	return n * mult, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}

func parseDelay(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 500ms or 2s", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// checkNATSURL accepts what nats.Connect takes: comma-separated URLs,
// with or without a scheme.
func checkNATSURL(v string) error {
	if v == "" {
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return fmt.Errorf("%q has an empty URL", v)
		}
		if !strings.Contains(part, "://") {
			part = "nats://" + part
		}
		u, err := url.Parse(part)
		if err != nil || u.Host == "" {
			return fmt.Errorf("%q is not a NATS URL like nats://host:4222", v)
		}
	}
	return nil
}

// checkRoutes accepts comma-separated nats://host:port URLs.
func checkRoutes(v string) error {
	if v == "" {
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || u.Scheme != "nats" || u.Host == "" || u.Port() == "" {
			return fmt.Errorf("%q is not a list of route URLs like nats://host:6222,nats://host2:6222", v)
		}
	}
	return nil
}

// Routes splits ClusterRoutes.
func (c *Config) Routes() []string {
	if c.ClusterRoutes == "" {
		return nil
	}
	rs := strings.Split(c.ClusterRoutes, ",")
	for i := range rs {
		rs[i] = strings.TrimSpace(rs[i])
	}
	return rs
}

// parsePositive reads a duration greater than zero.
func parsePositive(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 10s or 24h")
	}
	return d, nil
}
