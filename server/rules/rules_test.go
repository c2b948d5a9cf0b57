package rules

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

const (
	testSID   = "AAAAAAAAAAAAAAAAAAAAAA"
	relayBase = "https://relay.example"
)

func testApps() Apps {
	return NewApps([]App{
		{ID: "shop", Name: "Shop", Origins: []string{"https://shop.example", "http://localhost:*"},
			WidgetOrigins: []string{"https://widget.shop.example"}, TTL: 90, NativeReceivers: true},
		{ID: "bare", Name: "Bare", Origins: []string{"https://bare.example"}, LinkBase: "https://bare.example/app"},
	}, 45*time.Second)
}

// wantErr checks an error against a code; code "" wants none.
func wantErr(t *testing.T, what string, err *protocol.Error, code protocol.Code) {
	t.Helper()
	switch {
	case code == "" && err != nil:
		t.Errorf("%s: %v, want no error", what, err)
	case code != "" && (err == nil || err.Code != code):
		t.Errorf("%s: %v, want %s", what, err, code)
	case err != nil && err.Message == "":
		t.Errorf("%s: %s without a message", what, code)
	}
}

func TestNewApps(t *testing.T) {
	apps := testApps()
	if a := apps.Get("shop"); a == nil || a.TTL != 90 {
		t.Errorf("shop: %+v, want its own ttl 90", a)
	}
	if a := apps.Get("bare"); a == nil || a.TTL != 45 {
		t.Errorf("bare: %+v, want the default ttl 45", a)
	}
	if apps.Get(DemoAppID) != nil {
		t.Error("configured apps include the demo app")
	}
	demo := NewApps(nil, time.Minute).Get(DemoAppID)
	if demo == nil || demo.Name != "Demo Shop" || demo.TTL != 60 {
		t.Fatalf("no apps: demo is %+v", demo)
	}
	if !demo.AllowsOrigin("http://localhost:3000") || demo.AllowsOrigin("https://evil.example") {
		t.Errorf("demo origins %q", demo.Origins)
	}
	// The built-in demo takes native receivers (scanin receive --app demo);
	// a configured app takes them only when it says so.
	if !demo.NativeReceivers || apps.Get("bare").NativeReceivers {
		t.Errorf("native_receivers: demo %v, bare %v; want true, false", demo.NativeReceivers, apps.Get("bare").NativeReceivers)
	}
	// Copies: changing what was passed in or returned changes no other.
	in := []App{{ID: "a", Name: "A", Origins: []string{"https://a.example"}}}
	t2 := NewApps(in, time.Minute)
	in[0].Name = "changed"
	if t2.Get("a").Name != "A" {
		t.Error("NewApps keeps the caller's App")
	}
	d := DemoApp()
	d.Origins[0] = "https://evil.example"
	if DemoApp().Origins[0] == "https://evil.example" || d.WidgetOrigins[0] == "https://evil.example" {
		t.Error("DemoApp shares its slices")
	}
	var zero Apps
	if _, err := zero.Lookup("shop"); err == nil || err.Code != protocol.CodeNotFound {
		t.Errorf("zero Apps: %v, want not_found", err)
	}
}

func TestLookup(t *testing.T) {
	apps := testApps()
	for _, c := range []struct {
		id   string
		code protocol.Code
	}{
		{"shop", ""},
		{"bare", ""},
		{"demo", protocol.CodeNotFound},
		{"other", protocol.CodeNotFound},
		{"", protocol.CodeBadRequest},
		{"Shop", protocol.CodeBadRequest},
		{"-shop", protocol.CodeBadRequest},
		{"shop_1", protocol.CodeBadRequest},
		{strings.Repeat("a", 33), protocol.CodeBadRequest},
	} {
		a, err := apps.Lookup(c.id)
		wantErr(t, "Lookup("+c.id+")", err, c.code)
		if c.code == "" && (a == nil || a.ID != c.id) {
			t.Errorf("Lookup(%q) = %+v", c.id, a)
		}
	}
}

