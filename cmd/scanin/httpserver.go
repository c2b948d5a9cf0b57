package main

import (
	"log/slog"
	"net/http"
	"time"
)

// HTTP timeouts against slow clients. A POST may wait AckWait (10 s) for
// the receiver, so writes get more. WebSocket connections are hijacked and
// so are not subject to them.
const (
	relayReadHeaderTimeout = 10 * time.Second
	relayReadTimeout       = 30 * time.Second
	relayWriteTimeout      = 40 * time.Second
	relayIdleTimeout       = 120 * time.Second
)

// newHTTPServer is the http.Server every scanin listener uses: timeouts
// against slow clients, a header cap, and net/http's own complaints routed
// to the JSON log.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: relayReadHeaderTimeout,
		ReadTimeout:       relayReadTimeout,
		WriteTimeout:      relayWriteTimeout,
		IdleTimeout:       relayIdleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
