package conformance

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/internal/proctest"
	"github.com/scanin/scanin/protocol"
)

// TestBinary runs the suite against the real binary, started the way a
// user starts it: the whole suite against a relay without rate limits, and
// the rate limits against a second one with the defaults.
func TestBinary(t *testing.T) {
	bin := proctest.BuildScanin(t)
	t.Run("Suite", func(t *testing.T) {
		t.Parallel()
		Run(t, Target{URL: startRelay(t, bin, "--no-rate-limit")})
	})
	t.Run("RateLimits", func(t *testing.T) {
		t.Parallel()
		RunRateLimits(t, Target{URL: startRelay(t, bin)})
	})
	t.Run("GracefulShutdown", func(t *testing.T) {
		t.Parallel()
		testShutdown(t, bin)
	})
}

// startRelay starts `scanin relay --addr 127.0.0.1:0 args...`, reads the
// address it printed, and stops it with SIGTERM when the test ends.
func startRelay(t *testing.T, bin string, args ...string) string {
	t.Helper()
	return proctest.StartRelay(t, bin, args...).URL
}

// testShutdown sends SIGTERM to a relay with a receiver attached: the
// receiver is closed with 1001 (going away) and the relay exits 0.
func testShutdown(t *testing.T, bin string) {
	p := proctest.StartRelay(t, bin)
	c := newClient(Target{URL: p.URL, App: "demo"})
	defer c.close()
	r := c.listen(t, protocol.NewSessionID(), listenOpts{app: "demo"})
	stopped := make(chan error, 1)
	go func() { stopped <- p.Stop(20 * time.Second) }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := r.conn.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Errorf("receiver closed with %v (%v), want 1001 going away", code, err)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(p.URL + "/healthz"); err == nil {
		t.Errorf("relay still answers after exiting")
	}
}
