package protocol

import (
	"errors"
	"time"
	"unicode/utf8"
)

// Info is HPKE's info for a session: "scanin/v1" 0x00 app 0x00 sid. Binding
// the app and sid means a sealed message opens only for the session whose QR
// code the phone scanned, so the relay cannot move it to another session.
func Info(app, sid string) []byte {
	info := make([]byte, 0, len("scanin/v1")+2+len(app)+len(sid))
	info = append(info, "scanin/v1"...)
	info = append(info, 0)
	info = append(info, app...)
	info = append(info, 0)
	return append(info, sid...)
}

// Kind is what a message carries.
type Kind string

// The kinds of message.
const (
	// KindToken is a session token, for client-side session extension.
	KindToken Kind = "token"
	// KindData is any string.
	KindData Kind = "data"
	// KindAssertion is a signed statement for server-side verification.
	KindAssertion Kind = "assertion"
)

// Known reports whether k is one of the protocol's kinds.
func (k Kind) Known() bool {
	return k == KindToken || k == KindData || k == KindAssertion
}

// Device describes the sending phone, as its user would recognise it.
type Device struct {
	Name string // "Pixel 9"
	Type string // "android", "ios", "cli", ...
}

// Message is the plaintext a sender seals: what the receiver is given.
type Message struct {
	Kind     Kind
	Data     string
	IssuedAt int64   // iat: the sender's clock, Unix seconds
	Device   *Device // optional
}

// Why a plaintext is refused. Each maps to a reject reason (RejectReasonFor).
var (
	ErrMessageNotObject = errors.New("plaintext is not a scanin message")
	ErrMessageVersion   = errors.New("plaintext has an unknown version")
	ErrMessageKind      = errors.New("plaintext has an unknown kind")
	ErrMessageStale     = errors.New("plaintext iat is outside the accepted window")
	ErrMessageTooLarge  = errors.New("plaintext is too large")
)

// Marshal writes the message as the protocol's JSON object. It refuses a
// message the receiver would refuse for its shape: an unknown kind, invalid
// UTF-8, or a size that would not seal within MaxSealedSize.
func (m Message) Marshal() ([]byte, error) {
	if !m.Kind.Known() {
		return nil, ErrMessageKind
	}
	if !utf8.ValidString(m.Data) || (m.Device != nil && !(utf8.ValidString(m.Device.Name) && utf8.ValidString(m.Device.Type))) {
		return nil, ErrMessageNotObject
	}
	w := newJSONObject(make([]byte, 0, 64+len(m.Data)))
	w.int("v", Version)
	w.str("kind", string(m.Kind))
	w.str("data", m.Data)
	w.int("iat", m.IssuedAt)
	if m.Device != nil {
		d := newJSONObject(nil)
		d.str("name", m.Device.Name)
		d.str("type", m.Device.Type)
		w.raw("device", d.close())
	}
	b := w.close()
	if len(b) > MaxPlaintextSize {
		return nil, ErrMessageTooLarge
	}
	return b, nil
}

