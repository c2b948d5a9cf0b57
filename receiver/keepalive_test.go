package receiver

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// fakeRelay is a relay whose listens the test scripts: it serves the demo
// app's configuration, and hands each accepted listen WebSocket, numbered
// from 1, to script, which speaks for the relay on it until it returns.
type fakeRelay struct {
	*httptest.Server
	listens atomic.Int32
}

func newFakeRelay(t *testing.T, script func(n int, c *websocket.Conn, r *http.Request)) *fakeRelay {
	t.Helper()
	f := &fakeRelay{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+protocol.AppPath(server.DemoAppID), func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(protocol.AppConfig{
			ID: server.DemoAppID, Name: "Demo Shop", Origins: []string{"http://localhost:*"},
			LinkBase: "https://app.example/login", TTL: 60,
		})
	})
	mux.HandleFunc("GET /v1/sessions/{sid}/listen", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		script(int(f.listens.Add(1)), c, r)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// send writes one text frame for the relay.
func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	if err := c.Write(context.Background(), websocket.MessageText, []byte(frame)); err != nil {
		t.Errorf("relay: failed to send %s: %v", frame, err)
	}
}

func readyFrame(resume string) string {
	return `{"type":"ready","expires_at":` + strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10) + `,"resume":"` + resume + `"}`
}

// readPing reads the receiver's next frame, which must be exactly the
// protocol's ping, and says when it arrived.
func readPing(t *testing.T, c *websocket.Conn) (time.Time, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		t.Errorf("relay: no ping came: %v", err)
		return time.Time{}, false
	}
	if typ != websocket.MessageText || string(data) != protocol.PingJSON {
		t.Errorf("relay: got %v %q, want the text frame %s", typ, data, protocol.PingJSON)
		return time.Time{}, false
	}
	return time.Now(), true
}

// waitClosed reads until the receiver closes the connection.
func waitClosed(c *websocket.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return
		}
	}
}

