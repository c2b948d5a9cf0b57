// Package session holds the relay's session rules and nothing else: no
// sockets, no clocks, no maps, no locks. A Session is plain data; each method
// is one event of docs/protocol.md's Relay API, takes the time it happens, changes
// the session and returns an Outcome saying what the transport must do.
//
// Keeping the rules here, apart from any transport, lets the in-memory relay
// (package server), an edge relay (one session per Durable Object) and a
// multi-node relay (sessions in Redis) share them: each loads a Session, calls
// one method under whatever lock or transaction it has, stores the Session
// back and carries out the Outcome. A store that keeps sessions as bytes
// uses MarshalBinary and UnmarshalBinary (a versioned layout, so bytes
// written by an older release still read), and AlarmAt for when it must
// next act on a session it holds.
//
// The life of a session:
//
//	waiting ──read──▶ scanned ──ack──▶ delivered
//	   ▲                 │
//	   └──────reject─────┘        (from waiting or scanned)
//	                              ──deny──▶ denied
//	                              ──time──▶ expired
//
// A receiver attached to the session is its listener, named by an id the
// transport gives it (unique among the transport's sockets: on several
// nodes, unique across them). Only the current listener may detach, ack or
// reject: a socket that was replaced (a resume took over) may still be
// closing, and its late events change nothing.
//
// A delivery is the one message a sender POSTed; it is held until the
// receiver acks it (the session ends delivered) or rejects it (the session
// goes back to waiting and another message may be tried). Only a message
// with the same bytes as the one held (compared by SHA-256) is treated as the
// same delivery; any other gets conflict while one is held.
package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"github.com/scanin/scanin/protocol"
)

// Sum identifies a delivery's bytes without keeping them.
type Sum [sha256.Size]byte

// SumOf returns the Sum of a sealed message.
func SumOf(sealed []byte) Sum { return sha256.Sum256(sealed) }

// Rules are the limits a session obeys.
type Rules struct {
	// AckWait is how long a delivery waits for the receiver's answer before
	// the sender is told pending.
	AckWait time.Duration
}

// Session is one sid's state. Every field is plain data, so a store can copy
// or serialise it; only this package's methods should change it.
type Session struct {
	ID        string
	App       string
	AppName   string
	Requester protocol.Requester
	// StartedAt is when the first listener was accepted.
	StartedAt time.Time
	// ExpiresAt is when a session that has not ended expires.
	ExpiresAt time.Time
	// Resume is the secret a receiver presents to reconnect.
	Resume string
	// State is where the session is in its life: waiting, scanned, or one
	// of the final delivered, denied and expired. Never pending, which
	// describes a held delivery, not the session.
	State protocol.State
	// EndedAt is when the session reached a final state.
	EndedAt time.Time
	// Listener is the id of the receiver attached right now, "" when none.
	Listener string

	// Held is the delivery: the sealed message accepted from a sender and
	// not yet answered by the receiver. nil when there is none.
	Held []byte
	// HeldSum identifies the delivery; after an ack it identifies the
	// delivered message, so a retry with the same bytes learns it succeeded.
	HeldSum Sum
	// HeldAt is when the delivery was accepted, for latency figures.
	HeldAt time.Time
	// Sent reports that the attached receiver was given Held and has not
	// answered yet; AckDeadline is when its sender stops waiting.
	Sent        bool
	AckDeadline time.Time
}

// New makes a session for a receiver's first listen. The caller has checked
// the sid, app and ttl, and made resume from a CSPRNG.
func New(id, app, appName string, requester protocol.Requester, ttl time.Duration, resume string, now time.Time) *Session {
	return &Session{
		ID:        id,
		App:       app,
		AppName:   appName,
		Requester: requester,
		StartedAt: now,
		ExpiresAt: now.Add(ttl),
		Resume:    resume,
		State:     protocol.StateWaiting,
	}
}

// Reply is the answer for a request: an error, a state for a sender's POST
// (delivered, pending, denied), or Wait.
type Reply struct {
	Err   *protocol.Error
	State protocol.State
	// Wait tells the transport to hold a sender's POST until the delivery
	// settles (Outcome.Settle) or AckDeadline passes, and then answer
	// pending.
	Wait bool
}

// Close is how the transport closes a receiver's socket. The zero value
// means keep it open.
type Close struct {
	Code   int
	Reason string
}

// Normal is the close after a session ended the way the protocol expects.
var normal = Close{Code: 1000}

// Outcome is what the transport does after an event, in this order:
//  1. close the listener Replaced (attached before the event) with Replace,
//  2. send Frames to the listener Listener,
//  3. close that listener with Close,
//  4. answer every sender waiting on the delivery with Settle,
//  5. answer the caller with Reply.
//
// Listener is named even when the event ended the session, which detaches
// it: the frames telling it so are for it.
type Outcome struct {
	Reply    Reply
	Replaced string
	Replace  Close
	Listener string
	Frames   []protocol.Frame
	Close    Close
	Settle   *Reply
	// Ended is set when the session reached a final state in this event.
	Ended bool
	// Latency is set on an ack: the time from accepting the delivery to the
	// receiver's ack.
	Latency time.Duration
}

