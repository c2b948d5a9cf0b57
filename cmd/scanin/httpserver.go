package main

import (
	"log/slog"
	"net/http"
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
