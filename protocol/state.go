package protocol

// State is a session's state as the relay names it: in a sender's GET
// (SessionInfo.State), in the answer to a POST or a deny (StateBody.State),
// and wherever scanin counts or logs sessions (the relay's phases and its
// handoff metrics). It is the one list of these names; every other package
// derives from it rather than spelling them again.
//
// A session moves waiting → scanned → delivered, back to waiting when the
// receiver rejects a message, and ends delivered, denied or expired.
// Pending is not a place in that life but the answer to a POST whose
// message the relay holds: the session is still waiting or scanned.
type State string

// The states, in the order a session meets them.
const (
	// StateWaiting: the code is showing and no sender has read the session
	// yet, or the receiver rejected the last message. A sender's first GET
	// reports it.
	StateWaiting State = "waiting"
	// StateScanned: a sender read the session; the receiver was told, and
	// shows "Confirm on your phone".
	StateScanned State = "scanned"
	// StatePending: the answer (202) to a POST whose message the relay
	// holds because the receiver is away or did not ack within AckWait; it
	// is handed over when the receiver resumes.
	StatePending State = "pending"
	// StateDelivered: the receiver acked the message (200 to the POST).
	// Final.
	StateDelivered State = "delivered"
	// StateDenied: a sender denied the session (200 to the deny). Final.
	StateDenied State = "denied"
	// StateExpired: the session's ttl ran out before a delivery. Final; a
	// late caller gets the error code CodeExpired, the receiver the expired
	// frame.
	StateExpired State = "expired"
)

// States lists every state, for tables, metrics and tests.
var States = [...]State{StateWaiting, StateScanned, StatePending, StateDelivered, StateDenied, StateExpired}

// String returns the wire name.
func (s State) String() string { return string(s) }

// Known reports whether s is one of the protocol's states. A newer relay
// may report a state this version does not know; a client keeps the name
// rather than failing.
func (s State) Known() bool {
	for _, k := range States {
		if s == k {
			return true
		}
	}
	return false
}

// Ended reports whether s is final: after it the session takes no
// delivery, and callers get already_used or expired.
func (s State) Ended() bool {
	return s == StateDelivered || s == StateDenied || s == StateExpired
}
