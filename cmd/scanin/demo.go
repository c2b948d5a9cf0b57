package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/scanin/scanin/demo/phone"
	"github.com/scanin/scanin/demo/shop"
	"github.com/scanin/scanin/internal/devcert"
	"github.com/scanin/scanin/server"
)

// The demo's ports with --lan, where it listens on the LAN address.
const (
	lanRelayPort = 8443
	lanShopPort  = 8444
)

// runDemo runs, with no setup and no config file, the relay (with the widget
// and the demo phone page at /phone) and the demo shop on another origin, as
// in real life: the shop embeds the widget served by the relay.
//
// With --lan both run over HTTPS on this machine's LAN address, with a
// certificate of the demo's own CA (internal/devcert), so that a phone on
// the same network can sign in.
func runDemo(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("scanin demo", flag.ContinueOnError)
	relayAddr := fs.String("relay-addr", "127.0.0.1:8080", "`host:port` of the relay (widget, phone page); with --lan, default {lan-ip}:8443")
	shopAddr := fs.String("shop-addr", "localhost:8081", "`host:port` of the demo shop (another origin than the relay); with --lan, default {lan-ip}:8444")
	lan := fs.Bool("lan", false, "serve both over HTTPS on this machine's LAN address, for a phone on the same network,\nwith a certificate the demo makes and keeps under the user's config directory (scanin/devcert)")
	lanIP := fs.String("lan-ip", "", "the LAN `address` for --lan (default: the first private IPv4 address of an interface that is up); implies --lan")
	publicURL := fs.String("public-url", "", "the relay's base `URL` as browsers and phones reach it, such as an https tunnel or proxy to --relay-addr\n(default: http://{relay-addr}, or https://{lan-ip}:PORT with --lan)")
	verbose := fs.Bool("v", false, "print the relay's JSON logs")
	if exit, done := parseFlags(fs, args, io, "Usage: scanin demo [flags]\n\nRuns the relay and a demo shop on loopback. Ctrl-C stops both.\nWith --lan, over HTTPS on this machine's LAN address, for a real phone.", ""); done {
		return exit
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	fail := func(err error) int {
		fmt.Fprintf(io.err, "scanin demo: %v\n", err)
		return 1
	}
	if *lanIP != "" {
		*lan = true
	}

	// With --lan: the address, its certificate, and the listen addresses
	// on it unless given.
	var tlsCfg *tls.Config
	var cert *devcert.Cert
	var ip netip.Addr
	if *lan {
		var err error
		if *lanIP != "" {
			if ip, err = netip.ParseAddr(*lanIP); err != nil {
				return usageError(fs, fmt.Sprintf("--lan-ip %q is not an IP address", *lanIP))
			}
		} else if ip, err = devcert.LANAddr(); err != nil {
			return fail(err)
		}
		ip = ip.Unmap()
		dir, err := devcert.DefaultDir()
		if err != nil {
			return fail(err)
		}
		if cert, err = devcert.Ensure(dir, []netip.Addr{ip}, time.Now()); err != nil {
			if !devcert.Permitted(ip) {
				return fail(fmt.Errorf("--lan-ip: %w", err))
			}
			return fail(err)
		}
		tlsCfg = serverTLSConfig()
		tlsCfg.Certificates = []tls.Certificate{cert.TLS}
		if !set["relay-addr"] {
			*relayAddr = netip.AddrPortFrom(ip, lanRelayPort).String()
		}
		if !set["shop-addr"] {
			*shopAddr = netip.AddrPortFrom(ip, lanShopPort).String()
		}
	}

	// Where browsers and phones reach the relay and the shop, checked
	// before anything listens (but for the ports port 0 picks).
	if !*lan && *publicURL == "" && unspecifiedHost(*relayAddr) {
		return fail(fmt.Errorf("--relay-addr %s listens on every interface, which names no URL for the codes, and phones accept relays only over https. %s", *relayAddr, demoHTTPSFix))
	}
	if *publicURL != "" {
		if err := checkPhoneURL("--public-url "+*publicURL, *publicURL, demoHTTPSFix); err != nil {
			return fail(err)
		}
	}

	relayLn, err := listen("relay-addr", *relayAddr)
	if err != nil {
		return fail(err)
	}
	shopLn, err := listen("shop-addr", *shopAddr)
	if err != nil {
		relayLn.Close()
		return fail(err)
	}
	closeAll := func() { relayLn.Close(); shopLn.Close() }
	relayURL := "http://" + relayLn.Addr().String()
	_, shopPort, _ := net.SplitHostPort(shopLn.Addr().String())
	shopHost, _, _ := net.SplitHostPort(*shopAddr)
	shopURL := "http://" + net.JoinHostPort(shopHost, shopPort)
	if *lan {
		relayURL = "https://" + netip.AddrPortFrom(ip, listenPort(relayLn)).String()
		shopURL = "https://" + netip.AddrPortFrom(ip, listenPort(shopLn)).String()
	}
	if *publicURL != "" {
		relayURL = *publicURL
	} else if err := checkPhoneURL("--relay-addr "+*relayAddr+" makes the relay's URL "+relayURL+", which", relayURL, demoHTTPSFix); err != nil {
		closeAll()
		return fail(err)
	}

	logLevel := slog.LevelWarn
	if *verbose {
		logLevel = slog.LevelInfo
	}
	logger := slog.New(slog.NewJSONHandler(io.err, &slog.HandlerOptions{Level: logLevel}))
	// The demo app's codes open the demo phone page, so a phone's own
	// camera app lands on the confirmation screen with the link in the
	// page's fragment.
	app := server.DemoApp()
	app.LinkBase = relayURL + "/phone"
	if *lan {
		app.Origins = append(app.Origins, shopURL)
	}
	relay, err := server.New(server.Config{PublicURL: relayURL, Apps: []server.App{app}}, logger)
	if err != nil {
		closeAll()
		return fail(err)
	}
	// The shop's backend mode checks assertions addressed to its origin,
	// and its phone API answers the phone page's origin.
	shopHandler, err := shop.Handler(shop.Config{Relay: relayURL, Origin: shopURL, PhoneOrigin: originOf(relayURL), App: app.ID}, logger)
	if err != nil {
		closeAll()
		return fail(err)
	}
	phonePage := phone.HandlerWithShop("/phone", shopURL)
	relayMux := http.NewServeMux()
	relayMux.Handle("/phone", phonePage)
	relayMux.Handle("/phone/", phonePage)
	relayMux.Handle("/", relay.Handler())
	if cert != nil {
		// The CA certificate (public), for a phone that would rather
		// install it than accept each warning.
		relayMux.HandleFunc("GET /demo-ca.pem", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/x-x509-ca-cert")
			w.Header().Set("Content-Disposition", `attachment; filename="scanin-demo-ca.pem"`)
			http.ServeFile(w, r, cert.CAFile)
		})
	}

	servers := []*http.Server{
		newHTTPServer(relayMux, logger),
		newHTTPServer(shopHandler, logger),
	}
	served := make(chan error, 2)
	for i, ln := range []net.Listener{relayLn, shopLn} {
		s := servers[i]
		if tlsCfg != nil {
			s.TLSConfig = tlsCfg
			go func() { served <- s.ServeTLS(ln, "", "") }()
		} else {
			go func() { served <- s.Serve(ln) }()
		}
	}

	if *lan {
		fmt.Fprintf(io.out, `scanin demo is running over HTTPS on this machine's LAN address, %s:

  shop   %-30s the Demo Shop's sign-in page; it embeds the widget
  phone  %-30s the Demo Shop's app, with a demo user signed in
  relay  %-30s the relay; it serves the widget
  CA     %s
         the demo's own certificate authority, which signed the certificate
         (also at %s/demo-ca.pem)

The certificate is the demo's own, not a public CA's, so each browser asks
about it once: accept the warning (Chrome: "Advanced", then "Proceed";
Safari: "Show Details", then "visit this website"), or install the CA file.

1. On this computer, open the relay, accept, then open the shop and accept.
2. On a phone on the same network (Wi-Fi), open the phone page and accept.
   Scan the shop's code with it, or with the phone's camera app.
3. Tap "Sign in" on the phone: the shop shows "Signed in as Ada Lovelace".
4. Server-side mode: choose "Backend session" on the shop, and "Register this
   phone" on the phone; the shop then keeps its own HttpOnly session, and its
   account page lists your phones and browsers and revokes a phone.

Press Ctrl-C to stop.
`, ip, shopURL, relayURL+"/phone", relayURL, cert.CAFile, relayURL)
	} else {
		fmt.Fprintf(io.out, `scanin demo is running:

  shop   %-30s the Demo Shop's sign-in page; it embeds the widget
  phone  %-30s the Demo Shop's app, with a demo user signed in
  relay  %-30s the relay; it serves the widget

1. Open the shop in a browser.
2. Open the phone in another tab (or, with scanin demo --lan, on a phone on
   this network). Scan the shop's code with its camera, or upload a
   screenshot of the code.
3. Tap "Sign in" on the phone: the shop shows "Signed in as Ada Lovelace".
4. Server-side mode: choose "Backend session" on the shop, and "Register this
   phone" on the phone; the shop then keeps its own HttpOnly session, and its
   account page lists your phones and browsers and revokes a phone.

Press Ctrl-C to stop.
`, shopURL, relayURL+"/phone", relayURL)
	}

	code := 0
	select {
	case err := <-served:
		fmt.Fprintf(io.err, "scanin demo: %v\n", err)
		code = 1
	case <-ctx.Done():
		fmt.Fprintln(io.out, "\nStopping…")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := relay.Shutdown(sctx); err != nil {
		logger.Error("relay shutdown", "err", err)
	}
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			logger.Error("http shutdown", "err", err)
		}
	}
	return code
}

// originOf is a URL's origin (scheme://host[:port]).
func originOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Scheme + "://" + p.Host
}

// listenPort is the port a listener listens on.
func listenPort(ln net.Listener) uint16 {
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	p, _ := strconv.ParseUint(port, 10, 16)
	return uint16(p)
}
