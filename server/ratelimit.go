package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
)

// limiter is one per-client rate limit (docs/protocol.md 9): a token
// bucket per client that holds at most a minute's requests, starts full and
// refills continuously. Allow takes a token for the client key (its
// rules.ClientKey). When there is none, ok is false and retryAfter is how
// long until there is one. err is set when the limiter cannot tell (Redis
// unreachable); then ok is false.
type limiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// Both limiters are limiters.
var (
	_ limiter = (*memLimiter)(nil)
	_ limiter = (*redisLimiter)(nil)
)

// rateLimiter is one of the relay's two rate limits (new sessions, sender
// requests) as the handlers use it: it keys clients by rules.ClientKey,
// asks its limiter, and sweeps it when it lives in memory.
type rateLimiter struct {
	name string      // which limit, for logs
	lim  limiter     // the limit itself
	mem  *memLimiter // lim when it is in memory, for sweep; else nil
	// failing is set while the limiter cannot tell, so that the relay logs
	// the first failure and the recovery rather than every request.
	failing atomic.Bool
}

// newRateLimiter is a limit of perMinute requests a minute per client, kept
// in this process's memory.
func newRateLimiter(perMinute int) *rateLimiter {
	m := newMemLimiter(perMinute)
	return &rateLimiter{name: "memory", lim: m, mem: m}
}

// allow takes a token for the client at ip: see limiter.
func (l *rateLimiter) allow(ctx context.Context, ip string) (ok bool, retryAfter time.Duration, err error) {
	return l.lim.Allow(ctx, rules.ClientKey(ip))
}

// redisRateLimitPrefix begins the keys of the rate limits in Redis:
// scanin:rl:listen:CLIENT and scanin:rl:sender:CLIENT, where CLIENT is the
// client's rules.ClientKey.
const redisRateLimitPrefix = "scanin:rl:"

// newRateLimits makes the relay's two rate limits, new sessions and sender
// requests, as limits says: in Redis when c is not nil, so that they hold
// across the relay's nodes, else in this process's memory.
func newRateLimits(c *redis.Client, limits Limits) (listen, sender *rateLimiter) {
	if c == nil {
		return newRateLimiter(limits.NewSessionsPerMinute), newRateLimiter(limits.SenderRequestsPerMinute)
	}
	return newRedisRateLimiter(c, redisRateLimitPrefix, "listen", limits.NewSessionsPerMinute),
		newRedisRateLimiter(c, redisRateLimitPrefix, "sender", limits.SenderRequestsPerMinute)
}

// newRedisRateLimiter is a limit of perMinute requests a minute per client,
// kept in Redis so that it holds across every relay node that shares it.
// name tells the limit apart from the relay's other limit in its keys
// (prefix+name+":"+client) and logs.
func newRedisRateLimiter(c redis.Scripter, prefix, name string, perMinute int) *rateLimiter {
	return &rateLimiter{name: name, lim: newRedisLimiter(c, prefix+name+":", perMinute)}
}

// sweep forgets the clients of an in-memory limit whose bucket is full
// again. A limit in Redis needs none: its keys expire.
func (l *rateLimiter) sweep(now time.Time) {
	if l.mem != nil {
		l.mem.sweep(now)
	}
}

// size is the number of clients an in-memory limit tracks; 0 in Redis.
func (l *rateLimiter) size() int {
	if l.mem == nil {
		return 0
	}
	return l.mem.size()
}

// limiterUnavailable is the answer to a request whose rate limit cannot be
// checked.
func limiterUnavailable() *protocol.Error {
	return &protocol.Error{Code: protocol.CodeUnavailable, Message: "the relay cannot reach its store; try again shortly"}
}

