package conformance

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// slack is how much later than promised a timed event may arrive.
const slack = 3 * time.Second

func (s *suite) health(t *testing.T) {
	a := s.c.do(t, "GET", "/healthz", nil, nil)
	if a.status != http.StatusOK {
		t.Errorf("GET /healthz: %d, want 200", a.status)
	}
}

func (s *suite) app(t *testing.T) {
	a := s.c.do(t, "GET", protocol.AppPath(s.tg.App), nil, nil)
	if a.status != 200 {
		t.Fatalf("GET app: %d %s", a.status, a.body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Fatalf("GET app: not JSON: %s", a.body)
	}
	for _, k := range []string{"id", "name", "origins", "link_base", "ttl"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("GET app: no %q in %s", k, a.body)
		}
	}
	for k, want := range map[string]string{"native_receivers": "a boolean", "scan_hint": "a non-empty string"} {
		v, ok := raw[k]
		var b bool
		var str string
		switch {
		case !ok:
			t.Errorf("GET app: no %q in %s", k, a.body)
		case k == "native_receivers" && json.Unmarshal(v, &b) != nil,
			k == "scan_hint" && (json.Unmarshal(v, &str) != nil || str == ""):
			t.Errorf("GET app: %q is %s, want %s", k, v, want)
		}
	}
	if _, ok := raw["widget_origins"]; ok {
		t.Errorf("GET app: publishes widget_origins, which are the operator's business: %s", a.body)
	}
	cfg, err := protocol.ParseAppConfig(a.body)
	if err != nil {
		t.Fatalf("GET app: %v: %s", err, a.body)
	}
	if cfg.ID != s.tg.App || cfg.Name != s.tg.AppName {
		t.Errorf("GET app: id %q name %q, want %q %q", cfg.ID, cfg.Name, s.tg.App, s.tg.AppName)
	}
	if !cfg.AllowsOrigin(s.tg.Origin) || cfg.AllowsOrigin(s.tg.ForeignOrigin) {
		t.Errorf("GET app: origins %q: want %q allowed and %q not", cfg.Origins, s.tg.Origin, s.tg.ForeignOrigin)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET app: Content-Type %q", ct)
	}
	wantError(t, "unknown app", s.c.do(t, "GET", protocol.AppPath(s.tg.UnknownApp), nil, nil), protocol.CodeNotFound)
	wantError(t, "malformed app", s.c.do(t, "GET", protocol.AppPath("Bad_App"), nil, nil), protocol.CodeBadRequest)
	wantError(t, "overlong app", s.c.do(t, "GET", protocol.AppPath(strings.Repeat("a", 33)), nil, nil), protocol.CodeBadRequest)
}

// badSIDs are malformed session ids, each with why.
var badSIDs = map[string]string{
	"short":          "AAAAAAAAAAAAAAAAAAAAA",
	"long":           "AAAAAAAAAAAAAAAAAAAAAAA",
	"padded":         "AAAAAAAAAAAAAAAAAAAA==",
	"std alphabet":   "AAAAAAAAAAAAAAAAAAAA+A",
	"trailing bits":  "AAAAAAAAAAAAAAAAAAAAAB",
	"not base64":     "AAAAAAAAAAAAAAAAAAAA.A",
	"one char":       "x",
	"encoded slash?": "AAAAAAAAAAAAAAAAAAAA%2A",
}

func (s *suite) badSessionIDs(t *testing.T) {
	body := bytes.Repeat([]byte{1}, 64)
	for why, sid := range badSIDs {
		wantError(t, "GET sid "+why, s.c.read(t, sid), protocol.CodeBadRequest)
		wantError(t, "POST sid "+why, s.c.deliver(t, sid, body), protocol.CodeBadRequest)
		wantError(t, "deny sid "+why, s.c.deny(t, sid), protocol.CodeBadRequest)
		s.c.listenRefused(t, "listen sid "+why, sid, listenOpts{}, protocol.CodeBadRequest)
	}
}

func (s *suite) unknownSession(t *testing.T) {
	sid := protocol.NewSessionID()
	wantError(t, "GET unknown", s.c.read(t, sid), protocol.CodeNotFound)
	wantError(t, "POST unknown", s.c.deliver(t, sid, bytes.Repeat([]byte{1}, 64)), protocol.CodeNotFound)
	wantError(t, "deny unknown", s.c.deny(t, sid), protocol.CodeNotFound)
}

