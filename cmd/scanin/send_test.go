package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scanin/scanin/mobile"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server"
	"github.com/scanin/scanin/server/relaytest"
)

// TestTokenArrivesIntact: receive --json ↔ send --yes, with a token read
// byte for byte from a file; then a second send finds the session used.
func TestTokenArrivesIntact(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--once")
	link := recv.next("link")
	if link.ExpiresAt < time.Now().Add(50*time.Second).UnixMilli() {
		t.Errorf("expires_at %d: want the demo app's 60 s ttl", link.ExpiresAt)
	}

	const token = "tok_Ωmega \"quoted\" \\ back\tslash\n"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	r := scanin(t, "", "send", "--link", link.Link, "--data-file", file, "--yes", "--device-name", "test box")
	wantExit(t, "send", r, sendOK)
	for _, want := range []string{"Sign in to Demo", "(demo)", "scanin terminal on", "127.0.0.1", "same network", "Time left:", "Signed in: the browser has it"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("send's output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Sign in?") {
		t.Errorf("send --yes asked anyway:\n%s", r.stdout)
	}

	recv.next("scanned")
	res := recv.next("result")
	if res.Kind != "token" || res.Data != token || res.Device == nil || res.Device.Name != "test box" || res.Device.Type != "cli" {
		t.Errorf("result %+v (device %+v), want the token from %q", res, res.Device, "test box")
	}
	if !strings.Contains(r.stdout, "check code "+res.CheckCode) {
		t.Errorf("the check codes differ: receiver %q, sender said:\n%s", res.CheckCode, r.stdout)
	}
	recv.exit(receiveOK)

	r = scanin(t, "", "send", "--link", link.Link, "--data", "again", "--yes")
	wantExit(t, "send to a used session", r, sendAlreadyUsed)
	if !strings.Contains(r.stderr, "already used") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// TestPrompt: without --yes, send asks. No answer sends nothing; "yes"
// delivers.
func TestPrompt(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--once")
	link := recv.next("link")

	r := scanin(t, "", "send", "--link", link.Link, "--data", "tok")
	wantExit(t, "send with stdin closed", r, sendNoAnswer)
	if !strings.Contains(r.stdout, "Sign in? [y/N]") {
		t.Errorf("send did not ask:\n%s", r.stdout)
	}
	recv.next("scanned")

	r = scanin(t, "YES\n", "send", "--link", link.Link, "--data", "tok", "--kind", "data")
	wantExit(t, "send answered yes", r, sendOK)
	// The relay tells the receiver "scanned" once, at the first read.
	if res := recv.next("result"); res.Kind != "data" || res.Data != "tok" {
		t.Errorf("result %+v", res)
	}
	recv.exit(receiveOK)
}

// TestDeny: answering no denies the session; the receiver exits denied.
func TestDeny(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo")
	link := recv.next("link")
	r := scanin(t, "n\n", "send", "--link", link.Link, "--data", "tok")
	wantExit(t, "send answered no", r, sendDeclined)
	if !strings.Contains(r.stdout, "Sign in? [y/N]") || !strings.Contains(r.stdout, "declined") {
		t.Errorf("send's output:\n%s", r.stdout)
	}
	recv.next("scanned")
	recv.next("denied")
	recv.exit(receiveDenied)

	r = scanin(t, "", "send", "--link", link.Link, "--data", "tok", "--yes")
	wantExit(t, "send to a denied session", r, sendAlreadyUsed)
}

// TestExpiry: a code expires while the phone's confirmation screen is up.
// Approving then, and reading afterwards, both end expired; the receiver
// gives up (--once). Runs 15 s, in parallel.
func TestExpiry(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--ttl", "15", "--once")
	link := recv.next("link")

	send := scaninCommand(t, "send", "--link", link.Link, "--data", "tok")
	stdin, err := send.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := send.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	recv.next("scanned") // the confirmation screen is up
	recv.next("expired") // and the person took too long
	recv.exit(receiveExpired)
	stdin.Write([]byte("y\n"))
	stdin.Close()
	r := send.wait()
	wantExit(t, "send approved too late", r, sendExpired)
	if !strings.Contains(r.stdout, "Time left:   1") {
		t.Errorf("send showed no time left near 15 s:\n%s", r.stdout)
	}

	r = scanin(t, "", "send", "--link", link.Link, "--data", "late", "--yes")
	wantExit(t, "send after expiry", r, sendExpired)
	if !strings.Contains(r.stderr, "expired") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// TestRotationAndInterrupt: without --once a new code follows an expired
// one, with a fresh sid and key; Ctrl-C ends the receiver.
func TestRotationAndInterrupt(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--ttl", "15")
	first := recv.next("link")
	second := recv.next("link")
	l1, err1 := protocol.ParseLink(first.Link, nil)
	l2, err2 := protocol.ParseLink(second.Link, nil)
	if err1 != nil || err2 != nil {
		t.Fatalf("links do not parse: %v, %v", err1, err2)
	}
	if l1.SessionID == l2.SessionID || string(l1.PublicKey) == string(l2.PublicKey) {
		t.Error("the rotated code reuses the sid or the key")
	}
	if second.ExpiresAt <= first.ExpiresAt {
		t.Errorf("second code expires at %d, first at %d", second.ExpiresAt, first.ExpiresAt)
	}
	// The old code is dead, the new one works.
	wantExit(t, "send to the old code", scanin(t, "", "send", "--link", first.Link, "--data", "x", "--yes"), sendExpired)
	if err := recv.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	recv.exit(receiveInterrupted)
}

// TestPending: the receiver is gone (killed) but its session lives on: the
// relay holds the payload, and send exits 0 saying so.
func TestPending(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{AckWait: time.Second}})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo")
	link := recv.next("link")
	recv.cmd.Process.Kill()
	<-recv.exited
	r := scanin(t, "", "send", "--link", link.Link, "--data", "tok", "--yes")
	wantExit(t, "send with no receiver", r, sendOK)
	if !strings.Contains(r.stdout, "Waiting for the browser: check that it shows ") {
		t.Errorf("stdout: %s", r.stdout)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	r := scanin(t, "", "send", "--link", unusedLink(t, relay.URL()), "--data", "tok", "--yes")
	wantExit(t, "send to an unknown session", r, sendNotFound)
}

// TestRejected: a link whose key was swapped: the receiver cannot open the
// payload and rejects it, and keeps waiting for the real one.
func TestRejected(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--once")
	link := recv.next("link")
	l, err := protocol.ParseLink(link.Link, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := protocol.ParseLink(unusedLink(t, relay.URL()), nil)
	l.PublicKey = other.PublicKey

	r := scanin(t, "", "send", "--link", l.String(), "--data", "tok", "--yes")
	wantExit(t, "send to the wrong key", r, sendRejected)
	recv.next("scanned")
	if ev := recv.next("rejected"); ev.Reason != "decrypt" {
		t.Errorf("rejected for %q, want decrypt", ev.Reason)
	}
	wantExit(t, "send to the right key", scanin(t, "", "send", "--link", link.Link, "--data", "tok", "--yes"), sendOK)
	recv.next("scanned")
	recv.next("result")
	recv.exit(receiveOK)
}

// TestTooLarge: too large for this relay (1 KiB), and too large for the
// protocol (the SDK refuses before sending).
func TestTooLarge(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{MaxSealedSize: 1024}})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--once")
	link := recv.next("link")
	r := scanin(t, "", "send", "--link", link.Link, "--data", strings.Repeat("x", 2000), "--yes")
	wantExit(t, "send over the relay's limit", r, sendTooLarge)
	file := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(file, []byte(strings.Repeat("x", protocol.MaxSealedSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = scanin(t, "", "send", "--link", link.Link, "--data-file", file, "--yes")
	wantExit(t, "send over the protocol's limit", r, sendTooLarge)
}

// TestRateLimited: a relay allowing two sender requests a minute.
func TestRateLimited(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{Limits: server.Limits{SenderRequestsPerMinute: 2}})
	link := unusedLink(t, relay.URL())
	for i := 0; i < 2; i++ {
		wantExit(t, "send within the limit", scanin(t, "", "send", "--link", link, "--data", "x", "--yes"), sendNotFound)
	}
	r := scanin(t, "", "send", "--link", link, "--data", "x", "--yes")
	wantExit(t, "send over the limit", r, sendRateLimited)
	if !strings.Contains(r.stderr, "try again in") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

func TestNetworkError(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	link := unusedLink(t, relay.URL())
	relay.Close()
	r := scanin(t, "", "send", "--link", link, "--data", "x", "--yes")
	wantExit(t, "send to a stopped relay", r, sendNetwork)
}

func TestSendRefusesBadInput(t *testing.T) {
	t.Parallel()
	link := unusedLink(t, "https://relay.example")
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"no link", []string{"--data", "x"}, sendUsage},
		{"no data", []string{"--link", link}, sendUsage},
		{"both data", []string{"--link", link, "--data", "x", "--data-file", "f"}, sendUsage},
		{"bad kind", []string{"--link", link, "--data", "x", "--kind", "cookie"}, sendUsage},
		{"stdin without --yes", []string{"--link", link, "--data-file", "-"}, sendUsage},
		{"unknown flag", []string{"--link", link, "--data", "x", "--bogus"}, sendUsage},
		{"extra argument", []string{"--link", link, "--data", "x", "extra"}, sendUsage},
		{"missing file", []string{"--link", link, "--data-file", "/nonexistent/token"}, sendFailed},
		{"empty file name", []string{"--link", link, "--data-file", ""}, sendFailed},
		{"empty data and a file", []string{"--link", link, "--data", "", "--data-file", "f"}, sendUsage},
		{"not a link", []string{"--link", "https://example.com/", "--data", "x", "--yes"}, sendBadLink},
		{"plain http relay", []string{"--link", unusedLink(t, "http://relay.example"), "--data", "x", "--yes"}, sendBadLink},
		{"version 2", []string{"--link", strings.Replace(link, "v=1", "v=2", 1), "--data", "x", "--yes"}, sendBadLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, "send "+strings.Join(tc.args, " "), scanin(t, "", append([]string{"send"}, tc.args...)...), tc.code)
		})
	}
}

