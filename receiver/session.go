package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/receiver/policy"
)

// EventType names what happened to a session.
type EventType string

// The events Next returns. After EventResult, EventDenied and EventExpired
// the session is over.
const (
	// EventScanned: a sender read the session. Nothing about them is told.
	EventScanned EventType = "scanned"
	// EventRejected: a sealed message did not open or did not validate; it
	// was rejected and the session waits on.
	EventRejected EventType = "rejected"
	// EventResult: a message opened, validated and was acknowledged.
	EventResult EventType = "result"
	// EventDenied: the person denied on their phone.
	EventDenied EventType = "denied"
	// EventExpired: the code can no longer be used: its time ran out, or
	// the relay ended it while this receiver was away (used, denied,
	// forgotten by a restarted relay, taken by another listener), which a
	// fresh code also cures (policy.Rotate). Event.Err says which, when the
	// relay did not simply send its expired frame.
	EventExpired EventType = "expired"
)

// Event is one thing that happened to a session.
type Event struct {
	Type EventType
	// Message is the opened plaintext, for EventResult.
	Message protocol.Message
	// CheckCode is the two-digit verify code, for EventResult.
	CheckCode string
	// Reason is what was sent to the relay, for EventRejected; Err says why.
	Reason protocol.RejectReason
	// Err is why a message was rejected (EventRejected), or why the code
	// ended without the relay's expired frame (EventExpired).
	Err error
}

// Session is one code: its session id, its key, and the connection that
// waits on it. Its methods are not safe for concurrent use.
type Session struct {
	r         *Receiver
	sid       string
	key       *protocol.PrivateKey
	link      protocol.Link
	conn      *websocket.Conn
	expiresAt time.Time // on this machine's clock (policy.Deadline)
	resume    string
	ended     bool

	// Keepalive (policy.Keepalive): when the relay's last frame arrived on
	// conn, as time since epoch (the monotonic clock), which the WebSocket
	// ping callback writes while a keepalive goroutine reads; and when
	// this receiver last pinged on conn (zero for not yet).
	epoch  time.Time
	heard  atomic.Int64
	pinged time.Time
}

// Link returns the link the QR code holds.
func (s *Session) Link() string { return s.link.String() }

// SessionID returns the session id.
func (s *Session) SessionID() string { return s.sid }

// ExpiresAt returns when the code expires, on this machine's clock: the
// relay's expires_at, unless the two clocks disagree by more than the ttl
// (policy.Deadline).
func (s *Session) ExpiresAt() time.Time { return s.expiresAt }

// Close destroys the key and closes the connection. The relay keeps the
// session until it expires; a sender then finds it pending or expired.
func (s *Session) Close() {
	s.ended = true
	s.key.Destroy()
	if s.conn != nil {
		s.conn.CloseNow()
		s.conn = nil
	}
}

// Next waits for the next event. It answers sealed messages itself: a
// message that opens and validates is acknowledged and returned as
// EventResult; any other is rejected (the reason the protocol names) and
// returned as EventRejected, and the session goes on waiting. A dropped
// connection is resumed until the session expires; what a close or a
// refusal means is package policy's to say, as for the browser widget.
// While it waits, Next keeps the connection alive (policy.Keepalive): it
// pings a quiet relay and resumes a connection that stopped answering.
// Frames it cannot read, such as a later revision's, are ignored.
func (s *Session) Next(ctx context.Context) (Event, error) {
	if s.ended {
		return Event{}, ErrEnded
	}
	for {
		data, err := s.read(ctx)
		if err != nil {
			if ev, end, err := s.readFailed(ctx, err); end {
				return ev, err
			}
			continue
		}
		f, err := protocol.ParseFrame(data)
		if err != nil {
			// A frame type this version does not know (docs/protocol.md
			// 6.4: receivers ignore them, so that later revisions can add
			// some), or one it cannot read, as the widget ignores it too.
			continue
		}
		switch f.Type {
		case protocol.FrameReady: // after a resume: nothing new
		case protocol.FramePong: // the answer to a ping: read() heard it
		case protocol.FrameScanned:
			return Event{Type: EventScanned}, nil
		case protocol.FrameDenied:
			s.end()
			return Event{Type: EventDenied}, nil
		case protocol.FrameExpired:
			s.end()
			return Event{Type: EventExpired}, nil
		case protocol.FrameSealed:
			ev, answered, err := s.open(ctx, f.Sealed)
			if err != nil {
				return Event{}, err
			}
			if answered {
				return ev, nil
			}
			// The answer was lost with the connection, which is resumed:
			// the relay hands the sealed message over again.
		default:
			// A receiver's frame (ack, reject, ping) from the relay makes no
			// sense; like an unknown frame, it changes nothing.
		}
	}
}

