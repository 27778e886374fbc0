package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeLimitsAndFaults checks the wiring of --limits and --faults:
// the rules from the flag answer calls, /admin/faults on the admin
// listener changes them, and /admin/limits shows the mode with this
// process counted as a peer.
func TestServeLimitsAndFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an embedded NATS server")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, _, errb := testEnv(nil)
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, e, []string{"serve", "--in-memory", "--addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--log-format", "json",
			"--limits", "aws", "--faults", `[{"op":"ListStreams","error":"InternalFailure","every":2}]`})
	}()
	var ready struct {
		Addr      string
		AdminAddr string `json:"admin_addr"`
	}
	for deadline := time.Now().Add(hangTimeout); ready.Addr == ""; {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d before ready:\n%s", code, errb)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready line:\n%s", errb)
		}
		for _, line := range strings.Split(errb.String(), "\n") {
			if strings.Contains(line, `"rivulet ready"`) {
				_ = json.Unmarshal([]byte(line), &ready)
			}
		}
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: hangTimeout}
	do := func(method, path, target, body string) (int, string) {
		t.Helper()
		base := ready.Addr
		if strings.HasPrefix(path, "/admin/") {
			base = ready.AdminAddr
		}
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if target == "" {
			req.Header.Set("Content-Type", "application/json") // the admin listener wants it on changes
		} else {
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "Kinesis_20131202."+target)
			req.Header.Set("X-Amz-Date", "20260101T000000Z")
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	// Every second ListStreams fails, as --faults says.
	if code, body := do("POST", "/", "ListStreams", "{}"); code != 200 {
		t.Errorf("1st ListStreams: %d %s", code, body)
	}
	if code, body := do("POST", "/", "ListStreams", "{}"); code != 500 || !strings.Contains(body, "Internal Service Failure") {
		t.Errorf("2nd ListStreams: %d %s, want the injected InternalFailure", code, body)
	}
	// Replace the rules at run time.
	if code, body := do("PUT", "/admin/faults", "", `[{"op":"DescribeLimits","error":"LimitExceededException"}]`); code != 200 {
		t.Fatalf("PUT /admin/faults: %d %s", code, body)
	}
	if code, body := do("POST", "/", "DescribeLimits", "{}"); code != 400 || !strings.Contains(body, "LimitExceededException") {
		t.Errorf("DescribeLimits: %d %s", code, body)
	}
	if code, body := do("DELETE", "/admin/faults", "", ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("DELETE /admin/faults: %d %s", code, body)
	}
	if code, body := do("POST", "/", "ListStreams", "{}"); code != 200 {
		t.Errorf("ListStreams after DELETE: %d %s", code, body)
	}
	// The limiter is on: DescribeLimits allows one call a second, so calls
	// back to back are refused, as soon as two of them fall within a
	// second however slow the machine. Without a limiter none ever is;
	// the minute only bounds that.
	for deadline := time.Now().Add(time.Minute); ; {
		code, body := do("POST", "/", "DescribeLimits", "{}")
		if code == 400 && strings.Contains(body, "LimitExceededException") {
			break
		}
		if code != 200 {
			t.Fatalf("DescribeLimits: %d %s, want 200 or LimitExceededException", code, body)
		}
		if time.Now().After(deadline) {
			t.Fatal("DescribeLimits never refused: the limiter is off")
		}
	}
	code, body := do("GET", "/admin/limits", "", "")
	var status struct {
		Mode  string
		Peers int
	}
	if code != 200 || json.Unmarshal([]byte(body), &status) != nil || status.Mode != "aws" || status.Peers != 1 {
		t.Errorf("GET /admin/limits: %d %s", code, body)
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code %d:\n%s", code, errb)
		}
	case <-time.After(hangTimeout):
		t.Fatalf("serve did not stop:\n%s", errb)
	}
}
