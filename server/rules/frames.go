package rules

import (
	"strconv"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// MaxFrameSize is the longest message the relay reads from a receiver: it
// only ever sends ack, reject and ping, all far shorter.
const MaxFrameSize = 256

// CloseMessageTooBig is the WebSocket close code for a receiver's message
// over MaxFrameSize (RFC 6455's 1009).
const CloseMessageTooBig = 1009

// Action is what the relay does with a message from its receiver.
type Action uint8

// The actions, one per kind of message a receiver can send.
const (
	// ActionBad: not a frame a receiver may send (binary, not JSON, an
	// unknown type, a reject without a known reason, a relay's frame). The
	// relay detaches the receiver and closes with 4400 bad_request.
	ActionBad Action = iota
	// ActionTooBig: a message over MaxFrameSize. The relay detaches the
	// receiver and closes with 1009.
	ActionTooBig
	// ActionAck: session.Session.Ack.
	ActionAck
	// ActionReject: session.Session.Reject.
	ActionReject
	// ActionPing: answer protocol.PongJSON at once and do nothing else. It
	// is not a session event: the session is neither loaded nor changed,
	// and no timer or deadline moves.
	ActionPing
)

// String names the action, for logs and tests.
func (a Action) String() string {
	switch a {
	case ActionBad:
		return "bad"
	case ActionTooBig:
		return "too big"
	case ActionAck:
		return "ack"
	case ActionReject:
		return "reject"
	case ActionPing:
		return "ping"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Close is how the relay closes the receiver's socket after the action;
// the zero Close (keep it open) for ack, reject and ping.
func (a Action) Close() session.Close {
	switch a {
	case ActionBad:
		return session.Close{Code: protocol.CodeBadRequest.CloseCode(), Reason: string(protocol.CodeBadRequest)}
	case ActionTooBig:
		return session.Close{Code: CloseMessageTooBig, Reason: "frame over 256 bytes"}
	}
	return session.Close{}
}

// ReceiverFrame says what a message from the receiver asks for; text
// reports a WebSocket text message (binary ones are refused). The exact
// bytes protocol.PingJSON are recognised without parsing; anything else is
// read with protocol.ParseFrame, so a ping written with white space is a
// ping too.
func ReceiverFrame(text bool, b []byte) Action {
	if len(b) > MaxFrameSize {
		return ActionTooBig
	}
	if !text {
		return ActionBad
	}
	if string(b) == protocol.PingJSON {
		return ActionPing
	}
	f, err := protocol.ParseFrame(b)
	if err != nil {
		return ActionBad
	}
	switch f.Type {
	case protocol.FrameAck:
		return ActionAck
	case protocol.FrameReject:
		return ActionReject
	case protocol.FramePing:
		return ActionPing
	}
	return ActionBad
}
