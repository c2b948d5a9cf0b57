package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/internal/redistest"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/conformance"
)

// redisNodes starts n relays sharing the Redis server srv, each behind its
// own httptest server, with cfg (its Redis set to srv's URL).
func redisNodes(t *testing.T, srv *redistest.Server, n int, cfg Config) []*testRelay {
	t.Helper()
	cfg.Redis = srv.URL()
	nodes := make([]*testRelay, n)
	for i := range nodes {
		nodes[i] = newTestRelay(t, cfg)
	}
	return nodes
}

// roundRobin is a reverse proxy that sends each request, HTTP or
// WebSocket, to the next of its backends in turn: a load balancer without
// sticky sessions.
type roundRobin struct {
	srv      *httptest.Server
	backends []*url.URL
	next     atomic.Uint64
}

// newRoundRobin starts a proxy; its URL is known before its backends, so
// that they can be given it as their public URL.
func newRoundRobin(t *testing.T) *roundRobin {
	t.Helper()
	p := &roundRobin{srv: httptest.NewUnstartedServer(nil)}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			b := p.backends[(p.next.Add(1)-1)%uint64(len(p.backends))]
			r.SetURL(b)
			r.Out.Host = r.In.Host // the relays know their public URL
		},
		FlushInterval: -1,
	}
	p.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The relay's answer to a body it refuses may come before the
		// body: pass it on while the body is still being read, as a
		// streaming load balancer does.
		_ = http.NewResponseController(w).EnableFullDuplex()
		proxy.ServeHTTP(w, r)
	})
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

func (p *roundRobin) URL() string { return p.srv.URL }

// behind puts the relays behind the proxy.
func (p *roundRobin) behind(t *testing.T, nodes []*testRelay) {
	t.Helper()
	for _, n := range nodes {
		u, err := url.Parse(n.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		p.backends = append(p.backends, u)
	}
}

// TestRedisConformance runs the conformance suite against two relay nodes
// over one Redis, behind a proxy that alternates between them: every
// request of a session, its listen and its resumes included, may land on
// either.
func TestRedisConformance(t *testing.T) {
	srv := redistest.Start(t)
	p := newRoundRobin(t)
	p.behind(t, redisNodes(t, srv, 2, Config{NoRateLimit: true, PublicURL: p.URL()}))
	conformance.Run(t, conformance.Target{URL: p.URL()})
}

// TestRedisHandoffAcrossNodes: a receiver on one node, a sender on the
// other; and the message held for a receiver away is given on resume at a
// third.
func TestRedisHandoffAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	nodes := redisNodes(t, srv, 3, Config{NoRateLimit: true, Limits: Limits{AckWait: time.Second}})
	a, b, c := nodes[0], nodes[1], nodes[2]

	sid := protocol.NewSessionID()
	conn, ready := a.listen(t, sid, "app=demo")
	if st, _, body := b.do(t, "GET", protocol.SessionPath(sid), nil, nil); st != 200 {
		t.Fatalf("read on B: %d %s", st, body)
	}
	if f := readFrame(t, conn); f.Type != protocol.FrameScanned {
		t.Fatalf("receiver on A got %s, want scanned", f.Type)
	}
	msg := bytes.Repeat([]byte{7}, 100)
	done := make(chan int, 1)
	go func() {
		st, _, _ := b.do(t, "POST", protocol.SessionPath(sid), msg, nil)
		done <- st
	}()
	if f := readFrame(t, conn); f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, msg) {
		t.Fatalf("receiver on A got %s, want the sealed message", f.Type)
	}
	// The receiver drops before it answers; the POST ends pending.
	_ = conn.CloseNow()
	if st := <-done; st != http.StatusAccepted {
		t.Fatalf("POST on B: %d, want 202", st)
	}
	conn2, ready2 := c.listen(t, sid, "app=demo&resume="+ready.Resume)
	if ready2.ExpiresAt != ready.ExpiresAt {
		t.Errorf("resume on C: expires_at %d, want %d", ready2.ExpiresAt, ready.ExpiresAt)
	}
	if f := readFrame(t, conn2); f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, msg) {
		t.Fatalf("receiver resumed on C got %s, want the held message", f.Type)
	}
	sendFrame(t, conn2, protocol.Frame{Type: protocol.FrameAck})
	waitFor(t, "the delivery", 5*time.Second, func() bool {
		st, _, _ := a.do(t, "POST", protocol.SessionPath(sid), msg, nil)
		return st == http.StatusOK
	})

	// A deny on B reaches a receiver on A.
	sid = protocol.NewSessionID()
	conn, _ = a.listen(t, sid, "app=demo")
	if st, _, body := b.do(t, "POST", protocol.DenyPath(sid), nil, nil); st != 200 {
		t.Fatalf("deny on B: %d %s", st, body)
	}
	if f := readFrame(t, conn); f.Type != protocol.FrameDenied {
		t.Fatalf("receiver on A got %s, want denied", f.Type)
	}
}

