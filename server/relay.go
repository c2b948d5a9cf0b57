// Package server is scanin's relay: it forwards one sealed message from a
// sender (the phone) to a receiver (the widget or the terminal receiver) and
// serves the browser files. It implements docs/protocol.md's Relay API and
// Limits over net/http; the rules live apart from it, so other transports
// (an edge relay) share them: the session rules in package session, the
// request rules (apps, ttl, origins, body size, receiver frames, answers)
// in package rules.
//
// The relay holds sessions in memory, or in Redis so that several relay
// nodes behind a load balancer act as one (Config.Redis; store.go says how
// the two are kept apart). A receiver's WebSocket is read on a goroutine of
// its own; in memory the relay writes frames to it from the goroutine of
// whichever event caused them, under the session's lock, and over Redis
// from the goroutine that reads the node's notes, so either way a receiver
// sees frames in the order the events happened.
//
// Logs never contain payloads, links, keys, resume values or fragments; a
// session is named in logs by a short hash of its id ("sid_hash").
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
	"github.com/scanin/scanin/server/session"
)

// Relay is a running relay. Make one with New, serve Handler, and call
// Shutdown to stop.
type Relay struct {
	cfg       Config
	limits    Limits
	rules     session.Rules
	publicURL string // without a trailing slash; empty: from each request
	apps      rules.Apps
	log       *slog.Logger
	store     sessionStore
	att       *attachments
	// redis is the client of Config.Redis, which the store and the rate
	// limits share; nil without Redis.
	redis    *redis.Client
	metrics  *metrics
	listenRL *rateLimiter // nil when rate limits are off
	senderRL *rateLimiter
	assets   *assets
	handler  http.Handler

	waiting  atomic.Int64 // POSTs waiting for a receiver's answer
	closing  atomic.Bool
	ctx      context.Context // cancelled at the end of Shutdown: stops the sweeper
	cancel   context.CancelFunc
	bg       sync.WaitGroup // the sweeper
	rcvGroup sync.WaitGroup // receivers' goroutines
	debug    *debugServer   // profiling endpoints; nil unless DebugAddrEnv is set
	bufs     sync.Pool      // *[]byte scratch for frames to receivers
}

// New checks cfg and makes a relay. logger receives JSON-friendly
// structured logs; nil discards them.
func New(cfg Config, logger *slog.Logger) (*Relay, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("failed to configure relay: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rl := &Relay{
		cfg:    cfg,
		limits: cfg.Limits.withDefaults(),
		log:    logger,
	}
	rl.metrics = newMetrics(rl.liveSessions)
	rl.rules = session.Rules{AckWait: rl.limits.AckWait}
	rl.bufs.New = func() any {
		b := make([]byte, 0, 2048) // a sealed frame of a typical message fits
		return &b
	}
	rl.att = newAttachments(newNodeID(), &rl.bufs, rl.receiverFailed)
	hooks := storeHooks{committed: rl.committed}
	if cfg.Redis == "" {
		rl.store = newMemoryStore(rl.att, hooks, rl.limits)
	} else {
		var err error
		if rl.redis, err = openRedis(cfg.Redis); err != nil {
			return nil, fmt.Errorf("failed to configure relay: redis: %w", err)
		}
		rl.store = newRedisStore(rl.redis, rl.att, hooks, rl.limits, logger)
		logger.Info("sessions in redis", "redis", redactRedisURL(cfg.Redis), "node", rl.att.node)
	}
	if cfg.PublicURL != "" {
		rl.publicURL, _ = checkPublicURL(cfg.PublicURL)
	}
	rl.apps = rules.NewApps(cfg.Apps, rl.limits.DefaultTTL)
	if !cfg.NoRateLimit {
		// In Redis when the sessions are: the limits hold across nodes.
		rl.listenRL, rl.senderRL = newRateLimits(rl.redis, rl.limits)
	}
	var err error
	if rl.assets, err = loadAssets(); err != nil {
		_ = rl.closeStore()
		return nil, fmt.Errorf("failed to load the widget files: %w", err)
	}
	if len(rl.assets.missing) > 0 {
		logger.Warn("widget files refer to files that do not exist; is the widget built?", "missing", rl.assets.missing)
	}
	if addr := os.Getenv(DebugAddrEnv); addr != "" {
		if rl.debug, err = startDebug(addr); err != nil {
			_ = rl.closeStore()
			return nil, err
		}
		logger.Warn("profiling endpoints are on; this is for benchmarks, not for production", "env", DebugAddrEnv, "addr", addr)
	}
	rl.ctx, rl.cancel = context.WithCancel(context.Background())
	rl.handler = rl.routes()
	rl.bg.Add(1)
	go rl.sweepLoop()
	return rl, nil
}

// Handler serves the Relay API, the widget files, /link, /healthz and
// /metrics (MetricsHandler), unless Config.SeparateMetrics takes /metrics
// off it.
func (rl *Relay) Handler() http.Handler { return rl.handler }