func (s *suite) listenParams(t *testing.T) {
	sid := protocol.NewSessionID()
	cases := []struct {
		what string
		o    listenOpts
		code protocol.Code
	}{
		{"no app", listenOpts{raw: "ttl=60"}, protocol.CodeBadRequest},
		{"empty app", listenOpts{raw: "app="}, protocol.CodeBadRequest},
		{"malformed app", listenOpts{app: "Demo"}, protocol.CodeBadRequest},
		{"app with dash first", listenOpts{app: "-demo"}, protocol.CodeBadRequest},
		{"unknown app", listenOpts{app: s.tg.UnknownApp}, protocol.CodeNotFound},
		{"ttl 14", listenOpts{ttl: "14"}, protocol.CodeBadRequest},
		{"ttl 301", listenOpts{ttl: "301"}, protocol.CodeBadRequest},
		{"ttl 0", listenOpts{ttl: "0"}, protocol.CodeBadRequest},
		{"ttl -60", listenOpts{ttl: "-60"}, protocol.CodeBadRequest},
		{"ttl 60.5", listenOpts{ttl: "60.5"}, protocol.CodeBadRequest},
		{"ttl abc", listenOpts{ttl: "abc"}, protocol.CodeBadRequest},
		{"ttl huge", listenOpts{ttl: "99999999999999999999"}, protocol.CodeBadRequest},
		{"ttl empty", listenOpts{raw: "app=" + s.tg.App + "&ttl="}, protocol.CodeBadRequest},
	}
	for _, c := range cases {
		s.c.listenRefused(t, c.what, sid, c.o, c.code)
	}
	// None of those made the session: it is still free.
	wantError(t, "GET after refused listens", s.c.read(t, sid), protocol.CodeNotFound)
	for _, ttl := range []string{"15", "300"} {
		r := s.c.listen(t, protocol.NewSessionID(), listenOpts{ttl: ttl})
		n, _ := strconv.Atoi(ttl)
		checkExpiresAt(t, "ttl "+ttl, r.ready.ExpiresAt, time.Duration(n)*time.Second)
	}
}

// checkExpiresAt checks that a ready frame's expires_at is ttl from now.
func checkExpiresAt(t *testing.T, what string, expiresAt int64, ttl time.Duration) {
	t.Helper()
	got := time.Until(time.UnixMilli(expiresAt))
	if got > ttl+time.Second || got < ttl-slack {
		t.Errorf("%s: expires_at is %v from now, want about %v", what, got.Round(time.Millisecond), ttl)
	}
}

func (s *suite) origins(t *testing.T) {
	foreign := http.Header{"Origin": {s.tg.ForeignOrigin}}
	s.c.listenRefused(t, "origin param not allowed", protocol.NewSessionID(), listenOpts{origin: s.tg.ForeignOrigin}, protocol.CodeOriginDenied)
	s.c.listenRefused(t, "Origin header not a widget origin", protocol.NewSessionID(), listenOpts{header: foreign}, protocol.CodeOriginDenied)
	s.c.listenRefused(t, "Origin header is an embedding origin, not a widget origin",
		protocol.NewSessionID(), listenOpts{header: http.Header{"Origin": {"https://embedder.invalid"}}}, protocol.CodeOriginDenied)
	// A native receiver (no Origin, no origin param) only when the app
	// allows native receivers.
	if s.c.webOnly {
		a := s.listenNative(t, s.tg.App)
		wantNativeDenied(t, "native receiver of a web-only app", a)
	} else {
		s.c.listen(t, protocol.NewSessionID(), listenOpts{native: true})
	}
	// Allowed: the widget from its origin with the embedding page's
	// origin, and each alone.
	s.c.listen(t, protocol.NewSessionID(), listenOpts{origin: s.tg.Origin, header: http.Header{"Origin": {s.tg.WidgetOrigin}}})
	s.c.listen(t, protocol.NewSessionID(), listenOpts{origin: s.tg.Origin})
	s.c.listen(t, protocol.NewSessionID(), listenOpts{header: http.Header{"Origin": {s.tg.WidgetOrigin}}})
}

// listenNative opens a listen for app without an origin parameter or an
// Origin header, which must be refused; it returns the refusal.
func (s *suite) listenNative(t *testing.T, app string) answer {
	t.Helper()
	conn, a, _ := s.c.dial(t, protocol.NewSessionID(), listenOpts{app: app, native: true})
	if conn != nil {
		_ = conn.CloseNow()
		t.Fatalf("a native receiver of web-only app %q was upgraded, want 403 origin_denied", app)
	}
	return *a
}

// wantNativeDenied checks the refusal of a native receiver: origin_denied,
// with a message that says what to change (native_receivers).
func wantNativeDenied(t *testing.T, what string, a answer) {
	t.Helper()
	if e := wantError(t, what, a, protocol.CodeOriginDenied); e != nil && !strings.Contains(e.Message, "native_receivers") {
		t.Errorf("%s: message %q does not name native_receivers, the setting that allows it", what, e.Message)
	}
}

// nativeReceivers checks Target.WebOnlyApp (RunNativeReceivers).
func (s *suite) nativeReceivers(t *testing.T) {
	a := s.c.do(t, "GET", protocol.AppPath(s.tg.WebOnlyApp), nil, nil)
	cfg, err := protocol.ParseAppConfig(a.body)
	if a.status != 200 || err != nil || cfg.NativeReceivers {
		t.Fatalf("GET app %s: %d %s (%v), want native_receivers false", s.tg.WebOnlyApp, a.status, a.body, err)
	}
	wantNativeDenied(t, "native receiver of "+s.tg.WebOnlyApp, s.listenNative(t, s.tg.WebOnlyApp))
	// With the Origin header of a widget but still no origin parameter.
	conn, ans, _ := s.c.dial(t, protocol.NewSessionID(), listenOpts{app: s.tg.WebOnlyApp, native: true,
		header: http.Header{"Origin": {s.tg.WidgetOrigin}}})
	if conn != nil {
		_ = conn.CloseNow()
		t.Error("a listen for a web-only app with no origin parameter was upgraded")
	} else {
		wantNativeDenied(t, "widget Origin without an origin parameter", *ans)
	}
	s.c.listen(t, protocol.NewSessionID(), listenOpts{app: s.tg.WebOnlyApp, origin: s.tg.Origin})
}

