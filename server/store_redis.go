package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// redisStore keeps the sessions in Redis (6.2 or later, one primary: not
// Redis Cluster), so that every relay node that shares it acts as one
// relay: a session made on one node is read, delivered to, denied and
// resumed on any other, and outlives the node. What it keeps:
//
//	scanin:s:{sid}   a session, as session.MarshalBinary writes it, held
//	                 message (ciphertext) included; the key expires
//	                 TombstoneTTL after the session ends, or after
//	                 ExpiresAt while it lives, so an ended session is a
//	                 key that expires (its tombstone)
//	scanin:live      the live sessions' ids, scored by ExpiresAt (Unix ms):
//	                 the live-session cap across nodes; the key expires
//	                 with its last session
//
// An event loads the session, runs package session's rule on it here, and
// stores the result with a script that writes only if the stored bytes
// are still the ones loaded (else it loads again): a compare-and-set, so
// of 1,000 concurrent POSTs on every node, exactly one delivery is held.
// The same script publishes the event's notes, so they are ordered with
// the changes: to the channel scanin:n:{node} of the node whose listener
// they are for, and the answers to waiting senders to scanin:settle, which
// every node reads.
type redisStore struct {
	c        *redis.Client
	att      *attachments
	hooks    storeHooks
	log      *slog.Logger
	maxLive  int64
	tomb     time.Duration
	channel  string // this node's
	ps       *redis.PubSub
	ctx      context.Context // cancelled by close
	cancel   context.CancelFunc
	bg       sync.WaitGroup // the notes' reader and detaches
	down     atomic.Bool    // the last operation failed: logged once per outage
	resynced atomic.Int64   // times the notes' reader subscribed again
	// subscribed is set while this node reads its notes. Until then an
	// event with a note for a receiver here fails: the note would be lost.
	subscribed atomic.Bool
	ready      chan struct{} // closed once the node first reads its notes
}

// redisStartWait bounds how long a new node waits to read its notes before
// it serves (answering 503 until it does).
const redisStartWait = 3 * time.Second

// errNotSubscribed is the error of an event whose note for a receiver on
// this node could not reach it.
var errNotSubscribed = errors.New("redis: this node is not subscribed to its notes (yet)")

var _ sessionStore = (*redisStore)(nil)

// Keys and channels.
const (
	redisSessionPrefix = "scanin:s:"
	redisLiveKey       = "scanin:live"
	redisNodePrefix    = "scanin:n:"
	redisSettleChannel = "scanin:settle"
)

// redisUpdate stores an event's change and publishes its notes.
//
//	KEYS: the session, the live set
//	ARGV: the bytes loaded, the bytes to store, when the key expires (Unix
//	      ms), "1" when the session ended in the event (it leaves the live
//	      set), the sid, then channel and message pairs to publish
//
// It answers {0} when the session is not the one loaded (load it again),
// else {1, n}: n is how many nodes read the first message (-1: none sent).
var redisUpdate = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {0} end
if ARGV[2] ~= ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PXAT', ARGV[3]) end
if ARGV[4] == '1' then redis.call('ZREM', KEYS[2], ARGV[5]) end
local n = -1
for i = 6, #ARGV, 2 do
  local got = redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
  if i == 6 then n = got end
end
return {1, n}
`)

// redisCreate stores a new session unless its sid is taken or the live set
// is full, and publishes its first listen's notes.
//
//	KEYS: the session, the live set
//	ARGV: the session's bytes, when its key expires (Unix ms), its
//	      ExpiresAt (Unix ms), now (Unix ms), the live-session cap, the
//	      sid, then channel and message pairs to publish
//
// It answers {0} when the sid is taken, {-1} at the cap, else {1, n} as
// redisUpdate does.
var redisCreate = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return {0} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then return {-1} end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[6])
local left = tonumber(ARGV[2]) - tonumber(ARGV[4])
if redis.call('PTTL', KEYS[2]) < left then redis.call('PEXPIREAT', KEYS[2], ARGV[2]) end
local n = -1
for i = 7, #ARGV, 2 do
  local got = redis.call('PUBLISH', ARGV[i], ARGV[i + 1])
  if i == 7 then n = got end
end
return {1, n}
`)

// redisMaxTries bounds how often an event is run again because another
// node changed the session first; each round one of them wins.
const redisMaxTries = 100

// checkRedisURL checks Config.Redis without connecting.
func checkRedisURL(s string) error {
	if _, err := redis.ParseURL(s); err != nil {
		return fmt.Errorf("%q is not a Redis URL (redis://[user:password@]host:port/db or rediss://…): %w", redactRedisURL(s), err)
	}
	return nil
}

