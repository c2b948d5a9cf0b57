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
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/proctest"
	"github.com/scanin/scanin/protocol"
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

// TestConfigLimits starts the edge with a config file whose limits differ
// from the protocol's defaults, and checks that the edge enforces the
// file's: the rate limits, and the cap on a POST's body.
func TestConfigLimits(t *testing.T) {
	if _, err := os.Stat("node_modules/@cloudflare/workerd-linux-64/bin/workerd"); err != nil {
		t.Skip("server/edge/node_modules is missing: run `npm ci` in server/edge (./build.sh test does it first)")
	}
	config := filepath.Join(t.TempDir(), "relay.json")
	// A config file lists its apps: the built-in demo app's, and one that
	// takes no native receivers (RunNativeReceivers).
	const file = `{"apps": [{"id": "demo", "name": "Demo Shop", "origins": ["http://localhost:*", "http://127.0.0.1:*"],
		"widget_origins": ["http://localhost:*", "http://127.0.0.1:*"], "native_receivers": true},
		{"id": "web", "name": "Web only", "origins": ["HTTP://LocalHost:3000"]}],
		"limits": {"max_sealed_size": 4096, "new_sessions_per_minute": 7, "sender_requests_per_minute": 9}}`
	if err := os.WriteFile(config, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	// The POSTs would spend the rate limit's tokens: check them on an edge
	// without one.
	unlimited := startEdge(t, "--config", config, "--no-rate-limit")
	for _, tc := range []struct {
		size int
		want int
	}{{4096, http.StatusNotFound}, {4097, http.StatusRequestEntityTooLarge}} {
		resp, err := http.Post(unlimited+protocol.SessionPath(protocol.NewSessionID()), "application/octet-stream",
			bytes.NewReader(make([]byte, tc.size)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("POST of %d bytes under max_sealed_size 4096: %d, want %d", tc.size, resp.StatusCode, tc.want)
		}
	}
	t.Run("NativeReceivers", func(t *testing.T) {
		conformance.RunNativeReceivers(t, conformance.Target{URL: unlimited, WebOnlyApp: "web"})
	})
	conformance.RunRateLimits(t, conformance.Target{URL: startEdge(t, "--config", config), NewSessionsPerMinute: 7, SenderRequestsPerMinute: 9})
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
	var out proctest.Output
	cmd := exec.Command("../../build.sh", append([]string{"edge", "--port", strconv.Itoa(port)}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(os.Environ(), "SCANIN_EDGE_TRACE=on") // for testHibernation
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ./build.sh edge: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("./build.sh edge did not stop within 10 s of SIGTERM")
		}
		if t.Failed() {
			t.Logf("./build.sh edge output:\n%s", out.String())
		}
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // it builds first
	defer cancel()
	if err := proctest.WaitHealthy(ctx, url, exited); err != nil {
		t.Fatalf("./build.sh edge: %v\n%s", err, out.String())
	}
	return url
}
