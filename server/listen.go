package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
	"github.com/scanin/scanin/server/session"
)

// WebSocket close codes the relay uses besides the protocol's 4000+status.
const (
	websocketNormal        = int(websocket.StatusNormalClosure)
	websocketGoingAway     = int(websocket.StatusGoingAway)
	websocketInternalError = int(websocket.StatusInternalError)
)

// receiverWriteTimeout bounds one frame to a receiver. Frames are small and
// fit the socket's buffer, so only a receiver that stopped reading for long
// ever waits.
const receiverWriteTimeout = 5 * time.Second

// receiver is a receiver's socket on this node, attached to session sid
// as listener id (attachments.add).
type receiver struct {
	conn   *websocket.Conn
	sock   *sockWriter // under conn's write buffer
	ping   *time.Timer
	closed atomic.Bool
	id     string
	sid    string
	// expiry expires the session at its time, so the receiver is told.
	expiry *time.Timer
	// wmu keeps frames whole: events and pongs write from different
	// goroutines.
	wmu sync.Mutex
	// queue holds writes posted to the receiver (post) and not made yet;
	// draining is set while a goroutine makes them. Under qmu.
	qmu      sync.Mutex
	queue    []func()
	draining bool
}

// post runs f after the writes posted before it, on a goroutine of the
// receiver's own: a receiver that stops reading holds up only its own
// writes (up to receiverWriteTimeout each), not the notes of every other
// receiver on the node.
func (c *receiver) post(f func()) {
	c.qmu.Lock()
	c.queue = append(c.queue, f)
	if !c.draining {
		c.draining = true
		go c.drain()
	}
	c.qmu.Unlock()
}

func (c *receiver) drain() {
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 {
			c.queue = nil
			c.draining = false
			c.qmu.Unlock()
			return
		}
		f := c.queue[0]
		c.queue[0] = nil
		c.queue = c.queue[1:]
		c.qmu.Unlock()
		f()
	}
}

// send writes one frame. bufs lends the scratch buffers: an idle receiver
// keeps none.
func (c *receiver) send(f protocol.Frame, bufs *sync.Pool) error {
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	*bp = appendFrame((*bp)[:0], f)
	return c.sendWire(*bp, bufs)
}

// sendWire writes one frame in its wire form (appendFrame's).
func (c *receiver) sendWire(b []byte, bufs *sync.Pool) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// The library's write only fills the corked sockWriter, so it cannot
	// block on the socket; uncork's one write carries the deadline.
	c.sock.cork(bufs)
	if err := c.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		c.sock.uncork(bufs, time.Time{})
		return err
	}
	return c.sock.uncork(bufs, time.Now().Add(receiverWriteTimeout))
}

// appendFrame appends f's wire form. The sealed frame, the one big frame
// of every handoff, is written here directly: base64url has nothing to
// escape, so the generic JSON string writer's scan of it is wasted work.
// TestAppendFrame checks both give the same bytes.
func appendFrame(dst []byte, f protocol.Frame) []byte {
	if f.Type != protocol.FrameSealed {
		return f.AppendJSON(dst)
	}
	dst = append(dst, `{"type":"sealed","data":"`...)
	dst = base64.RawURLEncoding.AppendEncode(dst, f.Sealed)
	return append(dst, `"}`...)
}

// sockWriter is the writer under the WebSocket library's write buffer. The
// library writes a frame larger than that buffer (the sealed frame, about
// 1.4 KB for a typical message, against a 128 B buffer) in several writes:
// as many syscalls and TCP segments. While corked, sockWriter gathers what
// the library writes and uncork sends it in one write, so a receiver needs
// no buffer the size of the largest frame while it waits.
type sockWriter struct {
	conn   net.Conn
	mu     sync.Mutex
	corked *[]byte // from the relay's pool while corked, else nil
}

