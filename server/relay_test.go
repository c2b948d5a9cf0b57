package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// testRelay is a relay behind httptest, with its logs in a buffer.
type testRelay struct {
	rl   *Relay
	srv  *httptest.Server
	logs *syncBuffer
	hc   *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newTestRelay(t *testing.T, cfg Config) *testRelay {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + srv.Listener.Addr().String()
	}
	rl, err := New(cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = rl.Handler()
	srv.Start()
	tr := &http.Transport{DisableKeepAlives: true}
	tr2 := tr
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rl.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		srv.Close()
		tr2.CloseIdleConnections()
	})
	return &testRelay{rl: rl, srv: srv, logs: logs, hc: &http.Client{Transport: tr, Timeout: 20 * time.Second}}
}

func (tr *testRelay) do(t *testing.T, method, path string, body []byte, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, tr.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := tr.hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// wantCode checks an error answer.
func wantCode(t *testing.T, what string, status int, body []byte, code protocol.Code) {
	t.Helper()
	if status != code.HTTPStatus() || protocol.ParseError(body).Code != code {
		t.Errorf("%s: %d %s, want %d %s", what, status, body, code.HTTPStatus(), code)
	}
}

func (tr *testRelay) listenURL(sid, query string) string {
	return "ws" + strings.TrimPrefix(tr.srv.URL, "http") + protocol.ListenPath(sid) + "?" + query
}

// listen connects a receiver and reads its ready frame.
func (tr *testRelay) listen(t *testing.T, sid, query string) (*websocket.Conn, protocol.Frame) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, tr.listenURL(sid, query), &websocket.DialOptions{HTTPClient: tr.hc})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("listen: no ready: %v", err)
	}
	f, err := protocol.ParseFrame(b)
	if err != nil || f.Type != protocol.FrameReady {
		t.Fatalf("listen: first frame %s", b)
	}
	return conn, f
}

