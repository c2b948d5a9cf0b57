package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
)

// client speaks the Relay API as an independent client would: plain HTTP
// and WebSocket, with the protocol package only for the wire formats.
type client struct {
	tg   Target
	http *http.Client
	// webOnly is set when the target's app does not allow native
	// receivers: a listen then carries Target.Origin unless it asks for
	// none (listenOpts.native).
	webOnly bool
}

func newClient(tg Target) *client {
	tr := &http.Transport{
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     5 * time.Second,
	}
	return &client{tg: tg, http: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *client) close() { c.http.CloseIdleConnections() }

// loadApp reads the target app's configuration, and from it whether its
// listens need an origin parameter (webOnly).
func (c *client) loadApp(t *testing.T) protocol.AppConfig {
	t.Helper()
	a := c.do(t, "GET", protocol.AppPath(c.tg.App), nil, nil)
	cfg, err := protocol.ParseAppConfig(a.body)
	if a.status != 200 || err != nil {
		t.Fatalf("conformance: GET %s: %d %s (%v)", protocol.AppPath(c.tg.App), a.status, a.body, err)
	}
	c.webOnly = !cfg.NativeReceivers
	return cfg
}

// answer is an HTTP answer, read whole.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (c *client) do(t testing.TB, method, path string, body []byte, header http.Header) answer {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.tg.URL+path, r)
	if err != nil {
		t.Fatalf("failed to make request %s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("%s %s: failed to read the answer: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c *client) read(t testing.TB, sid string) answer {
	t.Helper()
	return c.do(t, http.MethodGet, protocol.SessionPath(sid), nil, nil)
}

func (c *client) deliver(t testing.TB, sid string, sealed []byte) answer {
	t.Helper()
	return c.do(t, http.MethodPost, protocol.SessionPath(sid), sealed, nil)
}

func (c *client) deny(t testing.TB, sid string) answer {
	t.Helper()
	return c.do(t, http.MethodPost, protocol.DenyPath(sid), nil, nil)
}

// wantError checks that an answer is the protocol error code with its
// status and a well-formed body.
func wantError(t testing.TB, what string, a answer, code protocol.Code) *protocol.Error {
	t.Helper()
	if a.status != code.HTTPStatus() {
		t.Errorf("%s: status %d, want %d (%s); body %s", what, a.status, code.HTTPStatus(), code, a.body)
		return nil
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var raw map[string]any
	if err := json.Unmarshal(a.body, &raw); err != nil {
		t.Errorf("%s: error body is not JSON: %v: %s", what, err, a.body)
		return nil
	}
	if _, ok := raw["message"].(string); !ok {
		t.Errorf("%s: error body has no string \"message\": %s", what, a.body)
	}
	e := protocol.ParseError(a.body)
	if e.Code != code {
		t.Errorf("%s: error %q, want %q; body %s", what, e.Code, code, a.body)
	}
	return e
}

// wantState checks a sender's successful answer: status and {"state": s}.
func wantState(t testing.TB, what string, a answer, status int, state protocol.State) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: status %d, want %d; body %s", what, a.status, status, a.body)
		return
	}
	var b protocol.StateBody
	if err := json.Unmarshal(a.body, &b); err != nil || b.State != state {
		t.Errorf("%s: body %s, want {\"state\":%q}", what, a.body, state)
	}
}

// listenOpts are a listen's parameters and handshake headers.
type listenOpts struct {
	app    string
	ttl    string // raw; "" leaves it out
	origin string // the origin parameter
	resume string
	header http.Header // e.g. an Origin
	raw    string      // a whole raw query, replacing the above
	ua     string
	native bool // no origin parameter even when the app is web-only
}

func (c *client) listenURL(sid string, o listenOpts) string {
	u := strings.Replace(c.tg.URL, "http", "ws", 1) + protocol.ListenPath(sid)
	if o.raw != "" {
		return u + "?" + o.raw
	}
	app := o.app
	if app == "" {
		app = c.tg.App
	}
	u += "?app=" + protocol.QueryEscape(app)
	if o.ttl != "" {
		u += "&ttl=" + protocol.QueryEscape(o.ttl)
	}
	origin := o.origin
	if origin == "" && c.webOnly && !o.native && app == c.tg.App {
		origin = c.tg.Origin
	}
	if origin != "" {
		u += "&origin=" + protocol.QueryEscape(origin)
	}
	if o.resume != "" {
		u += "&resume=" + protocol.QueryEscape(o.resume)
	}
	return u
}

// receiver is a connected listener.
type receiver struct {
	conn  *websocket.Conn
	ready protocol.Frame
	pings chan struct{}
}

// dial opens a listen; it returns the socket, or the HTTP answer that
// refused it.
func (c *client) dial(t testing.TB, sid string, o listenOpts) (*websocket.Conn, *answer, chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	for k, v := range o.header {
		h[k] = v
	}
	if o.ua != "" {
		h.Set("User-Agent", o.ua)
	}
	pings := make(chan struct{}, 16)
	conn, resp, err := websocket.Dial(ctx, c.listenURL(sid, o), &websocket.DialOptions{
		HTTPHeader: h,
		OnPingReceived: func(context.Context, []byte) bool {
			select {
			case pings <- struct{}{}:
			default:
			}
			return true
		},
	})
	if err == nil {
		conn.SetReadLimit(1 << 20)
		return conn, nil, pings
	}
	if resp == nil {
		t.Fatalf("listen: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return nil, &answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// listen opens a listen that must succeed and reads its ready frame.
func (c *client) listen(t testing.TB, sid string, o listenOpts) *receiver {
	t.Helper()
	conn, a, pings := c.dial(t, sid, o)
	if a != nil {
		t.Fatalf("listen: refused with %d: %s", a.status, a.body)
	}
	r := &receiver{conn: conn, pings: pings}
	t.Cleanup(func() { _ = conn.CloseNow() })
	raw, f := r.next(t, 5*time.Second)
	if f.Type != protocol.FrameReady {
		t.Fatalf("listen: first frame %s, want ready", raw)
	}
	if f.Resume == "" {
		t.Fatalf("listen: ready frame has an empty resume: %s", raw)
	}
	r.ready = f
	return r
}

// listenRefused opens a listen that must be refused over HTTP with code.
func (c *client) listenRefused(t testing.TB, what, sid string, o listenOpts, code protocol.Code) {
	t.Helper()
	conn, a, _ := c.dial(t, sid, o)
	if conn != nil {
		_ = conn.CloseNow()
		t.Errorf("%s: listen was upgraded, want HTTP %d %s before the upgrade", what, code.HTTPStatus(), code)
		return
	}
	wantError(t, what, *a, code)
}

// next reads one text frame, failing the test on anything else.
func (r *receiver) next(t testing.TB, timeout time.Duration) ([]byte, protocol.Frame) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, b, err := r.conn.Read(ctx)
	if err != nil {
		t.Fatalf("receiver: no frame within %v: %v", timeout, err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("receiver: a %v frame, want text", typ)
	}
	f, err := protocol.ParseFrame(b)
	if err != nil {
		t.Fatalf("receiver: malformed frame %s: %v", b, err)
	}
	return b, f
}

// nextOrClose reads one frame or the close; it returns the frame, or the
// close status.
func (r *receiver) nextOrClose(t testing.TB, timeout time.Duration) ([]byte, websocket.StatusCode) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := r.conn.Read(ctx)
	if err == nil {
		return b, -1
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("receiver: neither a frame nor a close within %v", timeout)
	}
	return nil, websocket.CloseStatus(err)
}

func (r *receiver) send(t testing.TB, f protocol.Frame) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.conn.Write(ctx, websocket.MessageText, f.AppendJSON(nil)); err != nil {
		t.Fatalf("receiver: failed to send %s: %v", f.Type, err)
	}
}

// session is a receiver's side of a session: id and key.
type session struct {
	sid string
	key *protocol.PrivateKey
}

func newSession(t testing.TB) session {
	t.Helper()
	k, err := protocol.GenerateKey()
	if err != nil {
		t.Fatalf("failed to make a key: %v", err)
	}
	return session{sid: protocol.NewSessionID(), key: k}
}

// seal makes a valid sealed message for the session, as a phone would.
func (s session) seal(t testing.TB, app, data string) []byte {
	t.Helper()
	sealed, _, err := protocol.SealMessage(s.key.PublicKey(), app, s.sid, protocol.Message{
		Kind:     protocol.KindData,
		Data:     data,
		IssuedAt: time.Now().Unix(),
		Device:   &protocol.Device{Name: "conformance", Type: "cli"},
	})
	if err != nil {
		t.Fatalf("failed to seal: %v", err)
	}
	return sealed
}

// open opens a sealed frame as the widget would.
func (s session) open(t testing.TB, app string, sealed []byte) protocol.Message {
	t.Helper()
	m, _, err := protocol.OpenMessage(s.key, app, s.sid, sealed, time.Now())
	if err != nil {
		t.Fatalf("receiver: the sealed frame does not open: %v", err)
	}
	return m
}
