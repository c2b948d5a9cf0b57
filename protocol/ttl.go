package protocol

import (
	"strconv"
	"time"
)

// TTLError is a ttl the protocol does not allow: not whole seconds, or
// outside MinTTL..MaxTTL. Relay, widget, terminal receiver and CLI all
// report it, so its text names the rule rather than the caller's field.
type TTLError struct {
	// Input is the ttl as it was given: the text ParseTTL read, or the
	// duration CheckTTL was handed.
	Input string
}

// Error quotes the input and states the rule.
func (e *TTLError) Error() string {
	return "ttl " + strconv.Quote(e.Input) + ": must be whole seconds from " +
		strconv.Itoa(int(MinTTL/time.Second)) + " to " + strconv.Itoa(int(MaxTTL/time.Second))
}

// maxTTLDigits is the longest ttl the wire allows (docs/protocol.md 6.3):
// room for leading zeros, none for a number that could overflow.
const maxTTLDigits = 4

// ParseTTL reads a ttl written as the wire writes it, 1 to 4 decimal digits
// of seconds ("60"), and checks it against the protocol's bounds. The
// listen request's ttl parameter, the app config's ttl, the widget's URL
// and the CLI's flag all go through it, so a ttl one of them accepts, the
// others accept too. A sign, a fraction, an exponent, white space or a
// fifth digit is refused.
func ParseTTL(s string) (time.Duration, error) {
	if s == "" || len(s) > maxTTLDigits {
		return 0, &TTLError{Input: s}
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, &TTLError{Input: s}
		}
		n = n*10 + int(c-'0')
	}
	d := time.Duration(n) * time.Second
	if d < MinTTL || d > MaxTTL {
		return 0, &TTLError{Input: s}
	}
	return d, nil
}

// CheckTTL checks a ttl held as a duration, as Go callers configure it
// (receiver.Config.TTL, the relay's Limits.DefaultTTL): whole seconds,
// because the wire carries seconds, within the protocol's bounds.
func CheckTTL(d time.Duration) error {
	if d%time.Second != 0 || d < MinTTL || d > MaxTTL {
		return &TTLError{Input: d.String()}
	}
	return nil
}
