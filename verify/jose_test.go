package verify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/mobile"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// joseDir holds the pinned jose package and check.mjs.
const joseDir = "testdata/jose"

// jose runs check.mjs with req and decodes its answer into answer. The
// test skips when jose is not installed, except under CI=true, where it
// fails: build.sh installs it (npm ci in verify/testdata/jose).
func jose(t *testing.T, req, answer any) {
	t.Helper()
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(joseDir, "node_modules", "jose", "package.json"))
	if err != nil || modErr != nil {
		msg := "jose is not installed: run `npm ci --no-audit --no-fund` in verify/testdata/jose (needs node)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "check.mjs")
	cmd.Dir = joseDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node check.mjs: %v\n%s", err, stderr.Bytes())
	}
	if err := json.Unmarshal(out, answer); err != nil {
		t.Fatalf("node check.mjs answered %q: %v", out, err)
	}
}

// joseVerified is check.mjs's answer to a verify request.
type joseVerified struct {
	OK      bool             `json:"ok"`
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Header  map[string]any   `json:"header"`
	Payload assertion.Claims `json:"payload"`
}

// sdkAssertion has the mobile SDK approve a session of a page with
// origin with an assertion, through a real relay, and returns what the
// page received and the device's registration.
func sdkAssertion(t *testing.T, origin string) (jws string, reg assertion.Registration, sid string) {
	t.Helper()
	relay := relaytest.NewServer(t, server.Config{})
	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sid = protocol.NewSessionID()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, protocol.ListenURL(relay.URL(), sid, protocol.ListenParams{App: "demo", Origin: origin}), nil)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer conn.CloseNow()
	// A page shows its code only after the relay's ready frame: until then
	// the session may not exist yet.
	if _, b, err := conn.Read(ctx); err != nil {
		t.Fatalf("listen: %v", err)
	} else if f, err := protocol.ParseFrame(b); err != nil || f.Type != protocol.FrameReady {
		t.Fatalf("the relay's first frame is %s, not ready", b)
	}
	link := protocol.Link{Base: relay.URL() + "/link", App: "demo", SessionID: sid, PublicKey: key.PublicKey(), Relay: relay.URL()}.String()

	signer, err := mobile.CreateFileSigner(filepath.Join(t.TempDir(), "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	id := mobile.NewDeviceID()
	regJSON, err := mobile.NewRegistration(signer, id, "Pixel 9", "android")
	if err != nil {
		t.Fatal(err)
	}
	if reg, _, err = assertion.ParseRegistration([]byte(regJSON)); err != nil {
		t.Fatal(err)
	}

	client := mobile.ClientForAnyApp()
	defer client.Close()
	session, err := client.Inspect(link)
	if err != nil {
		t.Fatal(err)
	}
	outcome := make(chan *mobile.Outcome, 1)
	go func() { outcome <- session.ApproveAssertion(signer, id, "ada", "Pixel 9", "android") }()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("the page got no message: %v", err)
		}
		f, err := protocol.ParseFrame(b)
		if err != nil || f.Type != protocol.FrameSealed {
			continue
		}
		m, _, err := protocol.OpenMessage(key, "demo", sid, f.Sealed, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Write(ctx, websocket.MessageText, protocol.Frame{Type: protocol.FrameAck}.AppendJSON(nil)); err != nil {
			t.Fatal(err)
		}
		if o := <-outcome; o.Code != mobile.CodeDelivered {
			t.Fatalf("ApproveAssertion: %+v", o)
		}
		if m.Kind != protocol.KindAssertion {
			t.Fatalf("the page got kind %q", m.Kind)
		}
		return m.Data, reg, sid
	}
}

