package protocol

import (
	"crypto/subtle"

	"filippo.io/edwards25519/field"
)

// x25519RFC7748 is X25519(scalar, point) as RFC 7748 §5 writes it: decode
// the scalar and the u-coordinate, run the Montgomery ladder over the bits
// of k, and return x_2 / z_2. The variable names are the RFC's, so the loop
// reads against the pseudo-code line by line. It is the browser's x25519
// (see x25519.go); the tests compare it with golang.org/x/crypto/curve25519.
//
// Constant time: the loop runs for all 255 bits whatever the scalar, the
// conditional swap is field.Element.Swap (a mask, no branch), and the field
// arithmetic of filippo.io/edwards25519/field is constant time. An all-zero
// result (a low-order point) is refused with errLowOrder.
func x25519RFC7748(scalar, point []byte) ([]byte, error) {
	if len(scalar) != 32 || len(point) != 32 {
		return nil, errX25519Length
	}

	// decodeScalar25519: clear the three low bits and the top bit, set
	// bit 254.
	var k [32]byte
	copy(k[:], scalar)
	defer clear(k[:])
	k[0] &= 248
	k[31] &= 127
	k[31] |= 64

	// decodeUCoordinate: SetBytes ignores the top bit and accepts the
	// non-canonical values p..2^255-1, as §5 requires.
	var u field.Element
	if _, err := u.SetBytes(point); err != nil {
		return nil, errX25519Length
	}

	var x_1, x_2, z_2, x_3, z_3 field.Element
	x_1.Set(&u)
	x_2.One()
	z_2.Zero()
	x_3.Set(&u)
	z_3.One()
	swap := 0

	// a24 is (486662 - 2) / 4, RFC 7748 §5's constant for curve25519, in
	// z_2 = E * (AA + a24 * E). (121666 belongs to the form with BB.)
	const a24 = 121665
	const bits = 255
	var A, AA, B, BB, E, C, D, DA, CB field.Element
	for t := bits - 1; t >= 0; t-- {
		k_t := int(k[t/8]>>(t%8)) & 1
		swap ^= k_t
		x_2.Swap(&x_3, swap)
		z_2.Swap(&z_3, swap)
		swap = k_t

		A.Add(&x_2, &z_2)      // A = x_2 + z_2
		AA.Square(&A)          // AA = A^2
		B.Subtract(&x_2, &z_2) // B = x_2 - z_2
		BB.Square(&B)          // BB = B^2
		E.Subtract(&AA, &BB)   // E = AA - BB
		C.Add(&x_3, &z_3)      // C = x_3 + z_3
		D.Subtract(&x_3, &z_3) // D = x_3 - z_3
		DA.Multiply(&D, &A)    // DA = D * A
		CB.Multiply(&C, &B)    // CB = C * B
		// x_3 = (DA + CB)^2
		x_3.Add(&DA, &CB)
		x_3.Square(&x_3)
		// z_3 = x_1 * (DA - CB)^2
		z_3.Subtract(&DA, &CB)
		z_3.Square(&z_3)
		z_3.Multiply(&x_1, &z_3)
		// x_2 = AA * BB
		x_2.Multiply(&AA, &BB)
		// z_2 = E * (AA + a24 * E)
		z_2.Mult32(&E, a24)
		z_2.Add(&AA, &z_2)
		z_2.Multiply(&E, &z_2)
	}
	x_2.Swap(&x_3, swap)
	z_2.Swap(&z_3, swap)

	// x_2 * z_2^(p - 2): Invert is that power, and maps 0 to 0.
	z_2.Invert(&z_2)
	x_2.Multiply(&x_2, &z_2)
	out := x_2.Bytes()

	var zero [32]byte
	if subtle.ConstantTimeCompare(out, zero[:]) == 1 {
		return nil, errLowOrder
	}
	return out, nil
}