// Shutdown stops the relay gracefully: it stops taking sessions (/healthz
// answers 503, listens get unavailable), waits for deliveries in flight to
// be answered, then closes every receiver's socket with 1001 (going away) so
// it resumes elsewhere. It returns when the receivers are closed or ctx is
// done. The HTTP server around Handler is the caller's to shut down, after
// this.
func (rl *Relay) Shutdown(ctx context.Context) error {
	rl.closing.Store(true)
	var err error
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for rl.waiting.Load() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = fmt.Errorf("failed to wait for deliveries in flight: %w", ctx.Err())
		case <-tick.C:
		}
	}
	// Each receiver's reading goroutine detaches it as its socket closes.
	rl.att.eachReceiver(func(r *receiver) { r.close(websocketGoingAway, "going away") })
	done := make(chan struct{})
	go func() {
		rl.rcvGroup.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if err == nil {
			err = fmt.Errorf("failed to close receivers: %w", ctx.Err())
		}
	}
	// A peer that never answers the close is dropped by the WebSocket
	// library's close handshake timeout (5 s); nothing more to do for it.
	rl.cancel()
	rl.bg.Wait()
	if err == nil {
		<-done
	}
	if serr := rl.closeStore(); serr != nil && err == nil {
		err = serr
	}
	if rl.debug != nil {
		if derr := rl.debug.close(ctx); derr != nil && err == nil {
			err = derr
		}
	}
	rl.log.Info("relay stopped")
	return err
}

// closeStore lets go of the session store and the Redis client.
func (rl *Relay) closeStore() error {
	err := rl.store.close()
	if rl.redis != nil {
		if cerr := rl.redis.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("failed to close the session store: %w", err)
	}
	return nil
}

// publicBase is the relay's base URL as a client reached it.
func (rl *Relay) publicBase(r *http.Request) string {
	if rl.publicURL != "" {
		return rl.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// sidHash names a session in logs without the id itself, which is enough
// to read or deny a live session.
func sidHash(sid string) string {
	h := sha256.Sum256([]byte(sid))
	return hex.EncodeToString(h[:4])
}

// committed is the store's hook (storeHooks): an event's metrics and logs.
func (rl *Relay) committed(s *session.Session, o session.Outcome, created bool) {
	if created {
		rl.metrics.sessions.Inc() // before ready: a receiver that has it sees the session counted
	}
	if o.Latency > 0 {
		rl.metrics.latency.Observe(o.Latency.Seconds())
	}
	if o.Ended {
		outcome := s.State.String()
		rl.metrics.handoff(outcome)
		rl.log.Info("session ended", "sid_hash", sidHash(s.ID), "app", s.App, "outcome", outcome,
			"age_ms", s.EndedAt.Sub(s.StartedAt).Milliseconds())
	}
	if o.Settle != nil && o.Settle.Err != nil && o.Settle.Err.Code == protocol.CodeRejected {
		rl.metrics.handoff(string(protocol.CodeRejected))
	}
}

// receiverFailed logs a receiver whose socket failed a write.
func (rl *Relay) receiverFailed(r *receiver, err error) {
	rl.log.Debug("receiver write failed", "sid_hash", sidHash(r.sid), "err", err)
}

// storeTimeout bounds a store operation that no request bounds (a
// receiver's frame, a timer).
const storeTimeout = 5 * time.Second

// storeFailed is the answer to a request the store could not serve. The
// store logs when it stops and starts working.
func (rl *Relay) storeFailed(err error) *protocol.Error {
	rl.log.Debug("session store failed", "err", err)
	return &protocol.Error{Code: protocol.CodeUnavailable, Message: "the relay cannot reach its session store; try again shortly"}
}

// liveSessions is the live sessions' gauge: -1 when the store cannot tell.
func (rl *Relay) liveSessions() int64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := rl.store.live(ctx)
	if err != nil {
		return -1
	}
	return n
}

// expire is the expiry timer's event.
func (rl *Relay) expire(sid string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	_, err := rl.store.update(ctx, sid, func(s *session.Session) session.Outcome { return s.Expire(time.Now()) })
	if err != nil && !errors.Is(err, errNoSession) {
		rl.log.Debug("failed to expire a session", "sid_hash", sidHash(sid), "err", err)
	}
}

// sweepLoop expires and forgets sessions the store does not by itself, and
// drops idle rate-limit buckets.
func (rl *Relay) sweepLoop() {
	defer rl.bg.Done()
	t := time.NewTicker(rl.limits.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-rl.ctx.Done():
			return
		case now := <-t.C:
			rl.sweep(now)
		}
	}
}

// sweep is one pass of sweepLoop at time now.
func (rl *Relay) sweep(now time.Time) {
	rl.store.sweep(now)
	if rl.listenRL != nil {
		rl.listenRL.sweep(now)
		rl.senderRL.sweep(now)
	}
}

// writeError answers with a protocol error body and counts it.
func (rl *Relay) writeError(w http.ResponseWriter, e *protocol.Error) {
	rl.metrics.errorCode(e.Code)
	writeAnswer(w, rules.ErrorAnswer(e))
}

// writeAnswer sends an answer the rules made.
func writeAnswer(w http.ResponseWriter, a rules.Answer) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}