// TestRedisRaceAcrossNodes: 1,000 concurrent POSTs of different messages,
// spread over three nodes, deliver exactly one; again and again.
func TestRedisRaceAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	nodes := redisNodes(t, srv, 3, Config{NoRateLimit: true})
	const posts = 1000
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		sid := protocol.NewSessionID()
		conn, _ := nodes[round%3].listen(t, sid, "app=demo")
		got := make(chan []byte, 1)
		go func() {
			f := readFrame(t, conn)
			got <- f.Sealed
			sendFrame(t, conn, protocol.Frame{Type: protocol.FrameAck})
		}()
		var wg sync.WaitGroup
		statuses := make([]int, posts)
		for i := range posts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 50)
				statuses[i], _, _ = nodes[i%3].do(t, "POST", protocol.SessionPath(sid), msg, nil)
			}()
		}
		wg.Wait()
		won := <-got
		ok := 0
		for i, st := range statuses {
			switch st {
			case http.StatusOK:
				ok++
				if !bytes.Equal(won, bytes.Repeat([]byte{byte(i), byte(i >> 8)}, 50)) {
					t.Errorf("round %d: POST %d got 200, but the receiver got another message", round, i)
				}
			case http.StatusConflict, http.StatusGone:
			default:
				t.Errorf("round %d: POST %d: status %d", round, i, st)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d POSTs delivered, want exactly 1", round, ok)
		}
	}
}

// wantKeysExpire checks that every key in Redis has a time to live: nothing
// the relay writes outlives its session.
func wantKeysExpire(t *testing.T, srv *redistest.Server) {
	t.Helper()
	keys, err := srv.Do(t.Context(), "KEYS", "*")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Fields(keys) {
		ttl, err := srv.Do(t.Context(), "PTTL", k)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(ttl); n <= 0 {
			t.Errorf("key %s has PTTL %s, want one that expires", k, ttl)
		}
	}
}

// TestRedisLiveCapAcrossNodes: the live-session cap counts every node's
// sessions, and an ended session frees its place.
func TestRedisLiveCapAcrossNodes(t *testing.T) {
	srv := redistest.Start(t)
	nodes := redisNodes(t, srv, 2, Config{NoRateLimit: true, Limits: Limits{MaxLiveSessions: 3}})
	first := protocol.NewSessionID()
	nodes[0].listen(t, first, "app=demo")
	nodes[1].listen(t, protocol.NewSessionID(), "app=demo")
	nodes[0].listen(t, protocol.NewSessionID(), "app=demo")
	for i, n := range nodes {
		st, b := n.listenStatus(t, protocol.NewSessionID(), "app=demo", nil)
		wantCode(t, fmt.Sprintf("a 4th listen on node %d", i), st, b, protocol.CodeUnavailable)
	}
	if st, _, b := nodes[1].do(t, "POST", protocol.DenyPath(first), nil, nil); st != 200 {
		t.Fatalf("deny: %d %s", st, b)
	}
	nodes[1].listen(t, protocol.NewSessionID(), "app=demo")
	if n := nodes[0].rl.liveSessions(); n != 3 {
		t.Errorf("live sessions %d, want 3", n)
	}
	wantKeysExpire(t, srv)
}

