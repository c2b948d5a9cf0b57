package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/scanin/scanin/protocol"
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
	mux.HandleFunc("GET /metrics", rl.serveMetrics)
	mux.HandleFunc("GET /link", rl.serveLink)
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
		if sid, ip, ok := rl.admit(w, r, rl.senderRL); ok {
			h(w, r, sid, ip)
		}
	}
}

// admit applies a request's per-IP rate limit (limiter is nil when limits
// are off) and reads its sid. When it returns false it has answered the
// request.
func (rl *Relay) admit(w http.ResponseWriter, r *http.Request, limiter *rateLimiter) (sid, ip string, ok bool) {
	ip = rl.clientIP(r)
	if limiter != nil {
		if ok, wait := limiter.allow(ip, time.Now()); !ok {
			rl.rateLimited(w, wait)
			return "", "", false
		}
	}
	sid = r.PathValue("sid")
	if err := protocol.CheckSessionID(sid); err != nil {
		rl.writeError(w, errorf(protocol.CodeBadRequest, "bad sid: %v", err))
		return "", "", false
	}
	return sid, ip, true
}

func (rl *Relay) rateLimited(w http.ResponseWriter, wait time.Duration) {
	secs := int64((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	rl.writeError(w, errorf(protocol.CodeRateLimited, "too many requests from this address; retry after %d s", secs))
}

var errNoSession = &protocol.Error{Code: protocol.CodeNotFound, Message: "no such session"}

// serveRead is a sender's GET: the session's info, and scanned for the
// receiver.
func (rl *Relay) serveRead(w http.ResponseWriter, r *http.Request, sid, ip string) {
	e := rl.store.get(sid)
	if e == nil {
		rl.writeError(w, errNoSession)
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
		rl.writeError(w, errorf(protocol.CodeUnavailable, "failed to write the session"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

// serveDeliver is a sender's POST of a sealed message.
func (rl *Relay) serveDeliver(w http.ResponseWriter, r *http.Request, sid, ip string) {
	limit := int64(rl.limits.MaxSealedSize)
	if r.ContentLength > limit {
		// Answer before reading a byte of it.
		rl.writeError(w, errorf(protocol.CodeTooLarge, "the body is over %d bytes", limit))
		return
	}
	body, err := readBody(w, r, limit)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			rl.writeError(w, errorf(protocol.CodeTooLarge, "the body is over %d bytes", limit))
			return
		}
		rl.writeError(w, errorf(protocol.CodeBadRequest, "failed to read the body"))
		return
	}
	if len(body) < protocol.EncSize+protocol.TagSize {
		rl.writeError(w, errorf(protocol.CodeBadRequest, "the body is not a sealed message: %d bytes, at least %d expected", len(body), protocol.EncSize+protocol.TagSize))
		return
	}
	sum := session.SumOf(body)
	e := rl.store.get(sid)
	if e == nil {
		rl.writeError(w, errNoSession)
		return
	}
	o := e.s.Deliver(body, sum, rl.rules, time.Now())
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

	rl.waiting.Add(1)
	defer rl.waiting.Add(-1)
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
		rl.metrics.handoff(string(protocol.StatePending))
		writeState(w, http.StatusAccepted, protocol.StatePending)
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

// writeReply answers a sender with a session event's reply.
func (rl *Relay) writeReply(w http.ResponseWriter, rep session.Reply) {
	switch {
	case rep.Err != nil:
		rl.writeError(w, rep.Err)
	case rep.State == protocol.StatePending:
		rl.metrics.handoff(string(protocol.StatePending))
		writeState(w, http.StatusAccepted, rep.State)
	default:
		writeState(w, http.StatusOK, rep.State)
	}
}

// serveDeny is a sender's deny.
func (rl *Relay) serveDeny(w http.ResponseWriter, r *http.Request, sid, ip string) {
	e := rl.store.get(sid)
	if e == nil {
		rl.writeError(w, errNoSession)
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
	id := r.PathValue("app")
	if err := protocol.CheckAppID(id); err != nil {
		rl.writeError(w, errorf(protocol.CodeBadRequest, "bad app: %v", err))
		return
	}
	a := rl.apps[id]
	if a == nil {
		rl.writeError(w, errorf(protocol.CodeNotFound, "no such app"))
		return
	}
	b, err := json.Marshal(protocol.AppConfig{
		ID:       a.ID,
		Name:     a.Name,
		Origins:  a.Origins,
		LinkBase: rl.linkBase(a, r),
		TTL:      a.TTL,
	})
	if err != nil {
		rl.writeError(w, errorf(protocol.CodeUnavailable, "failed to write the app"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	_, _ = w.Write(b)
}

// linkBase is where an app's QR links open.
func (rl *Relay) linkBase(a *App, r *http.Request) string {
	if a.LinkBase != "" {
		return a.LinkBase
	}
	return rl.publicBase(r) + "/link"
}

// widgetOrigins are the origins a listener's Origin header may carry for
// app a: the configured ones, and the relay's own.
func (rl *Relay) widgetOriginAllowed(a *App, r *http.Request, origin string) bool {
	if protocol.OriginAllowed(a.WidgetOrigins, origin) {
		return true
	}
	return protocol.OriginAllowed([]string{rl.publicBase(r)}, origin)
}

func (rl *Relay) serveNotFound(w http.ResponseWriter, r *http.Request) {
	rl.writeError(w, errorf(protocol.CodeNotFound, "no such resource"))
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
