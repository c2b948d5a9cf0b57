package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scanin/scanin/internal/redistest"
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

// newRedisClient is a go-redis client of srv, closed when the test ends.
func newRedisClient(t *testing.T, srv *redistest.Server) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // fail at once while Redis is down
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

func mustAllowCtx(t *testing.T, l *rateLimiter, ip string) (bool, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, wait, err := l.allow(ctx, ip)
	if err != nil {
		t.Fatalf("allow(%s): %v", ip, err)
	}
	return ok, wait
}

// TestRedisRateLimiter checks the limit kept in a real redis-server, as
// three relay nodes (three clients) share it: one minute's burst in all,
// the wait, per client and per /64, and keys that expire once the bucket
// is full again.
func TestRedisRateLimiter(t *testing.T) {
	srv := redistest.Start(t)
	nodes := make([]*rateLimiter, 3)
	for i := range nodes {
		nodes[i] = newRedisRateLimiter(newRedisClient(t, srv), "scanin:test:", "sender", 60)
	}
	start := time.Now()
	for i := range 60 {
		if ok, _ := mustAllowCtx(t, nodes[i%3], "192.0.2.1"); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	for i := range 3 {
		ok, wait := mustAllowCtx(t, nodes[i], "192.0.2.1")
		// Less than a second has passed: the wait is the rest of it.
		if elapsed := time.Since(start); ok && elapsed < time.Second {
			t.Fatalf("node %d let the 61st request in after %v", i, elapsed)
		}
		if !ok && (wait <= 0 || wait > time.Second) {
			t.Errorf("node %d: wait %v, want (0, 1s]", i, wait)
		}
	}
	if ok, _ := mustAllowCtx(t, nodes[0], "192.0.2.2"); !ok {
		t.Error("another client was refused")
	}
	for i := range 60 {
		mustAllowCtx(t, nodes[i%3], fmt.Sprintf("2001:db8::%x", i))
	}
	if ok, _ := mustAllowCtx(t, nodes[1], "2001:db8::ffff"); ok && time.Since(start) < time.Second {
		t.Error("a /64 got more than its share")
	}
	ctx := context.Background()
	keys, err := srv.Do(ctx, "KEYS", "*")
	if err != nil {
		t.Fatal(err)
	}
	want := "scanin:test:sender:192.0.2.1\nscanin:test:sender:192.0.2.2\nscanin:test:sender:2001:db8::"
	if got := sortedLines(keys); got != want {
		t.Errorf("keys:\n%s\nwant:\n%s", got, want)
	}
	// The key lives until the bucket is full again: a client that took one
	// token, one second; one that took a minute's, about a minute.
	if ms := pttl(t, srv, "scanin:test:sender:192.0.2.2"); ms <= 0 || ms > 1000 {
		t.Errorf("PTTL after one request: %d ms, want (0, 1000]", ms)
	}
	// A minute after the first request, less the time the test took.
	if ms := pttl(t, srv, "scanin:test:sender:192.0.2.1"); ms < 60_000-int(time.Since(start)/time.Millisecond)-1000 || ms > 60_000 {
		t.Errorf("PTTL after a minute's requests in %v: %d ms, want about 60000", time.Since(start), ms)
	}
}

func sortedLines(s string) string {
	l := strings.Split(s, "\n")
	slices.Sort(l)
	return strings.Join(l, "\n")
}

func pttl(t *testing.T, srv *redistest.Server, key string) int {
	t.Helper()
	v, err := srv.Do(context.Background(), "PTTL", key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRedisRateLimiterConcurrent sends many requests at once through three
// clients: the bucket lets in one minute's burst, plus at most what it
// refilled meanwhile, never more.
func TestRedisRateLimiterConcurrent(t *testing.T) {
	srv := redistest.Start(t)
	const perMinute, requests = 50, 300
	nodes := make([]*rateLimiter, 3)
	for i := range nodes {
		nodes[i] = newRedisRateLimiter(newRedisClient(t, srv), "scanin:", "listen", perMinute)
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	start := time.Now()
	for i := range requests {
		wg.Go(func() {
			ok, _, err := nodes[i%3].allow(context.Background(), "198.51.100.7")
			if err != nil {
				errs <- err
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	refilled := int64(elapsed/(time.Minute/perMinute)) + 1
	if n := allowed.Load(); n < perMinute || n > perMinute+refilled {
		t.Errorf("%d of %d requests let in over %v, want %d to %d", n, requests, elapsed, perMinute, perMinute+refilled)
	}
}

// TestRedisRateLimiterExpiresAndRefills checks a fast limit: its keys go
// away once the bucket is full, and a refused client is let in after the
// wait it was told.
func TestRedisRateLimiterExpiresAndRefills(t *testing.T) {
	srv := redistest.Start(t)
	l := newRedisRateLimiter(newRedisClient(t, srv), "scanin:", "listen", 600) // a token every 100 ms
	for range 600 {
		mustAllowCtx(t, l, "192.0.2.9")
	}
	ok, wait := mustAllowCtx(t, l, "192.0.2.9")
	for ok { // the burst took long enough to refill a token: take it
		ok, wait = mustAllowCtx(t, l, "192.0.2.9")
	}
	if wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("wait %v, want (0, 100ms]", wait)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) { // poll until the wait is over
		time.Sleep(time.Until(deadline))
	}
	if ok, wait := mustAllowCtx(t, l, "192.0.2.9"); !ok {
		t.Errorf("refused (wait %v) after the wait it was told", wait)
	}
	// The bucket is full again a minute after the last request: its key is
	// gone then. Here: wait for a bucket of one request.
	mustAllowCtx(t, l, "192.0.2.10")
	ctx := context.Background()
	for end := time.Now().Add(5 * time.Second); ; {
		n, err := srv.Do(ctx, "EXISTS", "scanin:listen:192.0.2.10")
		if err != nil {
			t.Fatal(err)
		}
		if n == "0" {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the key of a client idle for 5 s is still there (PTTL %d ms)", pttl(t, srv, "scanin:listen:192.0.2.10"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRedisRateLimiterDown checks the relay's answer while Redis is away:
// 503 unavailable and one log line, then, once Redis is back (the same
// client, no restart, the script no longer cached), the limit works again
// and the recovery is logged.
func TestRedisRateLimiterDown(t *testing.T) {
	srv := redistest.Start(t)
	tr := newTestRelay(t, Config{})
	l := newRedisRateLimiter(newRedisClient(t, srv), "scanin:", "sender", 120)
	call := func() (int, string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/s/x", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		if _, ok := tr.rl.limit(rec, req, l); ok {
			return 0, ""
		}
		return rec.Code, rec.Body.String()
	}
	if st, b := call(); st != 0 {
		t.Fatalf("with Redis up: %d %s", st, b)
	}
	srv.Stop()
	for i := range 3 {
		st, b := call()
		if st != http.StatusServiceUnavailable || !strings.Contains(b, `"unavailable"`) {
			t.Fatalf("request %d with Redis down: %d %s, want 503 unavailable", i, st, b)
		}
	}
	if n := strings.Count(tr.logs.String(), "cannot check the rate limit"); n != 1 {
		t.Errorf("%d log lines for the outage, want 1:\n%s", n, tr.logs.String())
	}
	srv.Start()
	// The client reconnects by itself; the first try may still see the old
	// connection fail, so poll a little.
	var st int
	var b string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if st, b = call(); st == 0 {
			break
		}
	}
	if st != 0 {
		t.Fatalf("after Redis came back: %d %s", st, b)
	}
	if !strings.Contains(tr.logs.String(), "the rate limit can be checked again") {
		t.Errorf("no log line for the recovery:\n%s", tr.logs.String())
	}
	// A request whose client went away is not an outage.
	srv.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/s/x", nil).WithContext(ctx)
	tr.rl.limit(httptest.NewRecorder(), req, l)
	if n := strings.Count(tr.logs.String(), "cannot check the rate limit"); n != 1 {
		t.Errorf("a cancelled request was logged as an outage:\n%s", tr.logs.String())
	}
}

// TestRateLimitsAcrossNodes runs two relays over one redis-server and
// alternates a client's requests between them: the limits are the
// client's across both, as the config says.
func TestRateLimitsAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	cfg := Config{Redis: srv.URL(), Limits: Limits{SenderRequestsPerMinute: 3, NewSessionsPerMinute: 2}}
	nodes := []*testRelay{newTestRelay(t, cfg), newTestRelay(t, cfg)}
	sid := protocol.NewSessionID()
	for i := range 3 {
		if st, _, b := nodes[i%2].do(t, "GET", protocol.SessionPath(sid), nil, nil); st != http.StatusNotFound {
			t.Fatalf("read %d on node %d: %d %s, want 404 (no such session) within the limit", i, i%2, st, b)
		}
	}
	for i := range 2 {
		st, h, b := nodes[i].do(t, "GET", protocol.SessionPath(sid), nil, nil)
		if st != http.StatusTooManyRequests {
			t.Fatalf("4th read on node %d: %d %s, want 429", i, st, b)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 || ra > 20 {
			t.Errorf("Retry-After %q, want 1..20 s", h.Get("Retry-After"))
		}
	}
	for i := range 2 {
		if st, b := nodes[i].listenStatus(t, protocol.NewSessionID(), "app=nosuchapp", nil); st == http.StatusTooManyRequests {
			t.Fatalf("listen %d: %d %s, want a refusal other than the limit", i, st, b)
		}
	}
	if st, b := nodes[0].listenStatus(t, protocol.NewSessionID(), "app=demo", nil); st != http.StatusTooManyRequests {
		t.Fatalf("3rd listen: %d %s, want 429", st, b)
	}
	keys, err := srv.Do(t.Context(), "KEYS", redisRateLimitPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sortedLines(keys), "scanin:rl:listen:127.0.0.1\nscanin:rl:sender:127.0.0.1"; got != want {
		t.Errorf("rate-limit keys:\n%s\nwant:\n%s", got, want)
	}
}
