package mobile

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// These tests provoke every outcome from the real relay (server/relaytest)
// with the real terminal receiver (package receiver) on the other end.

// listen starts a receiver session for the demo app on relay.
func listen(t *testing.T, relay string, ttl time.Duration) *receiver.Session {
	t.Helper()
	ctx := context.Background()
	r, err := receiver.New(ctx, receiver.Config{Relay: relay, App: server.DemoAppID, TTL: ttl})
	if err != nil {
		t.Fatalf("receiver: %v", err)
	}
	s, err := r.Listen(ctx)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// received is one result of the receiver's Next.
type received struct {
	ev  receiver.Event
	err error
}

// pump runs the receiver's Next loop, as the terminal receiver does, so it
// can ack while a test's Approve waits for the answer. It stops at the end
// of the session or of the test.
func pump(t *testing.T, s *receiver.Session) <-chan received {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan received, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		for {
			ev, err := s.Next(ctx)
			ch <- received{ev, err}
			if err != nil || ev.Type == receiver.EventResult || ev.Type == receiver.EventDenied || ev.Type == receiver.EventExpired {
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// next waits for the receiver's next event, with a deadline.
func next(t *testing.T, ch <-chan received) receiver.Event {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatal("receiver: no more events")
		}
		if r.err != nil {
			t.Fatalf("receiver: %v", r.err)
		}
		return r.ev
	case <-time.After(30 * time.Second):
		t.Fatal("receiver: no event in 30 s")
	}
	return receiver.Event{}
}

func newDemoClient(t *testing.T) *Client {
	t.Helper()
	c, err := NewClient(server.DemoAppID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// inspect inspects link and fails the test on error.
func inspect(t *testing.T, c *Client, link string) *Session {
	t.Helper()
	s, err := c.Inspect(link)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return s
}

func wantOutcome(t *testing.T, what string, o *Outcome, code string) {
	t.Helper()
	if o.Code != code {
		t.Errorf("%s: %s (%s), want %s", what, o.Code, o.Message, code)
	}
}

func TestRelayDelivered(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	rs := listen(t, relay.URL(), 0)
	events := pump(t, rs)
	c := newDemoClient(t)

	s := inspect(t, c, rs.Link())
	if ev := next(t, events); ev.Type != receiver.EventScanned {
		t.Fatalf("receiver got %s, want scanned", ev.Type)
	}
	if s.AppID() != "demo" || s.AppName() == "" || s.Origin() != "" ||
		s.Browser() != DescribeBrowser(receiver.DefaultUserAgent()) || !strings.HasPrefix(s.Browser(), "scanin terminal") ||
		s.RequesterIP() != "127.0.0.1" || s.SenderIP() != "127.0.0.1" || !s.SameNetwork() || s.State() != "waiting" {
		t.Errorf("session: app %q %q origin %q browser %q ips %q %q same %v state %q",
			s.AppID(), s.AppName(), s.Origin(), s.Browser(), s.RequesterIP(), s.SenderIP(), s.SameNetwork(), s.State())
	}
	if left := s.SecondsLeft(); left < 50 || left > 60 {
		t.Errorf("SecondsLeft() = %d, want about 60 (the demo app's ttl)", left)
	}

	const token = "tok_Ωmega \"quoted\"\n\x01 end"
	o := s.Approve("token", token, "Pixel 9", "android")
	wantOutcome(t, "Approve", o, CodeDelivered)
	ev := next(t, events)
	if ev.Type != receiver.EventResult || ev.Message.Kind != protocol.KindToken || ev.Message.Data != token ||
		ev.Message.Device == nil || *ev.Message.Device != (protocol.Device{Name: "Pixel 9", Type: "android"}) {
		t.Fatalf("receiver got %+v", ev)
	}
	if ev.CheckCode != o.CheckCode {
		t.Errorf("check codes differ: receiver %q, sender %q", ev.CheckCode, o.CheckCode)
	}

	// A retry resends the same bytes and learns the delivery's state.
	wantOutcome(t, "Approve again", s.Approve("token", token, "Pixel 9", "android"), CodeDelivered)
	// A second phone, or a second payload, finds the session used.
	if _, err := c.Inspect(rs.Link()); ErrorCode(err) != CodeAlreadyUsed {
		t.Errorf("Inspect after delivery: %v, want %s", err, CodeAlreadyUsed)
	}
}

func TestRelayAlreadyUsed(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	rs := listen(t, relay.URL(), 0)
	pump(t, rs)
	first, second := newDemoClient(t), newDemoClient(t)
	// Two phones read the same code; the first delivers.
	s1 := inspect(t, first, rs.Link())
	s2 := inspect(t, second, rs.Link())
	if s2.State() != "scanned" {
		t.Errorf("second reader sees state %q, want scanned", s2.State())
	}
	wantOutcome(t, "first Approve", s1.Approve("token", "one", "", ""), CodeDelivered)
	wantOutcome(t, "second Approve", s2.Approve("token", "two", "", ""), CodeAlreadyUsed)
	wantOutcome(t, "Deny after delivery", s2.Deny(), CodeAlreadyUsed)
}

func TestRelayDenied(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	rs := listen(t, relay.URL(), 0)
	events := pump(t, rs)
	s := inspect(t, newDemoClient(t), rs.Link())
	next(t, events) // scanned
	wantOutcome(t, "Deny", s.Deny(), CodeDenied)
	if ev := next(t, events); ev.Type != receiver.EventDenied {
		t.Fatalf("receiver got %s, want denied", ev.Type)
	}
	wantOutcome(t, "Approve after Deny", s.Approve("token", "t", "", ""), CodeAlreadyUsed)
}

func TestRelayNotFound(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	link, _ := testLink(t, "demo", relay.URL()) // a session nobody listens on
	if _, err := newDemoClient(t).Inspect(link); ErrorCode(err) != CodeNotFound {
		t.Errorf("Inspect: %v, want %s", err, CodeNotFound)
	}
}

// TestRelayRejected: a payload sealed to the wrong key (the link's k was
// swapped) is rejected by the receiver, and the session stays open for
// the right one.
func TestRelayRejected(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	rs := listen(t, relay.URL(), 0)
	events := pump(t, rs)
	c := newDemoClient(t)
	good, err := protocol.ParseLink(rs.Link(), nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := testLink(t, "demo", relay.URL())
	otherLink, _ := protocol.ParseLink(other, nil)
	forged := good
	forged.PublicKey = otherLink.PublicKey

	s := inspect(t, c, forged.String())
	next(t, events) // scanned
	wantOutcome(t, "Approve to the wrong key", s.Approve("token", "t", "", ""), CodeRejected)
	if ev := next(t, events); ev.Type != receiver.EventRejected || ev.Reason != protocol.RejectDecrypt {
		t.Fatalf("receiver got %s (%s), want rejected (decrypt)", ev.Type, ev.Reason)
	}

	s = inspect(t, c, good.String())
	next(t, events) // scanned
	wantOutcome(t, "Approve to the right key", s.Approve("token", "t", "", ""), CodeDelivered)
	if ev := next(t, events); ev.Type != receiver.EventResult || ev.Message.Data != "t" {
		t.Fatalf("receiver got %+v, want the result", ev)
	}
}

func TestRelayTooLarge(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{MaxSealedSize: 1024}})
	rs := listen(t, relay.URL(), 0)
	s := inspect(t, newDemoClient(t), rs.Link())
	// Fits the protocol's 16 KiB, not this relay's 1 KiB: the relay says so.
	o := s.Approve("data", strings.Repeat("x", 2000), "", "")
	wantOutcome(t, "Approve", o, CodeTooLarge)
}

func TestRelayRateLimited(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{SenderRequestsPerMinute: 2}})
	rs := listen(t, relay.URL(), 0)
	c := newDemoClient(t)
	s := inspect(t, c, rs.Link())
	if _, err := c.Inspect(rs.Link()); err != nil {
		t.Fatalf("second Inspect: %v", err)
	}
	o := s.Approve("token", "t", "", "")
	wantOutcome(t, "third request", o, CodeRateLimited)
	if o.RetryAfterSeconds < 1 || !o.Retryable() {
		t.Errorf("rate limited: retry after %d s, retryable %v", o.RetryAfterSeconds, o.Retryable())
	}
	_, err := c.Inspect(rs.Link())
	if ErrorCode(err) != CodeRateLimited || ErrorRetryAfterSeconds(err) < 1 {
		t.Errorf("fourth request: %v (retry after %d)", err, ErrorRetryAfterSeconds(err))
	}
}

// TestRelayPending: with no receiver connected, the relay keeps the
// payload, and hands it over when the receiver resumes.
func TestRelayPending(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{AckWait: time.Second}})
	rs := listen(t, relay.URL(), 0)
	link := rs.Link()
	rs.Close() // the receiver goes away; its session lives on
	s := inspect(t, newDemoClient(t), link)
	wantOutcome(t, "Approve", s.Approve("token", "t", "", ""), CodePending)
}

