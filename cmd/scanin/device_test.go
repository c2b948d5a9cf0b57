package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scanin/scanin/assertion"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// pageOrigin is a page origin the relay's built-in demo app allows.
const pageOrigin = "http://localhost:3000"

// TestDeviceNew: device new writes a 0600 PKCS#8 key and a registration
// object that parses, and refuses to make a second key in the same place.
func TestDeviceNew(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "phone")
	r := scanin(t, "", "device", "new", "--name", "Test Phone", "--type", "android", "--out", dir)
	wantExit(t, "device new", r, 0)

	info, err := os.Stat(filepath.Join(dir, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("device.key has mode %v, want 0600", info.Mode().Perm())
	}
	key, err := os.ReadFile(filepath.Join(dir, "device.key"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(key), "-----BEGIN PRIVATE KEY-----\n") {
		t.Errorf("device.key is not PKCS#8 PEM:\n%s", key)
	}
	b, err := os.ReadFile(filepath.Join(dir, "device.json"))
	if err != nil {
		t.Fatal(err)
	}
	reg, _, err := assertion.ParseRegistration(b)
	if err != nil {
		t.Fatalf("device.json: %v\n%s", err, b)
	}
	if reg.Name != "Test Phone" || reg.Type != "android" || !strings.Contains(r.stdout, reg.DeviceID) {
		t.Errorf("registration %+v; stdout:\n%s", reg, r.stdout)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(b, &members); err != nil || len(members) != 4 {
		t.Errorf("device.json has members %v, want device_id, public_key, name, type", members)
	}

	r = scanin(t, "", "device", "new", "--out", dir)
	wantExit(t, "device new over an existing key", r, 1)
	if !strings.Contains(r.stderr, "exists") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "device.key")); string(again) != string(key) {
		t.Error("device new changed the existing key")
	}

	wantExit(t, "device new without --out", scanin(t, "", "device", "new"), 2)
	wantExit(t, "device without new", scanin(t, "", "device"), 2)
	wantExit(t, "device new --id with a dot", scanin(t, "", "device", "new", "--out", t.TempDir(), "--id", "a.b"), 2)
}

// pageReceiver is a receiver that listens as the widget does, with a page
// origin, and returns the message it opens.
type pageReceiver struct {
	link, sid string
	pk        []byte
	got       chan protocol.Message
	failed    chan error
}

// listenAsPage listens on relay for the demo app with origin pageOrigin,
// and opens and acks the first sealed message in the background.
func listenAsPage(t *testing.T, relay string) *pageReceiver {
	t.Helper()
	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sid := protocol.NewSessionID()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, protocol.ListenURL(relay, sid, protocol.ListenParams{App: "demo", Origin: pageOrigin}), nil)
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	p := &pageReceiver{
		link: protocol.Link{Base: relay + "/link", App: "demo", SessionID: sid, PublicKey: key.PublicKey(), Relay: relay}.String(),
		sid:  sid, pk: key.PublicKey(),
		got: make(chan protocol.Message, 1), failed: make(chan error, 1),
	}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				p.failed <- err
				return
			}
			f, err := protocol.ParseFrame(b)
			if err != nil || f.Type != protocol.FrameSealed {
				continue // ready, scanned, pong
			}
			m, _, err := protocol.OpenMessage(key, "demo", sid, f.Sealed, time.Now())
			if err != nil {
				p.failed <- err
				return
			}
			if err := conn.Write(ctx, websocket.MessageText, protocol.Frame{Type: protocol.FrameAck}.AppendJSON(nil)); err != nil {
				p.failed <- err
				return
			}
			p.got <- m // one message per session: the relay closes the socket next
			return
		}
	}()
	return p
}

// message waits for the opened message.
func (p *pageReceiver) message(t *testing.T) protocol.Message {
	t.Helper()
	select {
	case m := <-p.got:
		return m
	case err := <-p.failed:
		t.Fatalf("the page receiver failed: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the page receiver got nothing in 60 s")
	}
	return protocol.Message{}
}