func (w *sockWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.corked != nil {
		*w.corked = append(*w.corked, p...)
		return len(p), nil
	}
	return w.conn.Write(p)
}

// cork starts gathering writes.
func (w *sockWriter) cork(bufs *sync.Pool) {
	w.mu.Lock()
	bp := bufs.Get().(*[]byte)
	*bp = (*bp)[:0]
	w.corked = bp
	w.mu.Unlock()
}

// uncork writes what was gathered in one write that must finish by
// deadline; a zero deadline drops it instead.
func (w *sockWriter) uncork(bufs *sync.Pool, deadline time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	bp := w.corked
	w.corked = nil
	defer bufs.Put(bp)
	if deadline.IsZero() || len(*bp) == 0 {
		return nil
	}
	if err := w.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := w.conn.Write(*bp)
	if derr := w.conn.SetWriteDeadline(time.Time{}); err == nil {
		err = derr
	}
	return err
}

// close closes the socket with code and reason, without waiting for the
// close handshake (which can take seconds with a dead peer).
func (c *receiver) close(code int, reason string) {
	if c.closed.Swap(true) {
		return
	}
	if c.ping != nil {
		c.ping.Stop()
	}
	go func() { _ = c.conn.Close(websocket.StatusCode(code), reason) }()
}

// keepAlive pings every interval and drops a receiver that stops answering.
func (c *receiver) keepAlive(interval time.Duration) {
	c.ping = time.AfterFunc(interval, func() {
		if c.closed.Load() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), interval)
		err := c.conn.Ping(ctx)
		cancel()
		if err != nil {
			_ = c.conn.CloseNow()
			return
		}
		if !c.closed.Load() {
			c.ping.Reset(interval)
		}
	})
}

// serveListen is a receiver's WebSocket. Everything that can be refused is
// refused over HTTP before the upgrade; what changes in the moment between
// the check and the upgrade (another listener won the sid) closes the socket
// with 4000 + status.
//
// The refusals are open to every origin (CORS), as the sender API's are: a
// browser hides why a handshake failed, so the widget asks again with a
// plain GET (policy.AfterProbe), and a widget served from another origin
// than the relay's must be able to read that answer. A GET is never a
// handshake, so it meets only the checks before the session's, which say
// nothing a page could not learn from /v1/apps or its own settings.
func (rl *Relay) serveListen(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	if rl.closing.Load() {
		rl.writeError(w, rules.ShuttingDown())
		return
	}
	ip, ok := rl.limit(w, r, rl.listenRL)
	if !ok {
		return
	}
	q := r.URL.Query()
	l, perr := rules.CheckListen(rules.Listen{
		SID:          r.PathValue("sid"),
		App:          q.Get("app"),
		TTL:          q["ttl"],
		Origin:       q.Get("origin"),
		Resume:       q.Get("resume"),
		OriginHeader: r.Header.Get("Origin"),
		RelayOrigin:  rl.publicBase(r),
		Handshake:    isHandshake(r),
	}, rl.apps)
	if perr != nil {
		rl.writeError(w, perr)
		return
	}
	sid, resume := l.SID, l.Resume
	if err := rl.checkListen(r.Context(), sid, resume); err != nil {
		rl.writeError(w, err)
		return
	}

	hj := &smallBuffers{ResponseWriter: w}
	conn, err := websocket.Accept(hj, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the Origin was checked above, against the app's widget origins
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		rl.log.Debug("upgrade failed", "err", err)
		return
	}
	rl.rcvGroup.Add(1)
	conn.SetReadLimit(rules.MaxFrameSize)
	// The sid and origin are substrings of the request line; a copy lets
	// the request go while the session lives.
	rcv := &receiver{conn: conn, sock: hj.sock, sid: strings.Clone(sid)}
	rcv.keepAlive(rl.limits.PingInterval)
	requester := rules.NewRequester(ip, r.UserAgent(), strings.Clone(l.Origin))
	rl.att.add(rcv)
	if perr := rl.attach(rcv, resume, l.App, l.TTL, requester); perr != nil {
		rl.att.remove(rcv)
		rl.metrics.errorCode(perr.Code)
		rcv.closed.Store(true)
		rcv.ping.Stop()
		_ = conn.Close(websocket.StatusCode(perr.Code.CloseCode()), string(perr.Code))
		rl.rcvGroup.Done()
		return
	}
	rl.metrics.listeners.Inc()
	// Read on a fresh goroutine and let this one, with net/http's request
	// state on its stack, end: a receiver may wait for minutes, and what
	// it holds meanwhile is most of the relay's memory per receiver.
	go func() {
		defer rl.rcvGroup.Done()
		defer rl.metrics.listeners.Dec()
		rl.readFrames(rcv)
	}()
}

