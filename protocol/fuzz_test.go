package protocol

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fuzz targets' seed corpora live in testdata/fuzz/<FuzzName>/, where
// `go test` runs them as ordinary tests and `go test -fuzz` starts from them.
// TestFuzzCorpora fails if a target's corpus goes missing.

// FuzzParseLink: a link that parses writes back (String) into a link that
// parses to the same Link.
func FuzzParseLink(f *testing.F) {
	f.Add(wantLink().String())
	f.Fuzz(func(t *testing.T, raw string) {
		l, err := ParseLink(raw, nil)
		if err != nil {
			var le *LinkError
			if !errors.As(err, &le) || le.Err == nil {
				t.Fatalf("ParseLink error %v (%T) is not a *LinkError with a rule", err, err)
			}
			return
		}
		again, err := ParseLink(l.String(), nil)
		if err != nil {
			t.Fatalf("ParseLink(%q) = %+v, whose String %q does not parse: %v", raw, l, l.String(), err)
		}
		if !sameLink(again, l) {
			t.Fatalf("round trip changed the link: %+v, then %+v", l, again)
		}
		if again.String() != l.String() {
			t.Fatalf("String is not stable: %q, then %q", l.String(), again.String())
		}
		// Whatever parses satisfies the rules it was checked against.
		if CheckAppID(l.App) != nil || CheckSessionID(l.SessionID) != nil || len(l.PublicKey) != PublicKeySize {
			t.Fatalf("ParseLink accepted %+v", l)
		}
		if _, err := CheckRelayURL(l.Relay); err != nil {
			t.Fatalf("ParseLink accepted relay %q: %v", l.Relay, err)
		}
	})
}

// fuzzNow is the receiver's clock in the message fuzz targets; the corpus's
// valid messages have their iat near it.
var fuzzNow = testNow

// FuzzParseMessage: ParseMessage never panics, and a message it accepts
// marshals into one it accepts again, unchanged.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(msgJSON(fuzzNow.Unix(), "")))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMessage(b, fuzzNow)
		if err != nil {
			if m != (Message{}) {
				t.Fatalf("a refused message returned %s", describe(m))
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			// Marshal escapes <, >, &, U+2028 and U+2029, so a message
			// near the size limit may not fit once written. Nothing else
			// may fail.
			if !errors.Is(err, ErrMessageTooLarge) || len(b) < MaxPlaintextSize/6 {
				t.Fatalf("Marshal(%s) of an accepted %d-byte message: %v", describe(m), len(b), err)
			}
			return
		}
		back, err := ParseMessage(out, fuzzNow)
		if err != nil {
			t.Fatalf("ParseMessage(Marshal(%s)) = %v; marshalled %q", describe(m), err, out)
		}
		if !sameMessage(back, m) {
			t.Fatalf("round trip changed %s into %s", describe(m), describe(back))
		}
	})
}

// fuzzOpenSetup is FuzzOpen's fixed receiver key and the only sealed
// messages that may open with it: made with a fixed ephemeral key, so the
// committed corpus holds them byte for byte.
type fuzzOpenSetup struct {
	key        *PrivateKey
	message    []byte // seals fuzzOpenMessage
	notMessage []byte // seals a plaintext that is not a message
}

const (
	fuzzOpenApp = "demo"
	fuzzOpenSID = "AAECAwQFBgcICQoLDA0ODw" // testSID
)

var fuzzOpenMessage = Message{Kind: KindToken, Data: "fuzz", IssuedAt: 1763750000, Device: &Device{Name: "fuzz", Type: "cli"}}

func newFuzzOpenSetup(t testing.TB) fuzzOpenSetup {
	t.Helper()
	key, err := deriveKeyPair([]byte("scanin fuzz receiver key"))
	if err != nil {
		t.Fatal(err)
	}
	seal := func(ephemeralIKM string, pt []byte) []byte {
		eph, err := deriveKeyPair([]byte(ephemeralIKM))
		if err != nil {
			t.Fatal(err)
		}
		enc, ctx, err := setupSenderWithEphemeral(key.PublicKey(), Info(fuzzOpenApp, fuzzOpenSID), eph)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := ctx.Seal(nil, pt)
		if err != nil {
			t.Fatal(err)
		}
		return append(enc, ct...)
	}
	pt, err := fuzzOpenMessage.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return fuzzOpenSetup{
		key:        key,
		message:    seal("scanin fuzz ephemeral 1", pt),
		notMessage: seal("scanin fuzz ephemeral 2", []byte("not a message")),
	}
}