// TestSendUnreadableFile: a --data-file that cannot be read is one line
// that says so and what to do.
func TestSendUnreadableFile(t *testing.T) {
	t.Parallel()
	r := scanin(t, "", "send", "--link", unusedLink(t, "https://relay.example"), "--data-file", "/nonexistent/token", "--yes")
	wantExit(t, "send --data-file /nonexistent/token", r, sendFailed)
	wantOneLine(t, "unreadable file", r.stderr, "scanin send: failed to read the payload: ", "give --data-file a file you can read, or - for stdin")
}

func TestSendHelp(t *testing.T) {
	t.Parallel()
	r := scanin(t, "", "send", "--help")
	wantExit(t, "send --help", r, sendOK)
	for _, e := range sendExits() {
		if !strings.Contains(r.stdout, e.meaning) {
			t.Errorf("--help lacks exit code %d (%s)", e.exit, e.meaning)
		}
	}
	for _, flag := range []string{"-link", "-data", "-data-file", "-kind", "-yes"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("--help lacks %s", flag)
		}
	}
}

// unusedLink is a well-formed link to relay for a session nobody made.
func unusedLink(t *testing.T, relay string) string {
	t.Helper()
	key, err := protocol.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	defer key.Destroy()
	return protocol.Link{Base: relay + "/link", App: "demo", SessionID: protocol.NewSessionID(), PublicKey: key.PublicKey(), Relay: relay}.String()
}

