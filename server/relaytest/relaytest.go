// Package relaytest runs a real scanin relay on loopback for tests, in the
// style of net/http/httptest:
//
//	srv := relaytest.NewServer(t, server.Config{NoRateLimit: true})
//	defer srv.Close()
//	link := ... srv.URL() ...
//
// The relay is the production one (package server) behind a real
// http.Server on 127.0.0.1, so clients under test speak HTTP and WebSocket
// to it exactly as they would to a deployed relay.
package relaytest

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/scanin/scanin/server"
)

// Server is a relay listening on a loopback port.
type Server struct {
	tb     testing.TB
	url    string
	relay  *server.Relay
	http   *http.Server
	done   chan struct{}
	mu     sync.Mutex
	closed bool
}

// NewServer starts a relay with cfg on 127.0.0.1 and a free port. An empty
// cfg.PublicURL becomes the server's URL. The server closes itself when the
// test ends (tb.Cleanup); Close may be called earlier. Its logs go to
// tb.Log while the test runs.
//
// Rate limits apply as cfg says: set cfg.NoRateLimit in tests that make
// more than 60 sessions or 120 sender requests a minute.
func NewServer(tb testing.TB, cfg server.Config) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("relaytest: failed to listen: %v", err)
	}
	s := &Server{tb: tb, url: "http://" + ln.Addr().String(), done: make(chan struct{})}
	if cfg.PublicURL == "" {
		cfg.PublicURL = s.url
	}
	logger := slog.New(slog.NewTextHandler(tbWriter{s}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s.relay, err = server.New(cfg, logger)
	if err != nil {
		ln.Close()
		tb.Fatalf("relaytest: %v", err)
	}
	s.http = &http.Server{Handler: s.relay.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("relaytest: serve: %v", err)
		}
	}()
	tb.Cleanup(s.Close)
	return s
}

// URL is the relay's base URL, "http://127.0.0.1:PORT", without a trailing
// slash: what a link's r parameter holds.
func (s *Server) URL() string { return s.url }

// Relay is the relay itself.
func (s *Server) Relay() *server.Relay { return s.relay }

// Close shuts the relay down gracefully (receivers are closed with 1001)
// and waits for it. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.relay.Shutdown(ctx); err != nil {
		s.tb.Errorf("relaytest: %v", err)
	}
	if err := s.http.Shutdown(ctx); err != nil {
		s.tb.Errorf("relaytest: failed to stop the HTTP server: %v", err)
	}
	<-s.done
}

// tbWriter passes log lines to the test while it runs.
type tbWriter struct{ s *Server }

func (w tbWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if !w.s.closed {
		w.s.tb.Logf("relay: %s", p)
	}
	return len(p), nil
}
