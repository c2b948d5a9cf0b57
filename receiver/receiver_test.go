package receiver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/leaktest"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver/policy"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

func TestMain(m *testing.M) { os.Exit(leaktest.Main(m)) }

func newReceiver(t *testing.T, relay string, ttl time.Duration) *Receiver {
	t.Helper()
	r, err := New(context.Background(), Config{Relay: relay, App: server.DemoAppID, TTL: ttl})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func listen(t *testing.T, r *Receiver) *Session {
	t.Helper()
	s, err := r.Listen(context.Background())
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// next waits for the session's next event, with a deadline.
func next(t *testing.T, s *Session) Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ev, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

// post delivers sealed bytes as a sender does, and returns the status.
func post(t *testing.T, relay, sid string, sealed []byte) int {
	t.Helper()
	resp, err := http.Post(relay+protocol.SessionPath(sid), "application/octet-stream", bytes.NewReader(sealed))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// seal seals m to the session's link.
func seal(t *testing.T, s *Session, m protocol.Message) []byte {
	t.Helper()
	l, err := protocol.ParseLink(s.Link(), []string{server.DemoAppID})
	if err != nil {
		t.Fatalf("the receiver's own link does not parse: %v", err)
	}
	sealed, _, err := protocol.SealMessage(l.PublicKey, l.App, l.SessionID, m)
	if err != nil {
		t.Fatal(err)
	}
	return sealed
}

func TestNewRefuses(t *testing.T) {
	relay := relaytest.NewServer(t, server.Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"http relay", Config{Relay: "http://relay.example", App: "demo"}, "not https"},
		{"no relay", Config{App: "demo"}, "relay"},
		{"bad app", Config{Relay: relay.URL(), App: "Demo"}, "app id"},
		{"short ttl", Config{Relay: relay.URL(), App: "demo", TTL: 14 * time.Second}, "ttl"},
		{"long ttl", Config{Relay: relay.URL(), App: "demo", TTL: 301 * time.Second}, "ttl"},
		{"fractional ttl", Config{Relay: relay.URL(), App: "demo", TTL: 20500 * time.Millisecond}, "ttl"},
		{"unknown app", Config{Relay: relay.URL(), App: "nope"}, "not_found"},
		{"negative ping interval", Config{Relay: relay.URL(), App: "demo", PingInterval: -time.Second}, "ping interval"},
		{"ping interval over the protocol's", Config{Relay: relay.URL(), App: "demo", PingInterval: policy.PingAfter + time.Millisecond}, "ping interval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(ctx, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New: %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestListenAndResult(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	r := newReceiver(t, relay.URL(), 20*time.Second)
	s := listen(t, r)
	if left := time.Until(s.ExpiresAt()); left < 15*time.Second || left > 21*time.Second {
		t.Errorf("expires in %v, want about 20s", left)
	}
	l, err := protocol.ParseLink(s.Link(), []string{"demo"})
	if err != nil {
		t.Fatal(err)
	}
	if l.Base != r.App().LinkBase || l.Relay != relay.URL() || l.SessionID != s.SessionID() {
		t.Errorf("link %+v, app %+v", l, r.App())
	}

	// A second code has a fresh sid and key.
	s2 := listen(t, r)
	l2, _ := protocol.ParseLink(s2.Link(), nil)
	if l2.SessionID == l.SessionID || bytes.Equal(l2.PublicKey, l.PublicKey) {
		t.Error("two codes share a sid or a key")
	}

	m := protocol.Message{Kind: protocol.KindData, Data: "hello", IssuedAt: time.Now().Unix()}
	sealed := seal(t, s, m)
	status := make(chan int, 1)
	go func() { status <- post(t, relay.URL(), s.SessionID(), sealed) }()
	ev := next(t, s)
	if ev.Type != EventResult || ev.Message.Data != "hello" || ev.Message.Kind != protocol.KindData || len(ev.CheckCode) != 2 {
		t.Fatalf("event %+v", ev)
	}
	if got := <-status; got != http.StatusOK {
		t.Errorf("POST answered %d, want 200 (delivered)", got)
	}
	if _, err := s.Next(context.Background()); !errors.Is(err, ErrEnded) {
		t.Errorf("Next after the result: %v, want ErrEnded", err)
	}
}

// TestRejectReasons: the receiver rejects what it cannot use, with the
// reason the protocol names, and the session waits on.
func TestRejectReasons(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	s := listen(t, newReceiver(t, relay.URL(), 0))
	now := time.Now().Unix()
	other, _ := protocol.GenerateKey()
	defer other.Destroy()
	l, _ := protocol.ParseLink(s.Link(), nil)
	wrongKey, _, _ := protocol.SealMessage(other.PublicKey(), l.App, l.SessionID, protocol.Message{Kind: protocol.KindToken, IssuedAt: now})
	wrongSession, _, _ := protocol.SealMessage(l.PublicKey, l.App, protocol.NewSessionID(), protocol.Message{Kind: protocol.KindToken, IssuedAt: now})
	notJSON, _ := protocol.Seal(l.PublicKey, protocol.Info(l.App, l.SessionID), []byte("not json"))
	unknownKind, _ := protocol.Seal(l.PublicKey, protocol.Info(l.App, l.SessionID), []byte(`{"v":1,"kind":"cookie","data":"","iat":`+fmt.Sprint(now)+`}`))

	for _, tc := range []struct {
		name   string
		sealed []byte
		reason protocol.RejectReason
	}{
		{"wrong key", wrongKey, protocol.RejectDecrypt},
		{"wrong session", wrongSession, protocol.RejectDecrypt},
		{"not a message", notJSON, protocol.RejectDecrypt},
		{"stale", seal(t, s, protocol.Message{Kind: protocol.KindToken, IssuedAt: now - 301}), protocol.RejectStale},
		{"future", seal(t, s, protocol.Message{Kind: protocol.KindToken, IssuedAt: now + 120}), protocol.RejectStale},
		{"unknown kind", unknownKind, protocol.RejectKind},
	} {
		status := make(chan int, 1)
		go func() { status <- post(t, relay.URL(), s.SessionID(), tc.sealed) }()
		ev := next(t, s)
		if ev.Type != EventRejected || ev.Reason != tc.reason || ev.Err == nil {
			t.Errorf("%s: event %+v, want rejected (%s)", tc.name, ev, tc.reason)
		}
		if got := <-status; got != http.StatusUnprocessableEntity {
			t.Errorf("%s: POST answered %d, want 422", tc.name, got)
		}
	}
	// Still waiting: the right message is accepted.
	status := make(chan int, 1)
	go func() {
		status <- post(t, relay.URL(), s.SessionID(), seal(t, s, protocol.Message{Kind: protocol.KindToken, Data: "ok", IssuedAt: now}))
	}()
	if ev := next(t, s); ev.Type != EventResult || ev.Message.Data != "ok" {
		t.Fatalf("event %+v, want the result", ev)
	}
	if got := <-status; got != http.StatusOK {
		t.Errorf("POST answered %d, want 200", got)
	}
}

// TestResume: the connection drops, a sender delivers meanwhile (pending),
// and the receiver resumes and gets the message.
func TestResume(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{AckWait: time.Second}})
	s := listen(t, newReceiver(t, relay.URL(), 0))
	expires := s.ExpiresAt()
	s.conn.CloseNow() // the network drops
	sealed := seal(t, s, protocol.Message{Kind: protocol.KindToken, Data: "kept", IssuedAt: time.Now().Unix()})
	if got := post(t, relay.URL(), s.SessionID(), sealed); got != http.StatusAccepted {
		t.Fatalf("POST answered %d, want 202 (pending)", got)
	}
	ev := next(t, s)
	if ev.Type != EventResult || ev.Message.Data != "kept" {
		t.Fatalf("event %+v, want the result", ev)
	}
	if !s.ExpiresAt().Equal(expires) {
		t.Errorf("resume changed expires_at: %v, was %v", s.ExpiresAt(), expires)
	}
	// The sender's retry with the same bytes learns it was delivered.
	if got := post(t, relay.URL(), s.SessionID(), sealed); got != http.StatusOK {
		t.Errorf("retry answered %d, want 200 (delivered)", got)
	}
}

func TestDeniedAndExpired(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	r := newReceiver(t, relay.URL(), protocol.MinTTL)
	denied, expiring := listen(t, r), listen(t, r)

	resp, err := http.Post(relay.URL()+protocol.DenyPath(denied.SessionID()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ev := next(t, denied); ev.Type != EventDenied {
		t.Errorf("event %s, want denied", ev.Type)
	}
	if ev := next(t, expiring); ev.Type != EventExpired {
		t.Errorf("event %s, want expired", ev.Type)
	}
	if time.Now().Before(expiring.ExpiresAt()) {
		t.Errorf("expired before expires_at")
	}
}

// TestRelayShuttingDown: a relay that is shutting down refuses new codes
// with unavailable, which the receiver reports as the relay's error.
func TestRelayShuttingDown(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	r := newReceiver(t, relay.URL(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := relay.Relay().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := r.Listen(ctx)
	var perr *protocol.Error
	if !errors.As(err, &perr) || perr.Code != protocol.CodeUnavailable {
		t.Errorf("Listen: %v, want unavailable", err)
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	s := listen(t, newReceiver(t, relay.URL(), 0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Next: %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not return when its context was cancelled")
	}
}

// TestRotateWhenEndedAway: a session the relay ended while the receiver
// was away (denied, here, which the relay answers a resume with
// already_used) is over for this code, not an error: Next says expired,
// with the relay's error, and the caller shows a fresh code, as the
// widget does (policy.Rotate).
func TestRotateWhenEndedAway(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	s := listen(t, newReceiver(t, relay.URL(), 0))
	s.conn.CloseNow() // the network drops
	// Whether or not the relay noticed the drop yet, the denied frame does
	// not reach this receiver, and a resume finds the session ended.
	resp, err := http.Post(relay.URL()+protocol.DenyPath(s.SessionID()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ev := next(t, s)
	var perr *protocol.Error
	if ev.Type != EventExpired || !errors.As(ev.Err, &perr) || perr.Code != protocol.CodeAlreadyUsed {
		t.Fatalf("event %+v, want expired with already_used", ev)
	}
}

// TestRotateWhenResumeRefused: a resume the relay refuses as taken
// (conflict) rotates too.
func TestRotateWhenResumeRefused(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	s := listen(t, newReceiver(t, relay.URL(), 0))
	s.resume = "not-the-session's"
	s.conn.CloseNow()
	ev := next(t, s)
	var perr *protocol.Error
	if ev.Type != EventExpired || !errors.As(ev.Err, &perr) || perr.Code != protocol.CodeConflict {
		t.Fatalf("event %+v, want expired with conflict", ev)
	}
}

// TestRelayAwayUntilExpiry: a relay that stays unavailable (shutting down)
// until the code's time is up: the receiver retries with backoff, then
// reports the code expired rather than failing, so the caller rotates.
func TestRelayAwayUntilExpiry(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	s := listen(t, newReceiver(t, relay.URL(), protocol.MinTTL))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := relay.Relay().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	ev := next(t, s)
	if ev.Type != EventExpired || !errors.Is(ev.Err, errMissedDeadline) {
		t.Fatalf("event %+v, want expired after missing the deadline", ev)
	}
	if time.Now().Add(policy.BackoffMax).Before(s.ExpiresAt()) {
		t.Errorf("gave up %v before the deadline", time.Until(s.ExpiresAt()))
	}
}
