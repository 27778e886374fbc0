package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/rivulet/rivulet/internal/store/natsstore"
)

func init() {
	register(command{name: "check", summary: "verify a data directory (or a running server's NATS) against its metadata; changes nothing", run: runCheck})
	register(command{name: "recover", summary: "rebuild lost stream metadata from the shard logs, re-create lost shard logs", run: runRecover})
}

const checkHelp = `Usage: rivulet check (--data-dir DIR | --nats-url URL) [--json]

Compares every shard log with the stream metadata and with each shard's
reservation (how far it was acknowledged), and prints what is missing:
  lost-tail         the newest records of a shard are gone
  lost-inside       records inside a shard's log are gone
  metadata-lost     shard logs whose stream record is gone (rivulet recover)
  log-missing       a stream's shard whose log is gone (rivulet recover)
  reservation-lost  a shard's reservation is gone with the metadata

With --data-dir, the directory must not be in use. It is copied to a
temporary directory first (this needs as much free space as it uses), and
the copy is checked, so the original is not changed at all. With
--nats-url, the running server's NATS is checked in place, read only.

Exits 0 when nothing is missing, 1 when something is (or the check
failed). docs/OPERATIONS.md explains each finding.
Flags:
`

const recoverHelp = `Usage: rivulet recover (--data-dir DIR | --nats-url URL)

Repairs what the shard logs can repair:
  - a stream whose metadata was lost is rebuilt from its shard logs: name,
    shards, hash key ranges, parents, retention and capacity mode. Tags,
    enhanced fan-out consumers, enhanced monitoring and encryption settings
    are not in the logs and are reported as not recovered;
  - an open shard whose log is gone gets a new, empty log, whose sequence
    numbers start above every one handed out before.

With --data-dir no server may be running on the directory. Run
'rivulet check' first to see what will change. Exits 1 if something
could not be repaired (each such line says "not rebuilt" or why).
Flags:
`

func runCheck(ctx context.Context, e *env, args []string) int {
	var dataDir, url string
	var asJSON bool
	fset := newFlagSet("check")
	fset.StringVar(&dataDir, "data-dir", "", "check this stopped data `DIR` (through a copy)")
	fset.StringVar(&url, "nats-url", "", "check the NATS at `URL` in place")
	fset.BoolVar(&asJSON, "json", false, "print the whole report as JSON")
	natsFlags := addNATSClientFlags(fset)
	if code, done := parseFlags(e, fset, "check", checkHelp, args); done {
		return code
	}
	if (dataDir == "") == (url == "") {
		return usageError(e, "check", errors.New("give exactly one of --data-dir and --nats-url"))
	}
	auth, err := natsFlags.auth(e, url)
	if err != nil {
		return usageError(e, "check", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := natsstore.Config{URL: url, Auth: auth, Logger: cliLogger(e), NoRepair: true}
	if dataDir != "" {
		if _, err := os.Stat(filepath.Join(dataDir, "jetstream")); err != nil {
			fmt.Fprintf(e.stderr, "rivulet check: %s is not a Rivulet data directory: %v\n", dataDir, err)
			return exitFailure
		}
		tmp, err := os.MkdirTemp("", "rivulet-check-")
		if err != nil {
			fmt.Fprintf(e.stderr, "rivulet check: %v\n", err)
			return exitFailure
		}
		defer os.RemoveAll(tmp)
		if err := os.CopyFS(tmp, os.DirFS(dataDir)); err != nil {
			fmt.Fprintf(e.stderr, "rivulet check: copy %s: %v\n", dataDir, err)
			return exitFailure
		}
		cfg.DataDir = tmp
	}
	st, err := natsstore.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet check: %v\n", natsHint(err))
		return exitFailure
	}
	defer st.Close()
	rep, err := st.Check(ctx)
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet check: %v\n", err)
		return exitFailure
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exitFailure
		}
	} else {
		for _, d := range rep.Damage {
			fmt.Fprintf(e.stdout, "%s: %s\n", d.Kind, d.Detail)
		}
		fmt.Fprintf(e.stdout, "rivulet check: %d streams, %d shard logs, %d problems\n", rep.Streams, len(rep.Shards), len(rep.Damage))
	}
	if len(rep.Damage) > 0 {
		return exitFailure
	}
	return exitOK
}

func runRecover(ctx context.Context, e *env, args []string) int {
	var dataDir, url string
	fset := newFlagSet("recover")
	fset.StringVar(&dataDir, "data-dir", "", "repair this stopped data `DIR` in place")
	fset.StringVar(&url, "nats-url", "", "repair the NATS at `URL`")
	natsFlags := addNATSClientFlags(fset)
	if code, done := parseFlags(e, fset, "recover", recoverHelp, args); done {
		return code
	}
	if (dataDir == "") == (url == "") {
		return usageError(e, "recover", errors.New("give exactly one of --data-dir and --nats-url"))
	}
	auth, err := natsFlags.auth(e, url)
	if err != nil {
		return usageError(e, "recover", err)
	}
	if dataDir != "" {
		if _, err := os.Stat(filepath.Join(dataDir, "jetstream")); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(e.stderr, "rivulet recover: %s is not a Rivulet data directory\n", dataDir)
			return exitFailure
		}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := natsstore.Open(ctx, natsstore.Config{URL: url, Auth: auth, DataDir: dataDir, Logger: cliLogger(e)})
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet recover: %v\n", natsHint(err))
		return exitFailure
	}
	defer st.Close()
	acts, err := st.Recover(ctx)
	code := exitOK
	for _, a := range acts {
		fmt.Fprintf(e.stdout, "rivulet recover: %s\n", a.Text)
		if !a.Done {
			code = exitFailure
		}
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "rivulet recover: %v\n", err)
		return exitFailure
	}
	if len(acts) == 0 {
		fmt.Fprintln(e.stdout, "rivulet recover: nothing to recover")
	}
	return code
}
