package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// rateLimiter is a token bucket per client: perMinute tokens a minute, and
// as many at once. IPv6 clients are counted per /64, since one host usually
// has a whole /64 to pick addresses from.
type rateLimiter struct {
	mu        sync.Mutex
	perMinute float64
	buckets   map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute int) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), buckets: make(map[netip.Addr]*bucket)}
}

// clientKey is what a client is counted by.
func clientKey(ip string) netip.Addr {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

// allow takes a token for ip at time now. When there is none it returns
// how long until there is.
func (l *rateLimiter) allow(ip string, now time.Time) (bool, time.Duration) {
	key := clientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.perMinute, last: now}
		l.buckets[key] = b
	}
	b.refill(l.perMinute, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	perToken := time.Minute / time.Duration(l.perMinute)
	return false, time.Duration((1 - b.tokens) * float64(perToken))
}

func (b *bucket) refill(perMinute float64, now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Minutes() * perMinute
		if b.tokens > perMinute {
			b.tokens = perMinute
		}
		b.last = now
	}
}

// sweep forgets clients whose bucket is full again: they are as if new.
func (l *rateLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		b.refill(l.perMinute, now)
		if b.tokens >= l.perMinute {
			delete(l.buckets, k)
		}
	}
}

// size is the number of clients tracked.
func (l *rateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// clientIP is the address a request comes from: the socket's peer, or, when
// that peer is a trusted proxy, the last address in X-Forwarded-For that is
// not a trusted proxy itself.
func (rl *Relay) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap().WithZone("")
	if !rl.trusted(peer) {
		return peer.String()
	}
	hops := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return client.String()
			}
			client = a.Unmap().WithZone("")
			if !rl.trusted(client) {
				return client.String()
			}
		}
	}
	return client.String()
}

func (rl *Relay) trusted(a netip.Addr) bool {
	for _, p := range rl.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
