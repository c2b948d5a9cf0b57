package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/scanin/scanin/server/rules"
)

// rateLimiter keeps a rules.Bucket per client (rules.ClientKey) of
// perMinute tokens.
type rateLimiter struct {
	mu        sync.Mutex
	perMinute int
	buckets   map[string]*rules.Bucket
}

func newRateLimiter(perMinute int) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, buckets: make(map[string]*rules.Bucket)}
}

// allow takes a token for ip at time now. When there is none it returns
// how long until there is.
func (l *rateLimiter) allow(ip string, now time.Time) (bool, time.Duration) {
	key := rules.ClientKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		full := rules.FullBucket(l.perMinute, now)
		b = &full
		l.buckets[key] = b
	}
	return b.Take(l.perMinute, now)
}

// sweep forgets clients whose bucket is full again: they are as if new.
func (l *rateLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, b := range l.buckets {
		if !b.FullAt(l.perMinute).After(now) {
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