// redactRedisURL is a Redis URL without its password, for messages.
func redactRedisURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// openRedis is the client of a Redis URL. Unless the URL says
// otherwise, a command fails after 2 s rather than go-redis's 3 to 5 s (but
// may wait up to 10 s for one of at least 64 pooled connections), and
// is not retried: the relay answers unavailable at once, and a script that
// may have run is never run twice.
func openRedis(rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%q is not a Redis URL: %w", redactRedisURL(rawURL), err)
	}
	q := url.Values{}
	if u, err := url.Parse(rawURL); err == nil {
		q = u.Query()
	}
	if !q.Has("dial_timeout") {
		opt.DialTimeout = 2 * time.Second
	}
	if !q.Has("read_timeout") {
		opt.ReadTimeout = 2 * time.Second
	}
	if !q.Has("write_timeout") {
		opt.WriteTimeout = 2 * time.Second
	}
	if !q.Has("max_retries") {
		opt.MaxRetries = -1
	}
	// A burst of requests (a thousand senders racing for one session) waits
	// for a free connection; that is load, not an outage, so it must not
	// turn into 503s after go-redis's default pool wait of ReadTimeout+1 s.
	if !q.Has("pool_size") {
		opt.PoolSize = max(opt.PoolSize, 64)
	}
	if !q.Has("pool_timeout") {
		opt.PoolTimeout = 10 * time.Second
	}
	opt.DialerRetries = 1 // a refused connection is an outage now, not in half a second
	// RESP2, whatever the URL says. Over RESP3, go-redis before v9.22
	// reads every pub/sub message through its push-notification processor,
	// which peeks at the message's name in the bytes buffered so far: when a
	// read of the connection ends inside that header ("mes" of "message"),
	// it takes the message for an unknown notification, reads it and drops
	// it (redis/go-redis#3839; fixed by #3842 and #3936, both in v9.22.0).
	// A dropped note is a receiver that never gets its ready, sealed frame
	// or close, or senders never answered: about once in 20,000 notes under
	// load. Over RESP2 a message is a plain reply, never seen by that
	// processor.
	opt.Protocol = 2
	quietRedis.Do(func() { redis.SetLogger(discardRedisLog{}) })
	return redis.NewClient(opt), nil
}

// quietRedis turns go-redis's own log off, once per process: it writes
// plain lines to standard error, beside the relay's JSON logs, for every
// failed dial of an outage that the relay logs once (redisStore.failed).
var quietRedis sync.Once

type discardRedisLog struct{}

func (discardRedisLog) Printf(context.Context, string, ...any) {}

// newRedisStore starts reading this node's notes; it does not wait for
// Redis, which may come later (the relay answers unavailable meanwhile).
func newRedisStore(c *redis.Client, att *attachments, hooks storeHooks, l Limits, log *slog.Logger) *redisStore {
	st := &redisStore{
		c:       c,
		att:     att,
		hooks:   hooks,
		log:     log,
		maxLive: int64(l.MaxLiveSessions),
		tomb:    l.TombstoneTTL,
		channel: redisNodePrefix + att.node,
		ready:   make(chan struct{}),
	}
	st.ctx, st.cancel = context.WithCancel(context.Background())
	st.ps = c.Subscribe(st.ctx, st.channel, redisSettleChannel)
	st.bg.Add(1)
	go st.readNotes()
	select {
	case <-st.ready:
	case <-time.After(redisStartWait):
		log.Warn("redis: not reading this node's notes yet; listens get 503 until it does", "node", att.node)
	}
	return st
}

func sessionKey(sid string) string { return redisSessionPrefix + sid }

// keyExpiry is when a session's key expires: TombstoneTTL after it ended,
// or after the time it would end.
func (st *redisStore) keyExpiry(s *session.Session) int64 {
	end := s.ExpiresAt
	if s.State.Ended() {
		end = s.EndedAt
	}
	return end.Add(st.tomb).UnixMilli()
}

func (st *redisStore) create(ctx context.Context, s *session.Session, ev event) error {
	o := ev(s)
	b, _ := s.MarshalBinary()
	now := time.Now().UnixMilli()
	n := noteOf(s.ID, session.Sum{}, &o)
	if err := st.canCarry(&n); err != nil {
		return err
	}
	args := []any{b, st.keyExpiry(s), s.ExpiresAt.UnixMilli(), now, st.maxLive, s.ID}
	args = st.appendMessages(args, &n)
	res, err := redisCreate.Run(ctx, st.c, []string{sessionKey(s.ID), redisLiveKey}, args...).Int64Slice()
	if err != nil {
		return st.failed(err)
	}
	st.works()
	switch res[0] {
	case 0:
		return errTaken
	case -1:
		return errFull
	}
	st.hooks.committed(s, o, true)
	st.delivered(s.ID, &n, res)
	return nil
}

