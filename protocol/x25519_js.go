//go:build js

package protocol

// x25519 is RFC 7748's X25519(scalar, point). The browser uses
// x25519RFC7748 rather than golang.org/x/crypto/curve25519: that package
// wraps crypto/ecdh, which links the NIST curves into the widget's .wasm
// (110 KB brotli more). See x25519.go and docs/benchmarks.md.
func x25519(scalar, point []byte) ([]byte, error) {
	return x25519RFC7748(scalar, point)
}
