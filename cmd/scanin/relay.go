package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/scanin/scanin/server"
)

// relayShutdownTimeout bounds a graceful shutdown: deliveries in flight
// finish, receivers are told to go elsewhere.
const relayShutdownTimeout = 20 * time.Second

// relayFlags are scanin relay's flags.
type relayFlags struct {
	addr, configPath, publicURL string
	noRateLimit                 bool
	tlsCert, tlsKey             string
	acmeDomain, acmeDir         string
	acmeCache, acmeEmail        string
	acmeHTTPAddr, acmeCARoots   string
	metricsAddr                 string
	redis                       string
}

// runRelay runs the relay until ctx is cancelled (SIGINT or SIGTERM), then
// shuts down gracefully. Once it listens it prints
//
//	scanin relay: listening on http://ADDR
//
// (https://ADDR with --tls-cert or --acme-domain) on standard output, so a
// script (or a test using --addr 127.0.0.1:0) can learn the port. Logs are
// JSON on standard error.
func runRelay(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("scanin relay", flag.ContinueOnError)
	var f relayFlags
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "`host:port` to listen on (port 0 picks a free one; default :443 with --acme-domain)")
	fs.StringVar(&f.configPath, "config", "", "JSON config `file` with apps, trusted_proxies and limits (default: the built-in demo app)")
	fs.StringVar(&f.publicURL, "public-url", "", "the relay's base `URL` as browsers and phones reach it: https, or http on loopback only\n(default http://{addr}, https://{addr} with --tls-cert, https://{domain} with --acme-domain)")
	fs.BoolVar(&f.noRateLimit, "no-rate-limit", false, "turn off the per-client-IP rate limits (for benchmarks and tests)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) `file`; needs --tls-key")
	fs.StringVar(&f.tlsKey, "tls-key", "", "the PEM private key `file` of --tls-cert")
	fs.StringVar(&f.acmeDomain, "acme-domain", "", "serve HTTPS for this `domain` with a certificate from an ACME CA (Let's Encrypt by default), got and renewed automatically")
	fs.StringVar(&f.acmeDir, "acme-dir", autocert.DefaultACMEDirectory, "the ACME CA's directory `URL`")
	fs.StringVar(&f.acmeCache, "acme-cache", "", "`directory` keeping the ACME account key and certificates across restarts\n(default $STATE_DIRECTORY/acme under systemd, else the user's cache directory's scanin/acme)")
	fs.StringVar(&f.acmeEmail, "acme-email", "", "contact `address` the ACME CA may write to about the certificate")
	fs.StringVar(&f.acmeHTTPAddr, "acme-http-addr", ":80", "`host:port` answering the CA's HTTP-01 challenges (and redirecting the rest to https); empty: TLS-ALPN-01 on --addr only")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics on this `host:port` of its own instead of on --addr, so it need not be public")
	fs.StringVar(&f.redis, "redis", "", "keep sessions and rate limits in the Redis server at this `URL` (redis://host:port/db, rediss:// for TLS),\nso that every relay given it acts as one relay behind a load balancer (overrides the config file's \"redis\")")
	fs.StringVar(&f.acmeCARoots, "acme-ca-roots", "", "PEM `file` of the root certificates to trust for the ACME CA's own HTTPS (a private ACME server; default: the system's)")
	if exit, done := parseFlags(fs, args, io, "Usage: scanin relay [flags]\n\nRuns the relay: the Relay API of docs/protocol.md, the widget files, /link,\n/healthz and /metrics. Phones need it on HTTPS: --tls-cert and --tls-key,\n--acme-domain, or a TLS reverse proxy and --public-url (docs/deploy.md).", ""); done {
		return exit
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case (f.tlsCert == "") != (f.tlsKey == ""):
		return usageError(fs, "--tls-cert and --tls-key go together: give the certificate and its key")
	case f.acmeDomain != "" && f.tlsCert != "":
		return usageError(fs, "--acme-domain gets its own certificate: give it or --tls-cert/--tls-key, not both")
	case f.acmeDomain == "":
		for _, name := range []string{"acme-dir", "acme-cache", "acme-email", "acme-http-addr", "acme-ca-roots"} {
			if set[name] {
				return usageError(fs, "--"+name+" needs --acme-domain")
			}
		}
	default:
		if err := checkDomain(f.acmeDomain); err != nil {
			return usageError(fs, err.Error())
		}
		if !set["addr"] {
			f.addr = ":443"
		}
	}
	fail := func(err error) int {
		fmt.Fprintf(io.err, "scanin relay: %v\n", err)
		return 1
	}

	var cfg server.Config
	if f.configPath != "" {
		var err error
		if cfg, err = server.LoadConfig(f.configPath); err != nil {
			return fail(err)
		}
	}
	cfg.NoRateLimit = f.noRateLimit
	if f.redis != "" {
		cfg.Redis = f.redis
	}
	cfg.SeparateMetrics = f.metricsAddr != ""

	// Where phones reach the relay: checked before anything listens.
	secure := f.tlsCert != "" || f.acmeDomain != ""
	cfg.PublicURL = f.publicURL
	what := "--public-url " + f.publicURL
	if cfg.PublicURL == "" {
		switch {
		case f.acmeDomain != "":
			cfg.PublicURL = "https://" + f.acmeDomain
		case secure:
			cfg.PublicURL = "https://" + f.addr
		default:
			cfg.PublicURL = "http://" + f.addr
			what = "the public URL http://" + f.addr + " (from --addr; --public-url sets it)"
		}
	}
	if f.publicURL == "" && f.acmeDomain == "" && unspecifiedHost(f.addr) {
		return fail(fmt.Errorf("--addr %s listens on every interface, which says nothing of where phones reach the relay: give its https URL with --public-url https://… (see docs/deploy.md)", f.addr))
	}
	if err := checkPhoneURL(what, cfg.PublicURL, relayHTTPSFix); err != nil {
		return fail(err)
	}

	var tlsCfg *tls.Config
	var acmeHTTP http.Handler
	var acmeMgr *autocert.Manager
	var reload *keyPair
	switch {
	case f.tlsCert != "":
		cert, err := loadKeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return fail(err)
		}
		if cert.Leaf != nil && time.Now().After(cert.Leaf.NotAfter) {
			fmt.Fprintf(io.err, "scanin relay: warning: --tls-cert %s expired on %s: browsers will refuse it; renew it and restart the relay\n", f.tlsCert, cert.Leaf.NotAfter.Format(time.DateOnly))
		}
		kp := &keyPair{certFile: f.tlsCert, keyFile: f.tlsKey}
		kp.cert.Store(&cert)
		tlsCfg = serverTLSConfig()
		tlsCfg.GetCertificate = kp.get
		reload = kp
	case f.acmeDomain != "":
		m, err := acmeManager(&f)
		if err != nil {
			return fail(err)
		}
		acmeMgr = m
		tlsCfg = acmeTLSConfig(m, f.acmeDomain)
		if f.acmeHTTPAddr != "" {
			acmeHTTP = withoutHostPort(m.HTTPHandler(nil))
		}
	}

	ln, err := listen("addr", f.addr)
	if err != nil {
		return fail(err)
	}
	var acmeLn, metricsLn net.Listener
	if acmeHTTP != nil {
		if acmeLn, err = listen("acme-http-addr", f.acmeHTTPAddr); err != nil {
			ln.Close()
			return fail(err)
		}
	}
	if f.metricsAddr != "" {
		if metricsLn, err = listen("metrics-addr", f.metricsAddr); err != nil {
			ln.Close()
			if acmeLn != nil {
				acmeLn.Close()
			}
			return fail(err)
		}
	}
	scheme := "http"
	if secure {
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String()
	if f.publicURL == "" && f.acmeDomain == "" && (f.tlsCert != "" || strings.HasSuffix(f.addr, ":0")) {
		cfg.PublicURL = base // the port a port 0 picked
	}
	logger := slog.New(slog.NewJSONHandler(io.err, nil))
	relay, err := server.New(cfg, logger)
	if err != nil {
		ln.Close()
		if acmeLn != nil {
			acmeLn.Close()
		}
		if metricsLn != nil {
			metricsLn.Close()
		}
		return fail(err)
	}
	servers := []*http.Server{newHTTPServer(relay.Handler(), logger)}
	served := make(chan error, 3)
	if tlsCfg != nil {
		servers[0].TLSConfig = tlsCfg
		go func() { served <- servers[0].ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- servers[0].Serve(ln) }()
	}
	if acmeLn != nil {
		s := newHTTPServer(acmeHTTP, logger)
		servers = append(servers, s)
		go func() { served <- s.Serve(acmeLn) }()
		fmt.Fprintf(io.out, "scanin relay: ACME HTTP-01 challenges on http://%s\n", acmeLn.Addr())
	}
	if metricsLn != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", relay.MetricsHandler())
		s := newHTTPServer(mux, logger)
		servers = append(servers, s)
		go func() { served <- s.Serve(metricsLn) }()
		fmt.Fprintf(io.out, "scanin relay: metrics on http://%s/metrics\n", metricsLn.Addr())
	}
	logger.Info("relay listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "rate_limit", !cfg.NoRateLimit, "tls", secure)
	if acmeMgr != nil {
		fmt.Fprintf(io.out, "scanin relay: certificate for %s from %s, kept in %s\n", f.acmeDomain, f.acmeDir, f.acmeCache)
		go prefetchCertificate(acmeMgr, f.acmeDomain, logger)
	}
	fmt.Fprintf(io.out, "scanin relay: listening on %s\n", base)
	{
		// SIGHUP reads --tls-cert and --tls-key again: a renewed
		// certificate without a restart. Otherwise it is ignored (not the
		// default, which ends the process): ACME renews by itself.
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer func() { signal.Stop(hup); close(hup) }()
		go func() {
			for range hup {
				if reload == nil {
					logger.Info("SIGHUP: nothing to reload (only --tls-cert and --tls-key are read again)")
					continue
				}
				if err := reload.load(); err != nil {
					logger.Error("SIGHUP: kept the old certificate", "err", err)
					continue
				}
				logger.Info("SIGHUP: certificate reloaded", "not_after", reload.cert.Load().Leaf.NotAfter)
			}
		}()
	}

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
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			logger.Error("http shutdown", "err", err)
			code = 1
		}
	}
	return code
}