func fail(code protocol.Code, msg string) Reply {
	return Reply{Err: &protocol.Error{Code: code, Message: msg}}
}

// endedError is the error for a caller who arrives after the session ended.
func (s *Session) endedError() Reply {
	if s.State == protocol.StateExpired {
		return fail(protocol.CodeExpired, "the session expired")
	}
	return fail(protocol.CodeAlreadyUsed, "the session was already "+string(s.State))
}

// Expire ends a session whose time ran out. It does nothing before
// ExpiresAt or to a session that already ended. Every other event calls it
// first, so a session is never used past its time even if the store's timer
// is late.
func (s *Session) Expire(now time.Time) Outcome {
	if s.State.Ended() || now.Before(s.ExpiresAt) {
		return Outcome{}
	}
	o := Outcome{Ended: true}
	if s.Listener != "" {
		o.Listener = s.Listener
		o.Frames = []protocol.Frame{{Type: protocol.FrameExpired}}
		o.Close = normal
	}
	if s.Held != nil {
		r := fail(protocol.CodeExpired, "the session expired before the receiver answered")
		o.Settle = &r
	}
	// It ended when its time ran out, however late this is noticed.
	s.end(protocol.StateExpired, s.ExpiresAt)
	return o
}

func (s *Session) end(state protocol.State, now time.Time) {
	s.State = state
	s.EndedAt = now
	s.Held = nil
	s.Sent = false
	s.Listener = ""
	// What the relay saw of the receiver is not needed to answer late
	// callers; forget it rather than keep it for the tombstone's lifetime.
	s.Requester = protocol.Requester{}
	s.Resume = ""
}

// CheckListen tells a listen for an existing sid whether Listen would accept
// it, without changing anything, so the transport can answer over HTTP
// before the WebSocket upgrade.
func (s *Session) CheckListen(resume string, now time.Time) *protocol.Error {
	c := *s
	o := c.Listen(resume, "check", now)
	return o.Reply.Err
}

// Listen attaches the receiver listener (a non-empty id) to an existing
// session. Only one who presents the session's resume value may; it
// replaces any listener still attached (the old socket is usually a dead
// connection the relay has not noticed yet). The receiver is sent ready,
// then scanned if a sender read the session, then the held delivery if
// there is one.
func (s *Session) Listen(resume, listener string, now time.Time) Outcome {
	o := s.Expire(now)
	if s.State.Ended() {
		o.Reply = s.endedError()
		return o
	}
	if resume == "" || subtle.ConstantTimeCompare([]byte(resume), []byte(s.Resume)) != 1 {
		o.Reply = fail(protocol.CodeConflict, "the session id is taken")
		return o
	}
	if s.Listener != "" {
		o.Replaced = s.Listener
		o.Replace = Close{Code: protocol.CodeConflict.CloseCode(), Reason: string(protocol.CodeConflict)}
	}
	return s.greet(o, listener, now)
}

// Start is the first listen of a new session: it attaches the receiver
// listener (a non-empty id) and returns the ready frame.
func (s *Session) Start(listener string, now time.Time) Outcome {
	return s.greet(Outcome{}, listener, now)
}

func (s *Session) greet(o Outcome, listener string, now time.Time) Outcome {
	s.Listener = listener
	o.Listener = listener
	o.Frames = append(o.Frames, protocol.Frame{Type: protocol.FrameReady, ExpiresAt: s.ExpiresAt.UnixMilli(), Resume: s.Resume})
	switch {
	case s.Held != nil:
		o.Frames = append(o.Frames, protocol.Frame{Type: protocol.FrameSealed, Sealed: s.Held})
		s.Sent = true
		// The receiver answers quickly once it has the message; the sender
		// who was told pending is long gone, so the deadline only informs
		// retry_after.
		if s.AckDeadline.Before(now) {
			s.AckDeadline = now
		}
	case s.State == protocol.StateScanned:
		o.Frames = append(o.Frames, protocol.Frame{Type: protocol.FrameScanned})
	}
	return o
}

// Detach records that the socket of the receiver listener is gone, and
// reports whether it was the one attached: a listener that was replaced
// changes nothing. The session lives on until it expires, waiting for a
// resume; a delivery it was given is given again on resume.
func (s *Session) Detach(listener string) bool {
	if listener == "" || listener != s.Listener {
		return false
	}
	s.Listener = ""
	s.Sent = false
	return true
}

// Read is a sender's GET. It reports the state before the read (waiting or
// scanned) and tells an attached receiver scanned the first time.
func (s *Session) Read(now time.Time) (state protocol.State, o Outcome) {
	o = s.Expire(now)
	if s.State.Ended() {
		o.Reply = s.endedError()
		return s.State, o
	}
	state = s.State
	if s.State == protocol.StateWaiting {
		s.State = protocol.StateScanned
		if s.Listener != "" && s.Held == nil {
			o.Listener = s.Listener
			o.Frames = []protocol.Frame{{Type: protocol.FrameScanned}}
		}
	}
	return state, o
}

