package protocol

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// SessionIDSize is the number of random bytes in a session id.
const SessionIDSize = 16

// SessionIDLength is the length of a session id in its base64url form.
const SessionIDLength = 22

// b64 is the encoding of every base64 value in the protocol: base64url
// without padding. Strict mode refuses non-canonical trailing bits, so each
// value has exactly one spelling and ids compare as strings.
var b64 = base64.RawURLEncoding.Strict()

var (
	// ErrSessionID reports a sid that does not decode to 16 bytes.
	ErrSessionID = errors.New("session id must be 16 bytes in base64url without padding")
	// ErrAppID reports an app id outside [a-z0-9][a-z0-9-]{0,31}.
	ErrAppID = errors.New("app id must match [a-z0-9][a-z0-9-]{0,31}")
)

// NewSessionID returns a fresh session id: 16 bytes from the system CSPRNG in
// base64url. A receiver makes one for every QR code.
func NewSessionID() string {
	var b [SessionIDSize]byte
	// crypto/rand.Read never returns an error on supported platforms.
	_, _ = rand.Read(b[:])
	return b64.EncodeToString(b[:])
}

// CheckSessionID reports whether s is a well-formed session id.
func CheckSessionID(s string) error {
	if len(s) != SessionIDLength {
		return ErrSessionID
	}
	var b [SessionIDSize]byte
	if n, err := b64.Decode(b[:], []byte(s)); err != nil || n != SessionIDSize {
		return ErrSessionID
	}
	return nil
}

// CheckAppID reports whether s is a well-formed app id.
func CheckAppID(s string) error {
	if len(s) == 0 || len(s) > 32 {
		return ErrAppID
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0:
		default:
			return ErrAppID
		}
	}
	return nil
}

// EncodeBase64 encodes b as the protocol writes every binary value.
func EncodeBase64(b []byte) string { return b64.EncodeToString(b) }

// DecodeBase64 decodes a base64url value without padding, strictly.
func DecodeBase64(s string) ([]byte, error) { return b64.DecodeString(s) }