// wantOneLine checks that a failed command's stderr is one line that
// names scanin once, as its prefix, and ends with what to do.
func wantOneLine(t *testing.T, what, stderr, prefix, hint string) string {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, prefix) {
		t.Errorf("%s: stderr is not one line starting %q:\n%s", what, prefix, stderr)
	}
	if n := strings.Count(line, "scanin"); n != 1 {
		t.Errorf("%s: %q says scanin %d times, want once", what, line, n)
	}
	if hint == "" || !strings.HasSuffix(line, "; "+hint) {
		t.Errorf("%s: %q does not end with what to do (%q)", what, line, hint)
	}
	return line
}

// TestSendLinkErrors: every link rule a link can break is one line naming
// the parameter, with scanin once and a hint.
func TestSendLinkErrors(t *testing.T) {
	t.Parallel()
	good := unusedLink(t, "https://relay.example")
	base, fragment, _ := strings.Cut(good, "#")
	params := strings.Split(fragment, "&") // v, a, s, k, r
	with := func(replace map[string]string, extra ...string) string {
		var out []string
		for _, p := range params {
			key, _, _ := strings.Cut(p, "=")
			if v, ok := replace[key]; !ok {
				out = append(out, p)
			} else if v != "-" {
				out = append(out, key+"="+v)
			}
		}
		return base + "#" + strings.Join(append(out, extra...), "&")
	}
	cases := []struct {
		rule protocol.LinkRule
		link string
		want string // in the line
	}{
		{protocol.LinkMalformed, "https://example.com/", "has no #v=1"},
		{protocol.LinkMalformed, with(map[string]string{"k": "%zz"}), `parameter "k" (the public key) has a bad %-escape`},
		{protocol.LinkVersion, with(map[string]string{"v": "2"}), `parameter "v" (the protocol version) is not 1`},
		{protocol.LinkMissing, with(map[string]string{"s": "-"}), `parameter "s" (the session id) is missing`},
		{protocol.LinkRepeated, with(nil, "s=AAECAwQFBgcICQoLDA0ODw"), `parameter "s" (the session id) appears twice`},
		{protocol.LinkSessionID, with(map[string]string{"s": "short"}), `parameter "s" (the session id) is not 16 bytes`},
		{protocol.LinkKey, with(map[string]string{"k": "AAEC"}), `parameter "k" (the public key) is not 32 bytes`},
		{protocol.LinkApp, with(map[string]string{"a": "Demo!"}), `parameter "a" (the app id) is not a valid app id`},
		{protocol.LinkInsecureRelay, with(map[string]string{"r": "http%3A%2F%2Frelay.example"}), "the link's relay is plain http on a non-loopback host"},
		{protocol.LinkInsecureRelay, with(map[string]string{"r": "ftp%3A%2F%2Frelay.example"}), `parameter "r" (the relay URL) is not https`},
		{protocol.LinkRelay, with(map[string]string{"r": "relay.example"}), `parameter "r" (the relay URL) is not a valid relay URL`},
	}
	covered := map[protocol.LinkRule]bool{}
	for _, tc := range cases {
		t.Run(string(tc.rule), func(t *testing.T) {
			if _, err := protocol.ParseLink(tc.link, nil); protocol.LinkRuleFor(err) != tc.rule || err == nil {
				t.Fatalf("the test's link %q breaks %v, not %s", tc.link, err, tc.rule)
			}
			r := scanin(t, "", "send", "--link", tc.link, "--data", "x", "--yes")
			wantExit(t, "send "+string(tc.rule), r, sendBadLink)
			_, hint := failureText(string(tc.rule), 0)
			line := wantOneLine(t, string(tc.rule), r.stderr, "scanin send: not a valid link: ", hint)
			if !strings.Contains(line, tc.want) {
				t.Errorf("%q does not say %q", line, tc.want)
			}
		})
		covered[tc.rule] = true
	}
	// A client for any app, as send is, accepts every app id; the line for
	// a link to another app comes from the same table.
	covered[protocol.LinkWrongApp] = true
	_, hint := failureText(string(protocol.LinkWrongApp), 0)
	wantOneLine(t, "wrong app", "scanin send: "+describeFailure(string(protocol.LinkWrongApp), `parameter "a" (the app id) names an app this program is not built for`, 0),
		"scanin send: not a valid link: ", hint)
	for _, rule := range protocol.LinkRules {
		if !covered[rule] {
			t.Errorf("no case for %s", rule)
		}
	}
}