// listenStatus tries a listen and returns the refusal's status and body.
func (tr *testRelay) listenStatus(t *testing.T, sid, query string, header http.Header) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, tr.listenURL(sid, query), &websocket.DialOptions{HTTPClient: tr.hc, HTTPHeader: header})
	if err == nil {
		_ = conn.CloseNow()
		return 101, nil
	}
	if resp == nil {
		t.Fatalf("listen: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func readFrame(t *testing.T, conn *websocket.Conn) protocol.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	f, err := protocol.ParseFrame(b)
	if err != nil {
		t.Fatalf("bad frame %s", b)
	}
	return f
}

func sendFrame(t *testing.T, conn *websocket.Conn, f protocol.Frame) {
	t.Helper()
	if err := conn.Write(context.Background(), websocket.MessageText, f.AppendJSON(nil)); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBadInputsLeaveNothingBehind throws malformed and hostile requests at
// the relay, checks each answer, and then checks that no goroutine, session
// or rate-limit bucket outlives them.
func TestBadInputsLeaveNothingBehind(t *testing.T) {
	tr := newTestRelay(t, Config{})
	baseline := runtime.NumGoroutine()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	for round := 0; round < 3; round++ {
		badInputs(t, tr)
	}

	waitFor(t, "goroutines back to the baseline", 10*time.Second, func() bool {
		return runtime.NumGoroutine() <= baseline
	})
	// Everything the bad inputs made is swept once it is old enough.
	tr.rl.sweep(time.Now().Add(protocol.MaxTTL + protocol.TombstoneTTL + time.Minute))
	if live, tomb := tr.rl.store.(*memoryStore).counts(); live != 0 || tomb != 0 {
		t.Errorf("after the sweep: %d live sessions, %d tombstones; want none", live, tomb)
	}
	if n := tr.rl.liveSessions(); n != 0 {
		t.Errorf("live session count %d after the sweep", n)
	}
	if n := tr.rl.listenRL.size() + tr.rl.senderRL.size(); n != 0 {
		t.Errorf("%d rate-limit buckets after the sweep", n)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 2<<20 {
		t.Errorf("heap grew by %d bytes over the bad inputs", grew)
	}
}

func badInputs(t *testing.T, tr *testRelay) {
	t.Helper()
	sid := protocol.NewSessionID()
	for _, bad := range []string{"x", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAA==", strings.Repeat("A", 300)} {
		st, _, b := tr.do(t, "GET", protocol.SessionPath(bad), nil, nil)
		wantCode(t, "GET bad sid", st, b, protocol.CodeBadRequest)
		st, b = tr.listenStatus(t, bad, "app=demo", nil)
		wantCode(t, "listen bad sid", st, b, protocol.CodeBadRequest)
	}
	for q, code := range map[string]protocol.Code{
		"":                                  protocol.CodeBadRequest,
		"app=DEMO":                          protocol.CodeBadRequest,
		"app=other":                         protocol.CodeNotFound,
		"app=demo&ttl=1":                    protocol.CodeBadRequest,
		"app=demo&ttl=1e3":                  protocol.CodeBadRequest,
		"app=demo&ttl=60&ttl=60":            protocol.CodeBadRequest,
		"app=demo&origin=https://evil.test": protocol.CodeOriginDenied,
		"app=demo&resume=whatever":          protocol.CodeNotFound,
	} {
		st, b := tr.listenStatus(t, sid, q, nil)
		wantCode(t, "listen "+q, st, b, code)
	}
	st, b := tr.listenStatus(t, sid, "app=demo", http.Header{"Origin": {"https://evil.test"}})
	wantCode(t, "listen from a foreign page", st, b, protocol.CodeOriginDenied)
	st, _, b = tr.do(t, "GET", protocol.ListenPath(sid)+"?app=demo", nil, nil)
	wantCode(t, "listen without an upgrade", st, b, protocol.CodeBadRequest)

	// Bodies: too large (announced and not), too small, unknown session.
	st, _, b = tr.do(t, "POST", protocol.SessionPath(sid), make([]byte, protocol.MaxSealedSize+1), nil)
	wantCode(t, "POST too large", st, b, protocol.CodeTooLarge)
	st, _, b = tr.do(t, "POST", protocol.SessionPath(sid), make([]byte, 10), nil)
	wantCode(t, "POST too small", st, b, protocol.CodeBadRequest)
	st, _, b = tr.do(t, "POST", protocol.SessionPath(sid), make([]byte, 100), nil)
	wantCode(t, "POST unknown", st, b, protocol.CodeNotFound)
	st, _, b = tr.do(t, "POST", protocol.DenyPath(sid), nil, nil)
	wantCode(t, "deny unknown", st, b, protocol.CodeNotFound)
	st, _, b = tr.do(t, "GET", "/v1/nothing/here", nil, nil)
	wantCode(t, "unknown API path", st, b, protocol.CodeNotFound)

	// Receivers that misbehave: a frame over the read limit, a binary
	// frame, garbage, and one that drops with a message held.
	for _, msg := range []struct {
		typ  websocket.MessageType
		data []byte
	}{
		{websocket.MessageText, bytes.Repeat([]byte("a"), 4096)},
		{websocket.MessageBinary, []byte(`{"type":"ack"}`)},
		{websocket.MessageText, []byte(`{"type":"ready","expires_at":1,"resume":"x"}`)},
	} {
		conn, _ := tr.listen(t, protocol.NewSessionID(), "app=demo")
		_ = conn.Write(context.Background(), msg.typ, msg.data)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, _, err := conn.Read(ctx)
		cancel()
		if code := websocket.CloseStatus(err); code != websocket.StatusMessageTooBig && code != websocket.StatusCode(4400) {
			t.Errorf("misbehaving receiver: closed with %v (%v)", code, err)
		}
	}
	dropped := protocol.NewSessionID()
	conn, _ := tr.listen(t, dropped, "app=demo&ttl=15")
	_ = conn.CloseNow()
	waitFor(t, "the relay to notice the drop", 5*time.Second, func() bool {
		s := peek(t, tr.rl, dropped)
		return s != nil && s.Listener == ""
	})
	st, _, b = tr.do(t, "POST", protocol.SessionPath(dropped), make([]byte, 100), nil)
	if st != http.StatusAccepted {
		t.Errorf("POST to a dropped receiver: %d %s", st, b)
	}
}

// TestLogsHoldNoSecrets runs whole sessions with debug logging and checks
// that no payload, link, key, resume value or fragment reaches the logs.
func TestLogsHoldNoSecrets(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sid := protocol.NewSessionID()
	const payload = "very-secret-session-token-3b1f"
	link := protocol.Link{Base: tr.srv.URL + "/link", App: "demo", SessionID: sid, PublicKey: key.PublicKey(), Relay: tr.srv.URL}.String()
	_, fragment, _ := strings.Cut(link, "#")

	conn, ready := tr.listen(t, sid, "app=demo&origin="+protocol.QueryEscape("http://localhost:3000"))
	tr.do(t, "GET", protocol.SessionPath(sid), nil, nil)
	readFrame(t, conn) // scanned
	sealed, _, err := protocol.SealMessage(key.PublicKey(), "demo", sid, protocol.Message{Kind: protocol.KindToken, Data: payload, IssuedAt: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		st, _, _ := tr.do(t, "POST", protocol.SessionPath(sid), sealed, nil)
		done <- st
	}()
	f := readFrame(t, conn)
	if _, _, err := protocol.OpenMessage(key, "demo", sid, f.Sealed, time.Now()); err != nil {
		t.Fatal(err)
	}
	sendFrame(t, conn, protocol.Frame{Type: protocol.FrameAck})
	if st := <-done; st != 200 {
		t.Fatalf("POST: %d", st)
	}
	// A resume, a wrong resume, a deny, a reject, requests for the link page.
	sid2 := protocol.NewSessionID()
	c2, ready2 := tr.listen(t, sid2, "app=demo")
	_ = c2.CloseNow()
	tr.listenStatus(t, sid2, "app=demo&resume="+protocol.QueryEscape(ready2.Resume+"x"), nil)
	waitFor(t, "the drop", 5*time.Second, func() bool {
		st, _ := tr.listenStatus(t, sid2, "app=demo&resume="+protocol.QueryEscape(ready2.Resume), nil)
		return st == 101
	})
	tr.do(t, "POST", protocol.DenyPath(sid2), nil, nil)
	tr.do(t, "GET", "/link", nil, nil)

	logs := tr.logs.String()
	if !strings.Contains(logs, "session started") || !strings.Contains(logs, `"outcome":"delivered"`) {
		t.Fatalf("the logs do not record the sessions at all:\n%s", logs)
	}
	secrets := map[string]string{
		"sid": sid, "sid2": sid2, "resume": ready.Resume, "resume2": ready2.Resume,
		"payload": payload, "sealed": protocol.EncodeBase64(sealed), "sealed prefix": protocol.EncodeBase64(sealed[:24]),
		"public key": protocol.EncodeBase64(key.PublicKey()), "link": link, "fragment": fragment,
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the logs contain the %s", name)
		}
	}
}

// TestShutdownFinishesDeliveries checks the graceful shutdown: it stops
// taking sessions, lets a delivery in flight finish, and closes idle
// receivers with 1001.
func TestShutdownFinishesDeliveries(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	idle, _ := tr.listen(t, protocol.NewSessionID(), "app=demo")
	sid := protocol.NewSessionID()
	busy, _ := tr.listen(t, sid, "app=demo")
	body := bytes.Repeat([]byte{9}, 100)
	done := make(chan int, 1)
	go func() {
		st, _, _ := tr.do(t, "POST", protocol.SessionPath(sid), body, nil)
		done <- st
	}()
	readFrame(t, busy) // the delivery is in flight
	idleClosed := make(chan websocket.StatusCode, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _, err := idle.Read(ctx)
		idleClosed <- websocket.CloseStatus(err)
	}()
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- tr.rl.Shutdown(ctx)
	}()
	waitFor(t, "healthz to say 503", 5*time.Second, func() bool {
		st, _, _ := tr.do(t, "GET", "/healthz", nil, nil)
		return st == http.StatusServiceUnavailable
	})
	st, b := tr.listenStatus(t, protocol.NewSessionID(), "app=demo", nil)
	wantCode(t, "listen while shutting down", st, b, protocol.CodeUnavailable)
	select {
	case <-shut:
		t.Fatal("Shutdown returned with a delivery in flight")
	default:
	}
	sendFrame(t, busy, protocol.Frame{Type: protocol.FrameAck})
	go func() { // answer the relay's close, as a browser does
		_, _, _ = busy.Read(context.Background())
	}()
	if st := <-done; st != 200 {
		t.Errorf("the delivery in flight got %d, want 200", st)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if code := <-idleClosed; code != websocket.StatusGoingAway {
		t.Errorf("idle receiver closed with %v, want 1001", code)
	}
}

func TestLiveSessionCap(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true, Limits: Limits{MaxLiveSessions: 2}})
	tr.listen(t, protocol.NewSessionID(), "app=demo")
	tr.listen(t, protocol.NewSessionID(), "app=demo")
	st, b := tr.listenStatus(t, protocol.NewSessionID(), "app=demo", nil)
	wantCode(t, "a listen over the cap", st, b, protocol.CodeUnavailable)
}

func TestMetrics(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true})
	metricsTraffic(t, tr)
	_, h, b := tr.do(t, "GET", "/metrics", nil, nil)
	if !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", h.Get("Content-Type"))
	}
	wantMetrics(t, b)
	if cc := h.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
}