// originsNormalised checks that the origin parameter is compared and
// shown to the phone in its normalised form, and that one that is not an
// origin (a port out of range, a leading zero, a path) is refused.
func (s *suite) originsNormalised(t *testing.T) {
	want, err := protocol.NormalizeOrigin(s.tg.Origin)
	if err != nil {
		t.Fatalf("Target.Origin: %v", err)
	}
	scheme, hostport, _ := strings.Cut(want, "://")
	host := hostport
	if i := strings.LastIndexByte(hostport, ':'); i > strings.LastIndexByte(hostport, ']') {
		host = hostport[:i]
	}
	for what, origin := range map[string]string{
		"port out of range":     scheme + "://" + host + ":99999",
		"port 65536":            scheme + "://" + host + ":65536",
		"port 0":                scheme + "://" + host + ":0",
		"leading zero":          scheme + "://" + host + ":0080",
		"path":                  want + "/",
		"user info":             scheme + "://user@" + hostport,
		"not http(s)":           "ftp://" + hostport,
		"IPv6 with no brackets": "http://::1:3000",
	} {
		s.c.listenRefused(t, "origin "+what+" ("+origin+")", protocol.NewSessionID(), listenOpts{origin: origin}, protocol.CodeOriginDenied)
	}
	// In capitals, with the scheme's default port when it has none: the
	// phone sees the form browsers send.
	shouted := strings.ToUpper(want)
	if !strings.Contains(hostport, ":") || strings.HasSuffix(hostport, "]") {
		shouted += map[string]string{"http": ":80", "https": ":443"}[scheme]
	}
	sid := protocol.NewSessionID()
	s.c.listen(t, sid, listenOpts{origin: shouted})
	a := s.c.read(t, sid)
	var info protocol.SessionInfo
	if err := json.Unmarshal(a.body, &info); a.status != 200 || err != nil {
		t.Fatalf("GET session: %d %s", a.status, a.body)
	}
	if info.Requester.Origin != want {
		t.Errorf("listen with origin %q: requester.origin %q, want the normalised %q", shouted, info.Requester.Origin, want)
	}
}

// handshake checks that a listen that is not a valid WebSocket handshake
// gets the JSON bad_request of every other refusal before the upgrade, and
// makes no session.
func (s *suite) handshake(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	full := func(edit func(h http.Header)) http.Header {
		h := http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
			"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {key}}
		edit(h)
		return h
	}
	sid := protocol.NewSessionID()
	path := protocol.ListenPath(sid) + "?app=" + protocol.QueryEscape(s.tg.App) + "&origin=" + protocol.QueryEscape(s.tg.Origin)
	for what, h := range map[string]http.Header{
		"no handshake headers":    {},
		"no Upgrade":              full(func(h http.Header) { h.Del("Upgrade") }),
		"no Connection: Upgrade":  full(func(h http.Header) { h.Set("Connection", "keep-alive") }),
		"Upgrade: h2c":            full(func(h http.Header) { h.Set("Upgrade", "h2c") }),
		"version 8":               full(func(h http.Header) { h.Set("Sec-Websocket-Version", "8") }),
		"no key":                  full(func(h http.Header) { h.Del("Sec-Websocket-Key") }),
		"key not base64":          full(func(h http.Header) { h.Set("Sec-Websocket-Key", "not a key!") }),
		"key of 15 bytes":         full(func(h http.Header) { h.Set("Sec-Websocket-Key", "dGhlIHNhbXBsZSBub25j") }),
		"key of 17 bytes":         full(func(h http.Header) { h.Set("Sec-Websocket-Key", "dGhlIHNhbXBsZSBub25jZXg=") }),
		"key without its padding": full(func(h http.Header) { h.Set("Sec-Websocket-Key", "dGhlIHNhbXBsZSBub25jZQ") }),
	} {
		wantError(t, "handshake with "+what, s.c.do(t, "GET", path, nil, h), protocol.CodeBadRequest)
	}
	wantError(t, "GET after refused handshakes", s.c.read(t, sid), protocol.CodeNotFound)
}

func (s *suite) ready(t *testing.T) {
	r := s.c.listen(t, protocol.NewSessionID(), listenOpts{ttl: "45"})
	checkExpiresAt(t, "ready", r.ready.ExpiresAt, 45*time.Second)
	// Without a ttl, the app's.
	a := s.c.do(t, "GET", protocol.AppPath(s.tg.App), nil, nil)
	cfg, _ := protocol.ParseAppConfig(a.body)
	r = s.c.listen(t, protocol.NewSessionID(), listenOpts{})
	checkExpiresAt(t, "ready with the app's ttl", r.ready.ExpiresAt, time.Duration(cfg.TTL)*time.Second)
}

