package protocol

import "time"

// Version is the protocol version written in links and plaintexts.
const Version = 1

// Defaults from docs/protocol.md's "Limits" table. The relay makes each of them
// configurable; these are what it uses when told nothing.
const (
	// MaxSealedSize caps a sealed message (enc plus AEAD ciphertext).
	MaxSealedSize = 16384
	// MaxPlaintextSize is the largest plaintext that still seals within
	// MaxSealedSize: the 32-byte enc and the 16-byte Poly1305 tag come on top.
	MaxPlaintextSize = MaxSealedSize - EncSize - TagSize

	// DefaultTTL is a session's lifetime when neither app nor receiver says.
	DefaultTTL = 60 * time.Second
	// MinTTL and MaxTTL bound the ttl a receiver may ask for and an app may
	// default to; ParseTTL and CheckTTL are the only places that apply them.
	MinTTL = 15 * time.Second
	MaxTTL = 300 * time.Second

	// WidgetShowLimit is how long a receiver keeps rotating codes before it
	// stops (the widget then asks the person for a click); the widget's
	// embedder may shorten it. receiver/policy.StopRotating applies it.
	WidgetShowLimit = 300 * time.Second
	// AckWait is how long a POST waits for the receiver's ack.
	AckWait = 10 * time.Second
	// PingInterval is the longest the relay stays silent on a listener.
	PingInterval = 25 * time.Second
	// TombstoneTTL is how long the relay remembers an ended session's outcome.
	TombstoneTTL = 10 * time.Minute

	// NewSessionsPerMinute limits listens per client IP.
	NewSessionsPerMinute = 60
	// SenderRequestsPerMinute limits reads, deliveries and denials per client IP.
	SenderRequestsPerMinute = 120
	// MaxLiveSessions caps the sessions one relay holds at once.
	MaxLiveSessions = 100000

	// MaxIATAge and MaxIATSkew are the receiver's window for a plaintext's
	// iat: at most this far in the past, or in the future.
	MaxIATAge  = 300 * time.Second
	MaxIATSkew = 60 * time.Second
)
