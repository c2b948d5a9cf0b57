package assertion

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func derSigner(k *ecdsa.PrivateKey) func([]byte) ([]byte, error) {
	return func(m []byte) ([]byte, error) {
		d := sha256.Sum256(m)
		return ecdsa.SignASN1(rand.Reader, k, d[:])
	}
}

func testClaims() Claims {
	return Claims{Issuer: "dev-1", Subject: "ada", Audience: "https://shop.example", App: "shop",
		SessionID: "AAAAAAAAAAAAAAAAAAAAAA", KeyHash: KeyHash(make([]byte, 32)), IssuedAt: 1763750000, ExpiresAt: 1763750060, ID: NewID()}
}

// TestSignParse: Sign writes exactly the header the protocol names, the
// claims, and a 64-byte R||S that VerifySignature accepts; Parse reads it
// back. A DER signer and a raw R||S signer (WebCrypto) give the same
// format.
func TestSignParse(t *testing.T) {
	k := newKey(t)
	c := testClaims()
	raw := func(m []byte) ([]byte, error) {
		d := sha256.Sum256(m)
		r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
		if err != nil {
			return nil, err
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out, nil
	}
	for name, sign := range map[string]func([]byte) ([]byte, error){"DER": derSigner(k), "R||S": raw} {
		t.Run(name, func(t *testing.T) {
			jws, err := Sign(c, &k.PublicKey, sign)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(jws, ".")
			h, _ := base64.RawURLEncoding.DecodeString(parts[0])
			if string(h) != `{"alg":"ES256","typ":"scanin-assertion+jwt","kid":"dev-1"}` {
				t.Errorf("header %s", h)
			}
			tok, err := Parse(jws)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Claims != c || tok.Header != (Header{Alg: "ES256", Typ: Type, Kid: "dev-1"}) || len(tok.Signature) != 64 {
				t.Errorf("parsed %+v", tok)
			}
			if !VerifySignature(&k.PublicKey, tok.SigningInput, tok.Signature) {
				t.Error("the signature does not verify")
			}
			other := newKey(t)
			if VerifySignature(&other.PublicKey, tok.SigningInput, tok.Signature) {
				t.Error("the signature verifies with another key")
			}
		})
	}
}

// TestSignRefuses: claims a signer may not sign, and a signer whose
// signature is not the device key's.
func TestSignRefuses(t *testing.T) {
	k := newKey(t)
	for name, edit := range map[string]func(*Claims){
		"bad iss":     func(c *Claims) { c.Issuer = "a b" },
		"no aud":      func(c *Claims) { c.Audience = "" },
		"no jti":      func(c *Claims) { c.ID = "" },
		"121 s":       func(c *Claims) { c.ExpiresAt = c.IssuedAt + 121 },
		"exp at iat":  func(c *Claims) { c.ExpiresAt = c.IssuedAt },
		"no sub":      func(c *Claims) { c.Subject = "" },
		"no sid":      func(c *Claims) { c.SessionID = "" },
		"no app":      func(c *Claims) { c.App = "" },
		"no key hash": func(c *Claims) { c.KeyHash = "" },
	} {
		c := testClaims()
		edit(&c)
		if _, err := Sign(c, &k.PublicKey, derSigner(k)); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
	other := newKey(t)
	if _, err := Sign(testClaims(), &k.PublicKey, derSigner(other)); err == nil {
		t.Error("signed with another key than the device's")
	}
	twice := func(m []byte) ([]byte, error) { d := sha256.Sum256(m); return derSigner(k)(d[:]) }
	if _, err := Sign(testClaims(), &k.PublicKey, twice); err == nil {
		t.Error("signed with a signer that hashes twice")
	}
	failing := func([]byte) ([]byte, error) { return nil, errors.New("the user cancelled") }
	if _, err := Sign(testClaims(), &k.PublicKey, failing); err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("a failing signer: %v", err)
	}
}

// TestParseMalformed: every shape Parse must refuse, one subtest each.
func TestParseMalformed(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	goodH := enc([]byte(`{"alg":"ES256","typ":"scanin-assertion+jwt","kid":"d"}`))
	goodP := enc([]byte(`{"iss":"d","sub":"u","iat":1,"exp":2,"jti":"j"}`))
	sig := enc(make([]byte, 64))
	for name, jws := range map[string]string{
		"two parts":            goodH + "." + goodP,
		"four parts":           goodH + "." + goodP + "." + sig + ".",
		"padding":              goodH + "=." + goodP + "." + sig,
		"standard base64":      goodH + "." + goodP + "." + strings.Repeat("+", 86),
		"header not JSON":      enc([]byte("alg")) + "." + goodP + "." + sig,
		"header an array":      enc([]byte(`["ES256"]`)) + "." + goodP + "." + sig,
		"header alg twice":     enc([]byte(`{"alg":"none","alg":"ES256","typ":"scanin-assertion+jwt","kid":"d"}`)) + "." + goodP + "." + sig,
		"header alg a number":  enc([]byte(`{"alg":256,"typ":"scanin-assertion+jwt","kid":"d"}`)) + "." + goodP + "." + sig,
		"header trailing text": enc([]byte(`{"alg":"ES256"} {}`)) + "." + goodP + "." + sig,
		"payload not JSON":     goodH + "." + enc([]byte("{")) + "." + sig,
		"payload a string":     goodH + "." + enc([]byte(`"x"`)) + "." + sig,
		"sub twice":            goodH + "." + enc([]byte(`{"iss":"d","sub":"u","sub":"v","iat":1,"exp":2,"jti":"j"}`)) + "." + sig,
		"no jti":               goodH + "." + enc([]byte(`{"iss":"d","sub":"u","iat":1,"exp":2}`)) + "." + sig,
		"no sub":               goodH + "." + enc([]byte(`{"iss":"d","iat":1,"exp":2,"jti":"j"}`)) + "." + sig,
		"no exp":               goodH + "." + enc([]byte(`{"iss":"d","sub":"u","iat":1,"jti":"j"}`)) + "." + sig,
		"exp a string":         goodH + "." + enc([]byte(`{"iss":"d","sub":"u","iat":1,"exp":"2","jti":"j"}`)) + "." + sig,
		"exp fractional":       goodH + "." + enc([]byte(`{"iss":"d","sub":"u","iat":1,"exp":2.5,"jti":"j"}`)) + "." + sig,
		"aud an array":         goodH + "." + enc([]byte(`{"iss":"d","sub":"u","aud":["a"],"iat":1,"exp":2,"jti":"j"}`)) + "." + sig,
		"too long":             goodH + "." + goodP + "." + strings.Repeat("A", MaxSize),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(jws); !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse: %v, want ErrMalformed", err)
			}
		})
	}
	if tok, err := Parse(goodH + "." + enc([]byte(`{"iss":"d","sub":"u","iat":1e0,"exp":2.0,"jti":"j","extra":[1]}`)) + "." + sig); err != nil || tok.Claims.ExpiresAt != 2 {
		t.Errorf("whole seconds written as floats, and an unknown claim: %v", err)
	}
}