func (s *suite) readAndScanned(t *testing.T) {
	sid := protocol.NewSessionID()
	const ua = "conformance-receiver/1.0 (test)"
	r := s.c.listen(t, sid, listenOpts{origin: s.tg.Origin, ua: ua})

	a := s.c.read(t, sid)
	if a.status != 200 {
		t.Fatalf("GET: %d %s", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET: Content-Type %q", ct)
	}
	var info protocol.SessionInfo
	if err := json.Unmarshal(a.body, &info); err != nil {
		t.Fatalf("GET: %v: %s", err, a.body)
	}
	want := protocol.SessionInfo{
		App: s.tg.App, AppName: s.tg.AppName, State: protocol.StateWaiting, ExpiresAt: r.ready.ExpiresAt,
		Requester: protocol.Requester{IP: "127.0.0.1", UserAgent: ua, Origin: s.tg.Origin},
		Sender:    protocol.Peer{IP: "127.0.0.1"},
	}
	if info != want {
		t.Errorf("GET: %+v\nwant %+v", info, want)
	}
	raw, _ := r.next(t, 5*time.Second)
	if string(raw) != `{"type":"scanned"}` {
		t.Errorf("after a read the receiver got %s, want exactly {\"type\":\"scanned\"}", raw)
	}
	a = s.c.read(t, sid)
	if err := json.Unmarshal(a.body, &info); err != nil || info.State != protocol.StateScanned {
		t.Errorf("second GET: state %q, want scanned: %s", info.State, a.body)
	}
	// A native receiver, where the app allows them: no origin.
	if !s.c.webOnly {
		sid2 := protocol.NewSessionID()
		s.c.listen(t, sid2, listenOpts{native: true})
		if err := json.Unmarshal(s.c.read(t, sid2).body, &info); err != nil || info.Requester.Origin != "" {
			t.Errorf("GET of a native receiver's session: requester origin %q, want empty", info.Requester.Origin)
		}
	}
}

func (s *suite) deliver(t *testing.T) {
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{})
	sealed := ss.seal(t, s.tg.App, "hello from the conformance suite")
	done := make(chan answer, 1)
	go func() { done <- s.c.deliver(t, ss.sid, sealed) }()
	raw, f := r.next(t, 5*time.Second)
	if f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, sealed) {
		t.Fatalf("receiver got %.80s, want the sealed message", raw)
	}
	if m := ss.open(t, s.tg.App, f.Sealed); m.Data != "hello from the conformance suite" {
		t.Errorf("opened %q", m.Data)
	}
	r.send(t, protocol.Frame{Type: protocol.FrameAck})
	wantState(t, "POST", <-done, 200, protocol.StateDelivered)

	// Exactly once; late callers learn what happened.
	wantState(t, "POST same bytes again", s.c.deliver(t, ss.sid, sealed), 200, protocol.StateDelivered)
	wantError(t, "POST other bytes", s.c.deliver(t, ss.sid, ss.seal(t, s.tg.App, "again")), protocol.CodeAlreadyUsed)
	wantError(t, "GET after delivery", s.c.read(t, ss.sid), protocol.CodeAlreadyUsed)
	wantError(t, "deny after delivery", s.c.deny(t, ss.sid), protocol.CodeAlreadyUsed)
	s.c.listenRefused(t, "listen after delivery", ss.sid, listenOpts{}, protocol.CodeAlreadyUsed)
	s.c.listenRefused(t, "resume after delivery", ss.sid, listenOpts{resume: r.ready.Resume}, protocol.CodeAlreadyUsed)
}

func (s *suite) rejectThenWaiting(t *testing.T) {
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{})
	s.c.read(t, ss.sid)
	r.next(t, 5*time.Second) // scanned

	// Bytes that do not open: the receiver rejects, the session lives on.
	junk := make([]byte, 200)
	_, _ = rand.Read(junk)
	done := make(chan answer, 1)
	go func() { done <- s.c.deliver(t, ss.sid, junk) }()
	_, f := r.next(t, 5*time.Second)
	if f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, junk) {
		t.Fatalf("receiver got %s, want the sealed bytes", f.Type)
	}
	if _, _, err := protocol.OpenMessage(ss.key, s.tg.App, ss.sid, f.Sealed, time.Now()); err == nil {
		t.Fatal("random bytes opened")
	}
	r.send(t, protocol.Frame{Type: protocol.FrameReject, Reason: protocol.RejectDecrypt})
	wantError(t, "POST rejected", <-done, protocol.CodeRejected)

	var info protocol.SessionInfo
	a := s.c.read(t, ss.sid)
	if err := json.Unmarshal(a.body, &info); err != nil || info.State != protocol.StateWaiting {
		t.Errorf("GET after reject: %d %s, want state waiting", a.status, a.body)
	}
	r.next(t, 5*time.Second) // scanned again: the session was back to waiting

	// The real phone's message still gets through.
	sealed := ss.seal(t, s.tg.App, "the real one")
	go func() { done <- s.c.deliver(t, ss.sid, sealed) }()
	_, f = r.next(t, 5*time.Second)
	if f.Type != protocol.FrameSealed {
		t.Fatalf("receiver got %s, want sealed", f.Type)
	}
	ss.open(t, s.tg.App, f.Sealed)
	r.send(t, protocol.Frame{Type: protocol.FrameAck})
	wantState(t, "POST after reject", <-done, 200, protocol.StateDelivered)
}

