package server

import (
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
	e := rl.store.get(sid)
	if e == nil {
		rl.writeError(w, rules.NoSession())
		return
	}
	state, o := e.s.Read(time.Now())
	var info protocol.SessionInfo
	if o.Reply.Err == nil {
		info = e.s.Info(state, protocol.Peer{IP: ip})
	}
	rl.apply(e, o)
	e.mu.Unlock()
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
	e := rl.store.get(sid)
	if e == nil {
		rl.writeError(w, rules.NoSession())
		return
	}
	o := e.s.Deliver(body, sum, rl.rules, time.Now())
	if o.Reply.Wait {
		// Counted before the receiver can see the message, so a Shutdown
		// that begins once it has waits for this delivery.
		rl.waiting.Add(1)
		defer rl.waiting.Add(-1)
	}
	rl.apply(e, o)
	if !o.Reply.Wait {
		e.mu.Unlock()
		rl.writeReply(w, o.Reply)
		return
	}
	ch := make(chan session.Reply, 1)
	e.waiters = append(e.waiters, ch)
	deadline := e.s.AckDeadline
	e.mu.Unlock()

	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case rep := <-ch:
		rl.writeReply(w, rep)
		return
	case <-t.C:
	case <-r.Context().Done():
	}
	// Stop waiting; the delivery stays held and a later ack completes it.
	if e := rl.store.get(sid); e != nil {
		for i, c := range e.waiters {
			if c == ch {
				e.waiters = append(e.waiters[:i], e.waiters[i+1:]...)
				break
			}
		}
		e.mu.Unlock()
	}
	select {
	case rep := <-ch: // settled just before we left
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
	e := rl.store.get(sid)
	if e == nil {
		rl.writeError(w, rules.NoSession())
		return
	}
	o := e.s.Deny(rl.rules, time.Now())
	rl.apply(e, o)
	e.mu.Unlock()
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

func (rl *Relay) serveHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if rl.closing.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "shutting down\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

func (rl *Relay) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "scanin relay: see /link, /healthz and /metrics; the Relay API is specified in docs/protocol.md of the scanin repository\n")
}