// TestRedisRestart: while Redis is away the relays answer 503 unavailable,
// /healthz says why and the log says it once; when it is back they work
// again by themselves, across nodes, with no goroutine left behind, and a
// receiver that was waiting is asked to resume (its notes may be lost).
func TestRedisRestart(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Options{Persist: true})
	nodes := redisNodes(t, srv, 2, Config{NoRateLimit: true})
	a, b := nodes[0], nodes[1]
	handoff := func(what string) {
		t.Helper()
		sid := protocol.NewSessionID()
		conn, _ := a.listen(t, sid, "app=demo")
		msg := bytes.Repeat([]byte{9}, 64)
		done := make(chan int, 1)
		go func() {
			st, _, _ := b.do(t, "POST", protocol.SessionPath(sid), msg, nil)
			done <- st
		}()
		if f := readFrame(t, conn); f.Type != protocol.FrameSealed {
			t.Fatalf("%s: receiver got %s", what, f.Type)
		}
		sendFrame(t, conn, protocol.Frame{Type: protocol.FrameAck})
		if st := <-done; st != http.StatusOK {
			t.Fatalf("%s: POST %d, want 200", what, st)
		}
	}
	handoff("before")
	waiting := protocol.NewSessionID()
	conn, ready := a.listen(t, waiting, "app=demo")
	baseline := runtime.NumGoroutine()

	for round := range 2 {
		srv.Stop()
		for _, n := range nodes {
			st, _, body := n.do(t, "GET", "/healthz", nil, nil)
			wantCode(t, "healthz while Redis is away", st, body, protocol.CodeUnavailable)
			if !strings.Contains(string(body), "redis unreachable") {
				t.Errorf("healthz while Redis is away: %s, want it to say redis unreachable", body)
			}
			st, _, body = n.do(t, "GET", protocol.SessionPath(waiting), nil, nil)
			wantCode(t, "GET while Redis is away", st, body, protocol.CodeUnavailable)
			st, body = n.listenStatus(t, protocol.NewSessionID(), "app=demo", nil)
			wantCode(t, "listen while Redis is away", st, body, protocol.CodeUnavailable)
		}
		srv.Start()
		for _, n := range nodes {
			waitFor(t, "healthz back to 200", 10*time.Second, func() bool {
				st, _, _ := n.do(t, "GET", "/healthz", nil, nil)
				return st == 200
			})
		}
		if round == 0 {
			// The waiting receiver is asked to resume, and can.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			_, _, err := conn.Read(ctx)
			cancel()
			if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
				t.Errorf("waiting receiver: %v, want closed with 1001", err)
			}
			b.listen(t, waiting, "app=demo&resume="+ready.Resume)
		}
		waitFor(t, "the nodes to read their notes again", 10*time.Second, func() bool {
			st, _ := b.listenStatus(t, protocol.NewSessionID(), "app=demo", nil)
			return st == 101
		})
		handoff(fmt.Sprintf("after restart %d", round+1))
	}
	for _, n := range nodes {
		logs := n.logs.String()
		if c := strings.Count(logs, "redis unreachable"); c != 2 {
			t.Errorf("%d log lines say redis unreachable, want 2 (one per outage):\n%s", c, logs)
		}
		if c := strings.Count(logs, "redis reachable again"); c != 2 {
			t.Errorf("%d log lines say redis reachable again, want 2", c)
		}
	}
	waitFor(t, "goroutines back to the baseline", 10*time.Second, func() bool {
		return runtime.NumGoroutine() <= baseline+4 // the resumed receiver
	})
}

// TestRedisNotesSplitReads: a note reaches its receiver even when the
// relay reads its header from Redis in two pieces. Over RESP3, go-redis
// before v9.22 took a pub/sub message cut inside its name ("mes" of
// "message") for an unknown push notification and dropped it
// (redis/go-redis#3839): about once in 20,000 notes under load, a
// receiver never got its sealed frame and the sender got 202 pending.
func TestRedisNotesSplitReads(t *testing.T) {
	srv := redistest.Start(t)
	addr := splitReplies(t, srv.Addr(), 11) // ">3\r\n$7\r\nmes" | "sage\r\n…"
	rl := newTestRelay(t, Config{NoRateLimit: true, Redis: "redis://" + addr + "/0", Limits: Limits{AckWait: 2 * time.Second}})
	for i := range 3 {
		sid := protocol.NewSessionID()
		conn, _ := rl.listen(t, sid, "app=demo")
		msg := bytes.Repeat([]byte{byte(i + 1)}, 100)
		done := make(chan int, 1)
		go func() {
			st, _, _ := rl.do(t, "POST", protocol.SessionPath(sid), msg, nil)
			done <- st
		}()
		if f := readFrame(t, conn); f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, msg) {
			t.Fatalf("handoff %d: receiver got %s, want the sealed message", i, f.Type)
		}
		sendFrame(t, conn, protocol.Frame{Type: protocol.FrameAck})
		if st := <-done; st != http.StatusOK {
			t.Fatalf("handoff %d: POST %d, want 200", i, st)
		}
	}
}

// splitReplies is a proxy to the Redis server at addr that passes on what
// the server sends in two writes, the first of at most first bytes, with a
// pause between them, so that the client reads them apart.
func splitReplies(t *testing.T, addr string, first int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	track := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", addr)
			if err != nil {
				_ = client.Close()
				continue
			}
			track(client)
			track(server)
			wg.Go(func() {
				_, _ = io.Copy(server, client)
				_ = server.Close()
			})
			wg.Go(func() {
				defer client.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := server.Read(buf)
					if err != nil {
						return
					}
					b := buf[:n]
					if len(b) > first {
						if _, err := client.Write(b[:first]); err != nil {
							return
						}
						time.Sleep(5 * time.Millisecond)
						b = b[first:]
					}
					if _, err := client.Write(b); err != nil {
						return
					}
				}
			})
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}