func (s *suite) pendingThenResume(t *testing.T) {
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{origin: s.tg.Origin})
	_ = r.conn.Close(websocket.StatusNormalClosure, "")

	sealed := ss.seal(t, s.tg.App, "held for the receiver")
	// The relay may not have noticed the close yet; then it sends to a dead
	// socket and answers pending after its ack wait. Either way: pending.
	wantState(t, "POST with no receiver", s.c.deliver(t, ss.sid, sealed), http.StatusAccepted, protocol.StatePending)
	wantState(t, "POST same bytes, still no receiver", s.c.deliver(t, ss.sid, sealed), http.StatusAccepted, protocol.StatePending)
	e := wantError(t, "POST other bytes while one is held", s.c.deliver(t, ss.sid, ss.seal(t, s.tg.App, "other")), protocol.CodeConflict)
	if e != nil && e.RetryAfterMS <= 0 {
		t.Errorf("conflict without a positive retry_after: %+v", e)
	}

	r2 := s.c.listen(t, ss.sid, listenOpts{origin: s.tg.Origin, resume: r.ready.Resume})
	if r2.ready.ExpiresAt != r.ready.ExpiresAt || r2.ready.Resume != r.ready.Resume {
		t.Errorf("resumed ready %+v, want the same expires_at and resume as %+v", r2.ready, r.ready)
	}
	_, f := r2.next(t, 5*time.Second)
	if f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, sealed) {
		t.Fatalf("after resume the receiver got %s, want the held message", f.Type)
	}
	ss.open(t, s.tg.App, f.Sealed)
	r2.send(t, protocol.Frame{Type: protocol.FrameAck})
	// The ack completes the delivery; a retry learns it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := s.c.deliver(t, ss.sid, sealed)
		if a.status == 200 {
			wantState(t, "POST after the ack", a, 200, protocol.StateDelivered)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST after the ack: %d %s, want 200 delivered", a.status, a.body)
		}
		time.Sleep(20 * time.Millisecond) // polling the relay's state, with a deadline
	}
}

func (s *suite) resumeRules(t *testing.T) {
	sid := protocol.NewSessionID()
	r := s.c.listen(t, sid, listenOpts{})
	s.c.listenRefused(t, "second listener without resume", sid, listenOpts{}, protocol.CodeConflict)
	wrong := []byte(r.ready.Resume)
	wrong[0] ^= 1
	s.c.listenRefused(t, "second listener with a wrong resume", sid, listenOpts{resume: string(wrong)}, protocol.CodeConflict)
	s.c.listenRefused(t, "a resume value of another session", sid, listenOpts{resume: s.c.listen(t, protocol.NewSessionID(), listenOpts{}).ready.Resume}, protocol.CodeConflict)

	// After the receiver drops, still only the resume value gets in.
	_ = r.conn.Close(websocket.StatusNormalClosure, "")
	s.c.listenRefused(t, "listener without resume after a drop", sid, listenOpts{}, protocol.CodeConflict)
	s.c.listenRefused(t, "wrong resume after a drop", sid, listenOpts{resume: string(wrong)}, protocol.CodeConflict)
	r2 := s.c.listen(t, sid, listenOpts{resume: r.ready.Resume})
	if r2.ready.Resume != r.ready.Resume || r2.ready.ExpiresAt != r.ready.ExpiresAt {
		t.Errorf("resumed ready %+v, want %+v", r2.ready, r.ready)
	}
}

func (s *suite) conflict(t *testing.T) {
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{})
	first := ss.seal(t, s.tg.App, "first")
	done := make(chan answer, 1)
	go func() { done <- s.c.deliver(t, ss.sid, first) }()
	r.next(t, 5*time.Second) // in flight now
	e := wantError(t, "POST while a delivery is in flight", s.c.deliver(t, ss.sid, ss.seal(t, s.tg.App, "second")), protocol.CodeConflict)
	if e != nil && (e.RetryAfterMS <= 0 || e.RetryAfterMS > s.tg.AckWait.Milliseconds()) {
		t.Errorf("conflict retry_after %d ms, want 1..%d", e.RetryAfterMS, s.tg.AckWait.Milliseconds())
	}
	// The same bytes join the delivery and get its outcome.
	again := make(chan answer, 1)
	go func() { again <- s.c.deliver(t, ss.sid, first) }()
	time.Sleep(50 * time.Millisecond) // let the retry arrive before the ack; either order must pass
	r.send(t, protocol.Frame{Type: protocol.FrameAck})
	wantState(t, "POST", <-done, 200, protocol.StateDelivered)
	wantState(t, "POST same bytes during the delivery", <-again, 200, protocol.StateDelivered)
}

func (s *suite) deny(t *testing.T) {
	sid := protocol.NewSessionID()
	r := s.c.listen(t, sid, listenOpts{})
	s.c.read(t, sid)
	r.next(t, 5*time.Second) // scanned
	wantState(t, "deny", s.c.deny(t, sid), 200, protocol.StateDenied)
	raw, _ := r.next(t, 5*time.Second)
	if string(raw) != `{"type":"denied"}` {
		t.Errorf("receiver got %s, want {\"type\":\"denied\"}", raw)
	}
	wantError(t, "deny again", s.c.deny(t, sid), protocol.CodeAlreadyUsed)
	wantError(t, "GET after deny", s.c.read(t, sid), protocol.CodeAlreadyUsed)
	wantError(t, "POST after deny", s.c.deliver(t, sid, bytes.Repeat([]byte{7}, 64)), protocol.CodeAlreadyUsed)
	s.c.listenRefused(t, "listen after deny", sid, listenOpts{}, protocol.CodeAlreadyUsed)
	s.c.listenRefused(t, "resume after deny", sid, listenOpts{resume: r.ready.Resume}, protocol.CodeAlreadyUsed)

	// Deny with no receiver attached works too.
	sid2 := protocol.NewSessionID()
	r2 := s.c.listen(t, sid2, listenOpts{})
	_ = r2.conn.Close(websocket.StatusNormalClosure, "")
	wantState(t, "deny with the receiver away", s.c.deny(t, sid2), 200, protocol.StateDenied)
	s.c.listenRefused(t, "resume after deny", sid2, listenOpts{resume: r2.ready.Resume}, protocol.CodeAlreadyUsed)
}