// metricsTraffic is what wantMetrics expects to see counted: a handoff
// delivered and acked, a bad request, and a second listener left waiting.
func metricsTraffic(t *testing.T, tr *testRelay) {
	t.Helper()
	sid := protocol.NewSessionID()
	conn, _ := tr.listen(t, sid, "app=demo")
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.do(t, "POST", protocol.SessionPath(sid), bytes.Repeat([]byte{1}, 64), nil)
	}()
	readFrame(t, conn)
	sendFrame(t, conn, protocol.Frame{Type: protocol.FrameAck})
	<-done
	tr.do(t, "GET", protocol.SessionPath("bad"), nil, nil)
	tr.listen(t, protocol.NewSessionID(), "app=demo")
}

// wantMetrics checks a scrape after metricsTraffic: the relay's own
// metrics, with every label value, and the Go runtime's and the process's.
func wantMetrics(t *testing.T, b []byte) {
	t.Helper()
	for _, line := range []string{
		"scanin_live_sessions 1",
		"scanin_sessions_total 2",
		`scanin_handoffs_total{outcome="delivered"} 1`,
		`scanin_handoffs_total{outcome="denied"} 0`,
		`scanin_handoffs_total{outcome="pending"} 0`,
		`scanin_handoffs_total{outcome="rejected"} 0`,
		`scanin_errors_total{code="bad_request"} 1`,
		`scanin_errors_total{code="rate_limited"} 0`,
		"scanin_delivery_latency_seconds_count 1",
		`scanin_delivery_latency_seconds_bucket{le="+Inf"} 1`,
		`scanin_delivery_latency_seconds_bucket{le="300"} 1`,
		"# TYPE scanin_handoffs_total counter",
		"# TYPE scanin_delivery_latency_seconds histogram",
		"# TYPE scanin_live_sessions gauge",
	} {
		if !strings.Contains(string(b), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, b)
		}
	}
	// Operators' usual runtime and process metrics, with a value.
	for _, name := range []string{"scanin_listeners", "go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds_count", "process_open_fds", "process_resident_memory_bytes"} {
		if !regexp.MustCompile(`(?m)^` + name + ` [0-9.e+]+$`).Match(b) {
			t.Errorf("metrics lack %s:\n%s", name, b)
		}
	}
}

