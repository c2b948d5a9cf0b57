//go:build !js

package edge_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// idle is longer than workerd keeps an idle Durable Object: it evicts one
// after 10 s without events (issue 9 measured about 15 s), hibernatable
// WebSockets and all, and rebuilds it, with its Go instance, on the next
// event.
const idle = 20 * time.Second

// testHibernation checks, against a relay serving on-disk storage, that a
// waiting receiver outlives its object's eviction and completes the
// handoff, and that a message held for an absent receiver survives
// eviction and is handed over on resume. The relay runs with
// SCANIN_EDGE_TRACE=on, so each answer names the Session object's life:
// the test fails unless the object after the idle time is a new one.
func testHibernation(t *testing.T, url string) {
	t.Run("WaitingReceiver", func(t *testing.T) {
		t.Parallel()
		sid, key := newKey(t)
		r, _, before := listen(t, url, sid, "")
		time.Sleep(idle) // nothing happens: workerd evicts the object
		sealed := seal(t, key, sid, "after a hibernation")
		done := make(chan *http.Response, 1)
		go func() { done <- post(t, url, sid, sealed) }()
		if raw := next(t, r); !bytes.Contains(raw, []byte(`"sealed"`)) {
			t.Fatalf("after the idle time the receiver got %s, want sealed", raw)
		}
		send(t, r, `{"type":"ack"}`)
		resp := <-done
		if resp.StatusCode != 200 {
			t.Fatalf("POST after the idle time: %d, want 200 delivered", resp.StatusCode)
		}
		checkEvicted(t, before, resp.Header)
	})
	t.Run("HeldMessage", func(t *testing.T) {
		t.Parallel()
		sid, key := newKey(t)
		r, ready, _ := listen(t, url, sid, "")
		_ = r.Close(websocket.StatusNormalClosure, "")
		sealed := seal(t, key, sid, "held through a hibernation")
		resp := post(t, url, sid, sealed)
		if resp.StatusCode != 202 {
			t.Fatalf("POST with the receiver away: %d, want 202 pending", resp.StatusCode)
		}
		time.Sleep(idle)
		r2, ready2, after := listen(t, url, sid, ready.Resume)
		checkEvicted(t, resp.Header, after)
		if ready2.ExpiresAt != ready.ExpiresAt {
			t.Errorf("resumed expires_at %d, want %d", ready2.ExpiresAt, ready.ExpiresAt)
		}
		if raw := next(t, r2); !bytes.Contains(raw, []byte(`"sealed"`)) {
			t.Fatalf("after resuming the receiver got %s, want the held message", raw)
		}
		send(t, r2, `{"type":"ack"}`)
		deadline := time.Now().Add(5 * time.Second)
		for post(t, url, sid, sealed).StatusCode != 200 {
			if time.Now().After(deadline) {
				t.Fatal("POST after the ack: not 200 delivered within 5 s")
			}
			time.Sleep(20 * time.Millisecond) // polling the relay's state, with a deadline
		}
	})
}

func newKey(t *testing.T) (string, *protocol.PrivateKey) {
	t.Helper()
	k, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return protocol.NewSessionID(), k
}

func seal(t *testing.T, k *protocol.PrivateKey, sid, data string) []byte {
	t.Helper()
	b, _, err := protocol.SealMessage(k.PublicKey(), "demo", sid, protocol.Message{Kind: protocol.KindData, Data: data, IssuedAt: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkEvicted fails the test unless two answers of a session's object,
// before and after an idle time, came from different lives of it.
func checkEvicted(t *testing.T, before, after http.Header) {
	t.Helper()
	b, a := before.Get(lifeHeader), after.Get(lifeHeader)
	if b == "" || a == "" {
		t.Fatalf("no %s header (before %q, after %q): is SCANIN_EDGE_TRACE on?", lifeHeader, b, a)
	}
	if a == b {
		t.Errorf("the session's object lived through %v idle (life %s): it was not evicted, so this tested nothing", idle, a)
	}
}

// lifeHeader names the Session object's life in its answers under
// SCANIN_EDGE_TRACE=on (src/worker.js).
const lifeHeader = "X-Scanin-Edge-Object-Life"

// listen opens a receiver's socket (resuming when resume is set) and reads
// its ready frame. It also returns the upgrade's answer's headers.
func listen(t *testing.T, url, sid, resume string) (*websocket.Conn, protocol.Frame, http.Header) {
	t.Helper()
	u := "ws" + url[len("http"):] + protocol.ListenPath(sid) + "?app=demo"
	if resume != "" {
		u += "&resume=" + protocol.QueryEscape(resume)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	f, err := protocol.ParseFrame(next(t, c))
	if err != nil || f.Type != protocol.FrameReady {
		t.Fatalf("listen: first frame %+v (%v), want ready", f, err)
	}
	return c, f, resp.Header
}

func next(t *testing.T, c *websocket.Conn) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("receiver: no frame: %v", err)
	}
	return b
}

func send(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("receiver: %v", err)
	}
}

func post(t *testing.T, url, sid string, body []byte) *http.Response {
	t.Helper()
	resp, err := http.Post(url+protocol.SessionPath(sid), "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
