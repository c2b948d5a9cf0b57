package server

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
)

// fixedClock makes l's limit read now as its time.
func fixedClock(l *rateLimiter, now *time.Time) {
	l.mem.now = func() time.Time { return *now }
}

func mustAllow(t *testing.T, l *rateLimiter, ip string) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := l.allow(context.Background(), ip)
	if err != nil {
		t.Fatalf("allow(%s): %v", ip, err)
	}
	return ok, wait
}

// TestRateLimiterRefills checks the in-memory limit: a full minute's burst,
// then one token a 60th of a minute later, per client, IPv6 clients per
// /64, and idle clients forgotten by the sweep.
func TestRateLimiterRefills(t *testing.T) {
	l := newRateLimiter(60)
	now := time.Unix(1000, 0)
	fixedClock(l, &now)
	for i := 0; i < 60; i++ {
		if ok, _ := mustAllow(t, l, "192.0.2.1"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, wait := mustAllow(t, l, "192.0.2.1")
	if ok || wait != time.Second {
		t.Fatalf("61st: ok %v wait %v, want refused for 1 s", ok, wait)
	}
	if ok, _ := mustAllow(t, l, "192.0.2.2"); !ok {
		t.Error("another client was refused")
	}
	now = now.Add(time.Second)
	if ok, _ := mustAllow(t, l, "192.0.2.1"); !ok {
		t.Error("no token after a second")
	}
	if ok, _ := mustAllow(t, l, "192.0.2.1"); ok {
		t.Error("two tokens after a second")
	}
	// IPv6 clients are counted per /64; IPv4-mapped addresses as IPv4.
	for i := 0; i < 60; i++ {
		mustAllow(t, l, fmt.Sprintf("2001:db8::%x", i))
	}
	if ok, _ := mustAllow(t, l, "2001:db8::ffff"); ok {
		t.Error("a /64 got more than its share")
	}
	if ok, _ := mustAllow(t, l, "2001:db8:0:1::1"); !ok {
		t.Error("the next /64 was refused")
	}
	if ok, _ := mustAllow(t, l, "::ffff:192.0.2.1"); ok {
		t.Error("an IPv4-mapped address is not counted as its IPv4 address")
	}
	if n := l.mem.size(); n != 4 {
		t.Errorf("%d clients tracked, want 4", n)
	}
	// A sweep keeps buckets that are not full yet (the two emptied ones)
	// and forgets full ones (the two that took a token 30 s before).
	l.sweep(now.Add(30 * time.Second))
	if n := l.mem.size(); n != 2 {
		t.Errorf("%d clients tracked after a sweep 30 s on, want 2", n)
	}
	l.sweep(now.Add(2 * time.Minute))
	if n := l.mem.size(); n != 0 {
		t.Errorf("%d buckets after the sweep", n)
	}
}

// TestRateLimiterRetryAfter checks the wait a refused client is told, and
// that a refused request takes nothing: after exactly that wait the client
// is let in.
func TestRateLimiterRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		perMinute int
		wait      time.Duration
		header    int64
	}{
		{60, time.Second, 1},
		{120, 500 * time.Millisecond, 1},
		{7, 60 * time.Second / 7, 9},
		{1, time.Minute, 60},
	} {
		t.Run(fmt.Sprint(tc.perMinute), func(t *testing.T) {
			l := newRateLimiter(tc.perMinute)
			now := time.Unix(1000, 0)
			fixedClock(l, &now)
			for range tc.perMinute {
				if ok, _ := mustAllow(t, l, "192.0.2.1"); !ok {
					t.Fatal("refused within the burst")
				}
			}
			for range 3 { // refusals take nothing
				ok, wait := mustAllow(t, l, "192.0.2.1")
				if ok || (wait-tc.wait).Abs() > time.Microsecond {
					t.Fatalf("over the burst: ok %v wait %v, want refused for %v", ok, wait, tc.wait)
				}
				if _, secs := rules.RateLimited(wait); secs != tc.header {
					t.Errorf("Retry-After %d, want %d", secs, tc.header)
				}
			}
			now = now.Add(tc.wait / 2)
			if ok, wait := mustAllow(t, l, "192.0.2.1"); ok || (wait-tc.wait/2).Abs() > time.Microsecond {
				t.Errorf("half way: ok %v wait %v, want refused for %v", ok, wait, tc.wait/2)
			}
			now = now.Add(tc.wait/2 + time.Microsecond)
			if ok, _ := mustAllow(t, l, "192.0.2.1"); !ok {
				t.Errorf("refused after the wait it was told")
			}
		})
	}
}

// TestRateLimitAnswers checks the relay's answer over the limit: 429
// rate_limited with Retry-After, for sender requests and for listens.
func TestRateLimitAnswers(t *testing.T) {
	tr := newTestRelay(t, Config{Limits: Limits{SenderRequestsPerMinute: 3, NewSessionsPerMinute: 2}})
	sid := protocol.NewSessionID()
	for i := range 3 {
		if st, _, b := tr.do(t, "GET", protocol.SessionPath(sid), nil, nil); st != http.StatusNotFound {
			t.Fatalf("read %d: %d %s, want 404 (no such session) within the limit", i, st, b)
		}
	}
	st, h, b := tr.do(t, "GET", protocol.SessionPath(sid), nil, nil)
	if st != http.StatusTooManyRequests || h.Get("Retry-After") != "20" {
		t.Fatalf("4th read: %d Retry-After %q %s, want 429 with Retry-After 20", st, h.Get("Retry-After"), b)
	}
	for i := range 2 {
		if st, b := tr.listenStatus(t, protocol.NewSessionID(), "app=nosuchapp", nil); st == http.StatusTooManyRequests {
			t.Fatalf("listen %d: %d %s, want a refusal other than the limit", i, st, b)
		}
	}
	st, b = tr.listenStatus(t, protocol.NewSessionID(), "app=demo", nil)
	if st != http.StatusTooManyRequests {
		t.Fatalf("3rd listen: %d %s, want 429", st, b)
	}
}