func newKeepaliveReceiver(t *testing.T, relay string, interval time.Duration) *Receiver {
	t.Helper()
	r, err := New(context.Background(), Config{Relay: relay, App: server.DemoAppID, PingInterval: interval})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// TestKeepaliveAnswered: a relay that sends nothing gets a ping after each
// interval of silence, the pongs are ignored, and the session goes on on
// the same connection.
func TestKeepaliveAnswered(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	relay := newFakeRelay(t, func(n int, c *websocket.Conn, _ *http.Request) {
		if n != 1 {
			t.Errorf("listen %d: the receiver reconnected to a relay that answered", n)
			return
		}
		send(t, c, readyFrame("r1"))
		answered := time.Now()
		for range 3 {
			at, ok := readPing(t, c)
			if !ok {
				return
			}
			if quiet := at.Sub(answered); quiet < interval {
				t.Errorf("relay: pinged after %v of silence, want at least %v", quiet, interval)
			}
			send(t, c, protocol.PongJSON)
			answered = time.Now()
		}
		send(t, c, `{"type":"scanned"}`)
		waitClosed(c)
	})
	s := listen(t, newKeepaliveReceiver(t, relay.URL, interval))
	if ev := next(t, s); ev.Type != EventScanned {
		t.Fatalf("event %+v, want scanned", ev)
	}
	s.Close()
}

// TestUnknownFramesIgnored: frames a receiver does not know, or cannot
// read, change nothing (docs/protocol.md 6.4: receivers SHOULD ignore
// them); the session goes on.
func TestUnknownFramesIgnored(t *testing.T) {
	t.Parallel()
	relay := newFakeRelay(t, func(n int, c *websocket.Conn, _ *http.Request) {
		if n != 1 {
			t.Errorf("listen %d: the receiver reconnected", n)
			return
		}
		send(t, c, readyFrame("r1"))
		for _, f := range []string{
			`{"type":"hello-from-a-later-revision","x":1}`,
			`{"type":"pong"}`,
			`{"type":"ping"}`,
			`{"type":"ack"}`,
			`{"type":"sealed"}`,
			`{"type":7}`,
			`{}`,
			`not json`,
		} {
			send(t, c, f)
		}
		send(t, c, `{"type":"scanned","later":"members are ignored too"}`)
		waitClosed(c)
	})
	s := listen(t, newKeepaliveReceiver(t, relay.URL, 0))
	if ev := next(t, s); ev.Type != EventScanned {
		t.Fatalf("event %+v, want scanned", ev)
	}
	s.Close()
}

// TestKeepaliveRelaySilent: a relay that swallows pings and sends nothing:
// the receiver takes the connection for dead one interval after its ping,
// closes it, and resumes on a new one, as after a drop (policy.Dead, then
// policy.Retry).
func TestKeepaliveRelaySilent(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	relay := newFakeRelay(t, func(n int, c *websocket.Conn, r *http.Request) {
		switch n {
		case 1:
			send(t, c, readyFrame("r1"))
			pinged, ok := readPing(t, c)
			if !ok {
				return
			}
			// No pong: the receiver closes the connection.
			waitClosed(c)
			if waited := time.Since(pinged); waited < interval {
				t.Errorf("relay: closed %v after the ping, want at least %v", waited, interval)
			}
		case 2:
			if got := r.URL.Query().Get("resume"); got != "r1" {
				t.Errorf("listen 2: resume %q, want r1", got)
			}
			send(t, c, readyFrame("r1"))
			send(t, c, `{"type":"expired"}`)
			waitClosed(c)
		default:
			t.Errorf("listen %d: want 2", n)
		}
	})
	s := listen(t, newKeepaliveReceiver(t, relay.URL, interval))
	if ev := next(t, s); ev.Type != EventExpired || ev.Err != nil {
		t.Fatalf("event %+v, want the resumed connection's expired frame", ev)
	}
	if n := relay.listens.Load(); n != 2 {
		t.Errorf("%d listens, want 2 (one resume)", n)
	}
}

// TestKeepaliveWebSocketPings: a relay that sends WebSocket pings more
// often than the interval is heard, and gets no ping frames (the fake
// relay's CloseRead would close the connection on one).
func TestKeepaliveWebSocketPings(t *testing.T) {
	t.Parallel()
	const interval = 500 * time.Millisecond
	relay := newFakeRelay(t, func(n int, c *websocket.Conn, _ *http.Request) {
		if n != 1 {
			t.Errorf("listen %d: the receiver reconnected to a relay that pinged", n)
			return
		}
		send(t, c, readyFrame("r1"))
		ctx := c.CloseRead(context.Background())
		tick := time.NewTicker(interval / 10)
		defer tick.Stop()
		for range 12 { // 600 ms, more than the interval
			<-tick.C
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				t.Errorf("relay: WebSocket ping: %v (did the receiver send a frame?)", err)
				return
			}
		}
		send(t, c, `{"type":"scanned"}`)
		<-ctx.Done()
	})
	s := listen(t, newKeepaliveReceiver(t, relay.URL, interval))
	if ev := next(t, s); ev.Type != EventScanned {
		t.Fatalf("event %+v, want scanned", ev)
	}
	s.Close()
}

// pingCounter is a client connection that reports each WebSocket frame it
// writes that holds exactly the protocol's ping: a masked text frame of
// 15 bytes (0x81, 0x80|15).
type pingCounter struct {
	net.Conn
	pings chan<- struct{}
}

func (c pingCounter) Write(b []byte) (int, error) {
	if len(b) == 2+4+len(protocol.PingJSON) && b[0] == 0x81 && b[1] == 0x80|byte(len(protocol.PingJSON)) {
		select {
		case c.pings <- struct{}{}:
		default:
		}
	}
	return c.Conn.Write(b)
}

// TestKeepaliveRealRelay: the relay answers the receiver's pings and the
// session goes on: after three pings, a message still arrives.
func TestKeepaliveRealRelay(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	pings := make(chan struct{}, 1)
	var d net.Dialer
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return pingCounter{c, pings}, nil
	}}}
	r, err := New(context.Background(), Config{Relay: relay.URL(), App: server.DemoAppID, HTTPClient: client, PingInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	s := listen(t, r)
	events := make(chan Event, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		events <- ev
	}()
	for i := range 3 {
		select {
		case <-pings:
		case ev := <-events:
			t.Fatalf("after %d pings, event %+v", i, ev)
		case <-ctx.Done():
			t.Fatalf("after %d pings: %v", i, ctx.Err())
		}
	}
	sealed := seal(t, s, protocol.Message{Kind: protocol.KindToken, Data: "alive", IssuedAt: time.Now().Unix()})
	if got := post(t, relay.URL(), s.SessionID(), sealed); got != http.StatusOK {
		t.Errorf("POST answered %d, want 200", got)
	}
	if ev := <-events; ev.Type != EventResult || ev.Message.Data != "alive" {
		t.Fatalf("event %+v, want the result", ev)
	}
}