func TestAppOrigins(t *testing.T) {
	shop := testApps().Get("shop")
	bare := testApps().Get("bare")
	for _, c := range []struct {
		app           *App
		origin        string
		embed, widget bool
	}{
		{shop, "https://shop.example", true, false},
		{shop, "HTTPS://SHOP.EXAMPLE", true, false},
		{shop, "http://localhost:8080", true, false},
		{shop, "https://widget.shop.example", false, true},
		{shop, relayBase, false, true},
		{shop, "https://relay.example:8443", false, false},
		{shop, "https://evil.example", false, false},
		{shop, "", false, false},
		{bare, relayBase, false, true}, // no widget origins: the relay's own
		{bare, "https://bare.example", true, false},
	} {
		if got := c.app.AllowsOrigin(c.origin); got != c.embed {
			t.Errorf("%s.AllowsOrigin(%q) = %v", c.app.ID, c.origin, got)
		}
		if got := c.app.AllowsWidgetOrigin(c.origin, relayBase); got != c.widget {
			t.Errorf("%s.AllowsWidgetOrigin(%q) = %v", c.app.ID, c.origin, got)
		}
	}
}

func TestAppConfig(t *testing.T) {
	apps := testApps()
	for _, c := range []struct {
		id   string
		want protocol.AppConfig
	}{
		{"shop", protocol.AppConfig{ID: "shop", Name: "Shop", Origins: []string{"https://shop.example", "http://localhost:*"},
			LinkBase: relayBase + "/link", TTL: 90}},
		{"bare", protocol.AppConfig{ID: "bare", Name: "Bare", Origins: []string{"https://bare.example"},
			LinkBase: "https://bare.example/app", TTL: 45}},
	} {
		got := apps.Get(c.id).Config(relayBase)
		if got.ID != c.want.ID || got.Name != c.want.Name || got.LinkBase != c.want.LinkBase || got.TTL != c.want.TTL ||
			strings.Join(got.Origins, " ") != strings.Join(c.want.Origins, " ") {
			t.Errorf("%s: Config = %+v, want %+v", c.id, got, c.want)
		}
	}
}

