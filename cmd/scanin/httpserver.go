package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/scanin/scanin/protocol"
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

// listen listens on addr, the value of the flag named flagName, and says
// which flag to change when it cannot: the port is taken, or is one only
// root may open.
func listen(flagName, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("--%s %s: address already in use: another program (perhaps another scanin) listens there; stop it, or choose another port with --%s", flagName, addr, flagName)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("--%s %s: permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE (docs/deploy.md); grant it, or choose a port of 1024 or above with --%s", flagName, addr, flagName)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, fmt.Errorf("--%s %s: no network interface of this machine has that address; choose one it has with --%s", flagName, addr, flagName)
	}
	return nil, fmt.Errorf("--%s %s: %w", flagName, addr, err)
}

// loadKeyPair reads --tls-cert and --tls-key, and says which of the two is
// wrong when they cannot be used.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	for _, f := range []struct{ flag, file string }{{"tls-cert", certFile}, {"tls-key", keyFile}} {
		if _, err := os.ReadFile(f.file); err != nil {
			return tls.Certificate{}, fmt.Errorf("--%s: %w", f.flag, err)
		}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if strings.Contains(err.Error(), "does not match") {
			return tls.Certificate{}, fmt.Errorf("--tls-cert %s and --tls-key %s are not a pair: the key is not the certificate's (%w)", certFile, keyFile, err)
		}
		return tls.Certificate{}, fmt.Errorf("--tls-cert %s and --tls-key %s: want a PEM certificate (chain) and its PEM private key: %w", certFile, keyFile, err)
	}
	return cert, nil
}

// serverTLSConfig is the TLS configuration of every HTTPS listener.
func serverTLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12}
}

// checkPhoneURL checks that a relay base URL u, which what names for the
// user (such as "--public-url http://…"), is one a phone can use: https, or http on a loopback host (which only the
// machine itself reaches). It is protocol.CheckRelayURL's rule, the one
// the phone applies to a code's relay.
//
// fix says what to do instead: relayHTTPSFix or demoHTTPSFix.
func checkPhoneURL(what, u, fix string) error {
	if _, err := protocol.CheckRelayURL(u); errors.Is(err, protocol.ErrLinkInsecureRelay) && strings.HasPrefix(strings.ToLower(u), "http://") {
		return fmt.Errorf("%s is plain http on a host other than this machine's loopback, and no phone would use it: "+
			"phones refuse plain-http relays, and the camera page needs a secure context (https). %s", what, fix)
	}
	return nil
}

// What to do about a relay URL phones cannot use, for checkPhoneURL.
const (
	relayHTTPSFix = "Serve HTTPS instead: --tls-cert FILE --tls-key FILE, or --acme-domain relay.example for a certificate from Let's Encrypt, " +
		"or a TLS reverse proxy in front with --public-url https://… (docs/deploy.md); " +
		"to try it with a phone on this network, run scanin demo --lan"
	demoHTTPSFix = "Run scanin demo --lan (./build.sh demo --lan) for HTTPS on this machine's LAN address, " +
		"or put an https tunnel or proxy in front of --relay-addr and give its URL with --public-url https://…"
)
