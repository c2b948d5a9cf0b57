package rules

import (
	"net/netip"
	"time"
)

// Bucket is one client's token bucket for a per-client rate limit
// (docs/protocol.md 9) of perMinute requests a minute: it holds at most
// perMinute tokens, refills continuously at perMinute a minute, and each
// request takes one. It is plain data, so an edge relay can store each
// one's bytes (a Durable Object per client); the time is passed in. (The
// self-hosted relay keeps the same buckets with golang.org/x/time/rate in
// memory, or in Redis across nodes: server/ratelimit.go.)
type Bucket struct {
	// Tokens is what the bucket held at Last.
	Tokens float64
	// Last is when Tokens was counted.
	Last time.Time
}

// FullBucket is the bucket of a client not seen before, at now.
func FullBucket(perMinute int, now time.Time) Bucket {
	return Bucket{Tokens: float64(perMinute), Last: now}
}

// refill adds the tokens earned since Last, up to perMinute. A now before
// Last (a clock that stepped back) adds none.
func (b *Bucket) refill(perMinute int, now time.Time) {
	if d := now.Sub(b.Last); d > 0 {
		b.Tokens = min(float64(perMinute), b.Tokens+d.Minutes()*float64(perMinute))
		b.Last = now
	}
}

// Take refills the bucket up to now and takes a token for a request. When
// there is none, ok is false, the bucket keeps what it has, and wait is
// how long until there is one: RateLimited(wait) is the answer.
func (b *Bucket) Take(perMinute int, now time.Time) (ok bool, wait time.Duration) {
	b.refill(perMinute, now)
	if b.Tokens >= 1 {
		b.Tokens--
		return true, 0
	}
	perToken := time.Minute / time.Duration(perMinute)
	return false, time.Duration((1 - b.Tokens) * float64(perToken))
}

// FullAt is when the bucket is full again if nothing takes from it: from
// then on the client is as if new, and the relay may forget the bucket.
func (b *Bucket) FullAt(perMinute int) time.Time {
	missing := (float64(perMinute) - b.Tokens) / float64(perMinute)
	return b.Last.Add(time.Duration(missing * float64(time.Minute)))
}

// ClientKey is what a client is counted by for the rate limits: its
// address, with IPv6 clients counted per /64, since one host usually has a
// whole /64 to pick addresses from. An address that does not parse is its
// own key, so a malformed one is still limited.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr().String()
	}
	return a.String()
}
