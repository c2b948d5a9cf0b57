package rules

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	const perMinute = 120 // a token every 500 ms
	t0 := time.Unix(1763750000, 0)
	b := FullBucket(perMinute, t0)
	if got := b.FullAt(perMinute); !got.Equal(t0) {
		t.Errorf("a full bucket is full at %v, want %v", got, t0)
	}
	for i := range perMinute {
		if ok, _ := b.Take(perMinute, t0); !ok {
			t.Fatalf("request %d of %d back to back refused", i+1, perMinute)
		}
	}
	ok, wait := b.Take(perMinute, t0)
	if ok || wait != 500*time.Millisecond {
		t.Errorf("request %d: ok %v, wait %v; want refused, 500ms", perMinute+1, ok, wait)
	}
	if got, want := b.FullAt(perMinute), t0.Add(time.Minute); !got.Equal(want) {
		t.Errorf("empty bucket full at %v, want %v", got, want)
	}
	for _, step := range []struct {
		at   time.Duration
		ok   bool
		wait time.Duration
	}{
		{at: 200 * time.Millisecond, ok: false, wait: 300 * time.Millisecond},
		{at: 100 * time.Millisecond, ok: false, wait: 300 * time.Millisecond}, // the clock stepped back: no refill
		{at: 500 * time.Millisecond, ok: true},
		{at: 500 * time.Millisecond, ok: false, wait: 500 * time.Millisecond},
		{at: time.Hour, ok: true}, // refilled to perMinute, not beyond
	} {
		ok, wait := b.Take(perMinute, t0.Add(step.at))
		if ok != step.ok || (!ok && (wait-step.wait).Abs() > time.Microsecond) {
			t.Errorf("at +%v: ok %v, wait %v; want %v, %v", step.at, ok, wait, step.ok, step.wait)
		}
	}
	if b.Tokens != perMinute-1 {
		t.Errorf("after an hour and a request: %v tokens, want %v", b.Tokens, perMinute-1)
	}
	if got, want := b.FullAt(perMinute), t0.Add(time.Hour+500*time.Millisecond); !got.Equal(want) {
		t.Errorf("full at %v, want %v", got, want)
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":            "192.0.2.7",
		"::ffff:192.0.2.7":     "192.0.2.7", // an IPv4 client on a dual-stack socket
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::", // the same /64: one client
		"2001:db8:1:3::1":      "2001:db8:1:3::",
		"fe80::1%eth0":         "fe80::",
		"not an address":       "not an address",
		"":                     "",
	} {
		if got := ClientKey(in); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", in, got, want)
		}
	}
}