// TestDER: DERToRS and RSToDER are inverses on real signatures, including
// ones whose r or s is short or has its top bit set, and DERToRS refuses
// what is not DER.
func TestDER(t *testing.T) {
	k := newKey(t)
	var short, high bool
	for i := 0; i < 2000 && !(short && high); i++ {
		der, err := derSigner(k)([]byte{byte(i), byte(i >> 8)})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := DERToRS(der)
		if err != nil {
			t.Fatalf("DERToRS(%x): %v", der, err)
		}
		back, err := RSToDER(rs)
		if err != nil || !bytes.Equal(back, der) {
			t.Fatalf("RSToDER(DERToRS(%x)) = %x, %v", der, back, err)
		}
		short = short || rs[0] == 0 || rs[32] == 0
		high = high || rs[0]&0x80 != 0
	}
	if !short || !high {
		t.Errorf("2000 signatures had no short (%v) or high-bit (%v) scalar", short, high)
	}
	for name, der := range map[string]string{
		"empty":            "",
		"not a sequence":   "3102020101020101",
		"length too long":  "3007020101020101",
		"long form":        "308106020101020101",
		"trailing bytes":   "300602010102010100",
		"extra element":    "3009020101020101020101",
		"negative":         "3006020181020101",
		"zero":             "3006020100020101",
		"needless zero":    "300702020001020101",
		"r of 33 bytes":    "3026" + "0221" + "01" + strings.Repeat("00", 32) + "020101",
		"not an integer":   "3006040101020101",
		"empty integer":    "30050200020101",
		"integer too long": "3006020501020101",
	} {
		b := mustHex(t, der)
		if _, err := DERToRS(b); err == nil {
			t.Errorf("%s: DERToRS(%s) accepted", name, der)
		}
	}
	if rs, err := DERToRS(mustHex(t, "3007020200ff020101")); err != nil || rs[31] != 0xff || rs[63] != 1 {
		t.Errorf("a needed leading zero: %x, %v", rs, err)
	}
	if _, err := RSToDER(make([]byte, 64)); err == nil {
		t.Error("RSToDER accepted r = s = 0")
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case '0' <= c && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	return b
}

// FuzzDERToRS: whatever DERToRS accepts, RSToDER writes back byte for
// byte (it accepts only DER, which has one encoding per value).
func FuzzDERToRS(f *testing.F) {
	for _, s := range []string{"3006020101020101", "3007020200ff020101", "300602010102010100", "3006020181020101", ""} {
		b := make([]byte, len(s)/2)
		for i := range b {
			var v byte
			for _, c := range s[2*i : 2*i+2] {
				v <<= 4
				if c <= '9' {
					v |= byte(c - '0')
				} else {
					v |= byte(c-'a') + 10
				}
			}
			b[i] = v
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		rs, err := DERToRS(der)
		if err != nil {
			return
		}
		back, err := RSToDER(rs)
		if err != nil || !bytes.Equal(back, der) {
			t.Fatalf("DERToRS accepted %x, which RSToDER writes as %x (%v)", der, back, err)
		}
	})
}

// TestJWK: a key's JWK round-trips; points off the curve, the wrong
// sizes, other curves and a private part are refused.
func TestJWK(t *testing.T) {
	k := newKey(t)
	jwk, err := PublicJWK(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.PublicKey()
	if err != nil || !pub.Equal(&k.PublicKey) {
		t.Fatalf("round trip: %v", err)
	}
	reg, err := NewRegistration("dev_1-A", &k.PublicKey, "Pixel 9", "android")
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	if got, pub, err := ParseRegistration(b); err != nil || got != reg || !pub.Equal(&k.PublicKey) {
		t.Fatalf("ParseRegistration: %+v %v", got, err)
	}

	y, _ := base64.RawURLEncoding.DecodeString(jwk.Y)
	y[31] ^= 1
	offCurve := jwk
	offCurve.Y = base64.RawURLEncoding.EncodeToString(y)
	for name, bad := range map[string]JWK{
		"off the curve": offCurve,
		"kty RSA":       {Kty: "RSA", Crv: jwk.Crv, X: jwk.X, Y: jwk.Y},
		"crv P-384":     {Kty: "EC", Crv: "P-384", X: jwk.X, Y: jwk.Y},
		"x 31 bytes":    {Kty: "EC", Crv: "P-256", X: jwk.X[:41], Y: jwk.Y},
		"infinity":      {Kty: "EC", Crv: "P-256", X: base64.RawURLEncoding.EncodeToString(make([]byte, 32)), Y: base64.RawURLEncoding.EncodeToString(make([]byte, 32))},
		"padded":        {Kty: "EC", Crv: "P-256", X: jwk.X + "=", Y: jwk.Y},
	} {
		if _, err := bad.PublicKey(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	withD := strings.Replace(string(b), `"kty"`, `"d":"AAAA","kty"`, 1)
	if _, _, err := ParseRegistration([]byte(withD)); err == nil || !strings.Contains(err.Error(), "private") {
		t.Errorf("a registration with a private key: %v", err)
	}
	for _, id := range []string{"", strings.Repeat("a", 65), "a.b", "a b", "é"} {
		if CheckDeviceID(id) == nil {
			t.Errorf("device id %q accepted", id)
		}
	}
	if err := CheckDeviceID(strings.Repeat("aZ9_-", 12) + "abcd"); err != nil {
		t.Errorf("a 64-character id: %v", err)
	}
}