// TestSendRelayErrors: every relay error code, from a relay that answers
// the session read with it, is one line naming the code and the relay's
// message, with scanin once and a hint.
func TestSendRelayErrors(t *testing.T) {
	t.Parallel()
	for _, code := range protocol.Codes {
		t.Run(string(code), func(t *testing.T) {
			t.Parallel()
			message := "the fake relay refuses with " + string(code)
			relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(code.HTTPStatus())
				body := protocol.Error{Code: code, Message: message, RetryAfterMS: 2500}
				w.Write(body.AppendJSON(nil))
			}))
			defer relay.Close()
			r := scanin(t, "", "send", "--link", unusedLink(t, relay.URL), "--data", "x", "--yes")
			exit := sendExitFor(string(code))
			if exit == sendOK {
				t.Fatalf("code %s maps to exit 0", code)
			}
			wantExit(t, "send, relay answering "+string(code), r, exit)
			retry := 0
			switch code {
			case protocol.CodeRateLimited:
				retry = 7
			case protocol.CodeConflict:
				retry = 3
			}
			_, hint := failureText(string(code), retry)
			line := wantOneLine(t, string(code), r.stderr, "scanin send: ", hint)
			if !strings.Contains(line, "("+string(code)+": "+message+")") {
				t.Errorf("%q does not name the code and the relay's message", line)
			}
		})
	}
	// And the SDK's own codes.
	for _, code := range []string{mobile.CodeNetworkError, mobile.CodeCancelled, mobile.CodeUnexpected} {
		_, hint := failureText(code, 0)
		wantOneLine(t, code, "scanin send: "+describeFailure(code, "some detail", 0), "scanin send: ", hint)
	}
}

