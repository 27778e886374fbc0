package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rivulet/rivulet/internal/procstat"
)

// proc is a server process the harness started.
type proc struct {
	name     string
	pid      int
	endpoint string
	cmd      *exec.Cmd
	dataDir  string // removed when the process is stopped
	done     chan struct{}
	log      *os.File
}

// procSet holds every process started and not yet stopped, so that an
// error or a signal still stops them all, by PID.
type procSet struct {
	mu    sync.Mutex
	procs map[int]*proc
}

func (s *procSet) add(p *proc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		s.procs = map[int]*proc{}
	}
	s.procs[p.pid] = p
}

// stopAll stops what is still running; main defers it.
func (s *procSet) stopAll() {
	s.mu.Lock()
	var ps []*proc
	for _, p := range s.procs {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		s.stop(p)
	}
}

// stop sends SIGTERM to the process's PID, and SIGKILL if it is still
// there after 15 s.
func (s *procSet) stop(p *proc) {
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(p.pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			logf("%s (pid %d) ignored SIGTERM for 15s; sending SIGKILL", p.name, p.pid)
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
			<-p.done
		}
	}
	p.log.Close()
	if p.dataDir != "" {
		os.RemoveAll(p.dataDir)
	}
	s.mu.Lock()
	delete(s.procs, p.pid)
	s.mu.Unlock()
}

// sysProcAttr puts a child in its own process group, so a Ctrl-C reaches
// only the harness, which then stops the child itself, and asks the kernel
// to send it SIGTERM should the harness die without cleaning up.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// start runs argv with env added to the harness's environment, and waits
// for its first successful ListStreams on port. It returns the time from
// just before the process started to that first success.
func (s *procSet) start(ctx context.Context, name string, argv, env []string, port int, logPath, dataDir string) (*proc, time.Duration, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, 0, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, pid: cmd.Process.Pid, cmd: cmd, dataDir: dataDir, done: make(chan struct{}), log: logFile,
		endpoint: fmt.Sprintf("http://127.0.0.1:%d", port)}
	s.add(p)
	go func() { _ = cmd.Wait(); close(p.done) }()

	hc := &http.Client{Timeout: 2 * time.Second}
	defer hc.CloseIdleConnections()
	deadline := t0.Add(90 * time.Second)
	for {
		status, _, err := call(ctx, hc, p.endpoint, "ListStreams", `{}`)
		if err == nil && status == http.StatusOK {
			return p, time.Since(t0), nil
		}
		select {
		case <-p.done:
			s.stop(p)
			return nil, 0, fmt.Errorf("%s exited before answering (%v); see %s", name, cmd.ProcessState, logPath)
		case <-ctx.Done():
			s.stop(p)
			return nil, 0, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop(p)
			return nil, 0, fmt.Errorf("%s did not answer ListStreams within 90s (last: %d %v); see %s", name, status, err, logPath)
		}
	}
}

// call posts one Kinesis JSON 1.1 request, with the headers every server
// here wants (a SigV4-shaped Authorization whose signature none checks).
func call(ctx context.Context, hc *http.Client, endpoint, op, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202."+op)
	req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=0")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// memory is a process's resident set and its high-water mark, in bytes.
type memory struct{ rss, hwm int64 }

func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(b)
}

// parseStatus reads VmRSS and VmHWM from /proc/PID/status (in kB).
func parseStatus(b []byte) (memory, error) {
	var m memory
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("%s: %w", k, err)
		}
		if k == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.hwm = kb << 10
		}
	}
	if m.rss == 0 {
		return memory{}, errors.New("no VmRSS in status")
	}
	return m, nil
}

// clockTicks is USER_HZ, which Linux fixes at 100 for /proc.
const clockTicks = 100

// readCPU is the CPU time (user + system) a process has used, in seconds.
func readCPU(pid int) (float64, error) {
	d, err := procstat.CPU(pid)
	return d.Seconds(), err
}

// readBusy is the CPU time, in seconds over all cores, the whole machine
// has spent on anything but idling, from the first line of /proc/stat.
func readBusy() (float64, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseProcStat(b)
}

// parseProcStat sums the "cpu" line's fields but idle (4th) and iowait
// (5th), and guest time, which user time already counts.
func parseProcStat(b []byte) (float64, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, errors.New("no cpu line in /proc/stat")
	}
	var busy int64
	for i, v := range f[1:min(len(f), 9)] { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, err
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return float64(busy) / clockTicks, nil
}

// peakSampler keeps the highest VmHWM/VmRSS seen for a process, read every
// 100 ms, so the peak survives even if the last read fails.
type peakSampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}
	peak int64
}

func samplePeak(pid int) *peakSampler {
	s := &peakSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			s.read()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *peakSampler) read() {
	if m, err := readMemory(s.pid); err == nil {
		s.peak = max(s.peak, m.rss, m.hwm)
	}
}

// finish stops sampling and returns the peak, in bytes.
func (s *peakSampler) finish() int64 {
	close(s.stop)
	<-s.done
	s.read()
	return s.peak
}