// TestSeparateMetrics: with Config.SeparateMetrics the public handler has
// no /metrics, and MetricsHandler, served on a listener of its own, has
// the same metrics.
func TestSeparateMetrics(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true, SeparateMetrics: true})
	metricsSrv := httptest.NewServer(tr.rl.MetricsHandler())
	t.Cleanup(metricsSrv.Close)
	metricsTraffic(t, tr)
	if st, _, b := tr.do(t, "GET", "/metrics", nil, nil); st != http.StatusNotFound {
		t.Errorf("public /metrics: %d %s, want 404", st, b)
	}
	resp, err := http.Get(metricsSrv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics listener: %d %s", resp.StatusCode, b)
	}
	wantMetrics(t, b)
}

func TestAppConfigAndTrustedProxy(t *testing.T) {
	cfg, err := ParseConfig("test.json", []byte(`{
		"apps": [{"id": "shop", "name": "Shop", "origins": ["https://shop.example"],
		          "link_base": "https://shop.example/app", "ttl": 90},
		         {"id": "full", "name": "Full", "origins": ["https://full.example"], "native_receivers": true,
		          "scan_hint": "Tap Scan in {name}", "logo": "/logo.png",
		          "ios_app_store_url": "https://apps.apple.com/app/id1", "play_store_url": "https://play.google.com/store/apps/details?id=full",
		          "app_link": "full://scanin"}],
		"trusted_proxies": ["127.0.0.1"]}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.NoRateLimit = true
	tr := newTestRelay(t, cfg)
	st, _, b := tr.do(t, "GET", protocol.AppPath("shop"), nil, nil)
	var got map[string]any
	if err := json.Unmarshal(b, &got); st != 200 || err != nil {
		t.Fatalf("app: %d %s", st, b)
	}
	want := `{"id":"shop","name":"Shop","origins":["https://shop.example"],"link_base":"https://shop.example/app","ttl":90,` +
		`"native_receivers":false,"scan_hint":"Open Shop on your phone and tap Scan"}`
	if string(b) != want {
		t.Errorf("app: %s\nwant %s", b, want)
	}
	// Every field round-trips through the widget's reader; a logo on the
	// relay becomes an absolute URL.
	st, _, b = tr.do(t, "GET", protocol.AppPath("full"), nil, nil)
	full, err := protocol.ParseAppConfig(b)
	wantFull := protocol.AppConfig{ID: "full", Name: "Full", Origins: []string{"https://full.example"},
		LinkBase: tr.srv.URL + "/link", TTL: 60, NativeReceivers: true, ScanHint: "Tap Scan in Full",
		Logo: tr.srv.URL + "/logo.png", IOSAppStoreURL: "https://apps.apple.com/app/id1",
		PlayStoreURL: "https://play.google.com/store/apps/details?id=full", AppLink: "full://scanin"}
	if st != 200 || err != nil || !reflect.DeepEqual(full, wantFull) {
		t.Errorf("app full: %d %s (%v)\n got %+v\nwant %+v", st, b, err, full, wantFull)
	}
	if back := full.AppendJSON(nil); !bytes.Equal(back, b) {
		t.Errorf("app full: AppendJSON %s, relay %s", back, b)
	}
	st, _, b = tr.do(t, "GET", protocol.AppPath("demo"), nil, nil)
	wantCode(t, "the demo app when apps are configured", st, b, protocol.CodeNotFound)

	// Behind a trusted proxy the requester is the forwarded address.
	sid := protocol.NewSessionID()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, tr.listenURL(sid, "app=shop&origin=https%3A%2F%2Fshop.example"), &websocket.DialOptions{
		HTTPHeader: http.Header{"X-Forwarded-For": {"198.51.100.9, 127.0.0.1"}, "Origin": {tr.srv.URL}},
	})
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.CloseNow()
	// The session exists once the relay sent ready; the upgrade comes first.
	if _, f, err := conn.Read(ctx); err != nil || !bytes.Contains(f, []byte(`"ready"`)) {
		t.Fatalf("listen: no ready frame: %s, %v", f, err)
	}
	st, _, b = tr.do(t, "GET", protocol.SessionPath(sid), nil, http.Header{"X-Forwarded-For": {"203.0.113.4"}})
	var info protocol.SessionInfo
	if err := json.Unmarshal(b, &info); err != nil || st != http.StatusOK {
		t.Fatalf("GET: %d %s", st, b)
	}
	if info.Requester.IP != "198.51.100.9" || info.Sender.IP != "203.0.113.4" || info.Requester.Origin != "https://shop.example" {
		t.Errorf("behind a trusted proxy: %+v", info)
	}
}

func TestClientIPIgnoresUntrustedForwarding(t *testing.T) {
	rl := &Relay{}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.1:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.4")
	if ip := rl.clientIP(r); ip != "192.0.2.1" {
		t.Errorf("untrusted peer: %s, want the socket's address", ip)
	}
	rl.cfg.TrustedProxies = mustPrefixes(t, "192.0.2.0/24", "10.0.0.1")
	r.Header.Set("X-Forwarded-For", "203.0.113.4, 10.0.0.1")
	if ip := rl.clientIP(r); ip != "203.0.113.4" {
		t.Errorf("through two trusted proxies: %s", ip)
	}
	r.Header.Set("X-Forwarded-For", "spoofed, 198.51.100.2")
	if ip := rl.clientIP(r); ip != "198.51.100.2" {
		t.Errorf("a client may prepend anything: %s, want the last untrusted hop", ip)
	}
	r.Header.Set("X-Forwarded-For", "garbage")
	if ip := rl.clientIP(r); ip != "192.0.2.1" {
		t.Errorf("garbage forwarding: %s, want the proxy", ip)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"apps":[{"id":"Shop","name":"S","origins":["https://a.example"]}]}`, "apps[0].id"},
		{`{"apps":[{"id":"s","name":"","origins":["https://a.example"]}]}`, "apps[0].name"},
		{`{"apps":[{"id":"s","name":"S","origins":[]}]}`, "apps[0].origins"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example/path"]}]}`, "apps[0].origins[0]"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://*.example"]}]}`, "apps[0].origins[0]"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example:99999"]}]}`, `apps[0].origins[0]: origin "https://a.example:99999": port 99999 is out of range`},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example","http://a.example:0080"]}]}`, `apps[0].origins[1]: origin "http://a.example:0080": port 0080 has a leading zero`},
		{`{"apps":[{"id":"s","name":"S","origins":["http://::1:8080"]}]}`, "must be in brackets"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"widget_origins":["https://w.example:65536"]}]}`, "apps[0].widget_origins[0]"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"widget_origins":["ftp://x"]}]}`, "apps[0].widget_origins[0]"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"link_base":"http://a.example/l"}]}`, "apps[0].link_base"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"ttl":10}]}`, "apps[0].ttl"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"]},{"id":"s","name":"T","origins":["https://a.example"]}]}`, "apps[1].id"},
		{`{"trusted_proxies":["not an ip"]}`, "trusted_proxies[0]"},
		{`{"limits":{"default_ttl":5}}`, "limits.default_ttl"},
		{`{"limits":{"ping_interval":60}}`, "limits.ping_interval"},
		{`{"limits":{"tombstone_ttl":60}}`, "limits.tombstone_ttl"},
		{`{"limits":{"max_live_sessions":-1}}`, "limits.max_live_sessions"},
		{`{"limits":{"max_tombstones":-1}}`, "limits.max_tombstones"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"]}],"redis":"memcached://user:secret@h:1"}`, `redis: "memcached://user:xxxxx@h:1" is not a Redis URL`},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"logo":"http://a.example/l.png"}]}`, "apps[0].logo"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"logo":"//a.example/l.png"}]}`, "apps[0].logo"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"ios_app_store_url":"apps.apple.com/x"}]}`, "apps[0].ios_app_store_url"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"play_store_url":"http://play.google.com/x"}]}`, "apps[0].play_store_url"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"app_link":"javascript:alert(1)"}]}`, "apps[0].app_link"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"app_link":"no scheme"}]}`, "apps[0].app_link"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"app_link":"http://a.example/open"}]}`, "apps[0].app_link"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"native_receivers":"yes"}]}`, "native_receivers"},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"]}],"typo":1}`, `unknown field "typo"`},
		{`{"apps":[{"id":"s","name":"S","origins":["https://a.example"],"origin":[]}]}`, `unknown field "origin"`},
		{`{"apps":`, "the JSON ends too early"},
		{"", "no apps configured"},
		{" \n", "no apps configured"},
		{"{}", "no apps configured"},
		{`{"apps":[]}`, "no apps configured"},
		{`{"limits":{"max_live_sessions":5}}`, "must list at least one app"},
		{"{\n  \"apps\": [\n    {\"id\": \"s\",}\n  ]\n}", "line 3, column 16"},
		{"{\"apps\": [{\"id\": \"s\", \"name\": \"S\", \"origins\": [\"https://a.example\"]}]}\n{}", "line 2, column 1: data after"},
		{"{\n\"apps\": [{\"id\": 5}]}", "line 2, column 17: apps.id must be a JSON string, not number"},
	} {
		_, err := ParseConfig("test.json", []byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "test.json: ") {
			t.Errorf("%s: error %v, want one naming test.json and %s", c.json, err, c.want)
		}
	}
	if _, err := LoadConfig("/nonexistent/relay.json"); err == nil {
		t.Error("a missing config file loaded")
	}
	if _, err := New(Config{PublicURL: "ftp://x"}, nil); err == nil {
		t.Error("a bad public URL was accepted")
	}
	cfg, err := ParseConfig("test.json", []byte(`{"apps":[{"id":"s","name":"S","origins":["https://a.example"]}],
		"redis":"redis://10.0.0.5:6379/2","limits":{"max_tombstones":7}}`))
	if err != nil || cfg.Redis != "redis://10.0.0.5:6379/2" || cfg.Limits.MaxTombstones != 7 {
		t.Errorf("redis and max_tombstones: %+v, %v", cfg, err)
	}
}

