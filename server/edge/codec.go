package edge

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// codecVersion is the first byte of an encoded session. A Durable Object
// may hold a session written by the previous deploy, so a change to the
// layout gets a new version and Unmarshal keeps reading the old one.
const codecVersion = 1

// ErrSession reports stored bytes that are not a session.
var ErrSession = errors.New("edge: malformed stored session")

// MarshalSession encodes s for Durable Object storage: every field, times
// as Unix nanoseconds (0 for the zero time). (To move into server/session
// once a second store needs it.)
func MarshalSession(s *session.Session) []byte {
	b := make([]byte, 0, 160+len(s.Held))
	b = append(b, codecVersion)
	for _, str := range []string{s.ID, s.App, s.AppName, s.Requester.IP, s.Requester.UserAgent,
		s.Requester.Origin, s.Resume, string(s.State)} {
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
	if s.Listening {
		flags |= 1
	}
	if s.Sent {
		flags |= 2
	}
	if s.Held != nil {
		flags |= 4
	}
	b = append(b, flags)
	b = append(b, s.HeldSum[:]...)
	b = binary.AppendUvarint(b, uint64(len(s.Held)))
	return append(b, s.Held...)
}

// UnmarshalSession decodes what MarshalSession wrote.
func UnmarshalSession(b []byte) (*session.Session, error) {
	if len(b) == 0 || b[0] != codecVersion {
		return nil, ErrSession
	}
	d := decoder{b: b[1:]}
	s := &session.Session{}
	for _, p := range []*string{&s.ID, &s.App, &s.AppName, &s.Requester.IP, &s.Requester.UserAgent,
		&s.Requester.Origin, &s.Resume} {
		*p = string(d.bytes())
	}
	s.State = protocol.State(d.bytes())
	for _, p := range []*time.Time{&s.StartedAt, &s.ExpiresAt, &s.EndedAt, &s.HeldAt, &s.AckDeadline} {
		if n := d.varint(); n != 0 {
			*p = time.Unix(0, n)
		}
	}
	flags := d.take(1)
	copy(s.HeldSum[:], d.take(len(s.HeldSum)))
	held := d.bytes()
	if d.bad || len(d.b) != 0 {
		return nil, ErrSession
	}
	s.Listening = flags[0]&1 != 0
	s.Sent = flags[0]&2 != 0
	if flags[0]&4 != 0 {
		s.Held = append([]byte{}, held...)
	}
	return s, nil
}

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