// TestSendAssertion: send --kind assertion to a receiver with a page
// origin delivers an assertion for that origin, session and key, which
// verify accepts once and refuses as replayed the second time; with the
// device revoked, or for another origin, verify refuses it.
func TestSendAssertion(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	dir := filepath.Join(t.TempDir(), "phone")
	wantExit(t, "device new", scanin(t, "", "device", "new", "--name", "Test Phone", "--type", "android", "--out", dir), 0)

	page := listenAsPage(t, relay.URL())
	r := scanin(t, "", "send", "--kind", "assertion", "--device", dir, "--user", "ada", "--link", page.link, "--yes")
	wantExit(t, "send --kind assertion", r, sendOK)
	if !strings.Contains(r.stdout, pageOrigin) {
		t.Errorf("send's output:\n%s", r.stdout)
	}
	m := page.message(t)
	if m.Kind != protocol.KindAssertion || m.Device == nil || m.Device.Name != "Test Phone" || m.Device.Type != "android" {
		t.Fatalf("message %+v (device %+v), want an assertion from Test Phone", m, m.Device)
	}
	tok, err := assertion.Parse(m.Data)
	if err != nil {
		t.Fatalf("the delivered assertion: %v\n%s", err, m.Data)
	}
	c := tok.Claims
	if c.Audience != pageOrigin || c.App != "demo" || c.SessionID != page.sid || c.KeyHash != assertion.KeyHash(page.pk) ||
		c.Subject != "ada" || c.ExpiresAt-c.IssuedAt != 60 || c.Issuer != tok.Header.Kid {
		t.Errorf("claims %+v, header %+v", c, tok.Header)
	}

	reg, err := os.ReadFile(filepath.Join(dir, "device.json"))
	if err != nil {
		t.Fatal(err)
	}
	devices := filepath.Join(t.TempDir(), "devices.json")
	writeFile(t, devices, "["+string(reg)+"]")
	r = scanin(t, m.Data+"\n"+m.Data+"\n", "verify", "--devices", devices, "--origin", pageOrigin, "--app", "demo", "--sid", page.sid)
	wantExit(t, "verify the same assertion twice", r, 1)
	lines := verifyLines(t, r.stdout, 2)
	if want := `{"ok":true,"device":"` + c.Issuer + `","sub":"ada","jti":"` + c.ID + `"}`; lines[0] != want {
		t.Errorf("first line %s, want %s", lines[0], want)
	}
	wantRefusal(t, lines[1], "replayed")

	r = scanin(t, m.Data+"\n", "verify", "--devices", devices, "--origin", pageOrigin, "--app", "demo", "--sid", page.sid)
	wantExit(t, "verify once", r, 0)

	r = scanin(t, m.Data+"\n", "verify", "--devices", devices, "--origin", "https://shop.example", "--app", "demo")
	wantExit(t, "verify for another origin", r, 1)
	wantRefusal(t, verifyLines(t, r.stdout, 1)[0], "bad_audience")

	revoked := filepath.Join(t.TempDir(), "revoked.json")
	writeFile(t, revoked, "["+strings.TrimSpace(string(reg))[:len(strings.TrimSpace(string(reg)))-1]+`,"revoked":true}]`)
	r = scanin(t, m.Data+"\n", "verify", "--devices", revoked, "--origin", pageOrigin, "--app", "demo")
	wantExit(t, "verify with the device revoked", r, 1)
	wantRefusal(t, verifyLines(t, r.stdout, 1)[0], "revoked")
}

// TestSendAssertionToTerminal: a code that scanin receive made has no page
// origin, so send --kind assertion refuses it, says why, and sends
// nothing.
func TestSendAssertionToTerminal(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	dir := filepath.Join(t.TempDir(), "phone")
	wantExit(t, "device new", scanin(t, "", "device", "new", "--out", dir), 0)
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--once")
	link := recv.next("link")

	r := scanin(t, "", "send", "--kind", "assertion", "--device", dir, "--user", "ada", "--link", link.Link, "--yes")
	wantExit(t, "send --kind assertion to a terminal", r, sendBadRequest)
	for _, want := range []string{"no page origin", "scanin receive", "Nothing was sent"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	recv.next("scanned")
	// Nothing was delivered: a token still goes through.
	wantExit(t, "send a token afterwards", scanin(t, "", "send", "--link", link.Link, "--data", "tok", "--yes"), sendOK)
	if res := recv.next("result"); res.Kind != "token" {
		t.Errorf("result %+v", res)
	}
}

// TestSendAssertionUsage: the flags --kind assertion needs, and refuses.
func TestSendAssertionUsage(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "phone")
	wantExit(t, "device new", scanin(t, "", "device", "new", "--out", dir), 0)
	const link = "http://127.0.0.1:1/link#v=1"
	for name, args := range map[string][]string{
		"no --device":          {"--user", "ada"},
		"no --user":            {"--device", dir},
		"--data too":           {"--device", dir, "--user", "ada", "--data", "x"},
		"--device for a token": {"--kind", "token", "--device", dir, "--data", "x"},
	} {
		if args[0] != "--kind" {
			args = append([]string{"--kind", "assertion"}, args...)
		}
		r := scanin(t, "", append([]string{"send", "--link", link, "--yes"}, args...)...)
		wantExit(t, name, r, sendUsage)
	}
	r := scanin(t, "", "send", "--kind", "assertion", "--device", t.TempDir(), "--user", "ada", "--link", link, "--yes")
	wantExit(t, "send with a directory that holds no device", r, sendFailed)
	if !strings.Contains(r.stderr, "scanin device new") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// verifyLines splits scanin verify's output into its n lines.
func verifyLines(t *testing.T, stdout string, n int) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != n {
		t.Fatalf("verify wrote %d lines, want %d:\n%s", len(lines), n, stdout)
	}
	return lines
}

// wantRefusal checks that a line of scanin verify is a refusal with code.
func wantRefusal(t *testing.T, line, code string) {
	t.Helper()
	var l struct {
		OK      *bool  `json:"ok"`
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(line), &l); err != nil || l.OK == nil || *l.OK || l.Error != code || l.Message == "" {
		t.Errorf("line %s, want a refusal %q with a message", line, code)
	}
}