func (s *suite) expiry(t *testing.T) {
	t.Parallel()
	// A session that expires with a message held and its receiver away. It
	// starts first, so it has expired by the time the one below has.
	ss2 := newSession(t)
	r2 := s.c.listen(t, ss2.sid, listenOpts{ttl: "15"})
	_ = r2.conn.Close(websocket.StatusNormalClosure, "")
	held := ss2.seal(t, s.tg.App, "never opened")
	wantState(t, "POST to a receiver away", s.c.deliver(t, ss2.sid, held), http.StatusAccepted, protocol.StatePending)
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{ttl: "15"})

	raw, _ := r.next(t, time.Until(time.UnixMilli(r.ready.ExpiresAt))+slack)
	if string(raw) != `{"type":"expired"}` {
		t.Fatalf("receiver got %s, want {\"type\":\"expired\"}", raw)
	}
	if late := time.Since(time.UnixMilli(r.ready.ExpiresAt)); late < -100*time.Millisecond {
		t.Errorf("expired %v before expires_at", -late)
	}
	for _, sid := range []string{ss.sid, ss2.sid} {
		wantError(t, "GET after expiry", s.c.read(t, sid), protocol.CodeExpired)
		wantError(t, "POST after expiry", s.c.deliver(t, sid, ss.seal(t, s.tg.App, "late")), protocol.CodeExpired)
		wantError(t, "deny after expiry", s.c.deny(t, sid), protocol.CodeExpired)
		s.c.listenRefused(t, "listen after expiry", sid, listenOpts{}, protocol.CodeExpired)
	}
	s.c.listenRefused(t, "resume after expiry", ss.sid, listenOpts{resume: r.ready.Resume}, protocol.CodeExpired)
	wantError(t, "POST the held bytes after expiry", s.c.deliver(t, ss2.sid, held), protocol.CodeExpired)
}

func (s *suite) ackTimeout(t *testing.T) {
	t.Parallel()
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{ttl: "60"})
	sealed := ss.seal(t, s.tg.App, "slow receiver")
	start := time.Now()
	done := make(chan answer, 1)
	go func() { done <- s.c.deliver(t, ss.sid, sealed) }()
	_, f := r.next(t, 5*time.Second)
	if f.Type != protocol.FrameSealed {
		t.Fatalf("receiver got %s, want sealed", f.Type)
	}
	a := <-done // the receiver says nothing
	took := time.Since(start)
	wantState(t, "POST with a silent receiver", a, http.StatusAccepted, protocol.StatePending)
	if took < s.tg.AckWait-500*time.Millisecond || took > s.tg.AckWait+slack {
		t.Errorf("pending after %v, want after the ack wait of %v", took.Round(time.Millisecond), s.tg.AckWait)
	}
	// A later ack still completes the delivery.
	r.send(t, protocol.Frame{Type: protocol.FrameAck})
	deadline := time.Now().Add(5 * time.Second)
	for {
		a := s.c.deliver(t, ss.sid, sealed)
		if a.status == 200 {
			wantState(t, "POST after a late ack", a, 200, protocol.StateDelivered)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST after a late ack: %d %s, want 200 delivered", a.status, a.body)
		}
		time.Sleep(20 * time.Millisecond) // polling the relay's state, with a deadline
	}
}

func (s *suite) ping(t *testing.T) {
	t.Parallel()
	r := s.c.listen(t, protocol.NewSessionID(), listenOpts{ttl: "60"})
	// Pings are answered while a read is pending.
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r.nextOrClose(t, protocol.PingInterval+slack)
	}()
	select {
	case <-r.pings:
	case <-time.After(protocol.PingInterval + slack):
		t.Errorf("no ping within %v", protocol.PingInterval+slack)
	}
	_ = r.conn.CloseNow()
	<-readDone
}

