package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scanin/scanin/assertion"
)

// TestVerifyCommand: scanin verify prints one line per assertion, in
// order, with the refusal codes, and exits 1 when any was refused; blank
// lines are skipped; usage errors and unreadable device files exit 2.
func TestVerifyCommand(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := assertion.NewRegistration("cli-dev", &key.PublicKey, "Box", "cli")
	if err != nil {
		t.Fatal(err)
	}
	regJSON, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	devices := filepath.Join(t.TempDir(), "devices.json")
	writeFile(t, devices, "["+string(regJSON)+"]")

	sign := func(edit func(*assertion.Claims)) string {
		now := time.Now().Unix()
		c := assertion.Claims{Issuer: "cli-dev", Subject: "ada", Audience: "https://shop.example", App: "shop",
			SessionID: "AAAAAAAAAAAAAAAAAAAAAA", KeyHash: assertion.KeyHash(make([]byte, 32)), IssuedAt: now, ExpiresAt: now + 60, ID: assertion.NewID()}
		edit(&c)
		s, err := assertion.Sign(c, &key.PublicKey, func(m []byte) ([]byte, error) {
			d := sha256.Sum256(m)
			return ecdsa.SignASN1(rand.Reader, key, d[:])
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(func(*assertion.Claims) {})
	in := strings.Join([]string{
		good,
		"",
		"not.an.assertion",
		sign(func(c *assertion.Claims) { c.App = "other" }),
		sign(func(c *assertion.Claims) { c.SessionID = "BBBBBBBBBBBBBBBBBBBBBB" }),
		good + "\r",
	}, "\n")
	r := scanin(t, in, "verify", "--devices", devices, "--origin", "https://shop.example", "--app", "shop", "--sid", "AAAAAAAAAAAAAAAAAAAAAA")
	wantExit(t, "verify", r, 1)
	lines := verifyLines(t, r.stdout, 5)
	if !strings.HasPrefix(lines[0], `{"ok":true,"device":"cli-dev","sub":"ada","jti":"`) {
		t.Errorf("line 1: %s", lines[0])
	}
	for i, code := range []string{"malformed", "bad_app", "bad_sid", "replayed"} {
		wantRefusal(t, lines[i+1], code)
	}
	if !strings.Contains(r.stderr, "4 of 5") {
		t.Errorf("stderr: %s", r.stderr)
	}

	wantExit(t, "verify nothing", scanin(t, "\n", "verify", "--devices", devices, "--origin", "https://shop.example", "--app", "shop"), 1)
	for name, args := range map[string][]string{
		"no --devices":       {"--origin", "https://shop.example", "--app", "shop"},
		"no --origin":        {"--devices", devices, "--app", "shop"},
		"no --app":           {"--devices", devices, "--origin", "https://shop.example"},
		"a path as origin":   {"--devices", devices, "--origin", "https://shop.example/login", "--app", "shop"},
		"a sid of 15 bytes":  {"--devices", devices, "--origin", "https://shop.example", "--app", "shop", "--sid", "AAAAAAAAAAAAAAAAAAAA"},
		"missing devices":    {"--devices", filepath.Join(t.TempDir(), "none.json"), "--origin", "https://shop.example", "--app", "shop"},
		"an object of them":  {"--devices", writeTemp(t, string(regJSON)), "--origin", "https://shop.example", "--app", "shop"},
		"a device twice":     {"--devices", writeTemp(t, "["+string(regJSON)+","+string(regJSON)+"]"), "--origin", "https://shop.example", "--app", "shop"},
		"revoked not a bool": {"--devices", writeTemp(t, "["+strings.TrimSuffix(string(regJSON), "}")+`,"revoked":"yes"}]`), "--origin", "https://shop.example", "--app", "shop"},
	} {
		wantExit(t, name, scanin(t, good+"\n", append([]string{"verify"}, args...)...), 2)
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "devices.json")
	writeFile(t, p, content)
	return p
}
