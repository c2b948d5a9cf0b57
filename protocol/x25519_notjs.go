//go:build !js

package protocol

import "golang.org/x/crypto/curve25519"

// x25519 is RFC 7748's X25519(scalar, point). Native builds use
// golang.org/x/crypto/curve25519, the audited implementation: its size
// (it wraps crypto/ecdh, which links the NIST curves) matters only in the
// browser, whose x25519 is in x25519_js.go.
func x25519(scalar, point []byte) ([]byte, error) {
	if len(scalar) != curve25519.ScalarSize || len(point) != curve25519.PointSize {
		return nil, errX25519Length
	}
	out, err := curve25519.X25519(scalar, point)
	if err != nil {
		// With 32-byte inputs the only error left is the all-zero output.
		return nil, errLowOrder
	}
	return out, nil
}
