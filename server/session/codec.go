package session

import (
	"crypto/rand"
	"encoding"
	"encoding/binary"
	"errors"
	"time"

	"github.com/scanin/scanin/protocol"
)

// codecVersion is the first byte of an encoded session. A store may hold
// sessions written by the previous release of the relay (a Durable Object
// keeps its bytes across a deploy), so a change to the layout gets a new
// version and UnmarshalBinary goes on reading the old ones.
//
// Version 2, in order: the strings ID, App, AppName, Requester.IP,
// Requester.UserAgent, Requester.Origin, Resume, State and Listener, each as
// a uvarint length and its bytes; the times StartedAt, ExpiresAt, EndedAt,
// HeldAt and AckDeadline, each as a varint of Unix nanoseconds (0 for the
// zero time); a flags byte (2 Sent, 4 Held is not nil); HeldSum's 32 bytes;
// Held as a uvarint length and its bytes.
//
// Version 1 (the edge relay's, before listener ids) had no Listener string
// and a flag 1 for "a receiver is attached"; such a session decodes with
// Listener V1Listener.
const codecVersion = 2

// Flags of versions 1 and 2 (flagListening only in version 1).
const (
	flagListening = 1 << iota
	flagSent
	flagHeld
)

// V1Listener is the Listener of a session decoded from version 1 bytes that
// had a receiver attached: that receiver, whose id version 1 did not keep.
const V1Listener = "v1"

// ErrMalformed reports bytes that UnmarshalBinary cannot read as a session:
// empty, another version, cut short, or with bytes left over.
var ErrMalformed = errors.New("session: malformed encoded session")

var (
	_ encoding.BinaryMarshaler   = (*Session)(nil)
	_ encoding.BinaryUnmarshaler = (*Session)(nil)
	_ encoding.BinaryAppender    = (*Session)(nil)
)

// AppendBinary appends the session's encoding (every field, in the current
// version) to b, for a store that keeps sessions as bytes. It never fails.
func (s *Session) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, codecVersion)
	for _, str := range []string{s.ID, s.App, s.AppName, s.Requester.IP, s.Requester.UserAgent,
		s.Requester.Origin, s.Resume, string(s.State), s.Listener} {
		b = binary.AppendUvarint(b, uint64(len(str)))
		b = append(b, str...)
	}
	for _, t := range []time.Time{s.StartedAt, s.ExpiresAt, s.EndedAt, s.HeldAt, s.AckDeadline} {
		var n int64
		if !t.IsZero() {
			n = t.UnixNano()
		}
		b = binary.AppendVarint(b, n)
	}
	var flags byte
	if s.Sent {
		flags |= flagSent
	}
	if s.Held != nil {
		flags |= flagHeld
	}
	b = append(b, flags)
	b = append(b, s.HeldSum[:]...)
	b = binary.AppendUvarint(b, uint64(len(s.Held)))
	return append(b, s.Held...), nil
}

// MarshalBinary encodes the session as AppendBinary does. It never fails.
func (s *Session) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 160+len(s.Listener)+len(s.Held)))
}

// UnmarshalBinary sets s to the session b encodes, in any version this
// package has written; on ErrMalformed s is unchanged. Times come back in
// the local time zone, as time.Unix makes them; the session's methods only
// compare them.
func (s *Session) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || (b[0] != 1 && b[0] != codecVersion) {
		return ErrMalformed
	}
	version := b[0]
	d := decoder{b: b[1:]}
	var n Session
	for _, p := range []*string{&n.ID, &n.App, &n.AppName, &n.Requester.IP, &n.Requester.UserAgent,
		&n.Requester.Origin, &n.Resume} {
		*p = string(d.bytes())
	}
	n.State = protocol.State(d.bytes())
	known := byte(flagSent | flagHeld)
	if version == 1 {
		known |= flagListening
	} else if l := d.bytes(); len(l) > 0 {
		n.Listener = string(l)
	}
	for _, p := range []*time.Time{&n.StartedAt, &n.ExpiresAt, &n.EndedAt, &n.HeldAt, &n.AckDeadline} {
		if v := d.varint(); v != 0 {
			*p = time.Unix(0, v)
		}
	}
	flags := d.take(1)
	copy(n.HeldSum[:], d.take(len(n.HeldSum)))
	held := d.bytes()
	if d.bad || len(d.b) != 0 || flags[0]&^known != 0 ||
		(flags[0]&flagHeld == 0 && len(held) != 0) {
		return ErrMalformed
	}
	if flags[0]&flagListening != 0 {
		n.Listener = V1Listener
	}
	n.Sent = flags[0]&flagSent != 0
	if flags[0]&flagHeld != 0 {
		n.Held = append([]byte{}, held...)
	}
	*s = n
	return nil
}

// decoder reads the encoding's fields; a read past the end sets bad and
// returns zeros.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b) {
		d.bad = true
		return make([]byte, max(n, 0))
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	d.b = d.b[k:]
	return d.take(int(n))
}

func (d *decoder) varint() int64 {
	n, k := binary.Varint(d.b)
	if k <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return n
}

// AlarmAt is when a store that keeps the session must next act on it, with
// tombstone as the time an ended session is kept (Forgettable): at
// ExpiresAt while it lives (Expire), at EndedAt + tombstone once it ended.
func (s *Session) AlarmAt(tombstone time.Duration) time.Time {
	if s.State.Ended() {
		return s.EndedAt.Add(tombstone)
	}
	return s.ExpiresAt
}

// NewResume makes a session's resume value for New: 16 bytes from the
// CSPRNG, base64url.
func NewResume() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return protocol.EncodeBase64(b[:])
}
