package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/crypto/curve25519"
)

// RFC 7748 §5.2's two single-shot vectors and §6.1's Diffie-Hellman example.
func TestX25519RFC7748Vectors(t *testing.T) {
	for _, v := range []struct{ name, scalar, u, out string }{
		{"5.2 vector 1",
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		// Its u has the top bit set, which X25519 must ignore.
		{"5.2 vector 2",
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
		{"6.1 Alice's public key",
			"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"0900000000000000000000000000000000000000000000000000000000000000",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
		{"6.1 Bob's public key",
			"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"0900000000000000000000000000000000000000000000000000000000000000",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
		{"6.1 shared secret (Alice)",
			"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
		{"6.1 shared secret (Bob)",
			"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"},
	} {
		t.Run(v.name, func(t *testing.T) {
			got, err := x25519(mustHex(t, v.scalar), mustHex(t, v.u))
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got); h != v.out {
				t.Errorf("x25519 = %s, want %s", h, v.out)
			}
		})
	}
}

// RFC 7748 §5.2's iterated vector: k = u = 9; k, u = X25519(k, u), k.
func TestX25519RFC7748Iterated(t *testing.T) {
	k := bytes.Clone(x25519Basepoint[:])
	u := bytes.Clone(x25519Basepoint[:])
	for i := 1; i <= 1000; i++ {
		out, err := x25519(k, u)
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		k, u = out, k
		switch i {
		case 1:
			if h := hex.EncodeToString(k); h != "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079" {
				t.Errorf("after 1 iteration: %s", h)
			}
		case 1000:
			if h := hex.EncodeToString(k); h != "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51" {
				t.Errorf("after 1,000 iterations: %s", h)
			}
		}
	}
}

// TestX25519MatchesXCrypto compares the hand-written ladder with
// golang.org/x/crypto/curve25519 on random scalars and points, including
// non-canonical points (u >= p) and points with the top bit set.
func TestX25519MatchesXCrypto(t *testing.T) {
	r := testRand(t)
	for i := range 1000 {
		scalar := randomBytes(r, 32)
		point := randomBytes(r, 32)
		switch i % 4 {
		case 1:
			point[31] |= 0x80 // top bit: must be ignored
		case 2:
			// p..2^255-1: non-canonical encodings, which RFC 7748 accepts.
			copy(point, mustHex(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
			point[0] += byte(r.IntN(0x13))
		}
		got, err := x25519(scalar, point)
		want, wantErr := curve25519.X25519(scalar, point)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("x25519(%x, %x): error %v, x/crypto's %v", scalar, point, err, wantErr)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("x25519(%x, %x) = %x, x/crypto gives %x", scalar, point, got, want)
		}
		pub, err := x25519(scalar, x25519Basepoint[:])
		if err != nil {
			t.Fatal(err)
		}
		wantPub, _ := curve25519.X25519(scalar, curve25519.Basepoint)
		if !bytes.Equal(pub, wantPub) {
			t.Fatalf("x25519(%x, 9) = %x, x/crypto gives %x", scalar, pub, wantPub)
		}
	}
}

// TestX25519LowOrder: every point of small order yields the all-zero
// output, which x25519 refuses (RFC 7748 §6.1, RFC 9180 §7.1.4).
func TestX25519LowOrder(t *testing.T) {
	// The small-order points and their non-canonical encodings, as
	// libsodium lists them (and x/crypto/curve25519's tests).
	points := []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	}
	r := testRand(t)
	for _, p := range points {
		for _, top := range []byte{0, 0x80} {
			point := mustHex(t, p)
			point[31] |= top
			for range 5 {
				scalar := randomBytes(r, 32)
				out, err := x25519(scalar, point)
				if !errors.Is(err, errLowOrder) || out != nil {
					t.Errorf("x25519(%x, %x) = %x, %v; want errLowOrder", scalar, point, out, err)
				}
				if _, err := curve25519.X25519(scalar, point); err == nil {
					t.Errorf("x/crypto accepts %x: the list is wrong", point)
				}
			}
		}
	}
	if _, err := x25519(make([]byte, 32), make([]byte, 31)); err == nil {
		t.Error("x25519 accepted a 31-byte point")
	}
}