// checkDomain checks --acme-domain: a DNS name with a dot, no scheme, port
// or IP address, which an ACME CA can issue a certificate for.
func checkDomain(d string) error {
	if strings.Contains(d, "://") || strings.ContainsAny(d, ":/ ") {
		return fmt.Errorf("--acme-domain %q: give the bare domain name, such as relay.example (no scheme, port or path)", d)
	}
	if _, err := netip.ParseAddr(d); err == nil {
		return fmt.Errorf("--acme-domain %q: ACME CAs certify domain names, not IP addresses: give a domain whose DNS points at this machine", d)
	}
	if !strings.Contains(strings.Trim(d, "."), ".") {
		return fmt.Errorf("--acme-domain %q: give a full domain name, such as relay.example", d)
	}
	return nil
}

// acmeManager is the autocert manager of --acme-domain and its flags. It
// fills in f.acmeCache's default.
func acmeManager(f *relayFlags) (*autocert.Manager, error) {
	if f.acmeCache == "" {
		if state, _, _ := strings.Cut(os.Getenv("STATE_DIRECTORY"), ":"); state != "" {
			f.acmeCache = filepath.Join(state, "acme")
		} else {
			dir, err := os.UserCacheDir()
			if err != nil {
				return nil, fmt.Errorf("no directory for the ACME cache: give one with --acme-cache (%w)", err)
			}
			f.acmeCache = filepath.Join(dir, "scanin", "acme")
		}
	}
	if err := os.MkdirAll(f.acmeCache, 0o700); err != nil {
		return nil, fmt.Errorf("--acme-cache: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if f.acmeCARoots != "" {
		pemBytes, err := os.ReadFile(f.acmeCARoots)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-roots: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("--acme-ca-roots %s: no PEM certificate in it", f.acmeCARoots)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	return &autocert.Manager{
		Prompt:     autocert.AcceptTOS,
		Cache:      autocert.DirCache(f.acmeCache),
		HostPolicy: autocert.HostWhitelist(f.acmeDomain),
		Email:      f.acmeEmail,
		Client: &acme.Client{
			DirectoryURL: f.acmeDir,
			UserAgent:    "scanin-relay",
			HTTPClient:   &http.Client{Transport: transport, Timeout: time.Minute},
		},
	}, nil
}

// acmeTLSConfig is autocert's TLS configuration (which answers TLS-ALPN-01
// challenges), where a client that sends no server name, such as a health
// check by IP address, gets the domain's certificate.
func acmeTLSConfig(m *autocert.Manager, domain string) *tls.Config {
	cfg := m.TLSConfig()
	cfg.MinVersion = tls.VersionTLS12
	cfg.GetCertificate = func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		if hello.ServerName == "" {
			h := *hello
			h.ServerName = domain
			hello = &h
		}
		cert, err := m.GetCertificate(hello)
		if err != nil {
			return nil, fmt.Errorf("certificate for %q: %w", hello.ServerName, err)
		}
		return cert, nil
	}
	return cfg
}

// unspecifiedHost reports whether host:port listens on every interface
// (no host, 0.0.0.0 or ::), so it names no address to reach it at.
func unspecifiedHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "" || (err == nil && ip.IsUnspecified())
}

