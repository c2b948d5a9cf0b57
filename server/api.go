package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
	"github.com/scanin/scanin/server/session"
)

// routes is the relay's URL space.
func (rl *Relay) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sessions/{sid}/listen", rl.serveListen)
	mux.HandleFunc("GET /v1/sessions/{sid}", rl.sender(rl.serveRead))
	mux.HandleFunc("POST /v1/sessions/{sid}", rl.sender(rl.serveDeliver))
	mux.HandleFunc("POST /v1/sessions/{sid}/deny", rl.sender(rl.serveDeny))
	mux.HandleFunc("OPTIONS /v1/", serveCORSPreflight)
	mux.HandleFunc("GET /v1/apps/{app}", rl.serveApp)
	mux.HandleFunc("/v1/", rl.serveNotFound)
	mux.HandleFunc("GET /healthz", rl.serveHealth)
	if !rl.cfg.SeparateMetrics {
		mux.Handle("GET /metrics", rl.metrics.handler)
	}
	mux.HandleFunc("GET /link", rl.serveLink)
	mux.HandleFunc("GET /favicon.ico", rl.serveFavicon)
	mux.HandleFunc("GET /favicon.svg", rl.serveFavicon)
	mux.HandleFunc("GET /widget.html", rl.serveWidget)
	mux.HandleFunc("GET /widget", rl.serveWidget)
	mux.HandleFunc("GET /embed.js", rl.serveEmbedJS)
	mux.HandleFunc("GET /embed.d.ts", rl.serveEmbedDTS)
	mux.HandleFunc("GET /assets/", rl.serveAsset)
	mux.HandleFunc("GET /{$}", rl.serveIndex)
	return mux
}

// allowCORS lets a sender running in a browser page (the demo phone page,
// a web app) call the sender API. The API takes no credentials and tells
// nothing the sid does not already unlock, so any origin may.
func allowCORS(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
}

func serveCORSPreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// sender wraps a sender endpoint: CORS, the per-IP rate limit, the sid.
func (rl *Relay) sender(h func(w http.ResponseWriter, r *http.Request, sid, ip string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		allowCORS(w)
		ip, ok := rl.limit(w, r, rl.senderRL)
		if !ok {
			return
		}
		sid := r.PathValue("sid")
		if err := rules.CheckSessionID(sid); err != nil {
			rl.writeError(w, err)
			return
		}
		h(w, r, sid, ip)
	}
}

// limit applies a request's per-IP rate limit (limiter is nil when limits
// are off) and returns the client's address. When it returns false it has
// answered the request.
func (rl *Relay) limit(w http.ResponseWriter, r *http.Request, limiter *rateLimiter) (ip string, ok bool) {
	ip = rl.clientIP(r)
	if limiter != nil {
		ok, wait, err := limiter.allow(r.Context(), ip)
		if err != nil {
			rl.limiterFailed(limiter, err)
			rl.writeError(w, limiterUnavailable())
			return "", false
		}
		rl.limiterWorks(limiter)
		if !ok {
			e, secs := rules.RateLimited(wait)
			w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			rl.writeError(w, e)
			return "", false
		}
	}
	return ip, true
}

