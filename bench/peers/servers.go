package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// Pinned peer versions: the npm packages the issue names.
const (
	kinesaliteVersion   = "3.3.3"
	kinesisLocalVersion = "0.6.2" // kinesis-mock's npm distribution
)

// Server names, as the tables and -servers use them.
const (
	rivulet     = "rivulet"
	kinesalite  = "kinesalite"
	kinesisMock = "kinesis-mock"
)

// idleShardLimit raises every server's account shard limit above the
// 1,000 idle shards of the memory workload.
const idleShardLimit = 2000

// server knows how to start one kind of server.
type server struct {
	name    string
	version string // filled in by the harness
	// command returns argv and extra environment for a server on port;
	// extra are more rivulet serve flags (--sync, --storage).
	command func(h *harness, port int, dataDir string, extra []string) (argv, env []string)
	// shown is the command as the report prints it.
	shown func(extra []string) string
}

func rivuletServer() *server {
	return &server{
		name: rivulet,
		command: func(h *harness, port int, dataDir string, extra []string) ([]string, []string) {
			argv := append([]string{h.rivuletBin, "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", dataDir},
				rivuletFlags...)
			return append(argv, extra...), nil
		},
		shown: func(extra []string) string {
			return strings.Join(append(append([]string{"rivulet serve --addr 127.0.0.1:PORT --data-dir DIR"}, rivuletFlags...), extra...), " ")
		},
	}
}

// rivuletFlags: streams ACTIVE at once (the peers are set up alike), the
// raised shard limit, quiet logs, and no admin listener, whose fixed port
// a running rivulet may hold.
var rivuletFlags = []string{"--create-delay", "0", "--delete-delay", "0", "--shard-limit", strconv.Itoa(idleShardLimit), "--log-level", "warn", "--admin-addr=off"}

// kinesaliteScript starts kinesalite's server bound to loopback: its CLI
// listens on every interface and has no flag for the address. The options
// are the CLI's (--createStreamMs, --shardLimit), in memory as by default.
const kinesaliteScript = `require(process.argv[1])({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: +process.argv[3]}).listen(+process.argv[2], "127.0.0.1")`

func kinesaliteServer() *server {
	return &server{
		name: kinesalite,
		command: func(h *harness, port int, _ string, _ []string) ([]string, []string) {
			return []string{"node", "-e", kinesaliteScript, filepath.Join(h.nodeModules, "kinesalite"),
				strconv.Itoa(port), strconv.Itoa(idleShardLimit)}, nil
		},
		shown: func([]string) string {
			return fmt.Sprintf("node -e '%s' bench/.peers/node_modules/kinesalite PORT %d", kinesaliteScript, idleShardLimit)
		},
	}
}

// kinesisMockEnv configures kinesis-mock (its README's variables): plain
// HTTP on PORT, TLS on another port (it always opens one), its certificate
// found by path, streams ACTIVE at once, the raised shard limit, nothing
// persisted. It has no setting for the listen address: it binds 0.0.0.0.
func kinesisMockEnv(h *harness, port, tlsPort string) []string {
	return []string{
		"KINESIS_MOCK_PLAIN_PORT=" + port,
		"KINESIS_MOCK_TLS_PORT=" + tlsPort,
		"KINESIS_MOCK_CERT_PATH=" + filepath.Join(h.nodeModules, "kinesis-local", "server.json"),
		"CREATE_STREAM_DURATION=0ms", "DELETE_STREAM_DURATION=0ms", "REGISTER_STREAM_CONSUMER_DURATION=0ms",
		"SHARD_LIMIT=" + strconv.Itoa(idleShardLimit),
		"SHOULD_PERSIST_DATA=false", "LOG_LEVEL=WARN",
	}
}

func kinesisMockServer() *server {
	return &server{
		name: kinesisMock,
		command: func(h *harness, port int, _ string, _ []string) ([]string, []string) {
			tlsPort, err := freePort()
			if err != nil {
				tlsPort = port + 1
			}
			return []string{"node", filepath.Join(h.nodeModules, "kinesis-local", "main.js")},
				kinesisMockEnv(h, strconv.Itoa(port), strconv.Itoa(tlsPort))
		},
		shown: func([]string) string {
			h := &harness{nodeModules: "bench/.peers/node_modules"}
			return strings.Join(kinesisMockEnv(h, "PORT", "TLSPORT"), " ") + " node bench/.peers/node_modules/kinesis-local/main.js"
		},
	}
}

// installPeers installs the pinned npm packages into dir unless they are
// there already. npm's install scripts are not needed: kinesalite runs in
// memory, and kinesis-local is one JavaScript file.
func installPeers(ctx context.Context, dir string) error {
	if installedVersion(dir, "kinesalite") == kinesaliteVersion && installedVersion(dir, "kinesis-local") == kinesisLocalVersion {
		return nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return errors.New("npm (Node.js 18 or later) is needed to install the peers")
	}
	logf("npm install --prefix %s kinesalite@%s kinesis-local@%s", dir, kinesaliteVersion, kinesisLocalVersion)
	cmd := exec.CommandContext(ctx, "npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error",
		"--save-exact", "kinesalite@"+kinesaliteVersion, "kinesis-local@"+kinesisLocalVersion)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install: %w", err)
	}
	for pkg, want := range map[string]string{"kinesalite": kinesaliteVersion, "kinesis-local": kinesisLocalVersion} {
		if got := installedVersion(dir, pkg); got != want {
			return fmt.Errorf("npm installed %s %q, want %s", pkg, got, want)
		}
	}
	return nil
}

func installedVersion(dir, pkg string) string {
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
	if err != nil {
		return ""
	}
	var p struct{ Version string }
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	return p.Version
}