// withoutHostPort strips the port from a request's Host before h sees it:
// autocert checks the Host of an HTTP-01 challenge against the domain, and
// a CA that checks another port than 80 (a test or private CA) sends
// "relay.example:PORT".
func withoutHostPort(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.Host); err == nil {
			r2 := *r
			r2.Host = host
			r = &r2
		}
		h.ServeHTTP(w, r)
	})
}

// prefetchCertificate asks for the domain's certificate as soon as the
// relay listens (the CA's challenges need the listeners), so that the first
// visitor does not wait for it, and a DNS or firewall mistake shows in the
// log at once. The certificate comes from the cache when it is there.
func prefetchCertificate(m *autocert.Manager, domain string, logger *slog.Logger) {
	hello := &tls.ClientHelloInfo{
		ServerName:   domain,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}, // the ECDSA certificate browsers get
	}
	cert, err := m.GetCertificate(hello)
	if err != nil {
		logger.Error("no ACME certificate yet; the first visit asks again (check that the domain's DNS points here and that the CA reaches --addr on 443 or --acme-http-addr on 80)",
			"domain", domain, "err", err)
		return
	}
	var notAfter time.Time
	if cert.Leaf != nil {
		notAfter = cert.Leaf.NotAfter
	}
	logger.Info("ACME certificate", "domain", domain, "not_after", notAfter)
}

// keyPair is --tls-cert and --tls-key, read again on SIGHUP.
type keyPair struct {
	certFile, keyFile string
	cert              atomic.Pointer[tls.Certificate]
}

// load reads the files again; on error the certificate in use stays.
func (k *keyPair) load() error {
	cert, err := loadKeyPair(k.certFile, k.keyFile)
	if err != nil {
		return err
	}
	k.cert.Store(&cert)
	return nil
}

// get is tls.Config's GetCertificate.
func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return k.cert.Load(), nil
}