// Deliver is a sender's POST of a sealed message whose SHA-256 is sum.
// rules.AckWait bounds how long the sender waits for the receiver.
func (s *Session) Deliver(sealed []byte, sum Sum, rules Rules, now time.Time) Outcome {
	o := s.Expire(now)
	if s.State.Ended() {
		if s.State == protocol.StateDelivered && sum == s.HeldSum {
			o.Reply = Reply{State: protocol.StateDelivered}
			return o
		}
		o.Reply = s.endedError()
		return o
	}
	if s.Held != nil {
		if sum != s.HeldSum {
			o.Reply = fail(protocol.CodeConflict, "another message is being delivered")
			o.Reply.Err.RetryAfterMS = s.retryAfter(rules, now)
			return o
		}
		// The same bytes again: that delivery's current state.
		if s.Sent {
			if s.AckDeadline.Before(now.Add(rules.AckWait)) {
				s.AckDeadline = now.Add(rules.AckWait)
			}
			o.Reply = Reply{Wait: true}
			return o
		}
		o.Reply = Reply{State: protocol.StatePending}
		return o
	}
	s.Held = sealed
	s.HeldSum = sum
	s.HeldAt = now
	if s.Listener == "" {
		o.Reply = Reply{State: protocol.StatePending}
		return o
	}
	s.Sent = true
	s.AckDeadline = now.Add(rules.AckWait)
	o.Listener = s.Listener
	o.Frames = []protocol.Frame{{Type: protocol.FrameSealed, Sealed: sealed}}
	o.Reply = Reply{Wait: true}
	return o
}

// retryAfter is the conflict's hint, in milliseconds: when the delivery in
// flight will have been answered, or at the latest when the session expires.
func (s *Session) retryAfter(rules Rules, now time.Time) int64 {
	wait := rules.AckWait
	if s.Sent && s.AckDeadline.After(now) {
		wait = s.AckDeadline.Sub(now)
	}
	if left := s.ExpiresAt.Sub(now); left < wait {
		wait = left
	}
	ms := wait.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return ms
}

// Ack is the receiver listener's ack: the held delivery is delivered and
// the session ends. An ack with nothing held, or from a listener that is
// not the one attached, is ignored.
func (s *Session) Ack(listener string, now time.Time) Outcome {
	o := s.Expire(now)
	if s.State.Ended() || s.Held == nil || listener == "" || listener != s.Listener {
		return o
	}
	o.Latency = now.Sub(s.HeldAt)
	o.Settle = &Reply{State: protocol.StateDelivered}
	o.Listener = s.Listener
	o.Close = normal
	o.Ended = true
	s.end(protocol.StateDelivered, now)
	return o
}

// Reject is the receiver listener's reject: the held delivery is dropped
// and the session goes back to waiting, so a sender who knows only the sid
// cannot burn it. A reject with nothing held, or from a listener that is
// not the one attached, is ignored.
func (s *Session) Reject(listener string, now time.Time) Outcome {
	o := s.Expire(now)
	if s.State.Ended() || s.Held == nil || listener == "" || listener != s.Listener {
		return o
	}
	r := fail(protocol.CodeRejected, "the receiver could not open the message")
	o.Settle = &r
	s.Held = nil
	s.HeldSum = Sum{}
	s.Sent = false
	s.State = protocol.StateWaiting
	return o
}

// Deny is a sender's deny: the session ends and the receiver is told. A
// delivery the receiver is reading right now wins: the sender gets conflict.
func (s *Session) Deny(rules Rules, now time.Time) Outcome {
	o := s.Expire(now)
	if s.State.Ended() {
		o.Reply = s.endedError()
		return o
	}
	if s.Held != nil && s.Sent {
		o.Reply = fail(protocol.CodeConflict, "a message is being delivered")
		o.Reply.Err.RetryAfterMS = s.retryAfter(rules, now)
		return o
	}
	if s.Listener != "" {
		o.Listener = s.Listener
		o.Frames = []protocol.Frame{{Type: protocol.FrameDenied}}
		o.Close = normal
	}
	if s.Held != nil {
		r := fail(protocol.CodeAlreadyUsed, "the session was denied")
		o.Settle = &r
	}
	o.Ended = true
	o.Reply = Reply{State: protocol.StateDenied}
	s.end(protocol.StateDenied, now)
	return o
}

// Forgettable reports whether the store may drop the session: it ended at
// least tombstone ago, so late callers have had their already_used or
// expired and may now get not_found.
func (s *Session) Forgettable(tombstone time.Duration, now time.Time) bool {
	return s.State.Ended() && now.Sub(s.EndedAt) >= tombstone
}

// Info is the body of a sender's GET, given the state Read returned and
// what the relay sees of the sender.
func (s *Session) Info(state protocol.State, sender protocol.Peer) protocol.SessionInfo {
	return protocol.SessionInfo{
		App:       s.App,
		AppName:   s.AppName,
		State:     state,
		ExpiresAt: s.ExpiresAt.UnixMilli(),
		Requester: s.Requester,
		Sender:    sender,
	}
}