// TestDataFileStdin: --data-file - drops one trailing newline, and --json
// writes the payload's "&", "<" and ">" as they are.
func TestDataFileStdin(t *testing.T) {
	t.Parallel()
	relay := relaytest.NewServer(t, server.Config{})
	recv := receive(t, "--relay", relay.URL(), "--app", "demo", "--once")
	link := recv.next("link")
	if !strings.Contains(link.Raw, "#v=1&a=demo&s=") || strings.Contains(link.Raw, `\u0026`) {
		t.Errorf("the link event escapes the link's &: %s", link.Raw)
	}
	r := scanin(t, "a&b<c>\n\n", "send", "--link", link.Link, "--data-file", "-", "--yes")
	wantExit(t, "send --data-file -", r, sendOK)
	recv.next("scanned")
	res := recv.next("result")
	if res.Data != "a&b<c>\n" {
		t.Errorf("payload %q, want %q: one trailing newline dropped", res.Data, "a&b<c>\n")
	}
	if !strings.Contains(res.Raw, `"data":"a&b<c>\n"`) {
		t.Errorf("the result event escapes HTML characters: %s", res.Raw)
	}
	recv.exit(receiveOK)
}

func TestReadPayloadStdin(t *testing.T) {
	for in, want := range map[string]string{
		"tok":       "tok",
		"tok\n":     "tok",
		"tok\r\n":   "tok",
		"tok\n\n":   "tok\n",
		"tok\r\n\n": "tok\r\n",
		"tok\r":     "tok\r",
		"\n":        "",
		"":          "",
		"a\nb\n":    "a\nb",
	} {
		got, err := readPayload("-", strings.NewReader(in))
		if err != nil || string(got) != want {
			t.Errorf("readPayload(-) of %q = %q, %v; want %q", in, got, err, want)
		}
	}
	// A file is read byte for byte.
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := readPayload(file, nil); err != nil || string(got) != "tok\n" {
		t.Errorf("readPayload(file) = %q, %v; want the file as is", got, err)
	}
}