// TestJoseVerifiesSDKAssertion: an assertion the mobile SDK made and
// delivered verifies with jose, limited to ES256 and checking typ, aud,
// iss and exp, with the registration's JWK as the key; and with this
// package. jose refuses it for another audience and after exp.
func TestJoseVerifiesSDKAssertion(t *testing.T) {
	const origin = "http://localhost:3000"
	jws, reg, sid := sdkAssertion(t, origin)
	now := time.Now().Unix()
	req := func(aud string, at int64) any {
		return map[string]any{"verify": map[string]any{"jws": jws, "jwk": reg.PublicKey, "audience": aud, "issuer": reg.DeviceID, "now": at}}
	}
	var got joseVerified
	jose(t, req(origin, now), &got)
	if !got.OK {
		t.Fatalf("jose refused the SDK's assertion: %s %s\n%s", got.Code, got.Message, jws)
	}
	if got.Header["alg"] != "ES256" || got.Header["typ"] != assertion.Type || got.Header["kid"] != reg.DeviceID || len(got.Header) != 3 {
		t.Errorf("header %v", got.Header)
	}
	p := got.Payload
	if p.Subject != "ada" || p.App != "demo" || p.SessionID != sid || p.ExpiresAt-p.IssuedAt != 60 || len(p.ID) != 22 || len(p.KeyHash) != 43 {
		t.Errorf("payload %+v", p)
	}

	var refused joseVerified
	jose(t, req("https://evil.example", now), &refused)
	if refused.OK || refused.Code != "ERR_JWT_CLAIM_VALIDATION_FAILED" {
		t.Errorf("jose with another audience: %+v", refused)
	}
	jose(t, req(origin, p.ExpiresAt+1), &refused)
	if refused.OK || refused.Code != "ERR_JWT_EXPIRED" {
		t.Errorf("jose after exp: %+v", refused)
	}
	// The protocol allows a phone's clock 60 s ahead of the verifier's: the
	// documented jose check accepts an iat 59 s ahead and refuses 61 s.
	var ahead joseVerified
	jose(t, req(origin, p.IssuedAt-59), &ahead)
	if !ahead.OK {
		t.Errorf("jose with iat 59 s ahead: %+v", ahead)
	}
	jose(t, req(origin, p.IssuedAt-61), &refused)
	if refused.OK || refused.Code != "not_yet_valid" {
		t.Errorf("jose with iat 61 s ahead: %+v", refused)
	}

	v, err := New(Config{Origin: origin, App: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDevice(reg, "ada", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Devices().Register(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(context.Background(), jws, Options{SessionID: sid}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// TestVerifyJoseAssertion: an assertion that jose signed (an independent
// signer) passes Verify; one jose signed with ES384 is refused as bad_alg.
func TestVerifyJoseAssertion(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := assertion.PublicJWK(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	d, err := k.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	private := map[string]string{"kty": "EC", "crv": "P-256", "x": jwk.X, "y": jwk.Y, "d": b64.EncodeToString(d)}

	f := newFixture(t)
	if err := f.v.Devices().Register(context.Background(), Device{ID: "jose-device", PublicKey: &k.PublicKey}); err != nil {
		t.Fatal(err)
	}
	c := f.claims()
	c.Issuer = "jose-device"
	var signed struct {
		JWS string `json:"jws"`
	}
	jose(t, map[string]any{"sign": map[string]any{"jwk": private, "kid": "jose-device", "claims": c}}, &signed)
	res, err := f.v.Verify(context.Background(), signed.JWS, Options{SessionID: testSID})
	if err != nil {
		t.Fatalf("Verify of jose's assertion: %v\n%s", err, signed.JWS)
	}
	if res.Claims != c {
		t.Errorf("claims %+v, want %+v", res.Claims, c)
	}

	k384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := k384.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	d384, err := k384.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p384 := map[string]string{"kty": "EC", "crv": "P-384", "x": b64.EncodeToString(pt[1:49]), "y": b64.EncodeToString(pt[49:]), "d": b64.EncodeToString(d384)}
	c.ID = assertion.NewID()
	jose(t, map[string]any{"sign": map[string]any{"jwk": p384, "kid": "jose-device", "claims": c, "alg": "ES384"}}, &signed)
	if _, err := f.v.Verify(context.Background(), signed.JWS, Options{SessionID: testSID}); CodeOf(err) != CodeBadAlg {
		t.Errorf("jose's ES384 assertion: %v, want bad_alg", err)
	}
}
