package protocol

import (
	"crypto/subtle"
	"errors"

	"filippo.io/edwards25519/field"
)

// x25519 is RFC 7748's X25519 function as a Montgomery ladder over
// filippo.io/edwards25519's constant-time field arithmetic.
//
// Why not golang.org/x/crypto/curve25519: it now wraps crypto/ecdh, which
// also links the NIST curves, and that cost the widget about 100 KB (brotli)
// more than this ladder. The tests check this function against
// x/crypto/curve25519 and against RFC 7748's and RFC 9180's vectors.

var errLowOrder = errors.New("x25519: low-order point")

// x25519Basepoint is u = 9.
var x25519Basepoint = [32]byte{9}

func x25519(scalar, point []byte) ([]byte, error) {
	var k [32]byte
	copy(k[:], scalar)
	defer clear(k[:])
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	// SetBytes ignores the top bit and accepts non-canonical values, as
	// RFC 7748 §5 requires.
	if _, err := x1.SetBytes(point); err != nil {
		return nil, err
	}
	x2.One()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(k[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)
		z3.Mult32(&tmp1, 121666)
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	out := x2.Bytes()
	var zero [32]byte
	if subtle.ConstantTimeCompare(out, zero[:]) == 1 {
		return nil, errLowOrder
	}
	return out, nil
}
