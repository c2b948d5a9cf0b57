package server

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scanin/scanin/server/session"
)

// storeShards spreads sessions over this many maps, so concurrent requests
// for different sessions rarely wait on the same lock.
const storeShards = 64

// memoryStore holds the sessions in this process's memory: live ones and,
// for the tombstone ttl after they end, their outcome. Each entry has its
// own lock, under which an event runs and its notes are carried out by a
// direct call (attachments.carry), so a receiver sees frames in the order
// the events happened.
//
// Ended sessions are capped too: past maxTombstones, the oldest are
// forgotten first (a late caller then gets not_found rather than
// already_used or expired).
type memoryStore struct {
	seed   maphash.Seed
	shards [storeShards]memShard
	att    *attachments
	hooks  storeHooks

	maxLive       int64
	liveN         atomic.Int64 // sessions that have not ended
	tombstoneTTL  time.Duration
	maxTombstones int
	tombs         tombQueue
}

var _ sessionStore = (*memoryStore)(nil)

type memShard struct {
	mu      sync.Mutex
	entries map[string]*memEntry
}

// memEntry is one session.
type memEntry struct {
	mu sync.Mutex
	s  *session.Session
	// gone is set when the entry left the map; a goroutine that found it
	// before must look again.
	gone bool
}

func newMemoryStore(att *attachments, hooks storeHooks, l Limits) *memoryStore {
	st := &memoryStore{
		seed:          maphash.MakeSeed(),
		att:           att,
		hooks:         hooks,
		maxLive:       int64(l.MaxLiveSessions),
		tombstoneTTL:  l.TombstoneTTL,
		maxTombstones: l.MaxTombstones,
	}
	for i := range st.shards {
		st.shards[i].entries = make(map[string]*memEntry)
	}
	return st
}

func (st *memoryStore) shard(sid string) *memShard {
	return &st.shards[maphash.String(st.seed, sid)%storeShards]
}

// get returns the entry for sid, locked, or nil.
func (st *memoryStore) get(sid string) *memEntry {
	sh := st.shard(sid)
	sh.mu.Lock()
	e := sh.entries[sid]
	sh.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	if e.gone {
		e.mu.Unlock()
		return nil
	}
	return e
}

func (st *memoryStore) create(_ context.Context, s *session.Session, ev event) error {
	if st.liveN.Add(1) > st.maxLive {
		st.liveN.Add(-1)
		return errFull
	}
	sh := st.shard(s.ID)
	sh.mu.Lock()
	if sh.entries[s.ID] != nil {
		sh.mu.Unlock()
		st.liveN.Add(-1)
		return errTaken
	}
	e := &memEntry{s: s}
	e.mu.Lock()
	sh.entries[s.ID] = e
	sh.mu.Unlock()
	st.run(e, ev, true)
	return nil
}

func (st *memoryStore) update(_ context.Context, sid string, ev event) (session.Outcome, error) {
	e := st.get(sid)
	if e == nil {
		return session.Outcome{}, errNoSession
	}
	return st.run(e, ev, false), nil
}

// run runs ev on the locked entry e, carries out its outcome and unlocks e.
func (st *memoryStore) run(e *memEntry, ev event, created bool) session.Outcome {
	held := e.s.HeldSum
	o := ev(e.s)
	if o.Ended {
		st.liveN.Add(-1)
	}
	st.hooks.committed(e.s, o, created)
	n := noteOf(e.s.ID, held, &o)
	st.att.carry(&n, false)
	e.mu.Unlock()
	if o.Ended {
		st.tombs.push(e)
		st.trimTombstones()
	}
	return o
}

// remove drops a locked entry from the map.
func (st *memoryStore) remove(e *memEntry) {
	sh := st.shard(e.s.ID)
	sh.mu.Lock()
	if sh.entries[e.s.ID] == e {
		delete(sh.entries, e.s.ID)
	}
	sh.mu.Unlock()
	e.gone = true
}

func (st *memoryStore) live(context.Context) (int64, error) { return st.liveN.Load(), nil }

func (st *memoryStore) health(context.Context) error { return nil }

func (st *memoryStore) close() error { return nil }

// each calls f for every entry, unlocked, shard by shard. f must lock the
// entry itself.
func (st *memoryStore) each(f func(*memEntry)) {
	var batch []*memEntry
	for i := range st.shards {
		sh := &st.shards[i]
		sh.mu.Lock()
		batch = batch[:0]
		for _, e := range sh.entries {
			batch = append(batch, e)
		}
		sh.mu.Unlock()
		for _, e := range batch {
			f(e)
		}
	}
}

// sweep expires the live sessions past their time (a session whose
// receiver went away has no timer) and forgets the tombstones past the
// tombstone ttl.
func (st *memoryStore) sweep(now time.Time) {
	expire := func(s *session.Session) session.Outcome { return s.Expire(now) }
	st.each(func(e *memEntry) {
		e.mu.Lock()
		if !e.gone && !e.s.State.Ended() && !now.Before(e.s.ExpiresAt) {
			st.run(e, expire, false) // unlocks e
			e.mu.Lock()
		}
		if !e.gone && e.s.Forgettable(st.tombstoneTTL, now) {
			st.remove(e)
		}
		e.mu.Unlock()
	})
	st.tombs.dropGone()
}

// trimTombstones forgets the oldest ended sessions while there are more
// than maxTombstones.
func (st *memoryStore) trimTombstones() {
	for {
		e := st.tombs.popOver(st.maxTombstones)
		if e == nil {
			return
		}
		e.mu.Lock()
		if !e.gone && e.s.State.Ended() {
			st.remove(e)
		}
		e.mu.Unlock()
	}
}

// counts returns how many live sessions and tombstones the store holds.
func (st *memoryStore) counts() (live, tombstones int) {
	st.each(func(e *memEntry) {
		e.mu.Lock()
		if !e.gone {
			if e.s.State.Ended() {
				tombstones++
			} else {
				live++
			}
		}
		e.mu.Unlock()
	})
	return live, tombstones
}

// tombQueue is the ended sessions in the order they ended, oldest first.
type tombQueue struct {
	mu   sync.Mutex
	q    []*memEntry
	head int
}

func (t *tombQueue) push(e *memEntry) {
	t.mu.Lock()
	t.q = append(t.q, e)
	t.mu.Unlock()
}

// popOver takes the oldest entry off the queue when it holds more than max,
// else returns nil.
func (t *tombQueue) popOver(max int) *memEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.q)-t.head <= max {
		return nil
	}
	e := t.q[t.head]
	t.q[t.head] = nil
	t.head++
	t.compact()
	return e
}

// dropGone takes off the front of the queue the entries already forgotten.
func (t *tombQueue) dropGone() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.head < len(t.q) {
		e := t.q[t.head]
		e.mu.Lock()
		gone := e.gone
		e.mu.Unlock()
		if !gone {
			break
		}
		t.q[t.head] = nil
		t.head++
	}
	t.compact()
}

// compact moves the queue to the front of its array once half of it is
// spent, so the array does not grow without bound.
func (t *tombQueue) compact() {
	if t.head > 0 && t.head >= len(t.q)/2 {
		n := copy(t.q, t.q[t.head:])
		clear(t.q[n:])
		t.q = t.q[:n]
		t.head = 0
	}
}

// len is the number of ended sessions queued.
func (t *tombQueue) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.q) - t.head
}
