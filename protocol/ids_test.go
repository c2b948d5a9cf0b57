package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestNewSessionID(t *testing.T) {
	seen := map[string]bool{}
	var ones [SessionIDSize * 8]int // how often each bit is set
	const n = 2000
	for range n {
		sid := NewSessionID()
		if len(sid) != SessionIDLength {
			t.Fatalf("NewSessionID() = %q: %d characters, want %d", sid, len(sid), SessionIDLength)
		}
		if err := CheckSessionID(sid); err != nil {
			t.Fatalf("NewSessionID() = %q fails CheckSessionID: %v", sid, err)
		}
		if strings.Trim(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Fatalf("NewSessionID() = %q is not base64url", sid)
		}
		b, err := DecodeBase64(sid)
		if err != nil || len(b) != SessionIDSize {
			t.Fatalf("NewSessionID() = %q decodes to %d bytes, %v", sid, len(b), err)
		}
		if seen[sid] {
			t.Fatalf("NewSessionID repeated %q", sid)
		}
		seen[sid] = true
		for i := range ones {
			ones[i] += int(b[i/8]>>(i%8)) & 1
		}
	}
	// Every bit varies: no stuck byte from a wrong buffer size or copy.
	for i, c := range ones {
		if c < n/4 || c > 3*n/4 {
			t.Errorf("bit %d was set %d times in %d ids", i, c, n)
		}
	}
}

func TestCheckSessionID(t *testing.T) {
	for _, ok := range []string{testSID, "AAAAAAAAAAAAAAAAAAAAAA", "__________________________"[:21] + "w", "-_-_-_-_-_-_-_-_-_-_-w"} {
		if err := CheckSessionID(ok); err != nil {
			t.Errorf("CheckSessionID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{
		"", testSID[:21], testSID + "A", testSID + "==", testSID[:20] + "==",
		"AAAAAAAAAAAAAAAAAAAAAB", // non-canonical: the last character's unused bits are set
		"+AECAwQFBgcICQoLDA0ODw", "/AECAwQFBgcICQoLDA0ODw", " AECAwQFBgcICQoLDA0ODw", "AAECAwQFBgcICQoLDA0OD\n",
		"AAECAwQFBgcICQoLDA0O.w", "AAECAwQFBgcICQoLDA0OD=", "AAECAwQFBgcICQoLDA0ODé"[:22],
		strings.Repeat("A", 43),
	} {
		if err := CheckSessionID(bad); !errors.Is(err, ErrSessionID) {
			t.Errorf("CheckSessionID(%q) = %v, want ErrSessionID", bad, err)
		}
	}
}

func TestCheckAppID(t *testing.T) {
	for _, ok := range []string{"a", "0", "demo", "demo-shop", "a-", "a--b", "9lives", strings.Repeat("a", 32), "a" + strings.Repeat("-", 31)} {
		if err := CheckAppID(ok); err != nil {
			t.Errorf("CheckAppID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-", "-a", "Demo", "dEmo", "demo_shop", "demo.shop", "demo shop", " demo", "demo\n",
		"démo", "demo/x", strings.Repeat("a", 33), "a\x00"} {
		if err := CheckAppID(bad); !errors.Is(err, ErrAppID) {
			t.Errorf("CheckAppID(%q) = %v, want ErrAppID", bad, err)
		}
	}
}

func TestBase64(t *testing.T) {
	for _, b := range [][]byte{nil, {0}, {0xfb, 0xff}, {1, 2, 3}, bytes.Repeat([]byte{0xff}, 32)} {
		s := EncodeBase64(b)
		if strings.ContainsAny(s, "+/=") {
			t.Errorf("EncodeBase64(%x) = %q: not base64url without padding", b, s)
		}
		back, err := DecodeBase64(s)
		if err != nil || !bytes.Equal(back, b) {
			t.Errorf("DecodeBase64(%q) = %x, %v; want %x", s, back, err, b)
		}
	}
	for _, s := range []string{"AA==", "+/8", "A", "AB", "-_9", "A A"} {
		if b, err := DecodeBase64(s); err == nil {
			t.Errorf("DecodeBase64(%q) = %x, want an error", s, b)
		}
	}
}
