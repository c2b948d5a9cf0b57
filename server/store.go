package server

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/scanin/scanin/server/session"
)

// storeShards spreads sessions over this many maps, so concurrent requests
// for different sessions rarely wait on the same lock.
const storeShards = 64

// store holds the sessions in memory: live ones and, for TombstoneTTL after
// they end, their outcome. Each entry has its own lock; the rules are
// session.Session's, the store only serialises events per session and
// carries out their outcomes.
type store struct {
	seed   maphash.Seed
	shards [storeShards]shard
}

type shard struct {
	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one session plus what only this process has: the receiver's
// socket, the senders waiting on a delivery, and the expiry timer.
type entry struct {
	mu      sync.Mutex
	s       *session.Session
	rcv     *receiver
	waiters []chan session.Reply
	timer   *time.Timer
	// gone is set when the entry left the map; a goroutine that found it
	// before must look again.
	gone bool
}

func newStore() *store {
	st := &store{seed: maphash.MakeSeed()}
	for i := range st.shards {
		st.shards[i].entries = make(map[string]*entry)
	}
	return st
}

func (st *store) shard(sid string) *shard {
	return &st.shards[maphash.String(st.seed, sid)%storeShards]
}

// get returns the entry for sid, locked, or nil.
func (st *store) get(sid string) *entry {
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

// create adds a new session's entry, locked, unless the sid exists; then it
// returns the existing entry, locked, and false.
func (st *store) create(s *session.Session) (*entry, bool) {
	sh := st.shard(s.ID)
	for {
		sh.mu.Lock()
		if e := sh.entries[s.ID]; e != nil {
			sh.mu.Unlock()
			e.mu.Lock()
			if e.gone {
				e.mu.Unlock()
				continue
			}
			return e, false
		}
		e := &entry{s: s}
		e.mu.Lock()
		sh.entries[s.ID] = e
		sh.mu.Unlock()
		return e, true
	}
}

// remove drops a locked entry from the map.
func (st *store) remove(e *entry) {
	sh := st.shard(e.s.ID)
	sh.mu.Lock()
	if sh.entries[e.s.ID] == e {
		delete(sh.entries, e.s.ID)
	}
	sh.mu.Unlock()
	e.gone = true
	if e.timer != nil {
		e.timer.Stop()
	}
}

// each calls f for every entry, unlocked, shard by shard. f must lock the
// entry itself and may call remove.
func (st *store) each(f func(*entry)) {
	var batch []*entry
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

// counts returns how many live sessions and tombstones the store holds.
func (st *store) counts() (live, tombstones int) {
	st.each(func(e *entry) {
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
