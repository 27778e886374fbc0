package config

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "rivulet.conf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Addr:                "127.0.0.1:4567",
		DataDir:             "./rivulet-data",
		HTTPFastPath:        true,
		Replicas:            1,
		Sync:                SyncDefault,
		CreateDelay:         500 * time.Millisecond,
		DeleteDelay:         500 * time.Millisecond,
		ReshardDelay:        500 * time.Millisecond,
		ConsumerCreateDelay: 500 * time.Millisecond,
		ConsumerDeleteDelay: 500 * time.Millisecond,
		Storage:             StorageJetStream,
		OnDemandSplitAfter:  30 * time.Second,
		OnDemandMergeAfter:  10 * time.Minute,
		OnDemandHotRecords:  1000,
		OnDemandHotBytes:    1 << 20,
		ShardLimit:          500,
		Limits:              LimitsOff,
		ShutdownTimeout:     10 * time.Second,
		ReadHeaderTimeout:   10 * time.Second,
		ReadBodyTimeout:     30 * time.Second,
		ReadBodyMinRate:     64 << 10,
		MaxConnections:      10000,
		LogLevel:            slog.LevelInfo,
		LogFormat:           LogText,
		MemoryLimit:         DefaultMemoryLimit,
		AdminAddr:           "127.0.0.1:4568",
		NATSStoreCipher:     "aes",
		S3Region:            "us-east-1",
		Delivery:            true,
		MetricsRetention:    24 * time.Hour,
		MetricsFlush:        10 * time.Second,
	}
	if *c != want {
		t.Errorf("defaults:\n got %+v\nwant %+v", *c, want)
	}
	if c.TLSAddr() != "" {
		t.Errorf("TLSAddr = %q with TLS off", c.TLSAddr())
	}
}

