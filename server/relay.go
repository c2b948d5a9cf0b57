// Package server is scanin's relay: it forwards one sealed message from a
// sender (the phone) to a receiver (the widget or the terminal receiver) and
// serves the browser files. It implements docs/protocol.md's Relay API and
// Limits over net/http; the rules live apart from it, so other transports
// (an edge relay) share them: the session rules in package session, the
// request rules (apps, ttl, origins, body size, receiver frames, answers)
// in package rules.
//
// The relay holds sessions in memory. A receiver's WebSocket is served by
// the goroutine of its HTTP request; the relay writes frames to it from the
// goroutine of whichever event caused them, under the session's lock, so a
// receiver sees frames in the order the events happened.
//
// Logs never contain payloads, links, keys, resume values or fragments; a
// session is named in logs by a short hash of its id ("sid_hash").
package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

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
	store     *store
	metrics   *metrics
	listenRL  *rateLimiter // nil when rate limits are off
	senderRL  *rateLimiter
	assets    *assets
	handler   http.Handler

	live     atomic.Int64 // sessions that have not ended
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
		store:  newStore(),
	}
	rl.metrics = newMetrics(rl.live.Load)
	rl.rules = session.Rules{AckWait: rl.limits.AckWait}
	rl.bufs.New = func() any {
		b := make([]byte, 0, 2048) // a sealed frame of a typical message fits
		return &b
	}
	if cfg.PublicURL != "" {
		rl.publicURL, _ = checkPublicURL(cfg.PublicURL)
	}
	rl.apps = rules.NewApps(cfg.Apps, rl.limits.DefaultTTL)
	if !cfg.NoRateLimit {
		rl.listenRL = newRateLimiter(rl.limits.NewSessionsPerMinute)
		rl.senderRL = newRateLimiter(rl.limits.SenderRequestsPerMinute)
	}
	var err error
	if rl.assets, err = loadAssets(); err != nil {
		return nil, fmt.Errorf("failed to load the widget files: %w", err)
	}
	if len(rl.assets.missing) > 0 {
		logger.Warn("widget files refer to files that do not exist; is the widget built?", "missing", rl.assets.missing)
	}
	if addr := os.Getenv(DebugAddrEnv); addr != "" {
		if rl.debug, err = startDebug(addr); err != nil {
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
	rl.store.each(func(e *entry) {
		e.mu.Lock()
		if e.rcv != nil {
			e.rcv.close(websocketGoingAway, "going away")
			e.rcv = nil
			e.s.Detach()
		}
		e.mu.Unlock()
	})
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
	if rl.debug != nil {
		if derr := rl.debug.close(ctx); derr != nil && err == nil {
			err = derr
		}
	}
	rl.log.Info("relay stopped")
	return err
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

// apply carries out a session event's outcome; e is locked. Replace is the
// caller's to handle (only a listen has one).
func (rl *Relay) apply(e *entry, o session.Outcome) {
	if e.rcv != nil {
		for _, f := range o.Frames {
			if err := e.rcv.send(f, &rl.bufs); err != nil {
				rl.log.Debug("receiver write failed", "sid_hash", sidHash(e.s.ID), "err", err)
				e.rcv.close(websocketInternalError, "")
				e.rcv = nil
				e.s.Detach()
				break
			}
		}
		if e.rcv != nil && o.Close.Code != 0 {
			e.rcv.close(o.Close.Code, o.Close.Reason)
			e.rcv = nil
		}
	}
	// The counters first: a sender who has its answer finds them counted.
	if o.Latency > 0 {
		rl.metrics.latency.Observe(o.Latency.Seconds())
	}
	if o.Ended {
		rl.live.Add(-1)
		if e.timer != nil {
			e.timer.Stop()
		}
		outcome := e.s.State.String()
		rl.metrics.handoff(outcome)
		rl.log.Info("session ended", "sid_hash", sidHash(e.s.ID), "app", e.s.App, "outcome", outcome,
			"age_ms", e.s.EndedAt.Sub(e.s.StartedAt).Milliseconds())
	}
	if o.Settle != nil {
		if o.Settle.Err != nil && o.Settle.Err.Code == protocol.CodeRejected {
			rl.metrics.handoff(string(protocol.CodeRejected))
		}
		for _, w := range e.waiters {
			w <- *o.Settle
		}
		e.waiters = nil
	}
}

// expire is the expiry timer's event.
func (rl *Relay) expire(sid string) {
	e := rl.store.get(sid)
	if e == nil {
		return
	}
	rl.apply(e, e.s.Expire(time.Now()))
	e.mu.Unlock()
}

// sweepLoop drops tombstones past TombstoneTTL and idle rate-limit buckets.
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

// sweep is one pass of sweepLoop at time now. A live session past its time
// is expired here too, in case its timer has not fired yet.
func (rl *Relay) sweep(now time.Time) {
	rl.store.each(func(e *entry) {
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.gone {
			return
		}
		rl.apply(e, e.s.Expire(now))
		if e.s.Forgettable(rl.limits.TombstoneTTL, now) {
			rl.store.remove(e)
		}
	})
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
