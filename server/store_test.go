package server

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// peek returns a copy of the session sid as the relay's store holds it, or
// nil.
func peek(t testing.TB, rl *Relay, sid string) *session.Session {
	t.Helper()
	var c session.Session
	_, err := rl.store.update(t.Context(), sid, func(s *session.Session) session.Outcome {
		c = *s
		return session.Outcome{}
	})
	if errors.Is(err, errNoSession) {
		return nil
	}
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	return &c
}

// TestTombstoneCap: a relay without Redis remembers at most MaxTombstones
// ended sessions, forgetting the oldest first.
func TestTombstoneCap(t *testing.T) {
	tr := newTestRelay(t, Config{NoRateLimit: true, Limits: Limits{MaxTombstones: 20}})
	var sids []string
	for range 50 {
		sid := protocol.NewSessionID()
		tr.listen(t, sid, "app=demo")
		if st, _, b := tr.do(t, "POST", protocol.DenyPath(sid), nil, nil); st != 200 {
			t.Fatalf("deny: %d %s", st, b)
		}
		sids = append(sids, sid)
	}
	if _, tomb := tr.rl.store.(*memoryStore).counts(); tomb != 20 {
		t.Errorf("%d tombstones, want the cap of 20", tomb)
	}
	st, _, b := tr.do(t, "GET", protocol.SessionPath(sids[len(sids)-21]), nil, nil)
	wantCode(t, "the 21st newest ended session", st, b, protocol.CodeNotFound)
	st, _, b = tr.do(t, "GET", protocol.SessionPath(sids[len(sids)-20]), nil, nil)
	wantCode(t, "the 20th newest ended session", st, b, protocol.CodeAlreadyUsed)
}

// TestTombstoneSoak ends 200,000 sessions in a memory store capped at
// 1,000 tombstones: their count, the queue that orders them and the heap
// stay bounded.
func TestTombstoneSoak(t *testing.T) {
	const limit = 1000
	att := newAttachments("soak", &sync.Pool{New: func() any { b := []byte(nil); return &b }}, func(*receiver, error) {})
	st := newMemoryStore(att, storeHooks{committed: func(*session.Session, session.Outcome, bool) {}},
		Limits{MaxLiveSessions: 10, MaxTombstones: limit, TombstoneTTL: 10 * time.Minute})
	rules := session.Rules{AckWait: time.Second}
	var heapAt20k uint64
	for i := range 200_000 {
		now := time.Now()
		s := session.New(protocol.NewSessionID(), "demo", "Demo", protocol.Requester{IP: "192.0.2.1", UserAgent: "soak"}, time.Minute, session.NewResume(), now)
		if err := st.create(t.Context(), s, func(s *session.Session) session.Outcome { return s.Start("soak.1", now) }); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if _, err := st.update(t.Context(), s.ID, func(s *session.Session) session.Outcome { return s.Deny(rules, now) }); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if i%20_000 == 19_999 {
			live, tomb := st.counts()
			if live != 0 || tomb > limit || st.tombs.len() > limit {
				t.Fatalf("after %d sessions: %d live, %d tombstones, %d queued; want 0 live and at most %d", i+1, live, tomb, st.tombs.len(), limit)
			}
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			if heapAt20k == 0 {
				heapAt20k = m.HeapAlloc
			} else if m.HeapAlloc > heapAt20k+4<<20 {
				t.Fatalf("after %d sessions the heap is %d bytes, %d more than after 20,000", i+1, m.HeapAlloc, m.HeapAlloc-heapAt20k)
			}
		}
	}
	if n, _ := st.live(t.Context()); n != 0 {
		t.Errorf("live count %d, want 0", n)
	}
}