// FuzzOpen: Open and OpenMessage never panic on arbitrary bytes and never
// open anything but the two genuine sealed messages (forging one would mean
// breaking ChaCha20Poly1305).
func FuzzOpen(f *testing.F) {
	s := newFuzzOpenSetup(f)
	f.Add(s.message)
	info := Info(fuzzOpenApp, fuzzOpenSID)
	f.Fuzz(func(t *testing.T, sealed []byte) {
		genuine := bytes.Equal(sealed, s.message) || bytes.Equal(sealed, s.notMessage)
		pt, err := Open(s.key, info, sealed)
		switch {
		case genuine && err != nil:
			t.Fatalf("Open of a genuine sealed message: %v", err)
		case !genuine && (err == nil || !errors.Is(err, ErrOpen) || pt != nil):
			t.Fatalf("Open(%x) = %q, %v; want ErrOpen", sealed, pt, err)
		}

		m, code, err := OpenMessage(s.key, fuzzOpenApp, fuzzOpenSID, sealed, fuzzNow)
		switch {
		case bytes.Equal(sealed, s.message):
			if err != nil || !sameMessage(m, fuzzOpenMessage) || len(code) != 2 {
				t.Fatalf("OpenMessage of the genuine message = %s, %q, %v", describe(m), code, err)
			}
		case bytes.Equal(sealed, s.notMessage):
			if !errors.Is(err, ErrMessageNotObject) || RejectReasonFor(err) != RejectDecrypt {
				t.Fatalf("OpenMessage of a sealed non-message: %v", err)
			}
		default:
			if !errors.Is(err, ErrOpen) || m != (Message{}) || code != "" {
				t.Fatalf("OpenMessage(%x) = %s, %q, %v; want ErrOpen", sealed, describe(m), code, err)
			}
		}
	})
}

// FuzzParseFrame: a frame that parses writes back into the same frame.
func FuzzParseFrame(f *testing.F) {
	f.Add([]byte(`{"type":"ready","expires_at":1763750060000,"resume":"r"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("ParseFrame error %v is not ErrFrame", err)
			}
			return
		}
		out := fr.AppendJSON(nil)
		back, err := ParseFrame(out)
		if err != nil {
			t.Fatalf("ParseFrame(%q) = %+v, which writes %q that does not parse: %v", b, fr, out, err)
		}
		if back.Type != fr.Type || back.ExpiresAt != fr.ExpiresAt || back.Resume != fr.Resume ||
			!bytes.Equal(back.Sealed, fr.Sealed) || back.Reason != fr.Reason {
			t.Fatalf("round trip changed %+v into %+v", fr, back)
		}
		if again := back.AppendJSON(nil); !bytes.Equal(again, out) {
			t.Fatalf("AppendJSON is not stable: %q, then %q", out, again)
		}
	})
}

// TestFuzzCorpora fails when a fuzz target in this package has no committed
// seed corpus, or a corpus file is not in Go's corpus format: a fuzz target
// whose seeds were lost silently fuzzes from nothing.
func TestFuzzCorpora(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	fset := token.NewFileSet()
	for _, name := range files {
		file, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("failed to parse %s: %v", name, err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Fuzz") {
				targets = append(targets, fn.Name.Name)
			}
		}
	}
	// The four targets this package promises; finding fewer means the scan
	// above is broken, not that the corpora are fine.
	for _, want := range []string{"FuzzParseLink", "FuzzParseMessage", "FuzzOpen", "FuzzParseFrame"} {
		found := false
		for _, got := range targets {
			found = found || got == want
		}
		if !found {
			t.Errorf("fuzz target %s is missing", want)
		}
	}
	for _, target := range targets {
		dir := filepath.Join("testdata", "fuzz", target)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Errorf("%s has no seed corpus: %v", target, err)
			continue
		}
		n := 0
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("go test fuzz v1\n")) {
				t.Errorf("%s/%s is not a Go fuzz corpus file", dir, e.Name())
			}
			n++
		}
		if n < 3 {
			t.Errorf("%s has %d seed files, want at least 3", target, n)
		}
	}
}

// TestFuzzOpenCorpusGenuine checks that the committed FuzzOpen corpus still
// holds the two genuine sealed messages, so the fuzzer starts from inputs
// that open and explores their neighbourhood.
func TestFuzzOpenCorpusGenuine(t *testing.T) {
	s := newFuzzOpenSetup(t)
	for name, want := range map[string][]byte{"genuine-message": s.message, "genuine-not-a-message": s.notMessage} {
		b, err := os.ReadFile(filepath.Join("testdata", "fuzz", "FuzzOpen", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(goQuoteBytes(want))) {
			t.Errorf("testdata/fuzz/FuzzOpen/%s does not hold the genuine sealed bytes", name)
		}
	}
	if _, _, err := OpenMessage(s.key, fuzzOpenApp, fuzzOpenSID, s.message, fuzzNow.Add(time.Hour)); !errors.Is(err, ErrMessageStale) {
		t.Errorf("the fuzz message an hour later: %v, want ErrMessageStale", err)
	}
}

// goQuoteBytes writes b as a corpus file spells a []byte value.
func goQuoteBytes(b []byte) string {
	return "[]byte(" + strconv.Quote(string(b)) + ")"
}