// read reads the relay's next frame, keeping the connection alive while
// it waits: a goroutine pings a quiet relay, and closes a connection on
// which nothing answered the ping (policy.Keepalive), which fails the read
// with errRelaySilent.
func (s *Session) read(ctx context.Context) ([]byte, error) {
	stop := make(chan struct{})
	dead := make(chan bool, 1)
	go func() { dead <- s.keepalive(ctx, stop) }()
	_, data, err := s.conn.Read(ctx)
	close(stop)
	if <-dead && err != nil {
		return nil, errRelaySilent
	}
	if err == nil {
		s.hear()
	}
	return data, err
}

// keepalive does what policy.Keepalive says until stop is closed, and
// reports whether it closed the connection as dead.
func (s *Session) keepalive(ctx context.Context, stop <-chan struct{}) (dead bool) {
	interval := s.r.cfg.PingInterval
	var t *time.Timer
	for {
		now := time.Now()
		beat, next := policy.Keepalive(s.epoch.Add(time.Duration(s.heard.Load())), s.pinged, interval, now)
		switch beat {
		case policy.Ping:
			s.pinged = now
			// Write may run beside Read. A write that cannot finish
			// within the interval closes the connection, and the read
			// fails as after any drop.
			wctx, cancel := context.WithTimeout(ctx, interval)
			err := s.conn.Write(wctx, websocket.MessageText, []byte(protocol.PingJSON))
			cancel()
			if err != nil {
				return false // the read fails too, and its error says why
			}
		case policy.Dead:
			s.conn.CloseNow()
			return true
		}
		if t == nil {
			t = time.NewTimer(time.Until(next))
			defer t.Stop()
		} else {
			t.Reset(time.Until(next))
		}
		select {
		case <-stop:
			return false
		case <-t.C:
		}
	}
}

// hear notes that a frame from the relay arrived just now: a text frame,
// or a WebSocket ping, which only a relay that is there can send.
func (s *Session) hear() { s.heard.Store(int64(time.Since(s.epoch))) }

// open opens a sealed message and answers the relay. answered is false
// when the connection dropped before the answer went out and was resumed.
func (s *Session) open(ctx context.Context, sealed []byte) (ev Event, answered bool, err error) {
	m, checkCode, err := protocol.OpenMessage(s.key, s.link.App, s.sid, sealed, time.Now())
	reply := protocol.Frame{Type: protocol.FrameAck}
	ev = Event{Type: EventResult, Message: m, CheckCode: checkCode}
	if err != nil {
		reply = protocol.Frame{Type: protocol.FrameReject, Reason: protocol.RejectReasonFor(err)}
		ev = Event{Type: EventRejected, Reason: reply.Reason, Err: err}
	}
	if werr := s.conn.Write(ctx, websocket.MessageText, reply.AppendJSON(nil)); werr != nil {
		if ev, end, err := s.readFailed(ctx, werr); end {
			return ev, true, err
		}
		return Event{}, false, nil
	}
	if ev.Type == EventResult {
		s.end()
	}
	return ev, true, nil
}

// readFailed handles a failed read or write as policy says: a dropped
// connection is resumed, a session the relay ended for this receiver is
// EventExpired (rotate), and a refusal for good is an error. end reports
// whether Next must return ev and err.
func (s *Session) readFailed(ctx context.Context, err error) (ev Event, end bool, _ error) {
	act := action(err)
	if act == policy.Retry && ctx.Err() == nil {
		if err = s.reconnect(ctx); err == nil {
			return Event{}, false, nil
		}
		act = action(err)
	}
	s.end()
	switch {
	case ctx.Err() != nil:
		return Event{}, true, ctx.Err()
	case act == policy.Rotate:
		return Event{Type: EventExpired, Err: err}, true, nil
	}
	return Event{}, true, fmt.Errorf("the relay ended the session: %w", err)
}