// TestRelayExpired: a session read in time but approved late, and one read
// late.
func TestRelayExpired(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	rs := listen(t, relay.URL(), protocol.MinTTL)
	events := pump(t, rs)
	c := newDemoClient(t)
	s := inspect(t, c, rs.Link())
	if ev := next(t, events); ev.Type != receiver.EventScanned {
		t.Fatalf("receiver got %s, want scanned", ev.Type)
	}
	if ev := next(t, events); ev.Type != receiver.EventExpired {
		t.Fatalf("receiver got %s, want expired", ev.Type)
	}
	if s.SecondsLeft() != 0 {
		t.Errorf("SecondsLeft() = %d after expiry", s.SecondsLeft())
	}
	wantOutcome(t, "Approve after expiry", s.Approve("token", "t", "", ""), CodeExpired)
	if _, err := c.Inspect(rs.Link()); ErrorCode(err) != CodeExpired {
		t.Errorf("Inspect after expiry: %v, want %s", err, CodeExpired)
	}
}

// TestRelayDown: the relay stops between reading and approving.
func TestRelayDown(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	rs := listen(t, relay.URL(), 0)
	link := rs.Link()
	rs.Close()
	c := newDemoClient(t)
	s := inspect(t, c, link)
	relay.Close()
	o := s.Approve("token", "t", "", "")
	wantOutcome(t, "Approve to a stopped relay", o, CodeNetworkError)
	if !o.Retryable() {
		t.Errorf("a network error is not retryable")
	}
	if _, err := c.Inspect(link); ErrorCode(err) != CodeNetworkError {
		t.Errorf("Inspect of a stopped relay: %v, want %s", err, CodeNetworkError)
	}
}
