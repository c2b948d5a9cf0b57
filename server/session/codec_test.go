package session

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
)

// everyState is a session in each state a store can hold, keyed by name.
func everyState() map[string]*Session {
	now := time.UnixMilli(1763750000123)
	sealed := bytes.Repeat([]byte{7}, 100)
	fresh := func() *Session {
		return New("AAECAwQFBgcICQoLDA0ODw", "demo", "Demo Shop",
			protocol.Requester{IP: "192.0.2.10", UserAgent: "Mozilla/5.0 ü", Origin: "http://localhost:3000"},
			time.Minute, "q1d0bXlaW7rYyb6vPD1J2A", now)
	}
	m := map[string]*Session{}
	m["new"] = fresh()
	s := fresh()
	s.Start("n1.1", now)
	m["waiting, listening"] = s
	s = fresh()
	s.Start("n1.1", now)
	s.Read(now)
	m["scanned"] = s
	s = fresh()
	s.Deliver(sealed, SumOf(sealed), rules, now)
	m["held, pending"] = s
	s = fresh()
	s.Start("n1.1", now)
	s.Deliver(sealed, SumOf(sealed), rules, now)
	m["held, sent"] = s
	s = fresh()
	s.Start("n1.1", now)
	s.Deliver(sealed, SumOf(sealed), rules, now)
	s.Detach("n1.1")
	m["held, detached"] = s
	s = fresh()
	s.Start("n1.1", now)
	s.Deliver(sealed, SumOf(sealed), rules, now)
	s.Ack("n1.1", now.Add(time.Second))
	m["delivered"] = s
	s = fresh()
	s.Deny(rules, now)
	m["denied"] = s
	s = fresh()
	s.Start("n1.1", now)
	s.Expire(now.Add(time.Hour))
	m["expired"] = s
	s = fresh()
	s.Held = []byte{}
	m["empty non-nil held"] = s
	m["zero"] = &Session{}
	return m
}

func TestCodecRoundTrip(t *testing.T) {
	for name, s := range everyState() {
		t.Run(name, func(t *testing.T) {
			b, err := s.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Session
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(&got, s) {
				t.Errorf("round trip\n got %+v\nwant %+v", &got, s)
			}
			if again, _ := got.MarshalBinary(); !bytes.Equal(again, b) {
				t.Errorf("bytes differ after a round trip")
			}
			if app, _ := s.AppendBinary([]byte("x")); !bytes.Equal(app[1:], b) || app[0] != 'x' {
				t.Errorf("AppendBinary does not append what MarshalBinary makes")
			}
			for i := range b {
				keep := got
				if err := got.UnmarshalBinary(b[:i]); !errors.Is(err, ErrMalformed) {
					t.Errorf("%d of %d bytes: %v, want ErrMalformed", i, len(b), err)
				}
				if !reflect.DeepEqual(got, keep) {
					t.Fatalf("a failed UnmarshalBinary changed the session")
				}
			}
			if err := got.UnmarshalBinary(append(b, 0)); !errors.Is(err, ErrMalformed) {
				t.Errorf("a byte left over: %v, want ErrMalformed", err)
			}
		})
	}
}

// TestCodecVersion1 decodes bytes that version 1 wrote (the edge relay's
// codec before it moved here), as a store may still hold them after a
// release: a change to the layout that forgets them fails here.
func TestCodecVersion1(t *testing.T) {
	const v1 = "011641414543417751464267634943516f4c4441304f44770464656d6f0944656d6f2053686f70" +
		"0a3139322e302e322e31300e4d6f7a696c6c612f352e3020c3bc15687474703a2f2f6c6f63616c686f" +
		"73743a33303030167131643062586c6157377259796236765044314a3241077363616e6e656480d3e9" +
		"def8d18cfa3080b3a4e3b7d58cfa300080fbbf9880d28cfa30808b9fd9cad28cfa30076a7dc6f42672" +
		"42f01f6636a45c31da51c036da1e9879abce7e1d0aaa76aad87603070707"
	want := Session{
		ID: "AAECAwQFBgcICQoLDA0ODw", App: "demo", AppName: "Demo Shop",
		Requester: protocol.Requester{IP: "192.0.2.10", UserAgent: "Mozilla/5.0 ü", Origin: "http://localhost:3000"},
		StartedAt: time.Unix(0, 1763750000123000000), ExpiresAt: time.Unix(0, 1763750060123000000),
		Resume: "q1d0bXlaW7rYyb6vPD1J2A", State: protocol.StateScanned,
		Listener: V1Listener, Held: []byte{7, 7, 7}, HeldSum: SumOf([]byte{7, 7, 7}),
		HeldAt: time.Unix(0, 1763750001123000000), Sent: true, AckDeadline: time.Unix(0, 1763750011123000000),
	}
	b, err := hex.DecodeString(v1)
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", s, want)
	}
	// Written again, it is the current version, and reads back the same.
	again, _ := s.MarshalBinary()
	var back Session
	if again[0] != codecVersion || back.UnmarshalBinary(again) != nil || !reflect.DeepEqual(back, want) {
		t.Errorf("re-encoded as %x, which reads back as %+v", again, back)
	}
	// The receiver attached before the release can still detach.
	if !s.Detach(V1Listener) || s.Listener != "" {
		t.Errorf("the version 1 listener cannot detach")
	}
}

