package assertion

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"errors"
	"fmt"
)

// MaxDeviceIDLength is the longest a device id may be.
const MaxDeviceIDLength = 64

// CheckDeviceID reports whether id is a device id: 1 to 64 characters of
// [A-Za-z0-9_-].
func CheckDeviceID(id string) error {
	if id == "" || len(id) > MaxDeviceIDLength {
		return fmt.Errorf("a device id is 1 to %d characters, not %d", MaxDeviceIDLength, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("a device id is made of A-Z, a-z, 0-9, _ and -, not %q", c)
		}
	}
	return nil
}

// NewDeviceID returns a fresh device id: 16 random bytes, base64url (22
// characters).
func NewDeviceID() string { return NewID() }

// JWK is a P-256 public key as a JSON Web Key (RFC 7517, RFC 7518 §6.2):
// the public half only.
type JWK struct {
	// Kty is "EC".
	Kty string `json:"kty"`
	// Crv is "P-256".
	Crv string `json:"crv"`
	// X is the x coordinate, 32 bytes big-endian, base64url.
	X string `json:"x"`
	// Y is the y coordinate, 32 bytes big-endian, base64url.
	Y string `json:"y"`
}

// PublicJWK returns the JWK of a P-256 public key.
func PublicJWK(pub *ecdsa.PublicKey) (JWK, error) {
	if pub == nil || pub.Curve != elliptic.P256() {
		return JWK{}, errors.New("not a P-256 public key")
	}
	point, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		return JWK{}, fmt.Errorf("failed to encode the public key: %w", err)
	}
	return JWK{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(point[1:33]), Y: b64.EncodeToString(point[33:])}, nil
}

// PublicKey returns the key the JWK describes, after checking that kty is
// EC, crv is P-256, x and y are 32 bytes each and the point is on the
// curve (and not the point at infinity).
func (k JWK) PublicKey() (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || k.Crv != "P-256" {
		return nil, fmt.Errorf("the key is kty %q crv %q, want EC P-256", k.Kty, k.Crv)
	}
	x, errX := b64.DecodeString(k.X)
	y, errY := b64.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y must be 32 bytes each, base64url without padding")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, fmt.Errorf("the point is not on P-256: %w", err)
	}
	return pub, nil
}

// Registration is what a phone app sends its own backend to register a
// device: its id, its public key, and how to name it to the user.
type Registration struct {
	// DeviceID is the device's id (CheckDeviceID), the assertions' kid.
	DeviceID string `json:"device_id"`
	// PublicKey is the device's public key.
	PublicKey JWK `json:"public_key"`
	// Name is the device's name to show ("Pixel 9").
	Name string `json:"name"`
	// Type is the kind of device ("android", "ios", "cli").
	Type string `json:"type"`
}

// NewRegistration returns the registration of device id with public key
// pub.
func NewRegistration(id string, pub *ecdsa.PublicKey, name, deviceType string) (Registration, error) {
	if err := CheckDeviceID(id); err != nil {
		return Registration{}, err
	}
	jwk, err := PublicJWK(pub)
	if err != nil {
		return Registration{}, err
	}
	return Registration{DeviceID: id, PublicKey: jwk, Name: name, Type: deviceType}, nil
}

// ParseRegistration reads a registration object and checks it: a valid
// device id and a valid P-256 public key (no private part). It returns the
// key too. Unknown members are ignored.
func ParseRegistration(b []byte) (Registration, *ecdsa.PublicKey, error) {
	var reg Registration
	if err := json.Unmarshal(b, &reg); err != nil {
		return Registration{}, nil, fmt.Errorf("failed to read a registration: %w", err)
	}
	var key struct {
		PublicKey struct {
			D *json.RawMessage `json:"d"`
		} `json:"public_key"`
	}
	if err := json.Unmarshal(b, &key); err == nil && key.PublicKey.D != nil {
		return Registration{}, nil, errors.New("the registration's public_key holds a private key (d): send the public key only")
	}
	pub, err := reg.Check()
	if err != nil {
		return Registration{}, nil, err
	}
	return reg, pub, nil
}

// Check checks the device id and the key and returns the key.
func (r Registration) Check() (*ecdsa.PublicKey, error) {
	if err := CheckDeviceID(r.DeviceID); err != nil {
		return nil, fmt.Errorf("the registration's device_id: %w", err)
	}
	pub, err := r.PublicKey.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("the registration's public_key: %w", err)
	}
	return pub, nil
}