// isHandshake reports whether a listen is a WebSocket handshake, checked
// before any session is touched, so that what websocket.Accept would refuse
// with a text/plain 400 gets the relay's JSON bad_request instead.
func isHandshake(r *http.Request) bool {
	h := r.Header
	keys := h.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return false
	}
	return r.ProtoAtLeast(1, 1) &&
		rules.WebSocketHandshake(h.Values("Connection"), h.Values("Upgrade"), h.Get("Sec-WebSocket-Version"), keys[0])
}

// checkListen answers, before the upgrade, whether a listen would be
// accepted.
func (rl *Relay) checkListen(ctx context.Context, sid, resume string) *protocol.Error {
	var perr *protocol.Error
	_, err := rl.store.update(ctx, sid, func(s *session.Session) session.Outcome {
		perr = s.CheckListen(resume, time.Now())
		return session.Outcome{}
	})
	if errors.Is(err, errNoSession) {
		full := false
		if resume == "" {
			n, err := rl.store.live(ctx)
			if err != nil {
				return rl.storeFailed(err)
			}
			full = n >= int64(rl.limits.MaxLiveSessions)
		}
		return rules.CheckNewSession(resume, full)
	}
	if err != nil {
		return rl.storeFailed(err)
	}
	return perr
}

// attach makes or resumes the session after the upgrade, with rcv (added
// to the attachments) as its listener, and greets the receiver.
func (rl *Relay) attach(rcv *receiver, resume string, app *App, ttl time.Duration, requester protocol.Requester) *protocol.Error {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	now := time.Now()
	var expiresAt time.Time
	if resume != "" {
		var perr *protocol.Error
		_, err := rl.store.update(ctx, rcv.sid, func(s *session.Session) session.Outcome {
			o := s.Listen(resume, rcv.id, now)
			perr, expiresAt = o.Reply.Err, s.ExpiresAt
			return o
		})
		switch {
		case errors.Is(err, errNoSession):
			return rules.CheckNewSession(resume, false)
		case err != nil:
			return rl.storeFailed(err)
		case perr != nil:
			return perr
		}
		rl.log.Info("receiver resumed", "sid_hash", sidHash(rcv.sid), "app", app.ID)
	} else {
		s := session.New(rcv.sid, app.ID, app.Name, requester, ttl, session.NewResume(), now)
		expiresAt = s.ExpiresAt
		err := rl.store.create(ctx, s, func(s *session.Session) session.Outcome { return s.Start(rcv.id, now) })
		switch {
		case errors.Is(err, errFull):
			return rules.AtCapacity()
		case errors.Is(err, errTaken):
			// Another listen won the sid between the check and here.
			if perr := rl.checkListen(ctx, rcv.sid, ""); perr != nil {
				return perr
			}
			return &protocol.Error{Code: protocol.CodeConflict, Message: "the session id is taken"}
		case err != nil:
			return rl.storeFailed(err)
		}
		rl.log.Info("session started", "sid_hash", sidHash(rcv.sid), "app", app.ID, "ttl_s", int(ttl/time.Second))
	}
	sid := rcv.sid
	rcv.expiry = time.AfterFunc(time.Until(expiresAt), func() { rl.expire(sid) })
	return nil
}