// receiverPing checks the receiver's keepalive: each {"type":"ping"} gets
// exactly {"type":"pong"} at once, however often it comes and whatever the
// session's state, and changes nothing: the session is still waiting, is
// scanned by the first read, and hands its message over.
func (s *suite) receiverPing(t *testing.T) {
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{origin: s.tg.Origin})
	ping := func(what string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.conn.Write(ctx, websocket.MessageText, []byte(protocol.PingJSON)); err != nil {
			t.Fatalf("%s: failed to send a ping: %v", what, err)
		}
		raw, code := r.nextOrClose(t, 5*time.Second)
		if raw == nil {
			t.Fatalf("%s: the relay closed with %d, want %s", what, code, protocol.PongJSON)
		}
		if string(raw) != protocol.PongJSON {
			t.Fatalf("%s: the relay answered %s, want exactly %s", what, raw, protocol.PongJSON)
		}
	}
	for i := range 5 {
		ping("ping " + strconv.Itoa(i+1) + " while waiting")
	}

	var info protocol.SessionInfo
	a := s.c.read(t, ss.sid)
	if err := json.Unmarshal(a.body, &info); err != nil || info.State != protocol.StateWaiting || info.ExpiresAt != r.ready.ExpiresAt {
		t.Errorf("GET after pings: %d %s, want state waiting and expires_at %d", a.status, a.body, r.ready.ExpiresAt)
	}
	if raw, _ := r.next(t, 5*time.Second); string(raw) != `{"type":"scanned"}` {
		t.Fatalf("after the read the receiver got %s, want {\"type\":\"scanned\"}", raw)
	}
	ping("ping when scanned")

	sealed := ss.seal(t, s.tg.App, "after the pings")
	done := make(chan answer, 1)
	go func() { done <- s.c.deliver(t, ss.sid, sealed) }()
	_, f := r.next(t, 5*time.Second)
	if f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, sealed) {
		t.Fatalf("receiver got %s, want the sealed message", f.Type)
	}
	ping("ping while deciding on a message")
	ping("another ping while deciding")
	if m := ss.open(t, s.tg.App, f.Sealed); m.Data != "after the pings" {
		t.Errorf("opened %q", m.Data)
	}
	r.send(t, protocol.Frame{Type: protocol.FrameAck})
	wantState(t, "POST after pings", <-done, 200, protocol.StateDelivered)
	if raw, code := r.nextOrClose(t, 5*time.Second); raw != nil || code != websocket.StatusNormalClosure {
		t.Errorf("after the ack: frame %s / close %d, want close 1000", raw, code)
	}
}

func (s *suite) sizeCaps(t *testing.T) {
	max := s.tg.MaxSealedSize
	sid := protocol.NewSessionID()
	r := s.c.listen(t, sid, listenOpts{})
	_ = r.conn.Close(websocket.StatusNormalClosure, "")
	wantError(t, "over the cap", s.c.deliver(t, sid, make([]byte, max+1)), protocol.CodeTooLarge)
	deadline := time.Now().Add(s.tg.AckWait + slack)
	a := s.c.deliver(t, sid, bytes.Repeat([]byte{0x5a}, max))
	if time.Now().After(deadline) {
		t.Errorf("POST at the cap took over the ack wait")
	}
	wantState(t, "exactly at the cap", a, http.StatusAccepted, protocol.StatePending)

	// Chunked, with no Content-Length: still refused past the cap.
	req, _ := http.NewRequest("POST", s.tg.URL+protocol.SessionPath(protocol.NewSessionID()), &chunkReader{left: max + 1})
	req.ContentLength = -1
	resp, err := s.c.http.Do(req)
	if err != nil {
		t.Fatalf("chunked POST: %v", err)
	}
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	wantError(t, "chunked over the cap", answer{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}, protocol.CodeTooLarge)

	// A body announced as 100 MB is refused without the relay reading it:
	// the answer comes though only the headers were sent.
	u, _ := url.Parse(s.tg.URL)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 104857600\r\n\r\n", protocol.SessionPath(sid), u.Host)
	resp, err = http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("announced 100 MB: no answer before the body: %v", err)
	}
	b.Reset()
	_, _ = b.ReadFrom(resp.Body)
	resp.Body.Close()
	wantError(t, "announced 100 MB", answer{status: resp.StatusCode, header: resp.Header, body: b.Bytes()}, protocol.CodeTooLarge)

	// Too short to be sealed at all.
	wantError(t, "empty body", s.c.deliver(t, protocol.NewSessionID(), []byte{}), protocol.CodeBadRequest)
}

// chunkReader yields left bytes in small reads, so the transport sends
// them chunked.
type chunkReader struct{ left int }

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left, 1000)
	for i := range p[:n] {
		p[i] = 'x'
	}
	c.left -= n
	return n, nil
}

func (s *suite) badFrame(t *testing.T) {
	cases := map[string]string{
		"not JSON":       "hello",
		"unknown type":   `{"type":"sealed","data":"AAAA"}`,
		"reject no why":  `{"type":"reject"}`,
		"reject bad why": `{"type":"reject","reason":"because"}`,
		"a relay's pong": protocol.PongJSON,
	}
	for why, frame := range cases {
		r := s.c.listen(t, protocol.NewSessionID(), listenOpts{})
		ctx := t.Context()
		if err := r.conn.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatalf("%s: write: %v", why, err)
		}
		raw, code := r.nextOrClose(t, 5*time.Second)
		if raw != nil || code != websocket.StatusCode(protocol.CodeBadRequest.CloseCode()) {
			t.Errorf("%s: got frame %s / close %d, want close %d", why, raw, code, protocol.CodeBadRequest.CloseCode())
		}
	}
}

