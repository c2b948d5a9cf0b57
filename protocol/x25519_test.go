package protocol

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"testing"

	"golang.org/x/crypto/curve25519"
)

// x25519Impls are the implementations every vector runs against: the
// browser's RFC 7748 ladder, and x25519 as this build selects it (natively
// golang.org/x/crypto/curve25519, see x25519_notjs.go).
var x25519Impls = []struct {
	name string
	fn   func(scalar, point []byte) ([]byte, error)
}{
	{"x25519RFC7748", x25519RFC7748},
	{"x25519", x25519},
}

// x25519Vector is one input and its expected output, all in hex.
type x25519Vector struct{ name, scalar, u, out string }

// runX25519Vectors runs each vector against each implementation, one
// subtest per pair.
func runX25519Vectors(t *testing.T, vectors []x25519Vector) {
	t.Helper()
	for _, impl := range x25519Impls {
		for _, v := range vectors {
			t.Run(impl.name+"/"+v.name, func(t *testing.T) {
				got, err := impl.fn(mustHex(t, v.scalar), mustHex(t, v.u))
				if err != nil {
					t.Fatal(err)
				}
				if h := hex.EncodeToString(got); h != v.out {
					t.Errorf("X25519(%s, %s) = %s, want %s", v.scalar, v.u, h, v.out)
				}
			})
		}
	}
}