// ParseMessage reads and validates a plaintext as a receiver must: a JSON
// object with v 1, a known kind, a string data, and an integer iat no more
// than MaxIATAge before now or MaxIATSkew after it. The window's edges are
// inclusive. device is optional; when present its fields must be strings.
func ParseMessage(b []byte, now time.Time) (Message, error) {
	if len(b) > MaxPlaintextSize {
		return Message{}, ErrMessageTooLarge
	}
	v, err := parseJSON(b)
	if err != nil || v.kind != jsonObject {
		return Message{}, ErrMessageNotObject
	}
	ver, ok := v.field("v")
	if !ok {
		return Message{}, ErrMessageNotObject
	}
	if n, ok := ver.int64(); !ok || n != Version {
		return Message{}, ErrMessageVersion
	}
	var m Message
	kind, ok := v.field("kind")
	if !ok || kind.kind != jsonString {
		return Message{}, ErrMessageNotObject
	}
	if m.Kind = Kind(kind.text); !m.Kind.Known() {
		return Message{}, ErrMessageKind
	}
	data, ok := v.field("data")
	if !ok || data.kind != jsonString {
		return Message{}, ErrMessageNotObject
	}
	m.Data = data.text
	iat, ok := v.field("iat")
	if !ok {
		return Message{}, ErrMessageNotObject
	}
	if m.IssuedAt, ok = iat.int64(); !ok {
		return Message{}, ErrMessageNotObject
	}
	nowSec := now.Unix()
	if m.IssuedAt < nowSec-int64(MaxIATAge/time.Second) || m.IssuedAt > nowSec+int64(MaxIATSkew/time.Second) {
		return Message{}, ErrMessageStale
	}
	if dev, ok := v.field("device"); ok && dev.kind != jsonNull {
		if dev.kind != jsonObject {
			return Message{}, ErrMessageNotObject
		}
		m.Device = &Device{}
		for key, dst := range map[string]*string{"name": &m.Device.Name, "type": &m.Device.Type} {
			f, ok := dev.field(key)
			if !ok {
				continue
			}
			if f.kind != jsonString {
				return Message{}, ErrMessageNotObject
			}
			*dst = f.text
		}
	}
	return m, nil
}

// RejectReasonFor maps why a receiver refused a sealed message to the reason
// it sends the relay. docs/protocol.md names three reasons; a plaintext that is
// not a scanin message at all counts as "decrypt" (it did not open into
// anything usable), an unknown version as "kind".
func RejectReasonFor(err error) RejectReason {
	switch {
	case errors.Is(err, ErrMessageStale):
		return RejectStale
	case errors.Is(err, ErrMessageKind), errors.Is(err, ErrMessageVersion):
		return RejectKind
	}
	return RejectDecrypt
}

// checkCodeLabel is the exporter context of the check code.
const checkCodeLabel = "scanin/v1 check"

// CheckCode is the two-digit code both ends can show in verify mode:
// Export("scanin/v1 check", 2) as a big-endian uint16, modulo 100.
func (c *Context) CheckCode() (string, error) {
	b, err := c.Export([]byte(checkCodeLabel), 2)
	if err != nil {
		return "", err
	}
	n := (int(b[0])<<8 | int(b[1])) % 100
	return string([]byte{byte('0' + n/10), byte('0' + n%10)}), nil
}

// SealMessage marshals m and seals it to a session's public key. It returns
// the sealed bytes to POST and the check code the sender may show.
func SealMessage(receiverPublicKey []byte, app, sid string, m Message) (sealed []byte, checkCode string, err error) {
	pt, err := m.Marshal()
	if err != nil {
		return nil, "", err
	}
	enc, ctx, err := SetupSender(receiverPublicKey, Info(app, sid))
	if err != nil {
		return nil, "", err
	}
	defer ctx.Destroy()
	ct, err := ctx.Seal(nil, pt)
	if err != nil {
		return nil, "", err
	}
	if checkCode, err = ctx.CheckCode(); err != nil {
		return nil, "", err
	}
	return append(enc, ct...), checkCode, nil
}

// OpenMessage opens a sealed message for a session and validates its
// plaintext at time now. On failure, RejectReasonFor(err) is the reason to
// send the relay.
func OpenMessage(key *PrivateKey, app, sid string, sealed []byte, now time.Time) (m Message, checkCode string, err error) {
	if len(sealed) < EncSize+TagSize || len(sealed) > MaxSealedSize {
		return Message{}, "", ErrOpen
	}
	ctx, err := SetupReceiver(key, sealed[:EncSize], Info(app, sid))
	if err != nil {
		return Message{}, "", err
	}
	defer ctx.Destroy()
	pt, err := ctx.Open(nil, sealed[EncSize:])
	if err != nil {
		return Message{}, "", err
	}
	defer clear(pt)
	if m, err = ParseMessage(pt, now); err != nil {
		return Message{}, "", err
	}
	checkCode, err = ctx.CheckCode()
	return m, checkCode, err
}