// serveRead is a sender's GET: the session's info, and scanned for the
// receiver.
func (rl *Relay) serveRead(w http.ResponseWriter, r *http.Request, sid, ip string) {
	var info protocol.SessionInfo
	o, err := rl.store.update(r.Context(), sid, func(s *session.Session) session.Outcome {
		state, o := s.Read(time.Now())
		if o.Reply.Err == nil {
			info = s.Info(state, protocol.Peer{IP: ip})
		}
		return o
	})
	if err != nil {
		rl.writeStoreError(w, err)
		return
	}
	if o.Reply.Err != nil {
		rl.writeError(w, o.Reply.Err)
		return
	}
	b, err := json.Marshal(info)
	if err != nil {
		rl.writeError(w, &protocol.Error{Code: protocol.CodeUnavailable, Message: "failed to write the session"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// writeStoreError answers a request whose store operation failed.
func (rl *Relay) writeStoreError(w http.ResponseWriter, err error) {
	if errors.Is(err, errNoSession) {
		rl.writeError(w, rules.NoSession())
		return
	}
	rl.writeError(w, rl.storeFailed(err))
}

// serveDeliver is a sender's POST of a sealed message.
func (rl *Relay) serveDeliver(w http.ResponseWriter, r *http.Request, sid, ip string) {
	limit := rl.limits.MaxSealedSize
	if err := rules.CheckContentLength(r.ContentLength, limit); err != nil {
		// Answered before reading a byte of it.
		rl.writeError(w, err)
		return
	}
	body, err := readBody(w, r, int64(limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			rl.writeError(w, rules.TooLarge(limit))
			return
		}
		rl.writeError(w, &protocol.Error{Code: protocol.CodeBadRequest, Message: "failed to read the body"})
		return
	}
	if err := rules.CheckBody(body, limit); err != nil {
		rl.writeError(w, err)
		return
	}
	sum := session.SumOf(body)
	// Counted before the receiver can see the message, so a Shutdown that
	// begins once it has waits for this delivery; and waiting before the
	// delivery is stored, so that no answer comes before the wait.
	rl.waiting.Add(1)
	defer rl.waiting.Add(-1)
	wt := rl.att.wait(sid, sum)
	defer rl.att.unwait(wt)
	var deadline, expiresAt time.Time
	o, err := rl.store.update(r.Context(), sid, func(s *session.Session) session.Outcome {
		o := s.Deliver(body, sum, rl.rules, time.Now())
		deadline, expiresAt = s.AckDeadline, s.ExpiresAt
		return o
	})
	if err != nil {
		rl.writeStoreError(w, err)
		return
	}
	if !o.Reply.Wait {
		rl.writeReply(w, o.Reply)
		return
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	// A session that expires first answers its senders: on this node as
	// well as on the receiver's, which may be gone.
	var expiry <-chan time.Time
	if expiresAt.Before(deadline) {
		et := time.NewTimer(time.Until(expiresAt))
		defer et.Stop()
		expiry = et.C
	}
wait:
	for {
		select {
		case rep := <-wt.ch:
			rl.writeReply(w, rep)
			return
		case <-expiry:
			expiry = nil
			rl.expire(sid)
		case <-t.C:
			break wait
		case <-r.Context().Done():
			break wait
		}
	}
	// Stop waiting; the delivery stays held and a later ack completes it.
	rl.att.unwait(wt)
	select {
	case rep := <-wt.ch: // settled just before we left
		rl.writeReply(w, rep)
	default:
		rl.writeReply(w, o.Reply) // Wait: pending
	}
}

// readBody reads a request body of at most limit bytes. With a
// Content-Length, as every sender sends, it reads into one buffer of
// exactly that size instead of growing one.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength < 0 || r.ContentLength > limit {
		return io.ReadAll(body)
	}
	b := make([]byte, r.ContentLength)
	// net/http ends the body at Content-Length, so a full read is all of it.
	if _, err := io.ReadFull(body, b); err != nil {
		return nil, err
	}
	return b, nil
}

// writeReply answers a sender with a session event's reply, and counts
// errors and pending answers.
func (rl *Relay) writeReply(w http.ResponseWriter, rep session.Reply) {
	a := rules.ReplyAnswer(rep)
	switch {
	case rep.Err != nil:
		rl.metrics.errorCode(rep.Err.Code)
	case a.Status == http.StatusAccepted:
		rl.metrics.handoff(string(protocol.StatePending))
	}
	writeAnswer(w, a)
}

// serveDeny is a sender's deny.
func (rl *Relay) serveDeny(w http.ResponseWriter, r *http.Request, sid, ip string) {
	o, err := rl.store.update(r.Context(), sid, func(s *session.Session) session.Outcome {
		return s.Deny(rl.rules, time.Now())
	})
	if err != nil {
		rl.writeStoreError(w, err)
		return
	}
	rl.writeReply(w, o.Reply)
}

// serveApp publishes an app's configuration for the widget.
func (rl *Relay) serveApp(w http.ResponseWriter, r *http.Request) {
	allowCORS(w)
	a, perr := rl.apps.Lookup(r.PathValue("app"))
	if perr != nil {
		rl.writeError(w, perr)
		return
	}
	b, err := json.Marshal(a.Config(rl.publicBase(r)))
	if err != nil {
		rl.writeError(w, &protocol.Error{Code: protocol.CodeUnavailable, Message: "failed to write the app"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

func (rl *Relay) serveNotFound(w http.ResponseWriter, r *http.Request) {
	rl.writeError(w, &protocol.Error{Code: protocol.CodeNotFound, Message: "no such resource"})
}

// serveHealth answers 200 while the relay takes new sessions, and 503 with
// a protocol error body saying why not: it is shutting down, or its store
// (Redis) cannot be reached.
func (rl *Relay) serveHealth(w http.ResponseWriter, r *http.Request) {
	if rl.closing.Load() {
		writeAnswer(w, rules.ErrorAnswer(rules.ShuttingDown()))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := rl.store.health(ctx); err != nil {
		writeAnswer(w, rules.ErrorAnswer(&protocol.Error{Code: protocol.CodeUnavailable, Message: err.Error()}))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = io.WriteString(w, "ok\n")
}

func (rl *Relay) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "scanin relay: see /link, /healthz and /metrics; the Relay API is specified in docs/protocol.md of the scanin repository\n")
}