func TestCheckListen(t *testing.T) {
	apps := testApps()
	ok := Listen{SID: testSID, App: "shop", RelayOrigin: relayBase, Handshake: true}
	with := func(f func(*Listen)) Listen {
		l := ok
		f(&l)
		return l
	}
	for _, c := range []struct {
		what string
		l    Listen
		code protocol.Code
		ttl  time.Duration
	}{
		{"minimal", ok, "", 90 * time.Second},
		{"ttl", with(func(l *Listen) { l.TTL = []string{"15"} }), "", 15 * time.Second},
		{"ttl 300", with(func(l *Listen) { l.TTL = []string{"300"} }), "", 300 * time.Second},
		{"ttl leading zeros", with(func(l *Listen) { l.TTL = []string{"0060"} }), "", 60 * time.Second},
		{"app default ttl", with(func(l *Listen) { l.App, l.Origin = "bare", "https://bare.example" }), "", 45 * time.Second},
		{"page origin", with(func(l *Listen) { l.Origin = "https://shop.example" }), "", 90 * time.Second},
		{"widget origin", with(func(l *Listen) { l.OriginHeader = "https://widget.shop.example" }), "", 90 * time.Second},
		{"relay origin", with(func(l *Listen) { l.OriginHeader = relayBase }), "", 90 * time.Second},
		{"resume", with(func(l *Listen) { l.Resume = "r" }), "", 90 * time.Second},

		{"bad sid", with(func(l *Listen) { l.SID = "x" }), protocol.CodeBadRequest, 0},
		{"no app", with(func(l *Listen) { l.App = "" }), protocol.CodeBadRequest, 0},
		{"bad app", with(func(l *Listen) { l.App = "SHOP" }), protocol.CodeBadRequest, 0},
		{"unknown app", with(func(l *Listen) { l.App = "other" }), protocol.CodeNotFound, 0},
		{"ttl twice", with(func(l *Listen) { l.TTL = []string{"60", "60"} }), protocol.CodeBadRequest, 0},
		{"ttl empty", with(func(l *Listen) { l.TTL = []string{""} }), protocol.CodeBadRequest, 0},
		{"ttl 14", with(func(l *Listen) { l.TTL = []string{"14"} }), protocol.CodeBadRequest, 0},
		{"ttl 301", with(func(l *Listen) { l.TTL = []string{"301"} }), protocol.CodeBadRequest, 0},
		{"ttl fraction", with(func(l *Listen) { l.TTL = []string{"60.5"} }), protocol.CodeBadRequest, 0},
		{"ttl sign", with(func(l *Listen) { l.TTL = []string{"+60"} }), protocol.CodeBadRequest, 0},
		{"ttl five digits", with(func(l *Listen) { l.TTL = []string{"00060"} }), protocol.CodeBadRequest, 0},
		{"foreign page", with(func(l *Listen) { l.Origin = "https://evil.example" }), protocol.CodeOriginDenied, 0},
		{"widget origin as page", with(func(l *Listen) { l.Origin = "https://widget.shop.example" }), protocol.CodeOriginDenied, 0},
		{"foreign Origin", with(func(l *Listen) { l.OriginHeader = "https://evil.example" }), protocol.CodeOriginDenied, 0},
		{"page origin as Origin", with(func(l *Listen) { l.OriginHeader = "https://shop.example" }), protocol.CodeOriginDenied, 0},
		{"not a handshake", with(func(l *Listen) { l.Handshake = false }), protocol.CodeBadRequest, 0},
		{"native receiver of a web-only app", with(func(l *Listen) { l.App = "bare" }), protocol.CodeOriginDenied, 0},
		{"origin port out of range", with(func(l *Listen) { l.Origin = "http://localhost:99999" }), protocol.CodeOriginDenied, 0},
		{"origin port with a leading zero", with(func(l *Listen) { l.Origin = "http://localhost:0080" }), protocol.CodeOriginDenied, 0},
		{"origin with a path", with(func(l *Listen) { l.Origin = "https://shop.example/" }), protocol.CodeOriginDenied, 0},

		// docs/protocol.md 6.3's order: the first failing check answers.
		{"bad sid before unknown app", with(func(l *Listen) { l.SID, l.App = "x", "other" }), protocol.CodeBadRequest, 0},
		{"unknown app before bad ttl", with(func(l *Listen) { l.App, l.TTL = "other", []string{"1"} }), protocol.CodeNotFound, 0},
		{"bad ttl before foreign page", with(func(l *Listen) { l.TTL, l.Origin = []string{"1"}, "https://evil.example" }), protocol.CodeBadRequest, 0},
		{"foreign Origin before no handshake", with(func(l *Listen) { l.OriginHeader, l.Handshake = "https://evil.example", false }), protocol.CodeOriginDenied, 0},
	} {
		got, err := CheckListen(c.l, apps)
		wantErr(t, c.what, err, c.code)
		if c.code != "" {
			continue
		}
		if got.SID != c.l.SID || got.App == nil || got.App.ID != c.l.App || got.TTL != c.ttl ||
			got.Origin != c.l.Origin || got.Resume != c.l.Resume {
			t.Errorf("%s: %+v, want ttl %v", c.what, got, c.ttl)
		}
	}

	// The listener's origin is the normalised one: the phone is shown what
	// the browser would send.
	for in, want := range map[string]string{
		"HTTPS://Shop.Example:443": "https://shop.example",
		"http://LOCALHOST:80":      "http://localhost",
		"http://localhost:8080":    "http://localhost:8080",
	} {
		got, err := CheckListen(with(func(l *Listen) { l.Origin = in }), apps)
		if err != nil || got.Origin != want {
			t.Errorf("origin %q: %+v, %v; want origin %q", in, got, err, want)
		}
	}
	// The refusal of a native receiver says what to change.
	_, err := CheckListen(with(func(l *Listen) { l.App = "bare" }), apps)
	if err == nil || !strings.Contains(err.Message, `"native_receivers": true`) || !strings.Contains(err.Message, `"bare"`) {
		t.Errorf("native receiver of bare: %v, want a message naming the app and native_receivers", err)
	}
	_, err = CheckListen(with(func(l *Listen) { l.Origin = "http://localhost:99999" }), apps)
	if err == nil || !strings.Contains(err.Message, "out of range") {
		t.Errorf("origin :99999: %v, want a message that says the port is out of range", err)
	}
}

func TestCheckNewSession(t *testing.T) {
	for _, c := range []struct {
		resume string
		full   bool
		code   protocol.Code
	}{
		{"", false, ""},
		{"", true, protocol.CodeUnavailable},
		{"r", false, protocol.CodeNotFound},
		{"r", true, protocol.CodeNotFound},
	} {
		wantErr(t, "CheckNewSession", CheckNewSession(c.resume, c.full), c.code)
	}
	wantErr(t, "AtCapacity", AtCapacity(), protocol.CodeUnavailable)
	wantErr(t, "ShuttingDown", ShuttingDown(), protocol.CodeUnavailable)
}

