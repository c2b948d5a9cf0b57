package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scanin/scanin/assertion"
)

const (
	testOrigin = "https://shop.example"
	testApp    = "shop"
	testSID    = "c2Nhbmluc2Vzc2lvbmlkMQ" // 16 bytes
)

var b64 = base64.RawURLEncoding

// clock is a settable clock for tests.
type clock struct{ unix atomic.Int64 }

func (c *clock) now() time.Time { return time.Unix(c.unix.Load(), 0) }

// fixture is a verifier with three devices: "phone" (user ada), "tablet"
// (revoked), and "laptop", whose user is not recorded.
type fixture struct {
	clock *clock
	v     *Verifier
	keys  map[string]*ecdsa.PrivateKey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{}, keys: map[string]*ecdsa.PrivateKey{}}
	f.clock.unix.Store(1763750000)
	v, err := New(Config{Origin: testOrigin, App: testApp, Now: f.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	f.v = v
	for _, d := range []struct{ id, user string }{{"phone", "ada"}, {"tablet", "ada"}, {"laptop", ""}} {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		f.keys[d.id] = k
		if err := v.Devices().Register(context.Background(), Device{ID: d.id, PublicKey: &k.PublicKey, Name: d.id, User: d.user}); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Devices().Revoke(context.Background(), "tablet"); err != nil {
		t.Fatal(err)
	}
	return f
}

// claims are good claims for the phone at the fixture's time.
func (f *fixture) claims() assertion.Claims {
	now := f.clock.now().Unix()
	return assertion.Claims{Issuer: "phone", Subject: "ada", Audience: testOrigin, App: testApp, SessionID: testSID,
		KeyHash: assertion.KeyHash(make([]byte, 32)), IssuedAt: now, ExpiresAt: now + 60, ID: assertion.NewID()}
}

// jws builds a compact JWS from any header and payload (marshalled as
// JSON), signed as ES256 R||S by key over the exact input.
func jws(t *testing.T, header, payload any, key *ecdsa.PrivateKey) string {
	t.Helper()
	input := part(t, header) + "." + part(t, payload)
	return input + "." + b64.EncodeToString(rsSign(t, key, input))
}

func part(t *testing.T, v any) string {
	t.Helper()
	if s, ok := v.(string); ok {
		return b64.EncodeToString([]byte(s))
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64.EncodeToString(b)
}

func rsSign(t *testing.T, key *ecdsa.PrivateKey, input string) []byte {
	t.Helper()
	d := sha256.Sum256([]byte(input))
	der, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	rs, err := assertion.DERToRS(der)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func goodHeader(kid string) map[string]string {
	return map[string]string{"alg": "ES256", "typ": assertion.Type, "kid": kid}
}

// TestVerify provokes every refusal code, one subtest each, and checks
// the accepted cases at the edges of each rule.
func TestVerify(t *testing.T) {
	type tc struct {
		name string
		make func(t *testing.T, f *fixture) string
		sid  string // the sid the page reports; testSID when empty, none when "-"
		want Code   // "" for accepted
	}
	withClaims := func(edit func(*assertion.Claims)) func(*testing.T, *fixture) string {
		return func(t *testing.T, f *fixture) string {
			c := f.claims()
			edit(&c)
			return jws(t, goodHeader(c.Issuer), c, f.keys[c.Issuer])
		}
	}
	good := withClaims(func(*assertion.Claims) {})
	withHeader := func(h map[string]string) func(*testing.T, *fixture) string {
		return func(t *testing.T, f *fixture) string { return jws(t, h, f.claims(), f.keys["phone"]) }
	}
	// replaceSig keeps the signing input and puts sig(input) as the signature.
	replaceSig := func(alg string, sig func(t *testing.T, f *fixture, input string) []byte) func(*testing.T, *fixture) string {
		return func(t *testing.T, f *fixture) string {
			h := goodHeader("phone")
			h["alg"] = alg
			input := part(t, h) + "." + part(t, f.claims())
			return input + "." + b64.EncodeToString(sig(t, f, input))
		}
	}
	pubBytes := func(f *fixture) []byte { b, _ := f.keys["phone"].PublicKey.Bytes(); return b }
	cases := []tc{
		{name: "accepted", make: good},
		{name: "accepted without a sid to compare", make: good, sid: "-"},
		{name: "accepted from a device whose user is not recorded", make: withClaims(func(c *assertion.Claims) { c.Issuer = "laptop"; c.Subject = "anyone" })},
		{name: "accepted with exp - iat = 120", make: withClaims(func(c *assertion.Claims) { c.ExpiresAt = c.IssuedAt + 120 })},
		{name: "accepted with iat 60 s ahead", make: withClaims(func(c *assertion.Claims) { c.IssuedAt += 60; c.ExpiresAt = c.IssuedAt + 60 })},
		{name: "accepted 1 s before exp", make: withClaims(func(c *assertion.Claims) { c.IssuedAt -= 59; c.ExpiresAt = c.IssuedAt + 60 })},
		{name: "accepted with unknown header members", make: withHeader(map[string]string{"alg": "ES256", "typ": assertion.Type, "kid": "phone", "x5u": "https://evil.example"})},

		{name: "two parts", make: func(t *testing.T, f *fixture) string { s := good(t, f); return s[:strings.LastIndex(s, ".")] }, want: CodeMalformed},
		{name: "payload not JSON", make: func(t *testing.T, f *fixture) string {
			input := part(t, goodHeader("phone")) + "." + b64.EncodeToString([]byte("ada"))
			return input + "." + b64.EncodeToString(rsSign(t, f.keys["phone"], input))
		}, want: CodeMalformed},
		{name: "exp before iat", make: withClaims(func(c *assertion.Claims) { c.ExpiresAt = c.IssuedAt - 1 }), want: CodeMalformed},

		{name: "tampered payload", make: func(t *testing.T, f *fixture) string {
			s := strings.Split(good(t, f), ".")
			c := f.claims()
			c.Subject = "root"
			return s[0] + "." + part(t, c) + "." + s[2]
		}, want: CodeBadSignature},
		{name: "tampered header", make: func(t *testing.T, f *fixture) string {
			s := strings.Split(good(t, f), ".")
			h := goodHeader("phone")
			h["jku"] = "https://evil.example"
			return part(t, h) + "." + s[1] + "." + s[2]
		}, want: CodeBadSignature},
		{name: "tampered signature", make: func(t *testing.T, f *fixture) string {
			s := strings.Split(good(t, f), ".")
			sig, _ := b64.DecodeString(s[2])
			sig[10] ^= 0x01
			return s[0] + "." + s[1] + "." + b64.EncodeToString(sig)
		}, want: CodeBadSignature},
		{name: "signature by another device's key", make: func(t *testing.T, f *fixture) string {
			return jws(t, goodHeader("phone"), f.claims(), f.keys["laptop"])
		}, want: CodeBadSignature},
		{name: "DER signature in place of R||S", make: replaceSig("ES256", func(t *testing.T, f *fixture, input string) []byte {
			d := sha256.Sum256([]byte(input))
			der, err := ecdsa.SignASN1(rand.Reader, f.keys["phone"], d[:])
			if err != nil {
				t.Fatal(err)
			}
			return der
		}), want: CodeBadSignature},

		{name: "alg none", make: replaceSig("none", func(*testing.T, *fixture, string) []byte { return nil }), want: CodeBadAlg},
		{name: "alg HS256 keyed with the public key", make: replaceSig("HS256", func(_ *testing.T, f *fixture, input string) []byte {
			m := hmac.New(sha256.New, pubBytes(f))
			m.Write([]byte(input))
			return m.Sum(nil)
		}), want: CodeBadAlg},
		{name: "alg RS256", make: replaceSig("RS256", func(t *testing.T, _ *fixture, input string) []byte {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			d := sha256.Sum256([]byte(input))
			sig, err := rsa.SignPKCS1v15(rand.Reader, k, 5 /* crypto.SHA256 */, d[:])
			if err != nil {
				t.Fatal(err)
			}
			return sig
		}), want: CodeBadAlg},
		{name: "alg ES384", make: replaceSig("ES384", func(t *testing.T, _ *fixture, input string) []byte {
			k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			d := sha512.Sum384([]byte(input))
			der, err := ecdsa.SignASN1(rand.Reader, k, d[:])
			if err != nil {
				t.Fatal(err)
			}
			return der
		}), want: CodeBadAlg},
		{name: "alg es256 in lower case", make: withHeader(map[string]string{"alg": "es256", "typ": assertion.Type, "kid": "phone"}), want: CodeBadAlg},
		{name: "alg missing", make: withHeader(map[string]string{"typ": assertion.Type, "kid": "phone"}), want: CodeBadAlg},

		{name: "typ missing", make: withHeader(map[string]string{"alg": "ES256", "kid": "phone"}), want: CodeBadTyp},
		{name: "typ JWT", make: withHeader(map[string]string{"alg": "ES256", "typ": "JWT", "kid": "phone"}), want: CodeBadTyp},

		{name: "unknown device", make: func(t *testing.T, f *fixture) string {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			c := f.claims()
			c.Issuer = "stranger"
			return jws(t, goodHeader("stranger"), c, k)
		}, want: CodeUnknownDevice},
		{name: "kid missing", make: withHeader(map[string]string{"alg": "ES256", "typ": assertion.Type}), want: CodeUnknownDevice},
		{name: "revoked device", make: withClaims(func(c *assertion.Claims) { c.Issuer = "tablet" }), want: CodeRevoked},

		{name: "iss other than kid", make: func(t *testing.T, f *fixture) string {
			c := f.claims()
			c.Issuer = "laptop"
			return jws(t, goodHeader("phone"), c, f.keys["phone"])
		}, want: CodeBadIssuer},
		{name: "sub another user", make: withClaims(func(c *assertion.Claims) { c.Subject = "grace" }), want: CodeBadSubject},
		{name: "wrong aud", make: withClaims(func(c *assertion.Claims) { c.Audience = "https://evil.example" }), want: CodeBadAudience},
		{name: "aud with a trailing slash", make: withClaims(func(c *assertion.Claims) { c.Audience = testOrigin + "/" }), want: CodeBadAudience},
		{name: "wrong app", make: withClaims(func(c *assertion.Claims) { c.App = "other" }), want: CodeBadApp},
		{name: "wrong sid", make: withClaims(func(c *assertion.Claims) { c.SessionID = "AAAAAAAAAAAAAAAAAAAAAA" }), want: CodeBadSID},

		{name: "expired", make: withClaims(func(c *assertion.Claims) { c.IssuedAt -= 200; c.ExpiresAt = c.IssuedAt + 60 }), want: CodeExpired},
		{name: "expired at exp", make: withClaims(func(c *assertion.Claims) { c.IssuedAt -= 60; c.ExpiresAt = c.IssuedAt + 60 }), want: CodeExpired},
		{name: "iat 2 minutes ahead", make: withClaims(func(c *assertion.Claims) { c.IssuedAt += 120; c.ExpiresAt = c.IssuedAt + 60 }), want: CodeNotYetValid},
		{name: "iat 61 s ahead", make: withClaims(func(c *assertion.Claims) { c.IssuedAt += 61; c.ExpiresAt = c.IssuedAt + 60 }), want: CodeNotYetValid},
		{name: "exp - iat = 121", make: withClaims(func(c *assertion.Claims) { c.ExpiresAt = c.IssuedAt + 121 }), want: CodeTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			token := c.make(t, f)
			sid := testSID
			switch c.sid {
			case "-":
				sid = ""
			case "":
			default:
				sid = c.sid
			}
			res, err := f.v.Verify(context.Background(), token, Options{SessionID: sid})
			if got := CodeOf(err); got != c.want || (err != nil) != (c.want != "") {
				t.Fatalf("Verify: %v (code %q), want code %q", err, got, c.want)
			}
			if c.want != "" {
				var e *Error
				if !errors.As(err, &e) || e.Message == "" || res != nil {
					t.Errorf("refusal %#v, result %v", err, res)
				}
				return
			}
			if res.Device.ID != res.Claims.Issuer || res.Claims.ID == "" {
				t.Errorf("result %+v", res)
			}
			// The same assertion again is a replay.
			if _, err := f.v.Verify(context.Background(), token, Options{SessionID: sid}); CodeOf(err) != CodeReplayed {
				t.Errorf("again: %v, want replayed", err)
			}
		})
	}
}

// TestRefusalKeepsJTI: an assertion refused for any reason does not use
// up its jti (the replay check comes last), so the same jti is accepted
// afterwards.
func TestRefusalKeepsJTI(t *testing.T) {
	f := newFixture(t)
	c := f.claims()
	token := jws(t, goodHeader("phone"), c, f.keys["phone"])
	if _, err := f.v.Verify(context.Background(), token, Options{SessionID: "AAAAAAAAAAAAAAAAAAAAAA"}); CodeOf(err) != CodeBadSID {
		t.Fatalf("wrong sid: %v", err)
	}
	if _, err := f.v.Verify(context.Background(), token, Options{SessionID: testSID}); err != nil {
		t.Fatalf("the right sid after a refusal: %v", err)
	}
	c2 := f.claims()
	c2.ID = c.ID
	again := jws(t, goodHeader("phone"), c2, f.keys["phone"])
	if _, err := f.v.Verify(context.Background(), again, Options{SessionID: testSID}); CodeOf(err) != CodeReplayed {
		t.Fatalf("a new assertion with a used jti: %v, want replayed", err)
	}
}

// TestReplayConcurrent: of many concurrent verifications of one
// assertion, exactly one is accepted.
func TestReplayConcurrent(t *testing.T) {
	f := newFixture(t)
	token := jws(t, goodHeader("phone"), f.claims(), f.keys["phone"])
	var accepted, replayed atomic.Int32
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			_, err := f.v.Verify(context.Background(), token, Options{SessionID: testSID})
			switch CodeOf(err) {
			case "":
				accepted.Add(1)
			case CodeReplayed:
				replayed.Add(1)
			}
		})
	}
	wg.Wait()
	if accepted.Load() != 1 || replayed.Load() != 31 {
		t.Errorf("accepted %d, replayed %d; want 1 and 31", accepted.Load(), replayed.Load())
	}
}

