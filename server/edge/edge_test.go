//go:build !js

package edge_test

import (
	"bytes"
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/server/conformance"
)

// notAtTheEdge are the conformance checks the edge relay does not pass, as
// a -skip pattern, each with why:
//   - Ping wants a WebSocket ping within 25 s. A Durable Object cannot send
//     one: the edge relay relies on the receivers' {"type":"ping"}, which
//     the platform answers (ReceiverPing checks that).
const notAtTheEdge = `^TestConformance$/^Ping$`

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.skip"); f.Value.String() == "" {
		_ = f.Value.Set(notAtTheEdge)
	}
	os.Exit(m.Run())
}

// TestConformance starts the edge relay the way a user does,
// `./build.sh edge --port PORT --no-rate-limit`, which builds it and serves
// it under workerd with on-disk storage, and runs the conformance suite and
// the hibernation checks against it.
func TestConformance(t *testing.T) {
	if _, err := os.Stat("node_modules/@cloudflare/workerd-linux-64/bin/workerd"); err != nil {
		t.Skip("server/edge/node_modules is missing: run `npm ci` in server/edge (./build.sh test does it first)")
	}
	url := startEdge(t, "--no-rate-limit")
	conformance.Run(t, conformance.Target{URL: url})
	// In parallel with the suite's slow checks.
	t.Run("Hibernation", func(t *testing.T) {
		t.Parallel()
		testHibernation(t, url)
	})
}

// TestRateLimits checks the per-client rate limits of a fresh edge relay
// with them on, as `./build.sh edge` serves it by default.
func TestRateLimits(t *testing.T) {
	if _, err := os.Stat("node_modules/@cloudflare/workerd-linux-64/bin/workerd"); err != nil {
		t.Skip("server/edge/node_modules is missing: run `npm ci` in server/edge (./build.sh test does it first)")
	}
	conformance.RunRateLimits(t, conformance.Target{URL: startEdge(t)})
}

// lockedBuffer collects a process's output for the test log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startEdge runs ./build.sh edge on a free port and returns its URL once
// /healthz answers; the test's end stops it (the whole process group:
// build.sh and workerd).
func startEdge(t *testing.T, args ...string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var out lockedBuffer
	cmd := exec.Command("../../build.sh", append([]string{"edge", "--port", strconv.Itoa(port)}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ./build.sh edge: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Errorf("./build.sh edge did not stop within 10 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("./build.sh edge output:\n%s", out.String())
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // it builds first
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", url+"/healthz", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return url
			}
		}
		select {
		case err := <-done:
			t.Fatalf("./build.sh edge exited before serving: %v\n%s", err, out.String())
		case <-ctx.Done():
			t.Fatalf("./build.sh edge did not serve /healthz within 3 minutes\n%s", out.String())
		case <-time.After(100 * time.Millisecond): // polling until it listens
		}
	}
}
