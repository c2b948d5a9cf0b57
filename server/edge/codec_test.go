package edge

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

func TestSessionRoundTrip(t *testing.T) {
	now := time.UnixMilli(1763750000123)
	full := session.New("AAECAwQFBgcICQoLDA0ODw", "demo", "Demo Shop",
		protocol.Requester{IP: "192.0.2.10", UserAgent: "Mozilla/5.0 ü", Origin: "http://localhost:3000"},
		60*time.Second, "q1d0bXlaW7rYyb6vPD1J2A", now)
	full.Listening = true
	full.Deliver(bytes.Repeat([]byte{7}, 100), session.SumOf(bytes.Repeat([]byte{7}, 100)), session.Rules{AckWait: 10 * time.Second}, now.Add(time.Second))
	ended := *full
	ended.Ack(now.Add(2 * time.Second))
	emptyHeld := *full
	emptyHeld.Held = []byte{}
	for name, s := range map[string]*session.Session{
		"new":                session.New("AAECAwQFBgcICQoLDA0ODw", "demo", "Demo Shop", protocol.Requester{}, 15*time.Second, "r", now),
		"holding":            full,
		"delivered":          &ended,
		"empty non-nil held": &emptyHeld,
	} {
		b := MarshalSession(s)
		got, err := UnmarshalSession(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", name, got, s)
		}
		if !bytes.Equal(MarshalSession(got), b) {
			t.Errorf("%s: bytes differ after a round trip", name)
		}
		for i := range b {
			if _, err := UnmarshalSession(b[:i]); err == nil {
				t.Errorf("%s: %d of %d bytes decoded", name, i, len(b))
			}
		}
	}
}
