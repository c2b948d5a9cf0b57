package edge

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
)

const testSID = "AAECAwQFBgcICQoLDA0ODw"

func TestForwardRoundTrip(t *testing.T) {
	for _, f := range []forward{
		{Op: "read", SID: testSID, Requester: protocol.Requester{IP: "2001:db8::1"}},
		{Op: "listen", SID: testSID, App: "demo", TTL: 90 * time.Second, Resume: "a+b/c=&d",
			Requester: protocol.Requester{IP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X; ü) \"q\" %",
				Origin: "http://localhost:3000"}},
	} {
		enc := f.encode()
		for _, c := range enc {
			if c < 0x21 || c > 0x7e {
				t.Fatalf("%q: %q is not safe in a header", enc, c)
			}
		}
		got, ok := decodeForward(enc)
		if !ok || got != f {
			t.Errorf("decodeForward(%q) = %+v, %v; want %+v", enc, got, ok, f)
		}
	}
	if _, ok := decodeForward("%zz"); ok {
		t.Errorf("decodeForward of a bad query string succeeded")
	}
}

// TestEvents runs a session through its object's events natively: listen,
// read, deliver, a receiver's ping and ack, late callers, and the alarm.
func TestEvents(t *testing.T) {
	rl := New(Limits{})
	now := time.UnixMilli(1763750000000)
	var stored []byte
	apply := func(r Result) Result {
		t.Helper()
		if r.Delete {
			stored = nil
		} else if r.Session != nil {
			stored = r.Session
		}
		return r
	}
	route := func(method, path, query string) Routed {
		t.Helper()
		return rl.Route(Request{Method: method, Path: path, RawQuery: query, Base: "http://127.0.0.1:8787",
			Connection: "Upgrade", Upgrade: "websocket", WSVersion: "13", WSKey: "dGhlIHNhbXBsZSBub25jZQ==", IP: "192.0.2.1",
			UserAgent: strings.Repeat("u", 600)})
	}

	l := route("GET", "/v1/sessions/"+testSID+"/listen", "app=demo&ttl=60")
	if l.Response != nil || l.SID != testSID || l.Limit != limitListen {
		t.Fatalf("route listen: %+v", l)
	}
	r := apply(rl.Request(l.Forward, stored, nil, false, now))
	if !r.Accept || len(r.Frames) != 1 || !strings.Contains(r.Frames[0], `"ready"`) ||
		r.Alarm != now.Add(time.Minute).UnixMilli() {
		t.Fatalf("listen: %+v", r)
	}
	if s := load(stored); s == nil || len(s.Requester.UserAgent) != 512 || s.Resume == "" {
		t.Fatalf("stored session: %+v", s)
	}

	if r := route("GET", "/v1/sessions/"+testSID+"/listen", "app=nope"); r.Response == nil || r.Response.Status != 404 {
		t.Errorf("listen for an unknown app: %+v", r)
	}
	if r := route("GET", "/v1/apps/demo", ""); r.Response == nil || r.Response.Status != 200 ||
		!strings.Contains(r.Response.Body, `"link_base":"http://127.0.0.1:8787/link"`) {
		t.Errorf("app config: %+v", r.Response)
	}

	rd := route("GET", "/v1/sessions/"+testSID, "")
	r = apply(rl.Request(rd.Forward, stored, nil, false, now))
	if r.Response.Status != 200 || !strings.Contains(r.Response.Body, `"state":"waiting"`) ||
		len(r.Frames) != 1 || !strings.Contains(r.Frames[0], "scanned") || r.Alarm != 0 {
		t.Fatalf("read: %+v %s", r, r.Response.Body)
	}

	d := route("POST", "/v1/sessions/"+testSID, "")
	if d.ReadBody != protocol.MaxSealedSize {
		t.Fatalf("route deliver: %+v", d)
	}
	if r := rl.Request(d.Forward, stored, []byte("short"), false, now); r.Response.Status != 400 {
		t.Errorf("a short body: %+v", r.Response)
	}
	if r := rl.Request(d.Forward, stored, nil, true, now); r.Response.Status != 413 {
		t.Errorf("a body over the limit: %+v", r.Response)
	}
	sealed := bytes.Repeat([]byte{1}, 64)
	r = apply(rl.Request(d.Forward, stored, sealed, false, now))
	if r.Response != nil || r.Wait != now.Add(protocol.AckWait).UnixMilli() || r.Pending.Status != 202 || len(r.Frames) != 1 {
		t.Fatalf("deliver: %+v", r)
	}

	for _, ping := range []string{protocol.PingJSON, `{ "type" : "ping" }`} {
		if r := rl.Frame(stored, []byte(ping), false, now); len(r.Frames) != 1 || r.Frames[0] != protocol.PongJSON ||
			r.Session != nil || r.Close != nil {
			t.Errorf("ping %s: %+v", ping, r)
		}
	}
	r = apply(rl.Frame(stored, []byte(`{"type":"ack"}`), false, now.Add(time.Second)))
	if r.Settle == nil || r.Settle.Status != 200 || r.Close == nil || r.Close.Code != 1000 ||
		r.Alarm != now.Add(time.Second+protocol.TombstoneTTL).UnixMilli() {
		t.Fatalf("ack: %+v", r)
	}
	if r := rl.Request(rd.Forward, stored, nil, false, now); r.Response.Status != 410 {
		t.Errorf("a read after delivery: %+v", r.Response)
	}

	r = apply(rl.Alarm(stored, now.Add(time.Second+protocol.TombstoneTTL)))
	if !r.Delete || stored != nil {
		t.Fatalf("alarm at the tombstone's end: %+v", r)
	}
	if r := rl.Request(rd.Forward, stored, nil, false, now); r.Response.Status != 404 {
		t.Errorf("a read of a forgotten session: %+v", r.Response)
	}
	if r := rl.Frame(nil, []byte(`{"type":"ack"}`), false, now); r.Close == nil || r.Close.Code != protocol.CodeNotFound.CloseCode() {
		t.Errorf("a frame without a session: %+v", r)
	}
}

func TestLimit(t *testing.T) {
	rl := New(Limits{})
	now := time.UnixMilli(1763750000000)
	var bucket []byte
	for i := range protocol.NewSessionsPerMinute {
		b, full, refused := rl.Limit(limitListen, bucket, now)
		if refused != nil {
			t.Fatalf("listen %d refused", i+1)
		}
		bucket = b
		if want := now.Add(time.Duration(i+1) * time.Second).UnixMilli(); full != want {
			t.Fatalf("listen %d: full at %d, want %d", i+1, full, want)
		}
	}
	_, _, refused := rl.Limit(limitListen, bucket, now)
	if refused == nil || refused.Status != 429 {
		t.Fatalf("listen %d: %+v, want 429", protocol.NewSessionsPerMinute+1, refused)
	}
	var retry string
	for _, h := range refused.Headers {
		if h[0] == "Retry-After" {
			retry = h[1]
		}
	}
	if retry != "1" {
		t.Errorf("Retry-After %q, want 1", retry)
	}
	if _, _, refused := rl.Limit(limitListen, bucket, now.Add(time.Second)); refused != nil {
		t.Errorf("refused a second later: %+v", refused)
	}
}
