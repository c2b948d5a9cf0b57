package policy

import (
	"testing"
	"time"
)

func TestKeepalive(t *testing.T) {
	s := time.Second
	t0 := time.Unix(1763750000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var never time.Time
	for _, tc := range []struct {
		name     string
		heard    time.Time
		pinged   time.Time
		interval time.Duration
		now      time.Time
		want     Beat
		next     time.Time
	}{
		{"just opened", at(0), never, PingAfter, at(0), Wait, at(25 * s)},
		{"quiet for a while", at(0), never, PingAfter, at(24 * s), Wait, at(25 * s)},
		{"quiet for the interval", at(0), never, PingAfter, at(25 * s), Ping, at(50 * s)},
		{"quiet for longer (a late timer)", at(0), never, PingAfter, at(40 * s), Ping, at(65 * s)},
		{"a frame moved the ping on", at(10 * s), never, PingAfter, at(25 * s), Wait, at(35 * s)},
		{"ping answered", at(26 * s), at(25 * s), PingAfter, at(30 * s), Wait, at(51 * s)},
		{"answered, quiet again", at(26 * s), at(25 * s), PingAfter, at(51 * s), Ping, at(76 * s)},
		{"answer in the same instant", at(25 * s), at(25 * s), PingAfter, at(30 * s), Wait, at(50 * s)},
		{"ping waiting for its answer", at(0), at(25 * s), PingAfter, at(30 * s), Wait, at(50 * s)},
		{"a moment before dead", at(0), at(25 * s), PingAfter, at(50*s - time.Millisecond), Wait, at(50 * s)},
		{"no answer within another interval", at(0), at(25 * s), PingAfter, at(50 * s), Dead, never},
		{"no answer, long after", at(0), at(25 * s), PingAfter, at(500 * s), Dead, never},
		{"zero interval means PingAfter", at(0), never, 0, at(24 * s), Wait, at(25 * s)},
		{"negative interval means PingAfter", at(0), never, -s, at(25 * s), Ping, at(50 * s)},
		{"a test's short interval", at(0), never, 50 * time.Millisecond, at(50 * time.Millisecond), Ping, at(100 * time.Millisecond)},
		{"a test's short interval, dead", at(0), at(50 * time.Millisecond), 50 * time.Millisecond, at(100 * time.Millisecond), Dead, never},
	} {
		b, next := Keepalive(tc.heard, tc.pinged, tc.interval, tc.now)
		if b != tc.want || !next.Equal(tc.next) {
			t.Errorf("%s: Keepalive = %v, next at %v; want %v, next at %v", tc.name, b, next.Sub(t0), tc.want, tc.next.Sub(t0))
		}
	}
}

// TestKeepaliveRun plays a receiver's timer through a quiet connection, a
// relay that answers, and one that stops answering, calling Keepalive only
// when it said to.
func TestKeepaliveRun(t *testing.T) {
	s := time.Second
	t0 := time.Unix(1763750000, 0)
	heard, pinged := t0, time.Time{}
	now := t0
	var pings []time.Duration
	for range 10 {
		b, next := Keepalive(heard, pinged, PingAfter, now)
		switch b {
		case Ping:
			pings = append(pings, now.Sub(t0))
			pinged = now
			if len(pings) <= 2 {
				heard = now.Add(100 * time.Millisecond) // the relay's pong
			}
		case Dead:
			// Two answered pings at 25 s and 50.1 s, one unanswered at
			// 75.2 s, dead one interval later.
			want := []time.Duration{25 * s, 50*s + 100*time.Millisecond, 75*s + 200*time.Millisecond}
			if len(pings) != len(want) || now.Sub(t0) != 100*s+200*time.Millisecond {
				t.Fatalf("pings at %v, dead at %v; want pings at %v, dead at 1m40.2s", pings, now.Sub(t0), want)
			}
			for i := range want {
				if pings[i] != want[i] {
					t.Fatalf("pings at %v, want %v", pings, want)
				}
			}
			return
		}
		now = next
	}
	t.Fatalf("never dead; pings at %v", pings)
}

func TestBeatString(t *testing.T) {
	for b, want := range map[Beat]string{Wait: "wait", Ping: "ping", Dead: "dead", 0: "beat(0)"} {
		if got := b.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", b, got, want)
		}
	}
}
