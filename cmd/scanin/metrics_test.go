package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// TestRelayMetricsAddr runs `scanin relay --metrics-addr`: the public
// listener has no /metrics, and the metrics listener has the relay's own
// metrics after a handoff beside the Go runtime's and the process's.
func TestRelayMetricsAddr(t *testing.T) {
	t.Parallel()
	s, line := startServer(t, nil, "scanin relay: metrics on ", "relay", "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0")
	metricsURL := strings.TrimPrefix(line, "scanin relay: metrics on ")
	base := strings.TrimPrefix(s.waitLine(t, "scanin relay: listening on "), "scanin relay: listening on ")

	// A handoff: a receiver listens, a sender posts, the receiver acks.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sid := protocol.NewSessionID()
	conn, _, err := websocket.Dial(ctx, protocol.ListenURL(base, sid, protocol.ListenParams{App: "demo"}), nil)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.CloseNow()
	if _, b, err := conn.Read(ctx); err != nil || !bytes.Contains(b, []byte(`"ready"`)) {
		t.Fatalf("listen: %s, %v; want ready", b, err)
	}
	posted := make(chan int, 1)
	go func() {
		resp, err := http.Post(base+protocol.SessionPath(sid), "application/octet-stream", bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
		if err != nil {
			posted <- 0
			return
		}
		resp.Body.Close()
		posted <- resp.StatusCode
	}()
	if _, b, err := conn.Read(ctx); err != nil || !bytes.Contains(b, []byte(`"sealed"`)) {
		t.Fatalf("receiver: %s, %v; want sealed", b, err)
	}
	if err := conn.Write(ctx, websocket.MessageText, protocol.Frame{Type: protocol.FrameAck}.AppendJSON(nil)); err != nil {
		t.Fatal(err)
	}
	if st := <-posted; st != http.StatusOK {
		t.Fatalf("POST: %d, want 200", st)
	}

	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get(base + "/metrics"); st != http.StatusNotFound {
		t.Errorf("GET %s/metrics with --metrics-addr: %d %s, want 404", base, st, body)
	}
	st, body := get(metricsURL)
	if st != http.StatusOK {
		t.Fatalf("GET %s: %d %s", metricsURL, st, body)
	}
	for _, want := range []string{
		"scanin_sessions_total 1\n",
		`scanin_handoffs_total{outcome="delivered"} 1` + "\n",
		"scanin_delivery_latency_seconds_count 1\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_open_fds", "process_resident_memory_bytes"} {
		if !regexp.MustCompile(`(?m)^` + name + ` [0-9.e+]+$`).MatchString(body) {
			t.Errorf("metrics lack %s:\n%s", name, body)
		}
	}
}
