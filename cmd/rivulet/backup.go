package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/internal/store/natsstore"
)

func init() {
	register(command{name: "backup", summary: "snapshot every stream and setting of a running server into a directory", run: runBackup})
	register(command{name: "restore", summary: "restore a backup into an empty data directory or NATS", run: runRestore})
}

const backupHelp = `Usage: rivulet backup --nats-url URL --to DIR

Writes a copy of every stream, shard, consumer, tag and setting of a
running Rivulet into DIR (created if missing; it must be empty), using
JetStream's stream snapshot API while the server keeps serving. The server
must share its NATS: start it with --nats-listen HOST:PORT (embedded NATS)
or give the --nats-url it uses.

DIR gets one .snap file per JetStream stream and manifest.json, written
last, with each stream's configuration, state and SHA-256.

Consistency: each shard's log and the metadata are each a point-in-time
copy. The metadata is copied first, so every shard log holds at least what
the metadata says; records written during the backup may or may not be in
it. Records acknowledged before the backup started are all in it.

Needs file storage: a server started with --in-memory cannot be backed up.
Flags:
`

const restoreHelp = `Usage: rivulet restore --from DIR (--data-dir DIR | --nats-url URL)

Restores a backup made by 'rivulet backup' into a new data directory (no
server may be running on it) or into a NATS with JetStream that holds no
Rivulet streams yet. Checks the manifest version and every file's SHA-256
before it creates anything, and refuses a target that already has Rivulet
streams or buckets. Afterwards 'rivulet serve --data-dir DIR' (or
--nats-url URL) serves the restored streams; shard iterators issued before
the backup stay valid until they expire.

Records older than a stream's retention period when restored are dropped
by the retention limit, as they would have been on the original server.
Flags:
`

func runBackup(ctx context.Context, e *env, args []string) int {
	var url, to string
	fs := newFlagSet("backup")
	fs.StringVar(&url, "nats-url", "", "`URL` of the running server's NATS (its --nats-listen address, or its --nats-url) (required)")
	fs.StringVar(&to, "to", "", "write the backup into `DIR` (created; must be empty) (required)")
	natsFlags := addNATSClientFlags(fs)
	if code, done := parseFlags(e, fs, "backup", backupHelp, args); done {
		return code
	}
	switch {
	case url == "":
		return usageError(e, "backup", errors.New("--nats-url is required"))
	case to == "":
		return usageError(e, "backup", errors.New("--to is required"))
	}
	auth, err := natsFlags.auth(e, url)
	if err != nil {
		return usageError(e, "backup", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	st, err := natsstore.OpenRaw(ctx, natsstore.Config{URL: url, Auth: auth, Logger: cliLogger(e)})
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet backup: %v\n", natsHint(err))
		return exitFailure
	}
	defer st.Close()
	m, err := st.Backup(ctx, to)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet backup: %v\n", err)
		return exitFailure
	}
	msgs, size := m.Totals()
	fmt.Fprintf(e.stdout, "rivulet backup: %d JetStream streams (%s stored messages, %s bytes) written to %s in %s\n",
		len(m.Streams), groupInt(int64(msgs)), groupInt(size), to, time.Since(began).Round(time.Millisecond))
	for _, v := range m.Vanished {
		fmt.Fprintf(e.stdout, "rivulet backup: %s was deleted during the backup and is not in it\n", v)
	}
	return exitOK
}

func runRestore(ctx context.Context, e *env, args []string) int {
	var from, dataDir, url string
	fs := newFlagSet("restore")
	fs.StringVar(&from, "from", "", "backup `DIR` written by 'rivulet backup' (required)")
	fs.StringVar(&dataDir, "data-dir", "", "restore into this new data `DIR` (for rivulet serve --data-dir)")
	fs.StringVar(&url, "nats-url", "", "restore into the NATS at `URL` instead")
	natsFlags := addNATSClientFlags(fs)
	if code, done := parseFlags(e, fs, "restore", restoreHelp, args); done {
		return code
	}
	switch {
	case from == "":
		return usageError(e, "restore", errors.New("--from is required"))
	case (dataDir == "") == (url == ""):
		return usageError(e, "restore", errors.New("give exactly one of --data-dir and --nats-url"))
	}
	auth, err := natsFlags.auth(e, url)
	if err != nil {
		return usageError(e, "restore", err)
	}
	// Check the backup before starting anything, so a bad one leaves no
	// trace in the target.
	if _, err := natsstore.ReadManifest(from); err != nil {
		fmt.Fprintf(e.stderr, "rivulet restore: %v\n", err)
		return exitFailure
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	st, err := natsstore.OpenRaw(ctx, natsstore.Config{URL: url, Auth: auth, DataDir: dataDir, Logger: cliLogger(e)})
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet restore: %v\n", natsHint(err))
		return exitFailure
	}
	defer st.Close()
	m, err := st.Restore(ctx, from)
	if errors.Is(err, natsstore.ErrNotEmpty) {
		fmt.Fprintf(e.stderr, "rivulet restore: %v; restore only into a new data directory or an empty NATS\n", err)
		return exitFailure
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet restore: %v\n", err)
		return exitFailure
	}
	msgs, _ := m.Totals()
	target := dataDir
	if url != "" {
		target = url
	}
	fmt.Fprintf(e.stdout, "rivulet restore: %d JetStream streams (%d shards, %s stored messages) from the backup of %s restored into %s in %s\n",
		len(m.Streams), len(m.Streams)-1, groupInt(int64(msgs)), m.Created.Format(time.RFC3339), target,
		time.Since(began).Round(time.Millisecond))
	return exitOK
}

// cliLogger reports the embedded NATS's warnings and errors on stderr.
func cliLogger(e *env) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