func (st *redisStore) update(ctx context.Context, sid string, ev event) (session.Outcome, error) {
	key := sessionKey(sid)
	for range redisMaxTries {
		old, err := st.c.Get(ctx, key).Bytes()
		if errors.Is(err, redis.Nil) {
			st.works()
			return session.Outcome{}, errNoSession
		}
		if err != nil {
			return session.Outcome{}, st.failed(err)
		}
		var s session.Session
		if err := s.UnmarshalBinary(old); err != nil {
			st.works()
			st.log.Error("a session in Redis cannot be read; it is treated as gone", "sid_hash", sidHash(sid), "err", err)
			return session.Outcome{}, errNoSession
		}
		held := s.HeldSum
		o := ev(&s)
		b, _ := s.MarshalBinary()
		n := noteOf(sid, held, &o)
		var res []int64
		if string(b) != string(old) || n.forReceiver() || n.replaced != "" || n.settle != nil {
			if err := st.canCarry(&n); err != nil {
				return session.Outcome{}, err
			}
			ended := "0"
			if o.Ended {
				ended = "1"
			}
			args := st.appendMessages([]any{old, b, st.keyExpiry(&s), ended, sid}, &n)
			res, err = redisUpdate.Run(ctx, st.c, []string{key, redisLiveKey}, args...).Int64Slice()
			if err != nil {
				return session.Outcome{}, st.failed(err)
			}
			if res[0] == 0 {
				continue // changed since we loaded it
			}
		}
		st.works()
		st.hooks.committed(&s, o, false)
		st.delivered(sid, &n, res)
		return o, nil
	}
	return session.Outcome{}, fmt.Errorf("session changed %d times while an event ran on it", redisMaxTries)
}

// canCarry fails when n is for a receiver on this node and this node does
// not read its notes right now.
func (st *redisStore) canCarry(n *note) error {
	if n.forReceiver() && !st.subscribed.Load() && listenerChannel(n.listener) == st.channel {
		return errNotSubscribed
	}
	return nil
}

// delivered acts on how many nodes read a note: a listener whose node
// reads nothing is on a node that is gone, and is detached, so that the
// next delivery is held as pending at once rather than sent to nobody.
func (st *redisStore) delivered(sid string, n *note, res []int64) {
	if len(res) < 2 || res[1] != 0 || !n.forReceiver() {
		return
	}
	listener := n.listener
	st.bg.Add(1)
	go func() {
		defer st.bg.Done()
		ctx, cancel := context.WithTimeout(st.ctx, storeTimeout)
		defer cancel()
		_, _ = st.update(ctx, sid, func(s *session.Session) session.Outcome {
			s.Detach(listener)
			return session.Outcome{}
		})
	}()
}

// appendMessages appends a note's messages to a script's arguments, the
// receiver's first.
func (st *redisStore) appendMessages(args []any, n *note) []any {
	if n.forReceiver() {
		m := []byte{'r'}
		m = appendString(m, n.sid)
		m = appendString(m, n.listener)
		m = binary.AppendUvarint(m, uint64(n.close.Code))
		m = appendString(m, n.close.Reason)
		m = binary.AppendUvarint(m, uint64(len(n.frames)))
		var f []byte
		for _, fr := range n.frames {
			f = appendFrame(f[:0], fr)
			m = appendString(m, string(f))
		}
		args = append(args, listenerChannel(n.listener), m)
	}
	if n.replaced != "" {
		m := []byte{'x'}
		m = appendString(m, n.sid)
		m = appendString(m, n.replaced)
		m = binary.AppendUvarint(m, uint64(n.replace.Code))
		m = appendString(m, n.replace.Reason)
		args = append(args, listenerChannel(n.replaced), m)
	}
	if n.settle != nil {
		m := []byte{'s'}
		m = appendString(m, n.sid)
		m = append(m, n.sum[:]...)
		m = appendString(m, string(n.settle.State))
		var code protocol.Code
		var msg string
		var retry int64
		if e := n.settle.Err; e != nil {
			code, msg, retry = e.Code, e.Message, e.RetryAfterMS
		}
		m = appendString(m, string(code))
		m = appendString(m, msg)
		m = binary.AppendVarint(m, retry)
		args = append(args, redisSettleChannel, m)
	}
	return args
}

