package policy

import (
	"go/parser"
	"go/token"
	"strconv"
	"testing"
	"time"

	"github.com/scanin/scanin/internal/gosource"
	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
)

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		n       int
		ceiling time.Duration
	}{
		{0, 250 * ms}, // a caller that counts from 0 still waits
		{1, 250 * ms},
		{2, 500 * ms},
		{3, time.Second},
		{4, 2 * time.Second},
		{5, 4 * time.Second},
		{6, 5 * time.Second},
		{7, 5 * time.Second},
		{100, 5 * time.Second},
	} {
		if got := backoffCeiling(tc.n); got != tc.ceiling {
			t.Errorf("backoffCeiling(%d) = %v, want %v", tc.n, got, tc.ceiling)
		}
		lo, hi := tc.ceiling, time.Duration(0)
		for range 200 {
			d := Backoff(tc.n)
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < tc.ceiling/2 || hi > tc.ceiling {
			t.Errorf("Backoff(%d) ranged %v..%v, want within %v..%v", tc.n, lo, hi, tc.ceiling/2, tc.ceiling)
		}
		if lo == hi {
			t.Errorf("Backoff(%d) was %v every time: no jitter", tc.n, lo)
		}
	}
}

func TestAfterError(t *testing.T) {
	want := map[protocol.Code]Action{
		protocol.CodeUnavailable:  Retry,
		protocol.CodeRateLimited:  Retry,
		protocol.CodeExpired:      Rotate,
		protocol.CodeAlreadyUsed:  Rotate,
		protocol.CodeNotFound:     Rotate,
		protocol.CodeConflict:     Rotate,
		protocol.CodeBadRequest:   GiveUp,
		protocol.CodeOriginDenied: GiveUp,
		protocol.CodeTooLarge:     GiveUp,
		protocol.CodeRejected:     GiveUp,
		"":                        GiveUp,
		"teapot":                  GiveUp,
	}
	for _, c := range protocol.Codes {
		if _, ok := want[c]; !ok {
			t.Errorf("code %q has no decision in this table", c)
		}
	}
	for c, a := range want {
		if got := AfterError(c); got != a {
			t.Errorf("AfterError(%q) = %v, want %v", c, got, a)
		}
	}
}

func TestAfterClose(t *testing.T) {
	for _, tc := range []struct {
		code   int
		reason string
		want   Action
	}{
		{1000, "", Retry},
		{1001, "going away", Retry},
		{1005, "", Retry},
		{1006, "", Retry},
		{1011, "", Retry},
		{1012, "", Retry},
		{1013, "", Retry},
		{1014, "", Retry},
		{1002, "", GiveUp},
		{1003, "", GiveUp},
		{1007, "", GiveUp},
		{1008, "", GiveUp},
		{1009, "", GiveUp},
		{1010, "", GiveUp},
		{3000, "", GiveUp},
		{4410, "expired", Rotate},
		{4410, "already_used", Rotate},
		{4404, "not_found", Rotate},
		{4409, "conflict", Rotate},
		{4503, "unavailable", Retry},
		{4429, "rate_limited", Retry},
		{4400, "bad_request", GiveUp},
		{4403, "origin_denied", GiveUp},
		{4404, "conflict", Rotate}, // the reason's code decides, as ErrorFromClose keeps it
		{4999, "weird", GiveUp},
		{4000, "", GiveUp},
	} {
		if got := AfterClose(tc.code, tc.reason); got != tc.want {
			t.Errorf("AfterClose(%d, %q) = %v, want %v", tc.code, tc.reason, got, tc.want)
		}
	}
	// Every relay code closes the way its error body would decide.
	for _, c := range protocol.Codes {
		if got, want := AfterClose(c.CloseCode(), string(c)), AfterError(c); got != want {
			t.Errorf("AfterClose(%d, %q) = %v, AfterError %v", c.CloseCode(), c, got, want)
		}
	}
}

func TestStopRotating(t *testing.T) {
	s := time.Second
	for _, tc := range []struct {
		name              string
		shown, ttl, limit time.Duration
		stop              bool
	}{
		{"fourth of five 60 s codes", 240 * s, 60 * s, 300 * s, false},
		{"fifth 60 s code, on time", 300 * s, 60 * s, 300 * s, true},
		{"fifth 60 s code, a moment early", 299*s + 800*time.Millisecond, 60 * s, 300 * s, true},
		{"fifth 60 s code, late", 302 * s, 60 * s, 300 * s, true},
		{"half a ttl before the limit", 270 * s, 60 * s, 300 * s, true},
		{"just over half a ttl before", 269 * s, 60 * s, 300 * s, false},
		{"one 200 s code, 300 s limit", 200 * s, 200 * s, 300 * s, true},
		{"one 100 s code of three", 100 * s, 100 * s, 300 * s, false},
		{"third 100 s code", 300 * s, 100 * s, 300 * s, true},
		{"one 300 s code", 300 * s, 300 * s, 300 * s, true},
		{"first 15 s code, 30 s limit", 15 * s, 15 * s, 30 * s, false},
		{"second 15 s code, 30 s limit", 30 * s, 15 * s, 30 * s, true},
		{"nineteenth 15 s code", 285 * s, 15 * s, 300 * s, false},
		{"twentieth 15 s code", 300 * s, 15 * s, 300 * s, true},
	} {
		if got := StopRotating(tc.shown, tc.ttl, tc.limit); got != tc.stop {
			t.Errorf("%s: StopRotating(%v, %v, %v) = %v, want %v", tc.name, tc.shown, tc.ttl, tc.limit, got, tc.stop)
		}
	}
}

func TestParseShowLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration // 0: refused
	}{
		{"15", 15 * time.Second},
		{"30", 30 * time.Second},
		{"300", 300 * time.Second},
		{"0300", 300 * time.Second},
		{"14", 0},
		{"301", 0},
		{"0", 0},
		{"", 0},
		{"-30", 0},
		{"+30", 0},
		{"30.0", 0},
		{" 30", 0},
		{"99999999999", 0},
	} {
		got, err := ParseShowLimit(tc.in)
		if tc.want == 0 {
			if err != ErrShowLimit || got != 0 {
				t.Errorf("ParseShowLimit(%q) = %v, %v; want ErrShowLimit", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShowLimit(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if ErrShowLimit.Error() != "show limit must be whole seconds from 15 to 300" {
		t.Errorf("ErrShowLimit = %q", ErrShowLimit)
	}
}

func TestDeadline(t *testing.T) {
	now := time.Unix(1763750000, 0)
	ttl := 60 * time.Second
	for _, tc := range []struct {
		name      string
		expiresAt time.Time
		want      time.Time
	}{
		{"clocks agree", now.Add(59 * time.Second), now.Add(59 * time.Second)},
		{"relay a little ahead", now.Add(ttl + 5*time.Second), now.Add(ttl + 5*time.Second)},
		{"relay far ahead", now.Add(ttl + 6*time.Second), now.Add(ttl)},
		{"relay behind: already past", now.Add(-time.Second), now.Add(ttl)},
		{"exactly now", now, now.Add(ttl)},
		{"a moment left", now.Add(time.Millisecond), now.Add(time.Millisecond)},
	} {
		if got := Deadline(tc.expiresAt, ttl, now); !got.Equal(tc.want) {
			t.Errorf("%s: Deadline = %v from now, want %v", tc.name, got.Sub(now), tc.want.Sub(now))
		}
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Retry: "retry", Rotate: "rotate", GiveUp: "give up", 0: "action(0)"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", a, got, want)
		}
	}
}

// TestImports keeps the package as small as its doc says: the widget's
// .wasm links everything it imports.
func TestImports(t *testing.T) {
	allowed := map[string]bool{
		"errors": true, "math/rand/v2": true, "strconv": true, "time": true,
		"github.com/scanin/scanin/protocol": true,
	}
	fset := token.NewFileSet()
	files, err := gosource.ParseFiles(fset, ".", parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		n++
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !allowed[path] {
				t.Errorf("%s imports %s, which would grow the widget", fset.File(f.Pos()).Name(), path)
			}
		}
	}
	if n == 0 {
		t.Fatal("found no files of package policy")
	}
}

func TestAfterProbe(t *testing.T) {
	e := func(c protocol.Code, msg string) *protocol.Error { return &protocol.Error{Code: c, Message: msg} }
	for _, tc := range []struct {
		status int
		err    *protocol.Error
		want   Action
	}{
		{400, e(protocol.CodeBadRequest, "bad app: app id must be lowercase"), GiveUp},
		{400, e(protocol.CodeBadRequest, "ttl must be 15 to 300 seconds"), GiveUp},
		{403, e(protocol.CodeOriginDenied, "origin https://a.example is not one of the app's origins"), GiveUp},
		{404, e(protocol.CodeNotFound, "no such app"), GiveUp},
		// The listen's URL passed: the socket failed for something else.
		{400, e(protocol.CodeBadRequest, NotHandshake+": a listen needs Connection: Upgrade"), Retry},
		{429, e(protocol.CodeRateLimited, "slow down"), Retry},
		{503, e(protocol.CodeUnavailable, "the relay is at capacity"), Retry},
		// Not the relay's answer: a status that is not its code's, a page
		// without the protocol's body, no answer at all.
		{404, e(protocol.CodeOriginDenied, "mismatch"), Retry},
		{403, e("", "unreadable error body"), Retry},
		{502, e("", "unreadable error body"), Retry},
		{200, e("", ""), Retry},
		{0, nil, Retry},
		{403, nil, Retry},
	} {
		var code protocol.Code
		var msg string
		if tc.err != nil {
			code, msg = tc.err.Code, tc.err.Message
		}
		if got := AfterProbe(tc.status, code, msg); got != tc.want {
			t.Errorf("AfterProbe(%d, %+v) = %v, want %v", tc.status, tc.err, got, tc.want)
		}
	}
}

// TestAfterProbeAgreesWithAfterError: a probe that meets a relay error
// decides as a receiver that read the same error from the handshake's
// answer, but for not_found, which before a session is only the app's.
func TestAfterProbeAgreesWithAfterError(t *testing.T) {
	for _, c := range protocol.Codes {
		probe, listen := AfterProbe(c.HTTPStatus(), c, "m"), AfterError(c)
		switch {
		case c == protocol.CodeNotFound:
			if probe != GiveUp {
				t.Errorf("AfterProbe(not_found) = %v, want give up: no such app", probe)
			}
		case listen == Rotate:
			// expired, already_used, conflict: a session's, which a probe
			// never reaches; it leaves them to the retry path.
			if probe != Retry {
				t.Errorf("AfterProbe(%s) = %v, want retry", c, probe)
			}
		case probe != listen && !(c == protocol.CodeTooLarge || c == protocol.CodeRejected):
			t.Errorf("AfterProbe(%s) = %v, AfterError = %v", c, probe, listen)
		}
	}
}

// TestProbeOfCheckListen asks the relay's listen checks what a probe (a
// plain GET of the listen URL, no handshake) gets, through the same
// answer and body parser as the widget: every refusal of the URL's own
// parameters and of the Origin header comes before the handshake check, so
// that the probe meets it, and AfterProbe stops on it; a listen whose URL
// is fine meets the handshake refusal, which NotHandshake recognizes.
func TestProbeOfCheckListen(t *testing.T) {
	apps := rules.NewApps([]rules.App{
		{ID: "shop", Origins: []string{"https://shop.example"}, WidgetOrigins: []string{"https://widget.example"}},
		{ID: "native", Origins: []string{"https://shop.example"}, NativeReceivers: true},
	}, time.Minute)
	relay := "https://relay.example"
	ok := rules.Listen{SID: protocol.NewSessionID(), App: "shop", Origin: "https://shop.example", RelayOrigin: relay}
	with := func(f func(*rules.Listen)) rules.Listen {
		l := ok
		f(&l)
		return l
	}
	for _, tc := range []struct {
		what string
		l    rules.Listen
		code protocol.Code
		want Action
	}{
		{"a fine listen", ok, protocol.CodeBadRequest, Retry},
		{"from the relay's origin", with(func(l *rules.Listen) { l.OriginHeader = relay }), protocol.CodeBadRequest, Retry},
		{"from a widget origin", with(func(l *rules.Listen) { l.OriginHeader = "https://widget.example" }), protocol.CodeBadRequest, Retry},
		{"native receiver", with(func(l *rules.Listen) { l.App, l.Origin = "native", "" }), protocol.CodeBadRequest, Retry},
		{"bad sid", with(func(l *rules.Listen) { l.SID = "x" }), protocol.CodeBadRequest, GiveUp},
		{"unknown app", with(func(l *rules.Listen) { l.App = "other" }), protocol.CodeNotFound, GiveUp},
		{"bad ttl", with(func(l *rules.Listen) { l.TTL = []string{"5"} }), protocol.CodeBadRequest, GiveUp},
		{"foreign page", with(func(l *rules.Listen) { l.Origin = "https://evil.example" }), protocol.CodeOriginDenied, GiveUp},
		{"web-only app", with(func(l *rules.Listen) { l.Origin = "" }), protocol.CodeOriginDenied, GiveUp},
		{"foreign widget origin", with(func(l *rules.Listen) { l.OriginHeader = "http://127.0.0.1:8080" }), protocol.CodeOriginDenied, GiveUp},
	} {
		_, perr := rules.CheckListen(tc.l, apps)
		if perr == nil {
			t.Errorf("%s: CheckListen accepted a listen that is no handshake", tc.what)
			continue
		}
		a := rules.ErrorAnswer(perr)
		got := protocol.ParseError(a.Body)
		if got.Code != tc.code {
			t.Errorf("%s: the probe got %d %s (%s), want %s", tc.what, a.Status, got.Code, got.Message, tc.code)
		}
		if act := AfterProbe(a.Status, got.Code, got.Message); act != tc.want {
			t.Errorf("%s: AfterProbe(%d, %s: %s) = %v, want %v", tc.what, a.Status, got.Code, got.Message, act, tc.want)
		}
	}
}
