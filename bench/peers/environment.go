package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// environment is what the report says about the machine and the versions.
type environment struct {
	Date         string `json:"date"`
	CPUs         int    `json:"cpus"`
	CPUModel     string `json:"cpu_model"`
	MemoryGiB    string `json:"memory_gib"`
	Kernel       string `json:"kernel"`
	OS           string `json:"os"`
	GoVersion    string `json:"go_version"`
	Commit       string `json:"rivulet_commit"`
	Dirty        bool   `json:"rivulet_uncommitted_changes"`
	Node         string `json:"node_version"`
	Kinesalite   string `json:"kinesalite_version"`
	KinesisLocal string `json:"kinesis_local_version"`
}

func probeEnvironment(ctx context.Context, root string) environment {
	e := environment{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), CPUs: runtime.NumCPU()}
	e.CPUModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.TrimSuffix(procField("/proc/meminfo", "MemTotal"), " kB"), 64); err == nil {
		e.MemoryGiB = strconv.FormatFloat(kb/(1<<20), 'f', 1, 64)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		e.Kernel = strings.TrimSpace(string(b))
	}
	e.OS = strings.Trim(procField("/etc/os-release", "PRETTY_NAME"), `"`)
	e.GoVersion = output(ctx, root, envOr("GO", "go"), "env", "GOVERSION")
	e.Commit = output(ctx, root, "git", "rev-parse", "--short=12", "HEAD")
	status := output(ctx, root, "git", "status", "--porcelain", "--untracked-files=no")
	e.Dirty = status != "" && status != "unknown"
	e.Node = output(ctx, root, "node", "--version")
	e.Kinesalite = installedVersion(root+"/bench/.peers", "kinesalite")
	e.KinesisLocal = installedVersion(root+"/bench/.peers", "kinesis-local")
	return e
}

// procField is the first "key: value" (or key=value) line's value in a
// file such as /proc/cpuinfo.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			k, v, ok = strings.Cut(line, "=")
		}
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func output(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