// TestX25519RFC7748Vectors: RFC 7748 §5.2's two single-shot vectors.
func TestX25519RFC7748Vectors(t *testing.T) {
	runX25519Vectors(t, []x25519Vector{
		{"5.2 vector 1",
			"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		// Its u has the top bit set, which X25519 must ignore.
		{"5.2 vector 2",
			"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	})
}

// TestX25519RFC7748DiffieHellman: RFC 7748 §6.1, Alice and Bob derive their
// public keys from u = 9 and reach the same shared secret K.
func TestX25519RFC7748DiffieHellman(t *testing.T) {
	const (
		alicePrivate = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
		alicePublic  = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
		bobPrivate   = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
		bobPublic    = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
		shared       = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"
		basepoint    = "0900000000000000000000000000000000000000000000000000000000000000"
	)
	runX25519Vectors(t, []x25519Vector{
		{"6.1 Alice's public key", alicePrivate, basepoint, alicePublic},
		{"6.1 Bob's public key", bobPrivate, basepoint, bobPublic},
		{"6.1 K (Alice)", alicePrivate, bobPublic, shared},
		{"6.1 K (Bob)", bobPrivate, alicePublic, shared},
	})
}

// x25519Iterate runs RFC 7748 §5.2's iteration n times from k = u = 9:
// k, u = X25519(k, u), k.
func x25519Iterate(t *testing.T, fn func(scalar, point []byte) ([]byte, error), n int, check map[int]string) {
	t.Helper()
	k := bytes.Clone(x25519Basepoint[:])
	u := bytes.Clone(x25519Basepoint[:])
	for i := 1; i <= n; i++ {
		out, err := fn(k, u)
		if err != nil {
			t.Fatalf("iteration %d: %v", i, err)
		}
		k, u = out, k
		if want, ok := check[i]; ok {
			if h := hex.EncodeToString(k); h != want {
				t.Errorf("after %d iterations: %s, want %s", i, h, want)
			}
		}
	}
}

// TestX25519RFC7748Iterated: RFC 7748 §5.2's results after 1 and 1,000
// iterations.
func TestX25519RFC7748Iterated(t *testing.T) {
	for _, impl := range x25519Impls {
		t.Run(impl.name, func(t *testing.T) {
			x25519Iterate(t, impl.fn, 1000, map[int]string{
				1:    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
				1000: "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51",
			})
		})
	}
}

// TestX25519RFC7748IteratedMillion: the 1,000,000-iteration result, which
// takes a minute or two per implementation, so it runs only when asked:
// SCANIN_X25519_MILLION=1 go test -run IteratedMillion ./protocol/
func TestX25519RFC7748IteratedMillion(t *testing.T) {
	if testing.Short() || os.Getenv("SCANIN_X25519_MILLION") == "" {
		t.Skip("set SCANIN_X25519_MILLION=1 (and no -short) to run the 1,000,000 iterations")
	}
	for _, impl := range x25519Impls {
		t.Run(impl.name, func(t *testing.T) {
			x25519Iterate(t, impl.fn, 1_000_000, map[int]string{
				1_000_000: "7c3911e0ab2586fd864497297e575e6f3bc601c0883c30df5f4dd2d24f665424",
			})
		})
	}
}

// x25519FieldPrime is p = 2^255 - 19, little-endian.
const x25519FieldPrime = "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"

// TestX25519RFC7748MatchesXCrypto compares the RFC 7748 ladder with
// golang.org/x/crypto/curve25519 on random scalars and points of each kind
// RFC 7748 §5 has a rule for.
func TestX25519RFC7748MatchesXCrypto(t *testing.T) {
	r := testRand(t)
	for _, c := range []struct {
		name  string
		point func() []byte
	}{
		{"random point", func() []byte { return randomBytes(r, 32) }},
		{"top bit set, to be ignored", func() []byte {
			p := randomBytes(r, 32)
			p[31] |= 0x80
			return p
		}},
		{"non-canonical, p to 2^255-1", func() []byte {
			p := mustHex(t, x25519FieldPrime)
			p[0] += byte(r.IntN(0x13))
			return p
		}},
		{"small u", func() []byte {
			p := make([]byte, 32)
			p[0] = byte(r.IntN(256))
			return p
		}},
		{"basepoint", func() []byte { return bytes.Clone(curve25519.Basepoint) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for range 200 {
				compareWithXCrypto(t, randomBytes(r, 32), c.point())
			}
		})
	}
}

// compareWithXCrypto fails unless x25519RFC7748 and x/crypto/curve25519
// return the same bytes, or both an error; and x25519, as this build
// selects it, agrees and names the error.
func compareWithXCrypto(t *testing.T, scalar, point []byte) {
	t.Helper()
	got, err := x25519RFC7748(scalar, point)
	want, wantErr := curve25519.X25519(scalar, point)
	if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("X25519(%x, %x): x25519RFC7748 gives %x, %v; x/crypto %x, %v", scalar, point, got, err, want, wantErr)
	}
	built, builtErr := x25519(scalar, point)
	if !bytes.Equal(built, want) || !errors.Is(builtErr, err) {
		t.Fatalf("X25519(%x, %x): x25519 gives %x, %v; x25519RFC7748 %x, %v", scalar, point, built, builtErr, got, err)
	}
	if err != nil && len(scalar) == 32 && len(point) == 32 && !errors.Is(err, errLowOrder) {
		t.Fatalf("X25519(%x, %x): %v, want errLowOrder", scalar, point, err)
	}
}

// TestX25519LowOrder: every point of small order yields the all-zero
// output, which both implementations refuse (RFC 7748 §6.1, RFC 9180
// §7.1.4).
func TestX25519LowOrder(t *testing.T) {
	// The small-order points and their non-canonical encodings, as
	// libsodium lists them (and x/crypto/curve25519's tests).
	points := []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		x25519FieldPrime,
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	}
	r := testRand(t)
	for _, impl := range x25519Impls {
		t.Run(impl.name, func(t *testing.T) {
			for _, p := range points {
				for _, top := range []byte{0, 0x80} {
					point := mustHex(t, p)
					point[31] |= top
					for range 3 {
						scalar := randomBytes(r, 32)
						out, err := impl.fn(scalar, point)
						if !errors.Is(err, errLowOrder) || out != nil {
							t.Errorf("X25519(%x, %x) = %x, %v; want errLowOrder", scalar, point, out, err)
						}
						if _, err := curve25519.X25519(scalar, point); err == nil {
							t.Errorf("x/crypto accepts %x: the list is wrong", point)
						}
					}
				}
			}
		})
	}
}

// TestX25519Lengths: a scalar or point of any length but 32 is refused.
func TestX25519Lengths(t *testing.T) {
	for _, impl := range x25519Impls {
		for _, n := range [][2]int{{31, 32}, {33, 32}, {32, 31}, {32, 33}, {0, 0}} {
			out, err := impl.fn(make([]byte, n[0]), make([]byte, n[1]))
			if !errors.Is(err, errX25519Length) || out != nil {
				t.Errorf("%s with a %d-byte scalar and a %d-byte point = %x, %v; want errX25519Length", impl.name, n[0], n[1], out, err)
			}
		}
	}
}

// TestX25519RFC9180Vector: the browser's ladder reproduces the DH of RFC
// 9180 §A.2.1 on both sides, so the shared secret matches the vector's.
func TestX25519RFC9180Vector(t *testing.T) {
	v := loadRFC9180Vector(t)
	for _, side := range []struct{ name, sk, pk string }{
		{"sender", v.SkEm, v.PkRm},
		{"receiver", v.SkRm, v.Enc},
	} {
		dh, err := x25519RFC7748(mustHex(t, side.sk), mustHex(t, side.pk))
		if err != nil {
			t.Fatalf("%s: %v", side.name, err)
		}
		checkHex(t, side.name+" shared_secret", extractAndExpand(dh, mustHex(t, v.Enc), mustHex(t, v.PkRm)), v.SharedSecret)
	}
	for _, key := range []struct{ name, sk, pk string }{
		{"pkEm", v.SkEm, v.PkEm},
		{"pkRm", v.SkRm, v.PkRm},
	} {
		pk, err := x25519RFC7748(mustHex(t, key.sk), x25519Basepoint[:])
		if err != nil {
			t.Fatalf("%s: %v", key.name, err)
		}
		checkHex(t, key.name, pk, key.pk)
	}
}

// FuzzX25519Differential: on any scalar and point, x25519RFC7748 returns
// what golang.org/x/crypto/curve25519.X25519 returns: the same 32 bytes, or
// an error from both.
func FuzzX25519Differential(f *testing.F) {
	f.Add(mustHex(f, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
		mustHex(f, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))
	f.Fuzz(func(t *testing.T, scalar, point []byte) {
		compareWithXCrypto(t, scalar, point)
	})
}
