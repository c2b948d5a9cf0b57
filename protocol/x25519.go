package protocol

import "errors"

// X25519 (RFC 7748) is the KEM's Diffie-Hellman function. Which code
// computes it depends on the build, and hpke.go only ever calls x25519:
//
//   - native builds (relay, mobile SDK, CLI, receiver) use
//     golang.org/x/crypto/curve25519, the audited implementation
//     (x25519_notjs.go);
//   - the browser widget (GOOS=js) uses x25519RFC7748, RFC 7748 §5's ladder
//     written out over filippo.io/edwards25519/field (x25519_js.go,
//     x25519_rfc7748.go). x/crypto/curve25519 now wraps crypto/ecdh, and
//     crypto/ecdh links the NIST curves too: in the widget that measured
//     110 KB (brotli) more, 905 KB in all, over the widget's 800 KB budget.
//
// x25519RFC7748 has no build tag, so the native tests check it against
// x/crypto/curve25519 (vectors, random inputs, a differential fuzz target)
// on every run, not only in a browser.

var (
	// errLowOrder reports an all-zero X25519 output: the point has small
	// order, and RFC 9180 §7.1.4 requires refusing it (RFC 7748 §6.1).
	errLowOrder = errors.New("x25519: low-order point")
	// errX25519Length reports a scalar or point that is not 32 bytes.
	errX25519Length = errors.New("x25519: scalar and point must be 32 bytes")
)

// x25519Basepoint is the u-coordinate 9, little-endian.
var x25519Basepoint = [32]byte{9}
