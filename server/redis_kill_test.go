package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/internal/proctest"
	"github.com/scanin/scanin/internal/redistest"
	"github.com/scanin/scanin/protocol"
)

// startRelayProcess starts bin as `scanin relay` on a free loopback port
// with args and no rate limits, and waits until it serves; it is stopped
// (SIGTERM) when the test ends.
func startRelayProcess(t *testing.T, bin string, args ...string) *proctest.Relay {
	t.Helper()
	p := proctest.StartRelay(t, bin, append([]string{"--no-rate-limit"}, args...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := proctest.WaitHealthy(ctx, p.URL, p.Done()); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRedisNodeKilled kills (SIGKILL) the node that holds 1,000 widgets'
// sockets mid-session, with three relay processes over one Redis. A third
// of the sessions have nothing yet; a third have a message held that the
// widget was given but had not acked, its sender waiting on another node;
// a third the same with the sender waiting on the node that dies. Each
// widget resumes on another node and gets its message; the senders whose
// node died get an error, and their retry with the same bytes learns that
// it was delivered. No handoff is lost.
func TestRedisNodeKilled(t *testing.T) {
	srv := redistest.Start(t)
	bin := proctest.BuildScanin(t)
	var nodes [3]*proctest.Relay
	for i := range nodes {
		nodes[i] = startRelayProcess(t, bin, "--redis", srv.URL())
	}
	victim, others := nodes[0], nodes[1:]

	const n = 1000
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	t.Cleanup(hc.CloseIdleConnections)
	type widget struct {
		sid, resume string
		conn        *websocket.Conn
		msg         []byte
		post        chan error // the first POST's end: nil for 200 or 202
	}
	ws := make([]*widget, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dial := func(base, sid, query string) (*websocket.Conn, protocol.Frame, error) {
		u := "ws" + strings.TrimPrefix(base, "http") + protocol.ListenPath(sid) + "?app=demo&ttl=300" + query
		conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc})
		if err != nil {
			return nil, protocol.Frame{}, err
		}
		_, b, err := conn.Read(ctx)
		if err != nil {
			return nil, protocol.Frame{}, err
		}
		f, err := protocol.ParseFrame(b)
		if err != nil || f.Type != protocol.FrameReady {
			return nil, protocol.Frame{}, fmt.Errorf("first frame %s", b)
		}
		return conn, f, nil
	}
	post := func(base, sid string, msg []byte) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+protocol.SessionPath(sid), bytes.NewReader(msg))
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	readSealed := func(w *widget) error {
		_, b, err := w.conn.Read(ctx)
		if err != nil {
			return err
		}
		f, err := protocol.ParseFrame(b)
		if err != nil || f.Type != protocol.FrameSealed || !bytes.Equal(f.Sealed, w.msg) {
			return fmt.Errorf("got %s, want its sealed message", b)
		}
		return nil
	}
	// each runs f for every widget, 64 at a time, and fails the test with
	// the first error.
	each := func(what string, f func(i int, w *widget) error) {
		t.Helper()
		var wg sync.WaitGroup
		var failed atomic.Int64
		var first atomic.Value
		sem := make(chan struct{}, 64)
		for i := range ws {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := f(i, ws[i]); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, fmt.Sprintf("widget %d: %v", i, err))
				}
			}()
		}
		wg.Wait()
		if k := failed.Load(); k > 0 {
			t.Fatalf("%s: %d of %d failed; first: %v", what, k, n, first.Load())
		}
	}

	each("listen on the node that dies", func(i int, _ *widget) error {
		w := &widget{sid: protocol.NewSessionID(), msg: bytes.Repeat([]byte{byte(i), byte(i >> 8), 1}, 40), post: make(chan error, 1)}
		conn, ready, err := dial(victim.URL, w.sid, "")
		if err != nil {
			return err
		}
		w.conn, w.resume = conn, ready.Resume
		ws[i] = w
		return nil
	})
	t.Cleanup(func() {
		for _, w := range ws {
			if w != nil && w.conn != nil {
				_ = w.conn.CloseNow()
			}
		}
	})
	each("messages held, not acked", func(i int, w *widget) error {
		if i%3 == 0 {
			return nil
		}
		sender := others[0].URL
		if i%3 == 2 {
			sender = victim.URL
		}
		go func() {
			st, err := post(sender, w.sid, w.msg)
			if err == nil && st != http.StatusOK && st != http.StatusAccepted {
				err = fmt.Errorf("POST: status %d", st)
			}
			w.post <- err
		}()
		return readSealed(w)
	})

	victim.Kill()

	// The senders that waited on the dead node have an error, at once.
	each("senders on the dead node", func(i int, w *widget) error {
		if i%3 != 2 {
			return nil
		}
		select {
		case err := <-w.post:
			if err == nil {
				return fmt.Errorf("POST to the killed node answered")
			}
		case <-time.After(10 * time.Second):
			return fmt.Errorf("POST to the killed node still waits")
		}
		return nil
	})
	each("resume on another node", func(i int, w *widget) error {
		_, _, err := w.conn.Read(ctx)
		if err == nil {
			return fmt.Errorf("the killed node's socket still reads")
		}
		_ = w.conn.CloseNow()
		conn, _, err := dial(others[i%2].URL, w.sid, "&resume="+protocol.QueryEscape(w.resume))
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		w.conn = conn
		if i%3 == 0 {
			go func() {
				st, err := post(others[(i+1)%2].URL, w.sid, w.msg)
				if err == nil && st != http.StatusOK {
					err = fmt.Errorf("POST after the resume: status %d, want 200", st)
				}
				w.post <- err
			}()
		}
		if err := readSealed(w); err != nil {
			return fmt.Errorf("after the resume: %w", err)
		}
		return w.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ack"}`))
	})
	each("senders on the nodes alive", func(i int, w *widget) error {
		if i%3 == 2 {
			return nil
		}
		return <-w.post
	})
	// Every sender, retrying the same bytes anywhere, learns it was
	// delivered: no handoff lost.
	var lost atomic.Int64
	each("retries", func(i int, w *widget) error {
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, err := post(others[i%2].URL, w.sid, w.msg)
			if err == nil && st == http.StatusOK {
				return nil
			}
			if time.Now().After(deadline) {
				lost.Add(1)
				return fmt.Errorf("retry: %d %v, want 200 delivered", st, err)
			}
			time.Sleep(50 * time.Millisecond) // polling the delivery's state, with a deadline
		}
	})
	if k := lost.Load(); k != 0 {
		t.Fatalf("%d handoffs lost", k)
	}
}