// memLimiter keeps a rate.Limiter per client key, in memory.
type memLimiter struct {
	perMinute int
	every     rate.Limit
	now       func() time.Time // time.Now; tests set their own clock

	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func newMemLimiter(perMinute int) *memLimiter {
	return &memLimiter{
		perMinute: perMinute,
		every:     rate.Limit(float64(perMinute) / 60),
		now:       time.Now,
		clients:   make(map[string]*rate.Limiter),
	}
}

// Allow takes a token for key now. It never fails.
func (l *memLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	ok, wait := l.allowAt(key, l.now())
	return ok, wait, nil
}

// allowAt takes a token for key at time now; when there is none it returns
// how long until there is. A refused request takes nothing.
func (l *memLimiter) allowAt(key string, now time.Time) (bool, time.Duration) {
	// One lock for the map and the take, so that a sweep cannot forget a
	// bucket between the two.
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.clients[key]
	if c == nil {
		c = rate.NewLimiter(l.every, l.perMinute)
		l.clients[key] = c
	}
	if c.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - c.TokensAt(now)
	return false, time.Duration(missing / float64(l.every) * float64(time.Second))
}

// sweep forgets the clients whose bucket is full at now: they are as if new.
func (l *memLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, c := range l.clients {
		if c.TokensAt(now) >= float64(l.perMinute) {
			delete(l.clients, k)
		}
	}
}

// size is the number of clients tracked.
func (l *memLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
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

// gcraScript is the token bucket as Redis runs it, atomically, for one
// client: GCRA (the generic cell rate algorithm), which is a token bucket
// kept as one number, the time at which the bucket will be full again
// ("tat", microseconds of Redis's clock). With the bucket's burst B and one
// token every I microseconds, the bucket holds B - (tat - now)/I tokens; a
// request is let in when that is at least 1, that is when tat - now <=
// (B-1)*I, and it moves tat on by I. The key expires when the bucket is
// full, so an idle client costs nothing, as the in-memory sweep does.
//
// The time is Redis's (TIME), so that nodes whose clocks differ share one
// bucket. KEYS[1] is the client's key, ARGV[1] the limit a minute. It
// returns 0 when the request is let in, else the microseconds until it
// would be (at least 1).
const gcraScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local perMinute = tonumber(ARGV[1])
local interval = 60000000 / perMinute
local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then tat = now end
local over = tat - now - (perMinute - 1) * interval
if over > 0 then return math.max(1, math.ceil(over)) end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
return 0
`

// redisLimiter is a token bucket per client key in Redis (gcraScript).
type redisLimiter struct {
	client    redis.Scripter
	prefix    string
	perMinute int
	script    *redis.Script
}

func newRedisLimiter(c redis.Scripter, prefix string, perMinute int) *redisLimiter {
	return &redisLimiter{client: c, prefix: prefix, perMinute: perMinute, script: redis.NewScript(gcraScript)}
}

// Allow takes a token for key in Redis. It fails when Redis cannot be
// reached or does not answer.
func (l *redisLimiter) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	wait, err := l.script.Run(ctx, l.client, []string{l.prefix + key}, l.perMinute).Int64()
	if err != nil {
		return false, 0, fmt.Errorf("failed to take a rate-limit token in Redis: %w", err)
	}
	if wait > 0 {
		return false, time.Duration(wait) * time.Microsecond, nil
	}
	return true, 0, nil
}

// limiterFailed logs that limit cannot be checked (Redis unreachable):
// once when it starts failing, not for every request. A request whose
// client went away is not a failure of the limiter.
func (rl *Relay) limiterFailed(limit *rateLimiter, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if limit.failing.CompareAndSwap(false, true) {
		rl.log.Error("cannot check the rate limit: answering 503 unavailable until it can", "limit", limit.name, "err", err)
	}
}

// limiterWorks logs that limit can be checked again after limiterFailed.
func (rl *Relay) limiterWorks(limit *rateLimiter) {
	if limit.failing.Load() && limit.failing.CompareAndSwap(true, false) {
		rl.log.Info("the rate limit can be checked again", "limit", limit.name)
	}
}