func TestNewRequester(t *testing.T) {
	long := strings.Repeat("u", MaxUserAgent+10)
	for _, c := range []struct{ ua, want string }{
		{"", ""},
		{"curl/8", "curl/8"},
		{long[:MaxUserAgent], long[:MaxUserAgent]},
		{long, long[:MaxUserAgent]},
	} {
		r := NewRequester("192.0.2.1", c.ua, "https://shop.example")
		if r != (protocol.Requester{IP: "192.0.2.1", UserAgent: c.want, Origin: "https://shop.example"}) {
			t.Errorf("NewRequester(%d bytes of UA) = %+v", len(c.ua), r)
		}
	}
}

func TestSenderChecks(t *testing.T) {
	wantErr(t, "good sid", CheckSessionID(testSID), "")
	for _, sid := range []string{"", "x", testSID + "A", "AAAAAAAAAAAAAAAAAAAAAB", "AAAAAAAAAAAAAAAAAAAA=="} {
		wantErr(t, "sid "+sid, CheckSessionID(sid), protocol.CodeBadRequest)
	}
	wantErr(t, "NoSession", NoSession(), protocol.CodeNotFound)

	const max = 1000
	for _, c := range []struct {
		n    int64
		code protocol.Code
	}{
		{-1, ""}, {0, ""}, {max, ""}, {max + 1, protocol.CodeTooLarge}, {1 << 40, protocol.CodeTooLarge},
	} {
		wantErr(t, "CheckContentLength", CheckContentLength(c.n, max), c.code)
	}
	for _, c := range []struct {
		n    int
		code protocol.Code
	}{
		{0, protocol.CodeBadRequest}, {MinSealedSize - 1, protocol.CodeBadRequest}, {MinSealedSize, ""},
		{max, ""}, {max + 1, protocol.CodeTooLarge},
	} {
		wantErr(t, "CheckBody", CheckBody(make([]byte, c.n), max), c.code)
	}
	if MinSealedSize != 48 {
		t.Errorf("MinSealedSize %d, want 48 (enc 32 + tag 16)", MinSealedSize)
	}
	if e := TooLarge(16384); e.Message != "the body is over 16384 bytes" {
		t.Errorf("TooLarge: %q", e.Message)
	}
}

func TestRateLimited(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		secs int64
	}{
		{0, 1}, {-time.Second, 1}, {time.Millisecond, 1}, {time.Second, 1}, {time.Second + 1, 2}, {59500 * time.Millisecond, 60},
	} {
		e, secs := RateLimited(c.wait)
		wantErr(t, "RateLimited", e, protocol.CodeRateLimited)
		if secs != c.secs {
			t.Errorf("RateLimited(%v): Retry-After %d, want %d", c.wait, secs, c.secs)
		}
	}
}

func TestReplyAnswer(t *testing.T) {
	conflict := &protocol.Error{Code: protocol.CodeConflict, Message: "busy", RetryAfterMS: 250}
	for _, c := range []struct {
		rep    session.Reply
		status int
		body   string
	}{
		{session.Reply{State: protocol.StateDelivered}, 200, `{"state":"delivered"}`},
		{session.Reply{State: protocol.StateDenied}, 200, `{"state":"denied"}`},
		{session.Reply{State: protocol.StatePending}, 202, `{"state":"pending"}`},
		{session.Reply{Wait: true}, 202, `{"state":"pending"}`},
		{session.Reply{Err: conflict}, 409, `{"error":"conflict","message":"busy","retry_after":250}`},
		{session.Reply{Err: &protocol.Error{Code: protocol.CodeExpired, Message: "late"}}, 410, `{"error":"expired","message":"late"}`},
		{session.Reply{Err: &protocol.Error{Code: protocol.CodeRejected, Message: "no"}}, 422, `{"error":"rejected","message":"no"}`},
	} {
		a := ReplyAnswer(c.rep)
		if a.Status != c.status || string(a.Body) != c.body {
			t.Errorf("ReplyAnswer(%+v) = %d %s, want %d %s", c.rep, a.Status, a.Body, c.status, c.body)
		}
	}
	for _, code := range protocol.Codes {
		e := &protocol.Error{Code: code, Message: "m"}
		a := ErrorAnswer(e)
		if a.Status != code.HTTPStatus() || !bytes.Equal(a.Body, e.AppendJSON(nil)) {
			t.Errorf("ErrorAnswer(%s) = %d %s", code, a.Status, a.Body)
		}
	}
}

