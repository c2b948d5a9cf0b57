package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/scanin/scanin/demo/phone"
	"github.com/scanin/scanin/demo/shop"
	"github.com/scanin/scanin/server"
)

// runDemo runs, with no setup and no config file, the relay (with the widget
// and the demo phone page at /phone) and the demo shop on another origin, as
// in real life: the shop embeds the widget served by the relay.
func runDemo(ctx context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("scanin demo", flag.ContinueOnError)
	relayAddr := fs.String("relay-addr", "127.0.0.1:8080", "`host:port` of the relay (widget, phone page)")
	shopAddr := fs.String("shop-addr", "localhost:8081", "`host:port` of the demo shop (another origin than the relay)")
	verbose := fs.Bool("v", false, "print the relay's JSON logs")
	if exit, done := parseFlags(fs, args, io, "Usage: scanin demo [flags]\n\nRuns the relay and a demo shop on loopback. Ctrl-C stops both.", ""); done {
		return exit
	}

	relayLn, err := net.Listen("tcp", *relayAddr)
	if err != nil {
		fmt.Fprintf(io.err, "scanin demo: failed to listen for the relay: %v\n", err)
		return 1
	}
	shopLn, err := net.Listen("tcp", *shopAddr)
	if err != nil {
		relayLn.Close()
		fmt.Fprintf(io.err, "scanin demo: failed to listen for the shop: %v\n", err)
		return 1
	}
	relayURL := "http://" + relayLn.Addr().String()
	_, shopPort, _ := net.SplitHostPort(shopLn.Addr().String())
	shopHost, _, _ := net.SplitHostPort(*shopAddr)
	shopURL := "http://" + net.JoinHostPort(shopHost, shopPort)

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
	relay, err := server.New(server.Config{PublicURL: relayURL, Apps: []server.App{app}}, logger)
	if err != nil {
		relayLn.Close()
		shopLn.Close()
		fmt.Fprintf(io.err, "scanin demo: %v\n", err)
		return 1
	}
	relayMux := http.NewServeMux()
	relayMux.Handle("/phone", phone.Handler("/phone"))
	relayMux.Handle("/phone/", phone.Handler("/phone"))
	relayMux.Handle("/", relay.Handler())

	servers := []*http.Server{
		newHTTPServer(relayMux, logger),
		newHTTPServer(shop.Handler(relayURL, logger), logger),
	}
	served := make(chan error, 2)
	go func() { served <- servers[0].Serve(relayLn) }()
	go func() { served <- servers[1].Serve(shopLn) }()

	fmt.Fprintf(io.out, `scanin demo is running:

  shop   %-30s the Demo Shop's sign-in page; it embeds the widget
  phone  %-30s the Demo Shop's app, with a demo user signed in
  relay  %-30s the relay; it serves the widget

1. Open the shop in a browser.
2. Open the phone in another tab (or on a phone that can reach this machine).
   Scan the shop's code with its camera, or upload a screenshot of the code.
3. Tap "Log in" on the phone: the shop shows "Signed in as Ada Lovelace".

Press Ctrl-C to stop.
`, shopURL, relayURL+"/phone", relayURL)

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