// TestCodecVersion2 decodes bytes that version 2 wrote, so that a later
// layout that forgets them fails here.
func TestCodecVersion2(t *testing.T) {
	const v2 = "021641414543417751464267634943516f4c4441304f44770464656d6f0944656d6f2053686f700a" +
		"3139322e302e322e31300e4d6f7a696c6c612f352e3020c3bc15687474703a2f2f6c6f63616c686f" +
		"73743a33303030167131643062586c6157377259796236765044314a3241077363616e6e6564046e" +
		"312e3280d3e9def8d18cfa3080b3a4e3b7d58cfa300080fbbf9880d28cfa30808b9fd9cad28cfa30" +
		"066a7dc6f4267242f01f6636a45c31da51c036da1e9879abce7e1d0aaa76aad87603070707"
	want := Session{
		ID: "AAECAwQFBgcICQoLDA0ODw", App: "demo", AppName: "Demo Shop",
		Requester: protocol.Requester{IP: "192.0.2.10", UserAgent: "Mozilla/5.0 ü", Origin: "http://localhost:3000"},
		StartedAt: time.Unix(0, 1763750000123000000), ExpiresAt: time.Unix(0, 1763750060123000000),
		Resume: "q1d0bXlaW7rYyb6vPD1J2A", State: protocol.StateScanned,
		Listener: "n1.2", Held: []byte{7, 7, 7}, HeldSum: SumOf([]byte{7, 7, 7}),
		HeldAt: time.Unix(0, 1763750001123000000), Sent: true, AckDeadline: time.Unix(0, 1763750011123000000),
	}
	b, err := hex.DecodeString(v2)
	if err != nil {
		t.Fatal(err)
	}
	var s Session
	if err := s.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", s, want)
	}
	if again, _ := s.MarshalBinary(); !bytes.Equal(again, b) {
		t.Errorf("re-encoded as\n%x\nwant\n%x", again, b)
	}
}

func TestCodecRefuses(t *testing.T) {
	good, _ := everyState()["held, sent"].MarshalBinary()
	flagsAt := len(good) - 100 - 1 - len(Sum{}) - 1 // then the sum, the length 100 and the held bytes
	for name, b := range map[string][]byte{
		"empty":             nil,
		"version 0":         append([]byte{0}, good[1:]...),
		"version 3":         append([]byte{3}, good[1:]...),
		"listening flag":    func() []byte { b := bytes.Clone(good); b[flagsAt] |= flagListening; return b }(),
		"unknown flag":      func() []byte { b := bytes.Clone(good); b[flagsAt] |= 8; return b }(),
		"held without flag": func() []byte { b := bytes.Clone(good); b[flagsAt] &^= flagHeld; return b }(),
		"length past end":   {codecVersion, 0xff, 0xff, 0x01},
	} {
		t.Run(name, func(t *testing.T) {
			var s Session
			if err := s.UnmarshalBinary(b); !errors.Is(err, ErrMalformed) {
				t.Errorf("UnmarshalBinary: %v, want ErrMalformed", err)
			}
		})
	}
}

// FuzzCodec checks that whatever decodes encodes to bytes that decode to
// the same session, and that those bytes are a fixed point.
func FuzzCodec(f *testing.F) {
	seeds := 0
	for _, s := range everyState() {
		b, _ := s.MarshalBinary()
		f.Add(b)
		seeds++
	}
	if seeds == 0 {
		f.Fatal("no seed corpus")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Session
		if s.UnmarshalBinary(b) != nil {
			return
		}
		enc, _ := s.MarshalBinary()
		var again Session
		if err := again.UnmarshalBinary(enc); err != nil {
			t.Fatalf("re-encoded bytes do not decode: %v", err)
		}
		if !reflect.DeepEqual(again, s) {
			t.Fatalf("decoded\n%+v\nre-decoded\n%+v", s, again)
		}
		if enc2, _ := again.MarshalBinary(); !bytes.Equal(enc2, enc) {
			t.Fatalf("encoding is not a fixed point")
		}
	})
}

func TestAlarmAt(t *testing.T) {
	const tombstone = 10 * time.Minute
	for name, s := range everyState() {
		t.Run(name, func(t *testing.T) {
			want := s.ExpiresAt
			if s.State.Ended() {
				want = s.EndedAt.Add(tombstone)
			}
			if got := s.AlarmAt(tombstone); !got.Equal(want) {
				t.Errorf("AlarmAt = %v, want %v", got, want)
			}
			// Expire does nothing before it, and Forgettable is true at
			// it once the session ended.
			at := s.AlarmAt(tombstone)
			c := *s
			if o := c.Expire(at.Add(-time.Millisecond)); o.Ended {
				t.Errorf("expired before AlarmAt")
			}
			if s.State.Ended() && !s.Forgettable(tombstone, at) {
				t.Errorf("not forgettable at AlarmAt")
			}
			if !s.State.Ended() && s.State != "" {
				if o := c.Expire(at); !o.Ended {
					t.Errorf("did not expire at AlarmAt")
				}
			}
		})
	}
}

func TestNewResume(t *testing.T) {
	a, b := NewResume(), NewResume()
	if a == b {
		t.Errorf("two resume values are both %q", a)
	}
	raw, err := protocol.DecodeBase64(a)
	if err != nil || len(raw) != 16 {
		t.Errorf("NewResume() = %q: %d bytes, %v; want 16 bytes of base64url", a, len(raw), err)
	}
}
