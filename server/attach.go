package server

import (
	"crypto/rand"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// attachShards spreads attachments over this many maps, so concurrent
// requests for different sessions rarely wait on the same lock.
const attachShards = 64

// attachments are what only this process has of the sessions: the
// receivers' sockets, by listener id, and the senders waiting on a
// delivery, by sid. Each receiver also holds its session's expiry timer.
// Notes (store.go) reach them through carry.
type attachments struct {
	// node names this process among the relay's nodes; it prefixes every
	// listener id made here ("node.n"), so a note finds the node that holds
	// a listener.
	node   string
	next   atomic.Uint64
	seed   maphash.Seed
	shards [attachShards]attachShard
	bufs   *sync.Pool // the relay's frame buffers
	// failed is told of a receiver whose socket failed a write, so that it
	// is detached.
	failed func(*receiver, error)
}

type attachShard struct {
	mu        sync.Mutex
	receivers map[string]*receiver
	waiters   map[string][]*waiter
}

// waiter is a sender's POST waiting for the answer to the delivery of the
// bytes with the SHA-256 sum.
type waiter struct {
	sid string
	sum session.Sum
	ch  chan session.Reply // buffered: carry never blocks on it
}

// newNodeID makes a node's name: 8 random base64url characters.
func newNodeID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return protocol.EncodeBase64(b[:])
}

func newAttachments(node string, bufs *sync.Pool, failed func(*receiver, error)) *attachments {
	a := &attachments{node: node, seed: maphash.MakeSeed(), bufs: bufs, failed: failed}
	for i := range a.shards {
		a.shards[i].receivers = make(map[string]*receiver)
		a.shards[i].waiters = make(map[string][]*waiter)
	}
	return a
}

func (a *attachments) shard(key string) *attachShard {
	return &a.shards[maphash.String(a.seed, key)%attachShards]
}

// add gives rcv a new listener id and keeps it under that id.
func (a *attachments) add(rcv *receiver) {
	b := make([]byte, 0, len(a.node)+8)
	b = append(b, a.node...)
	b = append(b, '.')
	rcv.id = string(strconv.AppendUint(b, a.next.Add(1), 36))
	sh := a.shard(rcv.id)
	sh.mu.Lock()
	sh.receivers[rcv.id] = rcv
	sh.mu.Unlock()
}

// remove forgets rcv.
func (a *attachments) remove(rcv *receiver) {
	sh := a.shard(rcv.id)
	sh.mu.Lock()
	if sh.receivers[rcv.id] == rcv {
		delete(sh.receivers, rcv.id)
	}
	sh.mu.Unlock()
}

// receiver returns the receiver with listener id, or nil.
func (a *attachments) receiver(id string) *receiver {
	sh := a.shard(id)
	sh.mu.Lock()
	r := sh.receivers[id]
	sh.mu.Unlock()
	return r
}

// eachReceiver calls f for every receiver, outside the maps' locks.
func (a *attachments) eachReceiver(f func(*receiver)) {
	var batch []*receiver
	for i := range a.shards {
		sh := &a.shards[i]
		sh.mu.Lock()
		batch = batch[:0]
		for _, r := range sh.receivers {
			batch = append(batch, r)
		}
		sh.mu.Unlock()
		for _, r := range batch {
			f(r)
		}
	}
}

// wait registers a sender waiting on the delivery of the bytes with sum to
// session sid. It is registered before the delivery is stored, so that no
// answer can come before it.
func (a *attachments) wait(sid string, sum session.Sum) *waiter {
	w := &waiter{sid: sid, sum: sum, ch: make(chan session.Reply, 1)}
	sh := a.shard(sid)
	sh.mu.Lock()
	sh.waiters[sid] = append(sh.waiters[sid], w)
	sh.mu.Unlock()
	return w
}

// unwait forgets w.
func (a *attachments) unwait(w *waiter) {
	sh := a.shard(w.sid)
	sh.mu.Lock()
	ws := sh.waiters[w.sid]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(sh.waiters, w.sid)
	} else {
		sh.waiters[w.sid] = ws
	}
	sh.mu.Unlock()
}

// settle answers, with rep, the senders of session sid waiting on the
// delivery of the bytes with sum.
func (a *attachments) settle(sid string, sum session.Sum, rep session.Reply) {
	sh := a.shard(sid)
	sh.mu.Lock()
	ws := sh.waiters[sid]
	kept := ws[:0]
	for _, w := range ws {
		if w.sum != sum {
			kept = append(kept, w)
			continue
		}
		select {
		case w.ch <- rep:
		default:
		}
	}
	clear(ws[len(kept):])
	if len(kept) == 0 {
		delete(sh.waiters, sid)
	} else {
		sh.waiters[sid] = kept
	}
	sh.mu.Unlock()
}

// carry carries out a note on this node, in the outcome's order: the
// replaced receiver's close, the frames and close of the listener, the
// answer to the waiting senders. A receiver that is not here (it is gone,
// or on another node) is skipped. With queued, the listener's frames are
// queued on its own goroutine (receiver.post) rather than written before
// carry returns; either way they are written in the order of the calls.
func (a *attachments) carry(n *note, queued bool) {
	if n.replaced != "" {
		if r := a.receiver(n.replaced); r != nil {
			r.close(n.replace.Code, n.replace.Reason)
		}
	}
	if n.forReceiver() {
		if r := a.receiver(n.listener); r != nil {
			if queued {
				c := *n // n is the caller's, often on its stack
				r.post(func() { a.toReceiver(r, &c) })
			} else {
				a.toReceiver(r, n)
			}
		}
	}
	if n.settle != nil {
		a.settle(n.sid, n.sum, *n.settle)
	}
}

// toReceiver writes a note's frames to r and closes it as the note says. A
// failed write closes the socket, which detaches the receiver.
func (a *attachments) toReceiver(r *receiver, n *note) {
	var err error
	for _, f := range n.frames {
		if err = r.send(f, a.bufs); err != nil {
			break
		}
	}
	for _, b := range n.wire {
		if err != nil {
			break
		}
		err = r.sendWire(b, a.bufs)
	}
	if err != nil {
		r.close(websocketInternalError, "")
		a.failed(r, err)
		return
	}
	if n.close.Code != 0 {
		r.close(n.close.Code, n.close.Reason)
	}
}