// TestMemoryReplayForgets: the store keeps a jti until a minute past its
// exp and then sweeps it, so it does not grow without bound.
func TestMemoryReplayForgets(t *testing.T) {
	c := &clock{}
	c.unix.Store(1000)
	m := NewMemoryReplay(c.now)
	ctx := context.Background()
	until := c.now().Add(60 * time.Second)
	for i := range 100 {
		if fresh, err := m.Remember(ctx, "old-"+string(rune('A'+i%26))+strings.Repeat("x", i), until); err != nil || !fresh {
			t.Fatalf("Remember %d: %v %v", i, fresh, err)
		}
	}
	if fresh, _ := m.Remember(ctx, "old-A", until); fresh {
		t.Error("a jti was fresh twice")
	}
	c.unix.Store(1000 + 60 + 59) // past exp, within the grace
	if fresh, _ := m.Remember(ctx, "old-A", until); fresh {
		t.Error("a jti was forgotten before a minute past its exp")
	}
	c.unix.Store(1000 + 60 + 60)
	for i := range 200 {
		if _, err := m.Remember(ctx, "new-"+strings.Repeat("y", i), c.now().Add(60*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if n := m.Len(); n > 200 {
		t.Errorf("the store holds %d jti values, want the 200 new ones only once swept", n)
	}
}

// TestNewChecksConfig: New refuses what is not an origin or an app id.
func TestNewChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Origin: "https://shop.example/", App: "shop"},
		{Origin: "https://Shop.example", App: "shop"},
		{Origin: "shop.example", App: "shop"},
		{Origin: "https://user@shop.example", App: "shop"},
		{Origin: "ftp://shop.example", App: "shop"},
		{Origin: "https://shop.example", App: "Shop"},
		{Origin: "https://shop.example", App: ""},
		// Not in the form a relay hands out as requester.origin.
		{Origin: "https://shop.example:443", App: "shop"},
		{Origin: "http://localhost:080", App: "shop"},
		{Origin: "https://shop.example:99999", App: "shop"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	if _, err := New(Config{Origin: "http://localhost:8081", App: "demo"}); err != nil {
		t.Errorf("a loopback origin with a port: %v", err)
	}
}

// TestDeviceStore: a device id cannot be registered twice (a revoked one
// stays revoked), and unknown ids are ErrNoDevice.
func TestDeviceStore(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err := f.v.Devices().Register(ctx, Device{ID: "tablet", PublicKey: &k.PublicKey}); !errors.Is(err, ErrDeviceExists) {
		t.Errorf("registering a revoked id again: %v", err)
	}
	if d, _ := f.v.Devices().Lookup(ctx, "tablet"); !d.Revoked {
		t.Error("the revoked device came back")
	}
	if _, err := f.v.Devices().Lookup(ctx, "nobody"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Lookup: %v", err)
	}
	if err := f.v.Devices().Revoke(ctx, "nobody"); !errors.Is(err, ErrNoDevice) {
		t.Errorf("Revoke: %v", err)
	}
	list, err := f.v.Devices().(*MemoryDevices).ListByUser(ctx, "ada")
	if err != nil || len(list) != 2 {
		t.Errorf("ListByUser(ada): %v %v", list, err)
	}
}