// errRelaySilent reports a connection on which the relay answered nothing,
// not even a ping, for another ping interval (policy.Dead). It is resumed
// as after a drop.
var errRelaySilent = errors.New("the relay did not answer a ping")

// errMissedDeadline reports a code whose time ran out while the relay
// could not be reached: the session is expired whatever the relay says
// when it is back, so the code rotates.
var errMissedDeadline = errors.New("the code expired before the relay could be reached again")

// action is what policy says about a failed read, write or listen: by the
// relay's error code when it gave one, by the WebSocket close code when it
// closed, and Retry for a connection that simply failed.
func action(err error) policy.Action {
	var perr *protocol.Error
	var ce websocket.CloseError
	switch {
	case errors.Is(err, errMissedDeadline):
		return policy.Rotate
	case errors.Is(err, errRelaySilent):
		return policy.Retry // policy.Dead says: resume
	case errors.As(err, &perr):
		return policy.AfterError(perr.Code)
	case errors.As(err, &ce):
		return policy.AfterClose(int(ce.Code), ce.Reason)
	}
	return policy.Retry
}

// reconnect resumes the session after a dropped connection, retrying with
// policy.Backoff while policy says Retry and the code has time left.
func (s *Session) reconnect(ctx context.Context) error {
	s.conn.CloseNow()
	for n := 1; ; n++ {
		err := s.connect(ctx, s.resume)
		if err == nil || ctx.Err() != nil || action(err) != policy.Retry {
			return err
		}
		wait := policy.Backoff(n)
		if !time.Now().Add(wait).Before(s.expiresAt) {
			return fmt.Errorf("%w: %w", errMissedDeadline, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// connect opens the listen WebSocket and waits for the ready frame.
func (s *Session) connect(ctx context.Context, resume string) error {
	r := s.r
	ttl := int(r.cfg.TTL / time.Second)
	u := protocol.ListenURL(r.relay, s.sid, protocol.ListenParams{App: r.cfg.App, TTL: ttl, Resume: resume})
	header := http.Header{"User-Agent": {r.cfg.UserAgent}}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPClient: r.client,
		HTTPHeader: header,
		// A relay that can send WebSocket pings does (docs/protocol.md
		// 6.4); each one proves the connection, so this receiver pings
		// only a relay that does not.
		OnPingReceived: func(context.Context, []byte) bool {
			s.hear()
			return true // and answer it
		},
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			var body []byte
			if resp.Body != nil {
				// The websocket package kept the first 1024 bytes.
				body, _ = io.ReadAll(resp.Body)
			}
			return fmt.Errorf("failed to listen: %w", statusError(resp, body))
		}
		return fmt.Errorf("failed to listen: %w", err)
	}
	// A sealed frame is the base64 of up to a relay's message limit; leave
	// room for relays configured above the protocol's default.
	conn.SetReadLimit(1 << 20)
	_, data, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			if perr, ok := protocol.ErrorFromClose(int(ce.Code), ce.Reason); ok {
				return fmt.Errorf("failed to listen: %w", perr)
			}
		}
		return fmt.Errorf("failed to listen: %w", err)
	}
	f, err := protocol.ParseFrame(data)
	if err != nil || f.Type != protocol.FrameReady {
		conn.CloseNow()
		return fmt.Errorf("failed to listen: the relay's first frame is not ready: %q", data)
	}
	s.conn, s.resume = conn, f.Resume
	s.hear()
	s.pinged = time.Time{}
	if s.expiresAt.IsZero() {
		// The first ready sets the deadline; a resume's repeats it, and a
		// clock that fell back to the ttl must not move it.
		s.expiresAt = policy.Deadline(time.UnixMilli(f.ExpiresAt), r.TTL(), time.Now())
	}
	return nil
}

// end marks the session over and closes the connection; the key stays
// until Close.
func (s *Session) end() {
	s.ended = true
	if s.conn != nil {
		s.conn.CloseNow()
	}
}
