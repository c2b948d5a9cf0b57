package server

import (
	"context"
	"errors"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// The relay keeps three things apart:
//
//   - the sessions, the truth that every node shares: a sessionStore, in
//     this process's memory (memoryStore) or in Redis (redisStore), which
//     loads, changes and saves one session at a time under that session's
//     own lock or transaction, with package session's rules;
//   - what only this process has: the receivers' sockets by listener id,
//     the senders waiting on a delivery, the expiry timers (attachments,
//     attach.go);
//   - the notes that carry an event's outcome (the receiver's frames, its
//     close, the waiting senders' answer) to whichever node holds the
//     socket or the senders: a direct call in memory, Redis pub/sub across
//     nodes. The store sends them as part of saving the change, so that a
//     receiver gets its frames in the order the events happened wherever
//     they happened.

// sessionStore keeps the sessions.
type sessionStore interface {
	// create stores s, a new session, after running ev (its first listen)
	// on it, unless the sid is taken (errTaken) or maxLive sessions are
	// live (errFull).
	create(ctx context.Context, s *session.Session, ev event) error
	// update runs ev on the session sid under the session's lock or
	// transaction (more than once when a transaction must be retried),
	// stores what ev left and carries out the outcome's notes. It returns
	// errNoSession when there is no such session.
	update(ctx context.Context, sid string, ev event) (session.Outcome, error)
	// live is how many sessions have not ended, for the cap and the gauge.
	live(ctx context.Context) (int64, error)
	// sweep expires the sessions past their time that no timer expired and
	// forgets tombstones past the tombstone ttl, where the store does not
	// do it by itself.
	sweep(now time.Time)
	// health is nil while the store works, or what stops it.
	health(ctx context.Context) error
	// close lets go of the store's connections; sessions in memory are lost.
	close() error
}

// An event is one of package session's events on a loaded session.
type event func(s *session.Session) session.Outcome

// Store errors. Any other error from a store means it cannot be reached
// right now: the relay answers unavailable.
var (
	errNoSession = errors.New("no such session")
	errTaken     = errors.New("the session id is taken")
	errFull      = errors.New("the live session cap is reached")
)

// storeHooks is what a store tells its relay, on the node where an event
// happened, once the event's change is stored and before its notes are
// carried out: a waiting sender who has its answer finds the metrics
// counted. created is set for create's event.
type storeHooks struct {
	committed func(s *session.Session, o session.Outcome, created bool)
}

// A note carries an event's outcome (session.Outcome, in its order) to the
// node that holds the receivers and waiting senders it is for.
type note struct {
	sid string
	// replaced is the listener to close with replace.
	replaced string
	replace  session.Close
	// listener is the receiver frames (or wire: the same, as JSON text
	// frames) and close are for.
	listener string
	frames   []protocol.Frame
	wire     [][]byte
	close    session.Close
	// settle answers the senders waiting on the delivery whose bytes have
	// the SHA-256 sum.
	settle *session.Reply
	sum    session.Sum
}

// noteOf is the note of an event on session sid; held is the sum of the
// delivery held before the event, which a settle answers.
func noteOf(sid string, held session.Sum, o *session.Outcome) note {
	n := note{sid: sid, settle: o.Settle, sum: held}
	if o.Replace.Code != 0 && o.Replaced != "" {
		n.replaced, n.replace = o.Replaced, o.Replace
	}
	if len(o.Frames) > 0 || o.Close.Code != 0 {
		n.listener, n.frames, n.close = o.Listener, o.Frames, o.Close
	}
	return n
}

// forReceiver reports whether the note has frames or a close for a
// receiver.
func (n *note) forReceiver() bool {
	return n.listener != "" && (len(n.frames) > 0 || len(n.wire) > 0 || n.close.Code != 0)
}