// listenerChannel is the channel of the node that holds a listener.
func listenerChannel(listener string) string {
	node, _, _ := strings.Cut(listener, ".")
	return redisNodePrefix + node
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// parseNote reads a message of appendMessages.
func parseNote(m string) (note, bool) {
	var n note
	if m == "" {
		return n, false
	}
	r := msgReader{b: m[1:]}
	n.sid = r.str()
	switch m[0] {
	case 'r':
		n.listener = r.str()
		n.close.Code = int(r.uvarint())
		n.close.Reason = r.str()
		count := r.uvarint()
		if count > uint64(len(r.b)) {
			return n, false
		}
		n.wire = make([][]byte, 0, count)
		for range count {
			n.wire = append(n.wire, []byte(r.str()))
		}
	case 'x':
		n.replaced = r.str()
		n.replace.Code = int(r.uvarint())
		n.replace.Reason = r.str()
	case 's':
		if len(r.b) < len(n.sum) {
			return n, false
		}
		copy(n.sum[:], r.b)
		r.b = r.b[len(n.sum):]
		rep := session.Reply{State: protocol.State(r.str())}
		code, msg, retry := r.str(), r.str(), r.varint()
		if code != "" {
			rep.Err = &protocol.Error{Code: protocol.Code(code), Message: msg, RetryAfterMS: retry}
		}
		n.settle = &rep
	default:
		return n, false
	}
	return n, !r.bad && len(r.b) == 0
}

// msgReader reads appendMessages' fields; a read past the end sets bad.
type msgReader struct {
	b   string
	bad bool
}

func (r *msgReader) uvarint() uint64 {
	v, k := binary.Uvarint([]byte(r.b[:min(len(r.b), binary.MaxVarintLen64)]))
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

// varint is binary.Varint's zig-zag decoding of uvarint.
func (r *msgReader) varint() int64 {
	ux := r.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (r *msgReader) str() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := r.b[:n]
	r.b = r.b[n:]
	return s
}

// readNotes carries out the notes published to this node, in the order
// they were published, until close. go-redis connects again after an
// error and subscribes again; notes published meanwhile are lost, so then
// every receiver on this node is closed with 1001 (going away): each
// resumes, and the resume's greeting gives it what the session holds.
func (st *redisStore) readNotes() {
	defer st.bg.Done()
	subscribed := false
	backoff := 50 * time.Millisecond
	for {
		msg, err := st.ps.ReceiveTimeout(st.ctx, 10*time.Second)
		if st.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				_ = st.ps.Ping(st.ctx) // the answer, or the error, comes next
				continue
			}
			st.subscribed.Store(false)
			_ = st.failed(err)
			select {
			case <-st.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Message:
			n, ok := parseNote(m.Payload)
			if !ok {
				st.log.Error("a note from Redis cannot be read; it is dropped", "channel", m.Channel)
				continue
			}
			st.att.carry(&n, true)
		case *redis.Subscription:
			if m.Kind != "subscribe" || m.Channel != st.channel {
				continue
			}
			if subscribed {
				st.resync()
			} else {
				close(st.ready)
			}
			subscribed = true
			st.subscribed.Store(true)
		}
	}
}

// resync asks every receiver on this node to resume, after the notes'
// connection was lost and made again.
func (st *redisStore) resync() {
	st.resynced.Add(1)
	n := 0
	st.att.eachReceiver(func(r *receiver) {
		r.close(websocketGoingAway, "going away")
		n++
	})
	st.log.Warn("redis: subscribed again after losing the connection; receivers on this node were asked to resume, since notes for them may have been lost", "receivers", n)
}

// failed records a failed Redis operation and returns err. The first
// failure of an outage is logged as an error, with what the relay does.
func (st *redisStore) failed(err error) error {
	if errors.Is(err, context.Canceled) && st.ctx.Err() == nil {
		return err // the request went away, not Redis
	}
	if !st.down.Swap(true) {
		st.log.Error("redis unreachable: the relay answers 503 unavailable until it is back", "addr", st.c.Options().Addr, "err", err)
	}
	return err
}

// works records a Redis operation that succeeded: the end of an outage is
// logged.
func (st *redisStore) works() {
	if st.down.Load() && st.down.Swap(false) {
		st.log.Info("redis reachable again", "addr", st.c.Options().Addr)
	}
}

func (st *redisStore) live(ctx context.Context) (int64, error) {
	n, err := st.c.ZCount(ctx, redisLiveKey, strconv.FormatInt(time.Now().UnixMilli(), 10), "+inf").Result()
	if err != nil {
		return 0, st.failed(err)
	}
	st.works()
	return n, nil
}

// sweep does nothing: keys expire by themselves, and a session past its
// time is expired by the first event that loads it.
func (st *redisStore) sweep(time.Time) {}

func (st *redisStore) health(ctx context.Context) error {
	if err := st.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis unreachable: %w", st.failed(err))
	}
	st.works()
	if !st.subscribed.Load() {
		return errNotSubscribed
	}
	return nil
}

// close stops reading notes and waits for the store's goroutines. The
// client is the relay's to close.
func (st *redisStore) close() error {
	st.cancel()
	err := st.ps.Close()
	st.bg.Wait()
	return err
}