// readFrames reads the receiver's answers until its socket closes, then
// detaches it.
func (rl *Relay) readFrames(rcv *receiver) {
	defer func() {
		rl.att.remove(rcv)
		rcv.expiry.Stop()
		rl.detach(rcv)
		if !rcv.closed.Swap(true) {
			rcv.ping.Stop()
			_ = rcv.conn.CloseNow()
		}
	}()
	for {
		// No deadline or cancellation here: a receiver waits for minutes,
		// and a cancellable context costs memory for every one of them.
		// Closing the socket (expiry, delivery, Shutdown) ends the read.
		typ, b, err := rcv.conn.Read(context.Background())
		if err != nil {
			return
		}
		act := rules.ReceiverFrame(typ == websocket.MessageText, b)
		if c := act.Close(); c.Code != 0 {
			rl.metrics.errorCode(protocol.CodeBadRequest)
			rl.detach(rcv)
			rcv.close(c.Code, c.Reason)
			return
		}
		var ev event
		switch act {
		case rules.ActionPing:
			// Not a session event: it changes nothing.
			rl.pong(rcv)
			continue
		case rules.ActionAck:
			ev = func(s *session.Session) session.Outcome { return s.Ack(rcv.id, time.Now()) }
		case rules.ActionReject:
			ev = func(s *session.Session) session.Outcome { return s.Reject(rcv.id, time.Now()) }
		}
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		_, err = rl.store.update(ctx, rcv.sid, ev)
		cancel()
		if errors.Is(err, errNoSession) {
			return
		}
		if err != nil {
			// The answer is lost with the store: the receiver resumes and
			// is given the message again.
			rl.storeFailed(err)
			rcv.close(websocketGoingAway, "going away")
			return
		}
	}
}

// detach records that rcv is no longer attached to its session, unless
// another listener took its place.
func (rl *Relay) detach(rcv *receiver) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, err := rl.store.update(ctx, rcv.sid, func(s *session.Session) session.Outcome {
		s.Detach(rcv.id)
		return session.Outcome{}
	})
	if err != nil && !errors.Is(err, errNoSession) {
		rl.log.Debug("failed to detach a receiver", "sid_hash", sidHash(rcv.sid), "err", err)
	}
}

// pongWire is the pong frame's bytes.
var pongWire = []byte(protocol.PongJSON)

// pong answers a receiver's ping. A failed write closes the socket, which
// detaches the receiver.
func (rl *Relay) pong(rcv *receiver) {
	if err := rcv.sendWire(pongWire, &rl.bufs); err != nil {
		rl.receiverFailed(rcv, err)
		rcv.close(websocketInternalError, "")
	}
}

// Buffer sizes of an upgraded connection. A receiver's frames are tiny and
// the relay writes a few small frames per session, so net/http's 4 KB
// buffers would be most of what an idle receiver costs. The write buffer
// holds a control frame (at most 127 B); the relay's own frames go through
// a corked sockWriter, which gathers them from a pooled buffer.
const (
	receiverReadBuffer  = 128
	receiverWriteBuffer = 128
)

// smallBuffers hands the WebSocket library the hijacked connection with
// small buffers instead of net/http's, writing through a sockWriter.
type smallBuffers struct {
	http.ResponseWriter
	sock *sockWriter // set by Hijack
}

func (w *smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = conn
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent after its handshake, already read.
		b, _ := brw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn)
	}
	if err := brw.Writer.Flush(); err != nil {
		conn.Close()
		return nil, nil, err
	}
	w.sock = &sockWriter{conn: conn}
	return conn, bufio.NewReadWriter(bufio.NewReaderSize(r, receiverReadBuffer), bufio.NewWriterSize(w.sock, receiverWriteBuffer)), nil
}