// TestPrecedence: flag > env > file > default, setting by setting.
func TestMemoryLimit(t *testing.T) {
	for v, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "512KiB": 512 << 10, "256MiB": 256 << 20, "2GiB": 2 << 30} {
		c, err := Load([]string{"--memory-limit", v}, nil)
		if err != nil || c.MemoryLimit != want {
			t.Errorf("--memory-limit %s: %d, %v; want %d", v, c.MemoryLimit, err, want)
		}
	}
	for _, v := range []string{"", "-1", "1.5GiB", "2GB", "MiB", "9999999999GiB"} {
		if _, err := Load([]string{"--memory-limit", v}, nil); err == nil || !strings.Contains(err.Error(), "invalid --memory-limit") {
			t.Errorf("--memory-limit %q: %v, want an error", v, err)
		}
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, `
# a comment
data-dir = /from/file
shard-limit = 7
create-delay = "3s"
sync = always
log-format = json
`)
	faultsFile := filepath.Join(t.TempDir(), "faults.json")
	if err := os.WriteFile(faultsFile, []byte(`[{"latency":"100ms"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(*Config) string
	}{
		{"file beats default", []string{"--config", file}, nil, func(c *Config) string {
			if c.DataDir != "/from/file" || c.ShardLimit != 7 || c.CreateDelay != 3*time.Second ||
				c.Sync != SyncAlways || c.LogFormat != LogJSON || c.File != file {
				return "file values not applied"
			}
			if c.DeleteDelay != 500*time.Millisecond {
				return "unset key lost its default"
			}
			return ""
		}},
		{"env beats file", []string{"--config", file}, map[string]string{"RIVULET_DATA_DIR": "/from/env", "RIVULET_SHARD_LIMIT": "9"}, func(c *Config) string {
			if c.DataDir != "/from/env" || c.ShardLimit != 9 || c.Sync != SyncAlways {
				return "env did not override file"
			}
			return ""
		}},
		{"flag beats env", []string{"--config", file, "--data-dir", "/from/flag", "-shard-limit=11"}, map[string]string{"RIVULET_DATA_DIR": "/from/env", "RIVULET_SHARD_LIMIT": "9"}, func(c *Config) string {
			if c.DataDir != "/from/flag" || c.ShardLimit != 11 {
				return "flag did not override env"
			}
			return ""
		}},
		{"config file from env", nil, map[string]string{"RIVULET_CONFIG": file}, func(c *Config) string {
			if c.DataDir != "/from/file" {
				return "RIVULET_CONFIG not read"
			}
			return ""
		}},
		{"empty env is unset", []string{"--config", file}, map[string]string{"RIVULET_DATA_DIR": ""}, func(c *Config) string {
			if c.DataDir != "/from/file" {
				return "empty env var overrode the file"
			}
			return ""
		}},
		{"bool flag without value", []string{"--in-memory"}, map[string]string{"RIVULET_IN_MEMORY": "false"}, func(c *Config) string {
			if !c.InMemory {
				return "--in-memory not set"
			}
			return ""
		}},
		{"bool flag false beats env", []string{"--in-memory=false"}, map[string]string{"RIVULET_IN_MEMORY": "1"}, func(c *Config) string {
			if c.InMemory {
				return "--in-memory=false lost to env"
			}
			return ""
		}},
		{"tls", []string{"--addr", "0.0.0.0:80", "--tls-port", "443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, func(c *Config) string {
			if c.TLSAddr() != "0.0.0.0:443" || c.TLSCert != "c.pem" || c.TLSKey != "k.pem" {
				return "tls settings: " + c.TLSAddr()
			}
			return ""
		}},
		{"log level any case", nil, map[string]string{"RIVULET_LOG_LEVEL": "DEBUG"}, func(c *Config) string {
			if c.LogLevel != slog.LevelDebug {
				return "log level not debug"
			}
			return ""
		}},
		{"zero delay", []string{"--create-delay", "0s", "--delete-delay=0"}, nil, func(c *Config) string {
			if c.CreateDelay != 0 || c.DeleteDelay != 0 {
				return "zero delays not kept"
			}
			return ""
		}},
		{"nats listen", []string{"--nats-listen", "127.0.0.1:4222"}, nil, func(c *Config) string {
			if c.NATSListen != "127.0.0.1:4222" {
				return "nats-listen not applied"
			}
			return ""
		}},
		{"cluster", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-listen", "127.0.0.1:6222",
			"--cluster-routes", "nats://127.0.0.1:6222, nats://127.0.0.1:6223"}, nil, func(c *Config) string {
			if c.ClusterName != "c" || c.NodeName != "n1" || c.Replicas != 3 || len(c.Routes()) != 2 || c.Routes()[1] != "nats://127.0.0.1:6223" {
				return fmt.Sprintf("cluster settings not applied (replicas %d, routes %q)", c.Replicas, c.Routes())
			}
			return ""
		}},
		{"cluster replicas given", nil, map[string]string{"RIVULET_CLUSTER_NAME": "c", "RIVULET_NODE_NAME": "n", "RIVULET_REPLICAS": "1"}, func(c *Config) string {
			if c.Replicas != 1 {
				return "an explicit --replicas 1 was replaced by the cluster default"
			}
			return ""
		}},
		{"cluster mutual TLS", []string{"--cluster-name", "c", "--node-name", "n1", "--cluster-listen", "0.0.0.0:6222",
			"--nats-tls-cert", "n1.pem", "--nats-tls-key", "n1-key.pem"}, map[string]string{"RIVULET_NATS_TLS_CA": "ca.pem"}, func(c *Config) string {
			if c.NATSTLSCert != "n1.pem" || c.NATSTLSKey != "n1-key.pem" || c.NATSTLSCA != "ca.pem" || c.ClusterListen != "0.0.0.0:6222" {
				return "route TLS settings not applied"
			}
			return ""
		}},
		{"external nats", []string{"--nats-url", "nats://a:4222,b:4222", "--replicas", "3"}, nil, func(c *Config) string {
			if c.NATSURL != "nats://a:4222,b:4222" || c.Replicas != 3 {
				return "nats settings not applied"
			}
			return ""
		}},
		{"limits and inline faults", []string{"--limits", "aws", "--faults", `[{"op":"PutRecords","error":"InternalFailure","every":10}]`}, nil, func(c *Config) string {
			if c.Limits != LimitsAWS || c.Faults != `[{"op":"PutRecords","error":"InternalFailure","every":10}]` {
				return "limits/faults flags not applied"
			}
			return ""
		}},
		{"faults file from env", nil, map[string]string{"RIVULET_FAULTS": "@" + faultsFile, "RIVULET_LIMITS": "aws"}, func(c *Config) string {
			if c.Faults != "@"+faultsFile || c.Limits != LimitsAWS {
				return "RIVULET_FAULTS/RIVULET_LIMITS not applied"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(tt.args, envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.check(c); msg != "" {
				t.Errorf("%s: %+v", msg, *c)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		file string // config file body, if any
		want string // substring of the error
	}{
		{"unknown flag", []string{"--port", "1"}, nil, "", "unknown flag --port"},
		{"flag without value", []string{"--addr"}, nil, "", "flag --addr needs a value"},
		{"positional", []string{"extra"}, nil, "", `unexpected argument "extra"`},
		{"bad addr", []string{"--addr", "4567"}, nil, "", `invalid --addr: "4567" is not host:port`},
		{"bad addr port", []string{"--addr", "127.0.0.1:99999"}, nil, "", "invalid --addr"},
		{"bad tls port", []string{"--tls-port", "x"}, nil, "", `invalid --tls-port: "x" is not a port number`},
		{"tls port too big", []string{"--tls-port", "70000"}, nil, "", "invalid --tls-port"},
		{"bad bool", []string{"--in-memory=maybe"}, nil, "", `invalid --in-memory: "maybe"`},
		{"bad sync", []string{"--sync", "periodic"}, nil, "", `invalid --sync: "periodic" is not one of default, always`},
		{"duration without unit", []string{"--create-delay", "500"}, nil, "", "invalid --create-delay"},
		{"negative duration", []string{"--delete-delay", "-1s"}, nil, "", `invalid --delete-delay: "-1s" is negative`},
		{"zero shard limit", []string{"--shard-limit", "0"}, nil, "", "invalid --shard-limit"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "", "invalid --log-level"},
		{"bad log format", []string{"--log-format", "xml"}, nil, "", "invalid --log-format"},
		{"empty data dir", []string{"--data-dir="}, nil, "", "invalid --data-dir: must not be empty"},
		{"bad nats url", []string{"--nats-url", "nats://a:1,,b"}, nil, "", "invalid --nats-url"},
		{"bad storage", []string{"--storage", "disk"}, nil, "", "invalid --storage"},
		{"bad nats listen", []string{"--nats-listen", "4222"}, nil, "", "invalid --nats-listen"},
		{"cluster without node", []string{"--cluster-name", "c"}, nil, "", "needs --node-name"},
		{"node without cluster", []string{"--node-name", "n"}, nil, "", "need --cluster-name"},
		{"bad routes", []string{"--cluster-name", "c", "--node-name", "n", "--cluster-routes", "127.0.0.1:6222"}, nil, "", "invalid --cluster-routes"},
		{"cluster with url", []string{"--cluster-name", "c", "--node-name", "n", "--nats-url", "nats://a:1"}, nil, "", "cannot be used with --nats-url"},
		{"open cluster listen", []string{"--cluster-name", "c", "--node-name", "n", "--cluster-listen", "0.0.0.0:6222"}, nil, "", "is not a loopback address"},
		{"open cluster listen, TLS without CA", []string{"--cluster-name", "c", "--node-name", "n", "--cluster-listen", "0.0.0.0:6222",
			"--nats-tls-cert", "n.pem", "--nats-tls-key", "k.pem"}, nil, "", "so it needs --nats-tls-ca"},
		{"cluster CA without cert", nil, nil, "cluster-name = c\nnode-name = n\nnats-tls-ca = ca.pem\n", "so it needs --nats-tls-cert and --nats-tls-key"},
		{"nats listen with url", []string{"--nats-listen", "127.0.0.1:4222", "--nats-url", "nats://a:1"}, nil, "", "--nats-listen applies to the embedded NATS"},
		{"bad limits", []string{"--limits", "strict"}, nil, "", `invalid --limits: "strict" is not one of off, aws`},
		{"bad faults json", []string{"--faults", `[{"error":"InternalFailure"`}, nil, "", "invalid --faults"},
		{"faults unknown op", []string{"--faults", `[{"op":"PutRecordz","error":"InternalFailure"}]`}, nil, "", `invalid --faults: rule 1: unknown op "PutRecordz"`},
		{"faults bad rate", nil, map[string]string{"RIVULET_FAULTS": `[{"error":"InternalFailure","rate":2}]`}, "", "invalid RIVULET_FAULTS: rule 1: rate 2 is outside 0..1"},
		{"faults missing file", []string{"--faults", "@/nonexistent/faults.json"}, nil, "", "invalid --faults: faults file: open /nonexistent/faults.json"},
		{"faults in config file", nil, nil, "faults = [{\"error\":\"Nope\"}]\n", `line 1: invalid faults: rule 1: unknown error "Nope"`},
		{"bad env", nil, map[string]string{"RIVULET_SHARD_LIMIT": "lots"}, "", `invalid RIVULET_SHARD_LIMIT: "lots"`},
		{"bad env even when flag overrides it", []string{"--shard-limit", "5"}, map[string]string{"RIVULET_SHARD_LIMIT": "lots"}, "", "invalid RIVULET_SHARD_LIMIT"},
		{"cert without key", []string{"--tls-port", "4568", "--tls-cert", "c.pem"}, nil, "", "--tls-cert and --tls-key must be given together"},
		{"cert without port", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, "", "need --tls-port"},
		{"tls port clash", []string{"--tls-port", "4567"}, nil, "", "--tls-port 4567 is the port of --addr"},
		{"replicas embedded", []string{"--replicas", "3"}, nil, "", "--replicas above 1 needs"},
		{"missing file", []string{"--config", "/nonexistent/rivulet.conf"}, nil, "", "config file: open /nonexistent/rivulet.conf"},
		{"unknown file key", nil, nil, "addr = 127.0.0.1:1\nport = 3\n", `line 2: unknown key "port"`},
		{"file key is not the env name", nil, nil, "DATA_DIR = x\n", `unknown key "DATA_DIR"`},
		{"config key in file", nil, nil, "config = other.conf\n", `unknown key "config"`},
		{"file line without =", nil, nil, "data-dir /x\n", "line 1: want key = value"},
		{"duplicate file key", nil, nil, "sync = always\nsync = default\n", `line 2: key "sync" already set on line 1`},
		{"bad file value", nil, nil, "\n\ncreate-delay = soon\n", `line 3: invalid create-delay: "soon"`},
		{"bad quoting", nil, nil, "data-dir = \"/x\n", "line 1: bad quoted value"},
		{"zero head timeout", []string{"--read-header-timeout", "0s"}, nil, "", "invalid --read-header-timeout"},
		{"negative body timeout", []string{"--read-body-timeout", "-1s"}, nil, "", "invalid --read-body-timeout"},
		{"bad body rate", []string{"--read-body-min-rate", "fast"}, nil, "", "invalid --read-body-min-rate"},
		{"negative max connections", nil, map[string]string{"RIVULET_MAX_CONNECTIONS": "-1"}, "", "invalid RIVULET_MAX_CONNECTIONS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, tt.file)}, args...)
			}
			c, err := Load(args, envMap(tt.env))
			if err == nil {
				t.Fatalf("no error; config %+v", *c)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		if _, err := Load([]string{arg}, nil); !errors.Is(err, ErrHelp) {
			t.Errorf("Load(%s) = %v, want ErrHelp", arg, err)
		}
	}
	var b bytes.Buffer
	Usage(&b)
	for _, s := range settings {
		if !strings.Contains(b.String(), "--"+s.name) || !strings.Contains(b.String(), EnvName(s.name)) {
			t.Errorf("usage lacks --%s or %s", s.name, EnvName(s.name))
		}
	}
	if !strings.Contains(b.String(), "flag > environment > config file > default") {
		t.Error("usage does not state the precedence")
	}
}

func TestEnvName(t *testing.T) {
	if got := EnvName("data-dir"); got != "RIVULET_DATA_DIR" {
		t.Errorf("EnvName(data-dir) = %q", got)
	}
}

func TestFileQuotedAndBOM(t *testing.T) {
	p := writeFile(t, "\uFEFFdata-dir = \"/with spaces/and#hash\"\r\nnats-url=\n")
	c, err := Load([]string{"--config", p}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/with spaces/and#hash" || c.NATSURL != "" {
		t.Errorf("got data-dir %q nats-url %q", c.DataDir, c.NATSURL)
	}
}

// FuzzParseFile: no file content panics, and whatever is accepted passes
// the same checks a flag value would.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte("addr = 127.0.0.1:1\nsync = always\n"))
	f.Add([]byte("# c\n\ndata-dir = \"x\\ty\"\n"))
	f.Add([]byte("tls-port=\n"))
	f.Add([]byte("shard-limit = 99999999999999999999\n"))
	f.Add([]byte("=\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Default()
		if err := parseFile(c, "fuzz", data); err != nil {
			return
		}
		if _, err := parseAddr(c.Addr); err != nil {
			t.Errorf("accepted bad addr %q", c.Addr)
		}
		if c.ShardLimit < 1 || c.TLSPort < 0 || c.TLSPort > 65535 || c.CreateDelay < 0 || c.DataDir == "" {
			t.Errorf("accepted out-of-range values: %+v", *c)
		}
		if c.Sync != SyncDefault && c.Sync != SyncAlways {
			t.Errorf("accepted sync %q", c.Sync)
		}
	})
}

// FuzzLoadArgs: no command line panics, and an accepted one is consistent.
func FuzzLoadArgs(f *testing.F) {
	f.Add("--addr\x00127.0.0.1:0")
	f.Add("--tls-port\x004568\x00--tls-cert=a\x00--tls-key=b")
	f.Add("-in-memory=x\x00--sync")
	f.Fuzz(func(t *testing.T, joined string) {
		c, err := Load(strings.Split(joined, "\x00"), nil)
		if err != nil {
			return
		}
		if err := c.check(); err != nil {
			t.Errorf("accepted an inconsistent config: %v", err)
		}
		if _, err := parseAddr(c.Addr); err != nil {
			t.Errorf("accepted bad addr %q", c.Addr)
		}
	})
}

func TestEncryptionSettings(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.json")
	ring := `{"keys":[{"id":"1234abcd-12ab-34cd-56ef-1234567890ab","material":"` + strings.Repeat("A", 43) + `="}]}`
	if err := os.WriteFile(keys, []byte(ring), 0o600); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "store.key")
	if err := os.WriteFile(keyFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load([]string{"--kms-keys", keys, "--nats-store-key", "@" + keyFile, "--nats-store-cipher", "chacha"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.KMSKeys != keys || c.NATSStoreKey != "from-a-file" || c.NATSStoreCipher != "chacha" {
		t.Fatalf("%+v", c)
	}
	c, err = Load(nil, envMap(map[string]string{"RIVULET_NATS_STORE_KEY": "inline"}))
	if err != nil || c.NATSStoreKey != "inline" {
		t.Fatalf("from the environment: %+v %v", c, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"keys":[{"id":"nope"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--kms-keys", bad},
		{"--kms-keys", filepath.Join(dir, "missing.json")},
		{"--nats-store-key", "@" + filepath.Join(dir, "missing.key")},
		{"--nats-store-cipher", "rot13"},
		{"--nats-store-key", "k", "--nats-url", "nats://127.0.0.1:4222"},
		{"--nats-store-key", "k", "--in-memory"},
	} {
		if _, err := Load(args, nil); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
