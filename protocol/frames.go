package protocol

import "errors"

// FrameType names a WebSocket text frame between relay and receiver.
type FrameType string

// Frames from the relay to the receiver.
const (
	FrameReady   FrameType = "ready"
	FrameScanned FrameType = "scanned"
	FrameSealed  FrameType = "sealed"
	FrameDenied  FrameType = "denied"
	FrameExpired FrameType = "expired"
	// FramePong is the relay's answer to a FramePing, sent at once.
	FramePong FrameType = "pong"
)

// Frames from the receiver to the relay.
const (
	FrameAck    FrameType = "ack"
	FrameReject FrameType = "reject"
	// FramePing is the receiver's keepalive (docs/protocol.md 6.4): the
	// relay answers FramePong and changes nothing else.
	FramePing FrameType = "ping"
)

// PingJSON and PongJSON are the keepalive frames' exact bytes, without
// white space, as receivers send them and relays answer: a relay may
// recognise a ping by comparing bytes instead of parsing JSON (an edge
// relay's WebSocket auto-response does), and AppendJSON of a FramePing or
// FramePong Frame writes exactly these.
const (
	PingJSON = `{"type":"ping"}`
	PongJSON = `{"type":"pong"}`
)

// RejectReason says why a receiver refused a sealed message.
type RejectReason string

// The reasons a receiver may give in a reject frame.
const (
	// RejectDecrypt: the message did not open, or its plaintext is not a
	// protocol message at all.
	RejectDecrypt RejectReason = "decrypt"
	// RejectStale: the plaintext's iat is outside the accepted window.
	RejectStale RejectReason = "stale"
	// RejectKind: the plaintext has an unknown version or kind.
	RejectKind RejectReason = "kind"
)

// ErrFrame reports a frame that is not one the protocol defines.
var ErrFrame = errors.New("malformed frame")

// Frame is one WebSocket text frame. Only the fields of its Type are used.
type Frame struct {
	Type      FrameType
	ExpiresAt int64        // ready: Unix milliseconds
	Resume    string       // ready: the opaque resume value
	Sealed    []byte       // sealed: enc followed by the AEAD ciphertext
	Reason    RejectReason // reject
}

// AppendJSON appends the frame's wire form to dst.
func (f Frame) AppendJSON(dst []byte) []byte {
	w := newJSONObject(dst)
	w.str("type", string(f.Type))
	switch f.Type {
	case FrameReady:
		w.int("expires_at", f.ExpiresAt)
		w.str("resume", f.Resume)
	case FrameSealed:
		w.str("data", b64.EncodeToString(f.Sealed))
	case FrameReject:
		w.str("reason", string(f.Reason))
	}
	return w.close()
}

// MarshalJSON writes the frame's wire form.
func (f Frame) MarshalJSON() ([]byte, error) { return f.AppendJSON(nil), nil }

// ParseFrame reads a frame and checks that it carries the fields its type
// needs. Unknown extra fields are ignored, as a later minor revision may add
// some; an unknown type is an error.
func ParseFrame(b []byte) (Frame, error) {
	v, err := parseJSON(b)
	if err != nil || v.kind != jsonObject {
		return Frame{}, ErrFrame
	}
	t, ok := v.field("type")
	if !ok || t.kind != jsonString {
		return Frame{}, ErrFrame
	}
	f := Frame{Type: FrameType(t.text)}
	switch f.Type {
	case FrameScanned, FrameDenied, FrameExpired, FrameAck, FramePing, FramePong:
	case FrameReady:
		exp, ok1 := v.field("expires_at")
		res, ok2 := v.field("resume")
		if !ok1 || !ok2 || res.kind != jsonString {
			return Frame{}, ErrFrame
		}
		if f.ExpiresAt, ok = exp.int64(); !ok {
			return Frame{}, ErrFrame
		}
		f.Resume = res.text
	case FrameSealed:
		d, ok := v.field("data")
		if !ok || d.kind != jsonString {
			return Frame{}, ErrFrame
		}
		if f.Sealed, err = b64.DecodeString(d.text); err != nil {
			return Frame{}, ErrFrame
		}
	case FrameReject:
		r, ok := v.field("reason")
		if !ok || r.kind != jsonString {
			return Frame{}, ErrFrame
		}
		f.Reason = RejectReason(r.text)
		switch f.Reason {
		case RejectDecrypt, RejectStale, RejectKind:
		default:
			return Frame{}, ErrFrame
		}
	default:
		return Frame{}, ErrFrame
	}
	return f, nil
}
