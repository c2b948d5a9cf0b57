// Package conformance checks a running relay against docs/protocol.md's Relay
// API, from the outside: it speaks HTTP and WebSocket to a base URL and
// knows nothing of the relay's code. The in-memory relay, an edge relay and
// a multi-node relay must all pass it.
//
//	func TestRelay(t *testing.T) {
//		conformance.Run(t, conformance.Target{URL: "http://127.0.0.1:8080"})
//	}
//
// Run checks every rule but the rate limits and needs a relay whose rate
// limits are off (scanin relay --no-rate-limit): it makes about a hundred
// sessions and a thousand POSTs from one address. RunRateLimits checks the
// rate limits and needs a fresh relay with them on that nobody else uses
// from this address. Run's slow checks (expiry at the 15 s minimum ttl, the
// 10 s ack wait, a ping within 25 s) run in parallel, so it takes about 30 s.
package conformance

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
)

// Target is the relay under test and what the suite may assume about its
// configuration.
type Target struct {
	// URL is the relay's base URL, as in a link's r parameter.
	URL string
	// App is a configured app's id. Default "demo".
	App string
	// AppName is that app's name, as sessions report it. Default: what
	// GET /v1/apps/{App} says.
	AppName string
	// Origin is one of the app's embedding origins. Default
	// "http://localhost:3000", which the demo app allows.
	Origin string
	// WidgetOrigin is an Origin header the app's widget origins allow.
	// Default: the relay's own origin.
	WidgetOrigin string
	// ForeignOrigin is an origin the app allows neither to embed nor to
	// serve the widget. Default "https://evil.example".
	ForeignOrigin string
	// UnknownApp is a well-formed app id the relay does not have. Default
	// "no-such-app".
	UnknownApp string
	// WebOnlyApp is, if set, a configured app whose native_receivers is
	// false, with Origin among its origins: a listen for it without an
	// origin parameter must get origin_denied (RunNativeReceivers).
	WebOnlyApp string
	// MaxSealedSize is the relay's body cap. Default 16384.
	MaxSealedSize int
	// AckWait is how long the relay waits for an ack. Default 10 s.
	AckWait time.Duration
	// Race is how many concurrent POSTs the race check sends. Default 1000.
	Race int
	// NewSessionsPerMinute and SenderRequestsPerMinute are the relay's rate
	// limits, for RunRateLimits. Default 60 and 120.
	NewSessionsPerMinute    int
	SenderRequestsPerMinute int
}

func (tg Target) withDefaults(t *testing.T) Target {
	t.Helper()
	if _, err := protocol.CheckRelayURL(tg.URL); err != nil {
		t.Fatalf("conformance: bad Target.URL %q: %v", tg.URL, err)
	}
	tg.URL = strings.TrimSuffix(tg.URL, "/")
	if tg.App == "" {
		tg.App = "demo"
	}
	if tg.Origin == "" {
		tg.Origin = "http://localhost:3000"
	}
	if tg.WidgetOrigin == "" {
		u, _ := url.Parse(tg.URL)
		tg.WidgetOrigin = u.Scheme + "://" + u.Host
	}
	if tg.ForeignOrigin == "" {
		tg.ForeignOrigin = "https://evil.example"
	}
	if tg.UnknownApp == "" {
		tg.UnknownApp = "no-such-app"
	}
	if tg.MaxSealedSize == 0 {
		tg.MaxSealedSize = protocol.MaxSealedSize
	}
	if tg.AckWait == 0 {
		tg.AckWait = protocol.AckWait
	}
	if tg.Race == 0 {
		tg.Race = 1000
	}
	if tg.NewSessionsPerMinute == 0 {
		tg.NewSessionsPerMinute = protocol.NewSessionsPerMinute
	}
	if tg.SenderRequestsPerMinute == 0 {
		tg.SenderRequestsPerMinute = protocol.SenderRequestsPerMinute
	}
	return tg
}

// Run checks every rule of the Relay API except the rate limits.
func Run(t *testing.T, tg Target) {
	tg = tg.withDefaults(t)
	c := newClient(tg)
	t.Cleanup(c.close)
	cfg := c.loadApp(t)
	if tg.AppName == "" {
		tg.AppName = cfg.Name
	}
	s := &suite{tg: tg, c: c}
	// The slow checks first, so they run while the fast ones do.
	t.Run("Expiry", s.expiry)
	t.Run("AckTimeoutPendingThenLateAck", s.ackTimeout)
	t.Run("Ping", s.ping)
	t.Run("Health", s.health)
	t.Run("App", s.app)
	t.Run("BadSessionIDs", s.badSessionIDs)
	t.Run("UnknownSession", s.unknownSession)
	t.Run("ListenParams", s.listenParams)
	t.Run("Origins", s.origins)
	t.Run("OriginsNormalised", s.originsNormalised)
	t.Run("Handshake", s.handshake)
	if tg.WebOnlyApp != "" {
		t.Run("NativeReceivers", s.nativeReceivers)
	}
	t.Run("Ready", s.ready)
	t.Run("ReadAndScanned", s.readAndScanned)
	t.Run("Deliver", s.deliver)
	t.Run("RejectThenWaiting", s.rejectThenWaiting)
	t.Run("PendingThenResume", s.pendingThenResume)
	t.Run("ResumeRules", s.resumeRules)
	t.Run("Conflict", s.conflict)
	t.Run("Deny", s.deny)
	t.Run("SizeCaps", s.sizeCaps)
	t.Run("ReceiverPing", s.receiverPing)
	t.Run("BadFrame", s.badFrame)
	t.Run("Race", s.race)
}

// RunRateLimits checks the per-client-IP rate limits: listens (new
// sessions) and sender requests, each answered 429 rate_limited with a
// Retry-After header once the minute's allowance is spent.
func RunRateLimits(t *testing.T, tg Target) {
	tg = tg.withDefaults(t)
	c := newClient(tg)
	t.Cleanup(c.close)
	c.loadApp(t) // not rate limited
	s := &suite{tg: tg, c: c}
	t.Run("Sender", s.rateLimitSender)
	t.Run("Listen", s.rateLimitListen)
}

// RunNativeReceivers checks Target.WebOnlyApp, an app whose
// native_receivers is false: GET /v1/apps/{app} says so, a listen without
// an origin parameter gets origin_denied with a message that names
// native_receivers, and a listen with Target.Origin is accepted.
func RunNativeReceivers(t *testing.T, tg Target) {
	tg = tg.withDefaults(t)
	if tg.WebOnlyApp == "" {
		t.Fatal("conformance: RunNativeReceivers needs Target.WebOnlyApp")
	}
	c := newClient(tg)
	t.Cleanup(c.close)
	s := &suite{tg: tg, c: c}
	s.nativeReceivers(t)
}

type suite struct {
	tg Target
	c  *client
}