// race sends Race concurrent POSTs of distinct valid messages: exactly one
// is delivered.
func (s *suite) race(t *testing.T) {
	ss := newSession(t)
	r := s.c.listen(t, ss.sid, listenOpts{ttl: "60"})
	n := s.tg.Race
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = ss.seal(t, s.tg.App, "racer "+strconv.Itoa(i))
	}
	// A fresh transport: every POST on its own connection, all at once.
	tr := &http.Transport{MaxIdleConnsPerHost: -1, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: s.tg.AckWait + 20*time.Second}

	// The receiver acks the first message it opens, and counts frames until
	// the relay closes or a quiet second passes.
	sealedFrames := make(chan int, 1)
	go func() {
		count := 0
		defer func() { sealedFrames <- count }()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			typ, b, err := r.conn.Read(ctx)
			cancel()
			if err != nil {
				return
			}
			f, err := protocol.ParseFrame(b)
			if typ != websocket.MessageText || err != nil || f.Type != protocol.FrameSealed {
				continue
			}
			count++
			if count == 1 {
				if _, _, err := protocol.OpenMessage(ss.key, s.tg.App, ss.sid, f.Sealed, time.Now()); err != nil {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = r.conn.Write(ctx, websocket.MessageText, protocol.Frame{Type: protocol.FrameAck}.AppendJSON(nil))
				cancel()
			}
		}
	}()

	type result struct {
		status int
		body   []byte
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", s.tg.URL+protocol.SessionPath(ss.sid), bytes.NewReader(bodies[i]))
			req.Header.Set("Content-Type", "application/octet-stream")
			resp, err := hc.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			resp.Body.Close()
			results[i] = result{status: resp.StatusCode, body: b.Bytes()}
		}(i)
	}
	close(start)
	wg.Wait()

	delivered, conflicts, used := 0, 0, 0
	for i, res := range results {
		switch {
		case res.err != nil:
			t.Errorf("POST %d: %v", i, res.err)
		case res.status == 200:
			delivered++
			wantState(t, "the winner", answer{status: 200, body: res.body}, 200, protocol.StateDelivered)
		case res.status == 409 && protocol.ParseError(res.body).Code == protocol.CodeConflict:
			conflicts++
		case res.status == 410 && protocol.ParseError(res.body).Code == protocol.CodeAlreadyUsed:
			used++
		default:
			t.Errorf("POST %d: %d %s, want 200 delivered, 409 conflict or 410 already_used", i, res.status, res.body)
		}
	}
	if delivered != 1 {
		t.Errorf("%d POSTs delivered, want exactly 1 (conflict %d, already_used %d)", delivered, conflicts, used)
	}
	// The relay closes the session's socket after the delivery, or the
	// reader gives up after a quiet spell.
	_ = r.conn.Close(websocket.StatusNormalClosure, "")
	if got := <-sealedFrames; got != 1 {
		t.Errorf("the receiver got %d sealed frames, want exactly 1", got)
	}
	t.Logf("race of %d: 1 delivered, %d conflict, %d already_used", n, conflicts, used)
}

func (s *suite) rateLimitSender(t *testing.T) {
	sid := protocol.NewSessionID()
	limit := s.tg.SenderRequestsPerMinute
	burst := refillCounter{perMinute: limit, start: time.Now()}
	for i := 0; i < limit; i++ {
		a := s.c.read(t, sid)
		if a.status != http.StatusNotFound {
			t.Fatalf("sender request %d of %d: %d %s, want 404 (within the limit)", i+1, limit, a.status, a.body)
		}
	}
	// Each kind of sender request is refused once the limit is spent. The
	// limit is a rate, so while they are sent the allowance grows: requests
	// up to that growth may still pass (404: no such session), no more.
	for _, r := range []struct {
		what string
		do   func() answer
	}{
		{"GET", func() answer { return s.c.read(t, sid) }},
		{"POST", func() answer { return s.c.deliver(t, sid, bytes.Repeat([]byte{1}, 64)) }},
		{"deny", func() answer { return s.c.deny(t, sid) }},
	} {
		for {
			a := r.do()
			if a.status != http.StatusNotFound {
				wantError(t, r.what+" over the limit", a, protocol.CodeRateLimited)
				checkRetryAfter(t, r.what, a)
				break
			}
			burst.passedAfter(t, r.what)
		}
	}
}

// refillCounter counts the requests a rate limit lets through after a burst
// of perMinute requests begun at start, and fails the test when there are
// more than the limit refilled meanwhile.
type refillCounter struct {
	perMinute int
	start     time.Time
	passed    int
}

func (c *refillCounter) passedAfter(t *testing.T, what string) {
	t.Helper()
	c.passed++
	elapsed := time.Since(c.start)
	// Rounded up: a relay may refill in whole tokens.
	refilled := int((time.Duration(c.perMinute)*elapsed + time.Minute - 1) / time.Minute)
	if c.passed > refilled {
		t.Fatalf("%s: %d requests passed after a minute's burst of %d; at %d a minute, %v refills at most %d",
			what, c.passed, c.perMinute, c.perMinute, elapsed.Round(time.Millisecond), refilled)
	}
}

func (s *suite) rateLimitListen(t *testing.T) {
	limit := s.tg.NewSessionsPerMinute
	burst := refillCounter{perMinute: limit, start: time.Now()}
	for i := 0; i < limit; i++ {
		conn, a, _ := s.c.dial(t, protocol.NewSessionID(), listenOpts{})
		if a != nil {
			t.Fatalf("listen %d of %d: refused %d %s (within the limit)", i+1, limit, a.status, a.body)
		}
		_ = conn.CloseNow()
	}
	for {
		conn, a, _ := s.c.dial(t, protocol.NewSessionID(), listenOpts{})
		if conn == nil {
			wantError(t, "listen over the limit", *a, protocol.CodeRateLimited)
			checkRetryAfter(t, "listen", *a)
			return
		}
		_ = conn.CloseNow()
		burst.passedAfter(t, "listen")
	}
}

func checkRetryAfter(t *testing.T, what string, a answer) {
	t.Helper()
	v := a.header.Get("Retry-After")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 60 {
		t.Errorf("%s: Retry-After %q, want whole seconds 1..60", what, v)
	}
}
