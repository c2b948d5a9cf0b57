package mobile

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/protocol"
)

// rawSigner signs as WebCrypto does: R||S, and gives its key as a
// SubjectPublicKeyInfo, as Java's getEncoded does; err fails every Sign.
type rawSigner struct {
	key *ecdsa.PrivateKey
	err error
}

func (s *rawSigner) PublicKey() ([]byte, error) { return x509.MarshalPKIXPublicKey(&s.key.PublicKey) }

func (s *rawSigner) Sign(m []byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	d := sha256.Sum256(m)
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, d[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	sv.FillBytes(out[32:])
	return out, nil
}

// TestApproveAssertion: the SDK signs an assertion from the inspected
// session (aud the page's origin, the link's app, sid and key hash, 60 s,
// a fresh jti), seals it and posts it; a retry posts the same bytes; other
// arguments are refused.
func TestApproveAssertion(t *testing.T) {
	relay := newCannedRelay(t)
	relay.post = answer{200, `{"state":"delivered"}`, nil}
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	signer, err := CreateFileSigner(filepath.Join(t.TempDir(), "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	link, key := testLink(t, "demo", relay.URL)
	s, err := c.Inspect(link)
	if err != nil {
		t.Fatal(err)
	}
	if !s.AcceptsAssertion() {
		t.Fatal("a session with a page origin does not accept an assertion")
	}
	before := time.Now().Unix()
	if o := s.ApproveAssertion(signer, "dev-1", "ada", "Pixel 9", "android"); o.Code != CodeDelivered {
		t.Fatalf("ApproveAssertion: %+v", o)
	}
	l, _ := c.ParseLink(link)
	m, _, err := protocol.OpenMessage(key, "demo", l.SessionID(), relay.bodies()[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if m.Kind != protocol.KindAssertion || m.Device == nil || m.Device.Name != "Pixel 9" {
		t.Errorf("message %+v", m)
	}
	tok, err := assertion.Parse(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := protocol.DecodeBase64(strings.Split(strings.Split(link, "&k=")[1], "&")[0])
	cl := tok.Claims
	if tok.Header != (assertion.Header{Alg: "ES256", Typ: assertion.Type, Kid: "dev-1"}) ||
		cl.Issuer != "dev-1" || cl.Subject != "ada" || cl.Audience != "https://shop.example" || cl.App != "demo" ||
		cl.SessionID != l.SessionID() || cl.KeyHash != assertion.KeyHash(pk) || cl.IssuedAt < before ||
		cl.ExpiresAt != cl.IssuedAt+60 || len(cl.ID) != 22 {
		t.Errorf("header %+v claims %+v", tok.Header, cl)
	}
	pub, _ := signer.PublicKey()
	devKey, _ := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if !assertion.VerifySignature(devKey, tok.SigningInput, tok.Signature) {
		t.Error("the signature does not verify with the device key")
	}

	if o := s.ApproveAssertion(signer, "dev-1", "ada", "Pixel 9", "android"); o.Code != CodeDelivered {
		t.Fatalf("retry: %+v", o)
	}
	if b := relay.bodies(); len(b) != 2 || !bytes.Equal(b[0], b[1]) {
		t.Error("the retry did not resend the same bytes")
	}
	if o := s.ApproveAssertion(signer, "dev-1", "grace", "Pixel 9", "android"); o.Code != CodeBadRequest {
		t.Errorf("another user on the same session: %+v", o)
	}

	// A WebCrypto-like signer (R||S, SPKI) works as well.
	link2, _ := testLink(t, "demo", relay.URL)
	s2, err := c.Inspect(link2)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if o := s2.ApproveAssertion(&rawSigner{key: k}, "dev-2", "ada", "", ""); o.Code != CodeDelivered {
		t.Errorf("an R||S signer: %+v", o)
	}
}

// TestApproveAssertionRefuses: nothing is posted for a session without a
// page origin, a kind "assertion" through Approve, a bad device id, no
// user, a failing signer, or a signer whose key is not the one it signs
// with.
func TestApproveAssertionRefuses(t *testing.T) {
	relay := newCannedRelay(t)
	relay.post = answer{200, `{"state":"delivered"}`, nil}
	c, err := NewClient("demo")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := &rawSigner{key: k}
	for _, tc := range []struct {
		name    string
		approve func(s *Session) *Outcome
		want    string
	}{
		{"Approve with kind assertion", func(s *Session) *Outcome { return s.Approve("assertion", "a.b.c", "", "") }, "ApproveAssertion"},
		{"bad device id", func(s *Session) *Outcome { return s.ApproveAssertion(good, "dev 1", "ada", "", "") }, "deviceID"},
		{"no user", func(s *Session) *Outcome { return s.ApproveAssertion(good, "dev-1", "", "", "") }, "user"},
		{"failing signer", func(s *Session) *Outcome {
			return s.ApproveAssertion(&rawSigner{key: k, err: errors.New("biometric prompt cancelled")}, "dev-1", "ada", "", "")
		}, "cancelled"},
		{"signer with another key", func(s *Session) *Outcome {
			return s.ApproveAssertion(mismatched{pub: good, sign: &rawSigner{key: other}}, "dev-1", "ada", "", "")
		}, "does not verify"},
		{"nil signer", func(s *Session) *Outcome { return s.ApproveAssertion(nil, "dev-1", "ada", "", "") }, "signer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			link, _ := testLink(t, "demo", relay.URL)
			s, err := c.Inspect(link)
			if err != nil {
				t.Fatal(err)
			}
			if o := tc.approve(s); o.Code != CodeBadRequest || !strings.Contains(o.Message, tc.want) {
				t.Errorf("outcome %+v, want bad_request saying %q", o, tc.want)
			}
		})
	}

	// A terminal receiver's session: no origin.
	relay.set(answer{200, `{"app":"demo","app_name":"Demo Shop","state":"waiting","expires_at":` +
		strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10) +
		`,"requester":{"ip":"203.0.113.5","user_agent":"scanin-receive/1 (Linux)"},"sender":{"ip":"203.0.113.77"}}`, nil},
		answer{200, `{"state":"delivered"}`, nil})
	link, _ := testLink(t, "demo", relay.URL)
	s, err := c.Inspect(link)
	if err != nil {
		t.Fatal(err)
	}
	if s.AcceptsAssertion() {
		t.Error("a session without an origin accepts an assertion")
	}
	if o := s.ApproveAssertion(good, "dev-1", "ada", "", ""); o.Code != CodeBadRequest || !strings.Contains(o.Message, "no page origin") {
		t.Errorf("a terminal's session: %+v", o)
	}
	if (&Session{}).ApproveAssertion(good, "dev-1", "ada", "", "").Code != CodeBadRequest {
		t.Error("a zero Session approved")
	}
	if n := len(relay.bodies()); n != 0 {
		t.Errorf("%d payloads were posted", n)
	}
}

// mismatched gives one signer's public key and another's signatures.
type mismatched struct{ pub, sign Signer }

func (m mismatched) PublicKey() ([]byte, error)    { return m.pub.PublicKey() }
func (m mismatched) Sign(b []byte) ([]byte, error) { return m.sign.Sign(b) }

// TestFileSigner: the key file is PKCS#8 PEM with mode 0600, is never
// overwritten, and loads back as the same key; a zero FileSigner fails
// cleanly; the registration object carries the key.
func TestFileSigner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "device.key")
	s, err := CreateFileSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", info.Mode(), err)
	}
	before, _ := os.ReadFile(path)
	if _, err := CreateFileSigner(path); err == nil {
		t.Error("CreateFileSigner overwrote a key")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the key file changed")
	}
	loaded, err := LoadFileSigner(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := s.PublicKey()
	b, _ := loaded.PublicKey()
	if !bytes.Equal(a, b) || len(a) != 65 {
		t.Errorf("loaded key %x, want %x", b, a)
	}
	if _, err := (&FileSigner{}).Sign([]byte("x")); err == nil {
		t.Error("a zero FileSigner signed")
	}
	if _, err := LoadFileSigner(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("loaded a missing file")
	}

	reg, err := NewRegistration(loaded, "dev_1", "Pixel 9", "android")
	if err != nil {
		t.Fatal(err)
	}
	r, pub, err := assertion.ParseRegistration([]byte(reg))
	if err != nil || r.DeviceID != "dev_1" || r.Name != "Pixel 9" || r.Type != "android" {
		t.Fatalf("registration %s: %v", reg, err)
	}
	if point, _ := pub.Bytes(); !bytes.Equal(point, a) {
		t.Error("the registration's key is not the signer's")
	}
	if _, err := NewRegistration(loaded, "dev.1", "", ""); ErrorCode(err) != CodeBadRequest {
		t.Errorf("a bad device id: %v", err)
	}
	if id := NewDeviceID(); assertion.CheckDeviceID(id) != nil || len(id) != 22 || id == NewDeviceID() {
		t.Errorf("NewDeviceID: %q", id)
	}
}