func mustPrefixes(t *testing.T, ss ...string) (out []netip.Prefix) {
	t.Helper()
	for _, s := range ss {
		p, err := parsePrefix(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// TestAppendFrame checks that the relay's own writer of the sealed frame
// gives exactly protocol.Frame.AppendJSON's bytes, and that the other
// frames are written by protocol.
func TestAppendFrame(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 32, 1024, 1025, 65536} {
		sealed := make([]byte, n)
		for i := range sealed {
			sealed[i] = byte(i*131 + n)
		}
		f := protocol.Frame{Type: protocol.FrameSealed, Sealed: sealed}
		if got, want := appendFrame([]byte("x"), f), f.AppendJSON([]byte("x")); !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: got %q, want %q", n, got, want)
		}
	}
	f := protocol.Frame{Type: protocol.FrameReady, ExpiresAt: 1700000000000, Resume: "r-_0"}
	if got, want := appendFrame(nil, f), f.AppendJSON(nil); !bytes.Equal(got, want) {
		t.Fatalf("ready: got %q, want %q", got, want)
	}
}

// TestReceiverPingChangesNothing pings while a delivery waits for the
// receiver's answer: every ping gets a pong, and the sender is still told
// pending when the ack wait runs out, as if the receiver had said nothing.
func TestReceiverPingChangesNothing(t *testing.T) {
	const ackWait = 400 * time.Millisecond
	tr := newTestRelay(t, Config{NoRateLimit: true, Limits: Limits{AckWait: ackWait}})
	sid := protocol.NewSessionID()
	conn, ready := tr.listen(t, sid, "app=demo")
	type answer struct {
		status int
		body   []byte
		took   time.Duration
	}
	done := make(chan answer, 1)
	start := time.Now()
	go func() {
		st, _, b := tr.do(t, "POST", protocol.SessionPath(sid), bytes.Repeat([]byte{1}, 64), nil)
		done <- answer{st, b, time.Since(start)}
	}()
	if f := readFrame(t, conn); f.Type != protocol.FrameSealed {
		t.Fatalf("got %s, want sealed", f.Type)
	}
	ctx := t.Context()
	pongs := 0
	for time.Since(start) < ackWait+200*time.Millisecond {
		if err := conn.Write(ctx, websocket.MessageText, []byte(protocol.PingJSON)); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, b, err := conn.Read(rctx)
		cancel()
		if err != nil || string(b) != protocol.PongJSON {
			t.Fatalf("after a ping: %s, %v; want %s", b, err, protocol.PongJSON)
		}
		pongs++
		time.Sleep(20 * time.Millisecond) // pinging through the ack wait
	}
	a := <-done
	if a.status != http.StatusAccepted || string(a.body) != `{"state":"pending"}` || a.took > ackWait+2*time.Second {
		t.Errorf("POST: %d %s after %v, want 202 pending after the ack wait of %v", a.status, a.body, a.took, ackWait)
	}
	// The session is as it was: same expiry, the message held and sent.
	s := peek(t, tr.rl, sid)
	if s == nil {
		t.Fatal("the session is gone")
	}
	exp, held, sent := s.ExpiresAt.UnixMilli(), s.Held != nil, s.Sent
	if exp != ready.ExpiresAt || !held || !sent {
		t.Errorf("after %d pings: expires_at %d (ready said %d), held %v, sent %v", pongs, exp, ready.ExpiresAt, held, sent)
	}
	sendFrame(t, conn, protocol.Frame{Type: protocol.FrameAck})
	st, _, b := tr.do(t, "POST", protocol.SessionPath(sid), bytes.Repeat([]byte{1}, 64), nil)
	if st != http.StatusOK || string(b) != `{"state":"delivered"}` {
		t.Errorf("POST after the ack: %d %s, want 200 delivered", st, b)
	}
}

// TestListenRefusalsAreJSON checks issue 10's listens: a native receiver of
// a web-only app, an origin that is not one (a port out of range, a leading
// zero) and a handshake that coder/websocket would refuse in text/plain all
// get the relay's JSON error before the upgrade; an origin is shown to the
// phone in its normalised form.
func TestListenRefusalsAreJSON(t *testing.T) {
	cfg, err := ParseConfig("test.json", []byte(`{"apps": [
		{"id": "web", "name": "Web", "origins": ["HTTPS://Shop.Example:443"]},
		{"id": "native", "name": "Native", "origins": ["https://shop.example"], "native_receivers": true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Apps[0].Origins[0]; got != "https://shop.example" {
		t.Errorf("config origin normalised to %q, want https://shop.example", got)
	}
	cfg.NoRateLimit = true
	tr := newTestRelay(t, cfg)
	wantJSON := func(what string, status int, body []byte, code protocol.Code, says string) {
		t.Helper()
		wantCode(t, what, status, body, code)
		if e := protocol.ParseError(body); !strings.Contains(e.Message, says) {
			t.Errorf("%s: message %q, want one that says %q", what, e.Message, says)
		}
	}
	st, b := tr.listenStatus(t, protocol.NewSessionID(), "app=web", nil)
	wantJSON("native receiver of web", st, b, protocol.CodeOriginDenied, `"native_receivers": true`)
	tr.listen(t, protocol.NewSessionID(), "app=native")
	for _, o := range []string{"https://shop.example:99999", "https://shop.example:0443", "https://shop.example:0"} {
		st, b := tr.listenStatus(t, protocol.NewSessionID(), "app=web&origin="+protocol.QueryEscape(o), nil)
		wantJSON("origin "+o, st, b, protocol.CodeOriginDenied, o)
	}

	sid := protocol.NewSessionID()
	tr.listen(t, sid, "app=web&origin="+protocol.QueryEscape("HTTPS://SHOP.example:443"))
	st, _, b = tr.do(t, "GET", protocol.SessionPath(sid), nil, nil)
	var info protocol.SessionInfo
	if err := json.Unmarshal(b, &info); st != 200 || err != nil || info.Requester.Origin != "https://shop.example" {
		t.Errorf("GET session: %d %s, want requester.origin https://shop.example", st, b)
	}

	path := protocol.ListenPath(protocol.NewSessionID()) + "?app=native"
	for _, key := range []string{"bad", "dGhlIHNhbXBsZSBub25j", "dGhlIHNhbXBsZSBub25jZQ"} {
		st, h, b := tr.do(t, "GET", path, nil, http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
			"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {key}})
		wantJSON("Sec-WebSocket-Key "+key, st, b, protocol.CodeBadRequest, "Sec-WebSocket-Key")
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Sec-WebSocket-Key %s: Content-Type %q", key, ct)
		}
	}
	st, _, b = tr.do(t, "GET", path, nil, http.Header{"Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}})
	wantJSON("no Upgrade header", st, b, protocol.CodeBadRequest, "Upgrade: websocket")
	st, _, b = tr.do(t, "GET", path, nil, http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ=="}})
	wantJSON("two keys", st, b, protocol.CodeBadRequest, "Sec-WebSocket-Key")
}