func TestReceiverFrame(t *testing.T) {
	for _, c := range []struct {
		text  bool
		frame string
		want  Action
	}{
		{true, `{"type":"ack"}`, ActionAck},
		{true, `{"type":"reject","reason":"decrypt"}`, ActionReject},
		{true, `{"type":"reject","reason":"stale"}`, ActionReject},
		{true, `{"type":"reject","reason":"kind"}`, ActionReject},
		{true, protocol.PingJSON, ActionPing},
		{true, `{ "type" : "ping" }`, ActionPing},
		{true, `{"type":"ping","n":1}`, ActionPing},
		{true, `{"type":"\u0070ing"}`, ActionPing},

		{false, protocol.PingJSON, ActionBad},
		{false, `{"type":"ack"}`, ActionBad},
		{true, ``, ActionBad},
		{true, `hello`, ActionBad},
		{true, `{"type":"PING"}`, ActionBad},
		{true, `{"type":"hello"}`, ActionBad},
		{true, `{"type":"reject"}`, ActionBad},
		{true, `{"type":"reject","reason":"because"}`, ActionBad},
		{true, `{"type":"sealed","data":"AAAA"}`, ActionBad},
		{true, protocol.PongJSON, ActionBad},
		{true, `{"type":"ready","expires_at":1,"resume":""}`, ActionBad},
		{true, `{"type":"ping"}x`, ActionBad},

		{true, `{"type":"ack","pad":"` + strings.Repeat("x", MaxFrameSize-23) + `"}`, ActionAck},
		{true, `{"type":"ack","pad":"` + strings.Repeat("x", MaxFrameSize-22) + `"}`, ActionTooBig},
		{false, strings.Repeat("x", MaxFrameSize+1), ActionTooBig},
	} {
		if got := ReceiverFrame(c.text, []byte(c.frame)); got != c.want {
			t.Errorf("ReceiverFrame(%v, %.40s) = %v, want %v", c.text, c.frame, got, c.want)
		}
	}
}

func TestActionClose(t *testing.T) {
	for _, c := range []struct {
		a    Action
		want session.Close
	}{
		{ActionAck, session.Close{}},
		{ActionReject, session.Close{}},
		{ActionPing, session.Close{}},
		{ActionBad, session.Close{Code: 4400, Reason: "bad_request"}},
		{ActionTooBig, session.Close{Code: 1009, Reason: "frame over 256 bytes"}},
	} {
		if got := c.a.Close(); got != c.want {
			t.Errorf("%v.Close() = %+v, want %+v", c.a, got, c.want)
		}
	}
	for a, want := range map[Action]string{ActionBad: "bad", ActionTooBig: "too big", ActionAck: "ack",
		ActionReject: "reject", ActionPing: "ping", 42: "action(42)"} {
		if a.String() != want {
			t.Errorf("String() = %q, want %q", a.String(), want)
		}
	}
}

func TestWebSocketHandshake(t *testing.T) {
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	up, ws := []string{"Upgrade"}, []string{"websocket"}
	for _, c := range []struct {
		what                string
		connection, upgrade []string
		version, key        string
		want                bool
	}{
		{"browser", up, ws, "13", key, true},
		{"lists and case", []string{"keep-alive, UPGRADE"}, []string{"h2c , WebSocket"}, "13", key, true},
		{"several values", []string{"keep-alive", "upgrade"}, ws, "13", key, true},
		{"no Connection", nil, ws, "13", key, false},
		{"Connection without upgrade", []string{"keep-alive"}, ws, "13", key, false},
		{"upgrade as a substring", []string{"upgrades"}, ws, "13", key, false},
		{"no Upgrade", up, nil, "13", key, false},
		{"Upgrade h2c", up, []string{"h2c"}, "13", key, false},
		{"version 8", up, ws, "8", key, false},
		{"no version", up, ws, "", key, false},
		{"no key", up, ws, "13", "", false},
		{"key with spaces", up, ws, "13", " " + key + " ", true},
		{"key not base64", up, ws, "13", "not a key!", false},
		{"key of 15 bytes", up, ws, "13", "dGhlIHNhbXBsZSBub25j", false},
		{"key of 17 bytes", up, ws, "13", "dGhlIHNhbXBsZSBub25jZXg=", false},
		{"key without padding", up, ws, "13", "dGhlIHNhbXBsZSBub25jZQ", false},
		{"key in base64url", up, ws, "13", "-_-_-_-_-_-_-_-_-_-_-w==", false},
	} {
		if got := WebSocketHandshake(c.connection, c.upgrade, c.version, c.key); got != c.want {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
}
