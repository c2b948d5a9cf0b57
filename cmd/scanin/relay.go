package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/scanin/scanin/server"
)

// relayShutdownTimeout bounds a graceful shutdown: deliveries in flight
// finish, receivers are told to go elsewhere.
const relayShutdownTimeout = 20 * time.Second

// runRelay runs the relay until ctx is cancelled (SIGINT or SIGTERM), then
// shuts down gracefully. Once it listens it prints
//
//	scanin relay: listening on http://ADDR
//
// on standard output, so a script (or a test using --addr 127.0.0.1:0) can
// learn the port. Logs are JSON on standard error.
func runRelay(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("scanin relay", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one)")
	configPath := fs.String("config", "", "JSON config `file` with apps, trusted_proxies and limits (default: the built-in demo app)")
	publicURL := fs.String("public-url", "", "the relay's base `URL` as browsers and phones reach it (default http://{addr})")
	noRateLimit := fs.Bool("no-rate-limit", false, "turn off the per-client-IP rate limits (for benchmarks and tests)")
	if exit, done := parseFlags(fs, args, io, "Usage: scanin relay [flags]\n\nRuns the relay: the Relay API of docs/protocol.md, the widget files, /link,\n/healthz and /metrics.", ""); done {
		return exit
	}

	var cfg server.Config
	if *configPath != "" {
		var err error
		if cfg, err = server.LoadConfig(*configPath); err != nil {
			fmt.Fprintf(io.err, "scanin relay: %v\n", err)
			return 1
		}
	}
	cfg.NoRateLimit = *noRateLimit

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(io.err, "scanin relay: failed to listen: %v\n", err)
		return 1
	}
	base := "http://" + ln.Addr().String()
	cfg.PublicURL = *publicURL
	if cfg.PublicURL == "" {
		cfg.PublicURL = base
	}
	logger := slog.New(slog.NewJSONHandler(io.err, nil))
	relay, err := server.New(cfg, logger)
	if err != nil {
		ln.Close()
		fmt.Fprintf(io.err, "scanin relay: %v\n", err)
		return 1
	}
	srv := newHTTPServer(relay.Handler(), logger)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("relay listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "rate_limit", !cfg.NoRateLimit)
	fmt.Fprintf(io.out, "scanin relay: listening on %s\n", base)

	select {
	case err := <-served:
		fmt.Fprintf(io.err, "scanin relay: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), relayShutdownTimeout)
	defer cancel()
	code := 0
	if err := relay.Shutdown(sctx); err != nil {
		logger.Error("relay shutdown", "err", err)
		code = 1
	}
	if err := srv.Shutdown(sctx); err != nil {
		logger.Error("http shutdown", "err", err)
		code = 1
	}
	return code
}
