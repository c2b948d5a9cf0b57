package mobile

import (
	"errors"
	"strings"
	"testing"

	"github.com/scanin/scanin/protocol"
)

// testLink is a well-formed link for app to relay, with a fresh key.
func testLink(t testing.TB, app, relay string) (string, *protocol.PrivateKey) {
	t.Helper()
	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(key.Destroy)
	l := protocol.Link{Base: relay + "/link", App: app, SessionID: protocol.NewSessionID(), PublicKey: key.PublicKey(), Relay: relay}
	return l.String(), key
}

func TestNewClient(t *testing.T) {
	for _, ids := range []string{"demo", "demo,shop", " demo ,\nshop-staging\n", "a\tb"} {
		c, err := NewClient(ids)
		if err != nil {
			t.Errorf("NewClient(%q): %v", ids, err)
			continue
		}
		c.Close()
	}
	for _, ids := range []string{"", " , \n", "Demo", "demo,shop!", strings.Repeat("a", 33)} {
		c, err := NewClient(ids)
		if err == nil {
			c.Close()
			t.Errorf("NewClient(%q) accepted a bad app list", ids)
			continue
		}
		if ErrorCode(err) != CodeBadRequest {
			t.Errorf("NewClient(%q): code %q, want %q", ids, ErrorCode(err), CodeBadRequest)
		}
	}
}

// TestParseLinkRules checks that every rejection rule of docs/protocol.md comes
// out with its own code, from ParseLink and from Inspect alike, before any
// request is made (the relay in these links does not exist).
func TestParseLinkRules(t *testing.T) {
	const relay = "https://relay.invalid"
	good, _ := testLink(t, "demo", relay)
	base, fragment, _ := strings.Cut(good, "#")
	params := map[string]string{}
	for _, p := range strings.Split(fragment, "&") {
		k, v, _ := strings.Cut(p, "=")
		params[k] = v
	}
	with := func(key, value string) string {
		var parts []string
		for _, k := range []string{"v", "a", "s", "k", "r"} {
			v := params[k]
			if k == key {
				if value == "\x00drop" {
					continue
				}
				v = value
			}
			parts = append(parts, k+"="+v)
		}
		return base + "#" + strings.Join(parts, "&")
	}

	c, err := NewClient("demo,shop")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		name, link, code, param string
	}{
		{"no fragment", base, CodeLinkMalformed, ""},
		{"empty", "", CodeLinkMalformed, ""},
		{"bad escape", with("a", "de%zz"), CodeLinkMalformed, "a"},
		{"version 2", with("v", "2"), CodeLinkVersion, "v"},
		{"missing sid", with("s", "\x00drop"), CodeLinkMissing, "s"},
		{"missing relay", with("r", "\x00drop"), CodeLinkMissing, "r"},
		{"repeated app", good + "&a=demo", CodeLinkRepeated, "a"},
		{"short sid", with("s", "AAAA"), CodeLinkSessionID, "s"},
		{"padded sid", with("s", params["s"]+"=="), CodeLinkSessionID, "s"},
		{"short key", with("k", "AAAA"), CodeLinkKey, "k"},
		{"bad app", with("a", "Demo"), CodeLinkApp, "a"},
		{"http relay", with("r", protocol.QueryEscape("http://relay.example")), CodeLinkInsecureRelay, "r"},
		{"ftp relay", with("r", protocol.QueryEscape("ftp://relay.example")), CodeLinkInsecureRelay, "r"},
		{"relay with query", with("r", protocol.QueryEscape("https://relay.example/?x=1")), CodeLinkRelay, "r"},
		{"relay without scheme", with("r", "relay.example"), CodeLinkRelay, "r"},
		{"other app", with("a", "bank"), CodeLinkWrongApp, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.ParseLink(tc.link); !isScanError(err, tc.code, tc.param) {
				t.Errorf("ParseLink: %v, want code %s param %q", err, tc.code, tc.param)
			}
			_, err := c.Inspect(tc.link)
			if !isScanError(err, tc.code, tc.param) {
				t.Errorf("Inspect: %v, want code %s param %q", err, tc.code, tc.param)
			}
			var se *ScanError
			if errors.As(err, &se) && !se.IsLinkError() {
				t.Errorf("IsLinkError() = false for %s", se.Code)
			}
		})
	}

	l, err := c.ParseLink(good)
	if err != nil {
		t.Fatalf("ParseLink(good): %v", err)
	}
	if l.App() != "demo" || l.Relay() != relay || l.SessionID() != params["s"] {
		t.Errorf("ParseLink(good) = %q %q %q", l.App(), l.Relay(), l.SessionID())
	}
	loop, _ := testLink(t, "shop", "http://127.0.0.1:8080")
	if _, err := c.ParseLink(loop); err != nil {
		t.Errorf("plain http to loopback refused: %v", err)
	}

	any := ClientForAnyApp()
	defer any.Close()
	if _, err := any.ParseLink(with("a", "bank")); err != nil {
		t.Errorf("ClientForAnyApp refused another app: %v", err)
	}
	if _, err := any.ParseLink(with("a", "Bank")); !isScanError(err, CodeLinkApp, "a") {
		t.Errorf("ClientForAnyApp accepted a malformed app id: %v", err)
	}
}

func isScanError(err error, code, param string) bool {
	var se *ScanError
	return errors.As(err, &se) && se.Code == code && se.Param == param && ErrorCode(err) == code
}

func TestErrorCode(t *testing.T) {
	if got := ErrorCode(nil); got != "" {
		t.Errorf("ErrorCode(nil) = %q", got)
	}
	if got := ErrorCode(errors.New("boom")); got != CodeUnexpected {
		t.Errorf("ErrorCode(other) = %q", got)
	}
	wrapped := errors.Join(errors.New("context"), &ScanError{Code: CodeRateLimited, RetryAfterSeconds: 7})
	if got := ErrorCode(wrapped); got != CodeRateLimited {
		t.Errorf("ErrorCode(wrapped) = %q", got)
	}
	if got := ErrorRetryAfterSeconds(wrapped); got != 7 {
		t.Errorf("ErrorRetryAfterSeconds(wrapped) = %d", got)
	}
	if got := ErrorRetryAfterSeconds(nil); got != 0 {
		t.Errorf("ErrorRetryAfterSeconds(nil) = %d", got)
	}
}

// TestZeroValues: a binding can make a zero Client or Session (gobind
// gives bound structs a no-argument constructor). They must fail cleanly.
func TestZeroValues(t *testing.T) {
	var c Client
	if _, err := c.Inspect("x"); ErrorCode(err) != CodeBadRequest {
		t.Errorf("zero Client.Inspect: %v", err)
	}
	if _, err := c.ParseLink("x"); ErrorCode(err) != CodeBadRequest {
		t.Errorf("zero Client.ParseLink: %v", err)
	}
	c.Close()
	var s Session
	if o := s.Approve("token", "t", "", ""); o.Code != CodeBadRequest {
		t.Errorf("zero Session.Approve: %+v", o)
	}
	if o := s.Deny(); o.Code != CodeBadRequest {
		t.Errorf("zero Session.Deny: %+v", o)
	}
	if s.SecondsLeft() != 0 || s.SameNetwork() {
		t.Errorf("zero Session: %d seconds left, same network %v", s.SecondsLeft(), s.SameNetwork())
	}
}
