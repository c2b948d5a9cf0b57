// Package edge is the relay at the edge: Cloudflare Workers and Durable
// Objects (workerd locally), one Durable Object per session. This package
// is the Go half: the session rules (package session) and the request rules
// of docs/protocol.md's Relay API, as plain functions of plain data, which
// the wasm program in ./wasm exposes to the JavaScript in ./src.
//
// Go runs synchronously, once per event: the front Worker calls Route for
// each request; a session's Durable Object calls Request, Frame, Closed or
// Alarm with the session's stored bytes and the time, and carries out the
// Result (store, alarm, frames, closes, answers). Nothing here keeps state
// or time between calls, so one Go instance serves every Durable Object of
// its isolate, and an object evicted between events loses nothing.
//
// The request rules here (app lookup, ttl, origins, the upgrade check, body
// size, receiver frames, the mapping from a session.Reply to an answer) are
// a copy of package server's, until they move into a transport-neutral
// package that both relays call.
package edge

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/session"
)

// App is an integrator's application, as server.App.
type App struct {
	ID            string
	Name          string
	Origins       []string
	WidgetOrigins []string
	LinkBase      string
	TTL           int // seconds
}

// DemoApp is the built-in app, the same as server.DemoApp.
func DemoApp() App {
	loopback := []string{"http://localhost:*", "http://127.0.0.1:*"}
	return App{ID: "demo", Name: "Demo Shop", Origins: loopback, WidgetOrigins: loopback,
		TTL: int(protocol.DefaultTTL / time.Second)}
}

// Relay holds the configuration; its methods are the rules.
type Relay struct {
	apps      map[string]App
	maxSealed int
	rules     session.Rules
	tombstone time.Duration
}

// New makes a relay serving apps (none: the demo app) with the protocol's
// default limits.
func New(apps ...App) *Relay {
	if len(apps) == 0 {
		apps = []App{DemoApp()}
	}
	rl := &Relay{
		apps:      map[string]App{},
		maxSealed: protocol.MaxSealedSize,
		rules:     session.Rules{AckWait: protocol.AckWait},
		tombstone: protocol.TombstoneTTL,
	}
	for _, a := range apps {
		rl.apps[a.ID] = a
	}
	return rl
}

// Response is an HTTP answer.
type Response struct {
	Status  int
	Headers [][2]string
	Body    string
}

// Close is a WebSocket close.
type Close struct {
	Code   int
	Reason string
}

// Request is what the front Worker sees of an HTTP request.
type Request struct {
	Method   string
	Path     string // escaped, as in the URL
	RawQuery string
	// Base is the relay's origin as the client reached it
	// (scheme://host[:port]).
	Base string
	// Header values; "" when absent.
	Origin, Connection, Upgrade, WSVersion, WSKey, ContentLength, UserAgent string
	// IP is the client's address (CF-Connecting-IP).
	IP string
}

// Routed is Route's answer: a Response to send now, or an event for the
// Durable Object of session SID.
type Routed struct {
	Response *Response
	SID      string
	// Forward is the event, opaque to JavaScript, for Relay.Request.
	Forward string
	// ReadBody, when positive, tells the object to read the request body,
	// up to this many bytes.
	ReadBody int
	// Limit names the per-client rate limit the request counts against,
	// before any other check: "listen", "sender", or "" for none. LimitKey
	// is the client it is counted for.
	Limit, LimitKey string
}

// forward is a routed event, as Forward carries it.
type forward struct {
	Op     string `json:"op"` // listen, read, deliver, deny
	SID    string `json:"sid"`
	IP     string `json:"ip"`
	App    string `json:"app,omitempty"`
	TTL    int64  `json:"ttl,omitempty"` // ms
	Origin string `json:"origin,omitempty"`
	Resume string `json:"resume,omitempty"`
	UA     string `json:"ua,omitempty"`
}

func errorResponse(code protocol.Code, msg string, cors bool) *Response {
	return errResponse(&protocol.Error{Code: code, Message: msg}, cors)
}

func errResponse(e *protocol.Error, cors bool) *Response {
	r := &Response{Status: e.Code.HTTPStatus(), Body: string(e.AppendJSON(nil)),
		Headers: [][2]string{{"Content-Type", "application/json"}, {"Cache-Control", "no-store"}}}
	if cors {
		r.Headers = append(r.Headers, [2]string{"Access-Control-Allow-Origin", "*"})
	}
	return r
}

func jsonResponse(status int, body []byte, cache string, cors bool) *Response {
	r := &Response{Status: status, Body: string(body),
		Headers: [][2]string{{"Content-Type", "application/json"}, {"Cache-Control", cache}}}
	if cors {
		r.Headers = append(r.Headers, [2]string{"Access-Control-Allow-Origin", "*"})
	}
	return r
}

func textResponse(status int, body, cache string) *Response {
	h := [][2]string{{"Content-Type", "text/plain; charset=utf-8"}}
	if cache != "" {
		h = append(h, [2]string{"Cache-Control", cache})
	}
	return &Response{Status: status, Body: body, Headers: h}
}

// Route applies every rule that needs no session, in docs/protocol.md's
// order, and names the session's object for the rest.
func (rl *Relay) Route(r Request) Routed {
	get := r.Method == "GET" || r.Method == "HEAD"
	switch {
	case r.Path == "/healthz" && get:
		return Routed{Response: textResponse(200, "ok\n", "no-store")}
	case r.Path == "/" && get:
		return Routed{Response: textResponse(200, "scanin edge relay: the Relay API is specified in docs/protocol.md of the scanin repository\n", "")}
	case !strings.HasPrefix(r.Path, "/v1/"):
		return Routed{Response: textResponse(404, "404 page not found\n", "")}
	case r.Method == "OPTIONS":
		return Routed{Response: &Response{Status: 204, Headers: [][2]string{
			{"Access-Control-Allow-Origin", "*"}, {"Access-Control-Allow-Methods", "GET, POST"},
			{"Access-Control-Allow-Headers", "Content-Type"}, {"Access-Control-Max-Age", "600"}}}}
	}
	parts := strings.Split(r.Path[len("/v1/"):], "/")
	for i, p := range parts {
		var err error
		if parts[i], err = url.PathUnescape(p); err != nil {
			parts[i] = "\x00" // fails every id check
		}
	}
	var out Routed
	switch {
	case len(parts) == 2 && parts[0] == "apps" && get:
		return Routed{Response: rl.app(parts[1], r.Base)}
	case len(parts) == 3 && parts[0] == "sessions" && parts[2] == "listen" && get:
		out = rl.listen(parts[1], r)
		out.Limit = limitListen
	case len(parts) == 2 && parts[0] == "sessions" && get:
		out = rl.sender("read", parts[1], r)
		out.Limit = limitSender
	case len(parts) == 2 && parts[0] == "sessions" && r.Method == "POST":
		out = rl.sender("deliver", parts[1], r)
		out.Limit = limitSender
	case len(parts) == 3 && parts[0] == "sessions" && parts[2] == "deny" && r.Method == "POST":
		out = rl.sender("deny", parts[1], r)
		out.Limit = limitSender
	default:
		return Routed{Response: errorResponse(protocol.CodeNotFound, "no such resource", false)}
	}
	out.LimitKey = clientKey(r.IP)
	return out
}

func (rl *Relay) app(id, base string) *Response {
	if err := protocol.CheckAppID(id); err != nil {
		return errorResponse(protocol.CodeBadRequest, "bad app: "+err.Error(), true)
	}
	a, ok := rl.apps[id]
	if !ok {
		return errorResponse(protocol.CodeNotFound, "no such app", true)
	}
	link := a.LinkBase
	if link == "" {
		link = base + "/link"
	}
	b, _ := json.Marshal(protocol.AppConfig{ID: a.ID, Name: a.Name, Origins: a.Origins, LinkBase: link, TTL: a.TTL})
	return jsonResponse(200, b, "no-cache", true)
}

func (rl *Relay) sender(op, sid string, r Request) Routed {
	if err := protocol.CheckSessionID(sid); err != nil {
		return Routed{Response: errorResponse(protocol.CodeBadRequest, "bad sid: "+err.Error(), true)}
	}
	out := Routed{SID: sid}
	if op == "deliver" {
		if n, err := strconv.ParseInt(r.ContentLength, 10, 64); err == nil && n > int64(rl.maxSealed) {
			// Answer before reading a byte of it.
			return Routed{Response: errorResponse(protocol.CodeTooLarge, "the body is over "+strconv.Itoa(rl.maxSealed)+" bytes", true)}
		}
		out.ReadBody = rl.maxSealed
	}
	out.Forward = encodeForward(forward{Op: op, SID: sid, IP: r.IP})
	return out
}

func (rl *Relay) listen(sid string, r Request) Routed {
	fail := func(code protocol.Code, msg string) Routed {
		return Routed{Response: errorResponse(code, msg, false)}
	}
	if err := protocol.CheckSessionID(sid); err != nil {
		return fail(protocol.CodeBadRequest, "bad sid: "+err.Error())
	}
	q, _ := url.ParseQuery(r.RawQuery)
	appID := q.Get("app")
	if err := protocol.CheckAppID(appID); err != nil {
		return fail(protocol.CodeBadRequest, "bad app: "+err.Error())
	}
	app, ok := rl.apps[appID]
	if !ok {
		return fail(protocol.CodeNotFound, "no such app")
	}
	ttl := time.Duration(app.TTL) * time.Second
	if vals, ok := q["ttl"]; ok {
		if len(vals) != 1 {
			return fail(protocol.CodeBadRequest, "give ttl once")
		}
		n, err := protocol.ParseTTL(vals[0])
		if err != nil {
			return fail(protocol.CodeBadRequest, err.Error())
		}
		ttl = n
	}
	origin := q.Get("origin")
	if origin != "" && !protocol.OriginAllowed(app.Origins, origin) {
		return fail(protocol.CodeOriginDenied, "origin is not one of the app's origins")
	}
	if h := r.Origin; h != "" && !protocol.OriginAllowed(app.WidgetOrigins, h) && !protocol.OriginAllowed([]string{r.Base}, h) {
		return fail(protocol.CodeOriginDenied, "the page's Origin may not listen for this app")
	}
	if !hasToken(r.Connection, "upgrade") || !hasToken(r.Upgrade, "websocket") || r.WSVersion != "13" || r.WSKey == "" {
		return fail(protocol.CodeBadRequest, "listen is a WebSocket (RFC 6455, version 13)")
	}
	ua := r.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	return Routed{SID: sid, Forward: encodeForward(forward{Op: "listen", SID: sid, IP: r.IP, App: appID,
		TTL: ttl.Milliseconds(), Origin: origin, Resume: q.Get("resume"), UA: ua})}
}

func hasToken(v, token string) bool {
	for t := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
}

// encodeForward writes a routed event as base64url JSON, safe in a header.
func encodeForward(f forward) string {
	b, _ := json.Marshal(f)
	return protocol.EncodeBase64(b)
}

// Result is what a Durable Object does after an event, in this order:
// store (Session, or Delete), set the alarm, close the attached receiver
// with Replace and attach the new one (Accept), send Frames to the
// attached receiver, close it with Close, answer every waiting POST with
// Settle, and answer this request with Response, or hold it until Wait
// and answer Pending unless Settle came first.
type Result struct {
	Session  []byte // the session's new bytes; nil when unchanged
	Delete   bool   // forget the session: delete its storage and alarm
	Alarm    int64  // Unix ms of the next alarm when it changed, else 0
	Accept   bool   // upgrade this listen and attach its socket
	Replace  *Close
	Frames   []string
	Close    *Close
	Settle   *Response
	Response *Response
	Wait     int64 // Unix ms
	Pending  *Response
}

// alarmAt is when a session's object must next wake: at expiry, or when
// the tombstone may be forgotten.
func (rl *Relay) alarmAt(s *session.Session) int64 {
	if s == nil {
		return 0
	}
	if s.State.Ended() {
		return s.EndedAt.Add(rl.tombstone).UnixMilli()
	}
	return s.ExpiresAt.UnixMilli()
}

// finish fills Result from an event's outcome and the session before and
// after it.
func (rl *Relay) finish(res *Result, old []byte, s *session.Session, o session.Outcome) {
	if o.Replace.Code != 0 {
		res.Replace = &Close{o.Replace.Code, o.Replace.Reason}
	}
	for _, f := range o.Frames {
		res.Frames = append(res.Frames, string(f.AppendJSON(nil)))
	}
	if o.Close.Code != 0 {
		res.Close = &Close{o.Close.Code, o.Close.Reason}
	}
	if o.Settle != nil {
		res.Settle = replyResponse(*o.Settle)
	}
	if s == nil {
		return
	}
	b := MarshalSession(s)
	if !bytes.Equal(b, old) {
		res.Session = b
	}
	var before *session.Session
	if old != nil {
		before, _ = UnmarshalSession(old)
	}
	if at := rl.alarmAt(s); at != rl.alarmAt(before) {
		res.Alarm = at
	}
}

// replyResponse is a sender's answer for a session's reply.
func replyResponse(rep session.Reply) *Response {
	switch {
	case rep.Err != nil:
		return errResponse(rep.Err, true)
	case rep.State == protocol.StatePending:
		return jsonResponse(202, []byte(`{"state":"pending"}`), "no-store", true)
	default:
		return jsonResponse(200, []byte(`{"state":"`+string(rep.State)+`"}`), "no-store", true)
	}
}

// load decodes stored bytes; none (or unreadable ones) is no session.
func load(stored []byte) *session.Session {
	if len(stored) == 0 {
		return nil
	}
	s, err := UnmarshalSession(stored)
	if err != nil {
		return nil
	}
	return s
}

// Request is a routed request at the session's object. body is the
// deliver's body; tooLarge reports one over the limit.
func (rl *Relay) Request(fwd string, stored, body []byte, tooLarge bool, now time.Time) Result {
	var f forward
	if b, err := protocol.DecodeBase64(fwd); err != nil || json.Unmarshal(b, &f) != nil {
		return Result{Response: errorResponse(protocol.CodeBadRequest, "bad routed request", false)}
	}
	var res Result
	s := load(stored)
	switch f.Op {
	case "listen":
		var o session.Outcome
		if s == nil {
			if f.Resume != "" {
				res.Response = errorResponse(protocol.CodeNotFound, "no such session to resume", false)
				return res
			}
			app := rl.apps[f.App]
			s = session.New(f.SID, app.ID, app.Name, protocol.Requester{IP: f.IP, UserAgent: f.UA, Origin: f.Origin},
				time.Duration(f.TTL)*time.Millisecond, newResume(), now)
			o = s.Start(now)
		} else {
			o = s.Listen(f.Resume, now)
		}
		if o.Reply.Err != nil {
			res.Response = errResponse(o.Reply.Err, false)
		} else {
			res.Accept = true
		}
		rl.finish(&res, stored, s, o)
	case "read":
		if s == nil {
			res.Response = errorResponse(protocol.CodeNotFound, "no such session", true)
			return res
		}
		state, o := s.Read(now)
		if o.Reply.Err != nil {
			res.Response = errResponse(o.Reply.Err, true)
		} else {
			b, _ := json.Marshal(s.Info(state, protocol.Peer{IP: f.IP}))
			res.Response = jsonResponse(200, b, "no-store", true)
		}
		rl.finish(&res, stored, s, o)
	case "deliver":
		switch {
		case tooLarge:
			res.Response = errorResponse(protocol.CodeTooLarge, "the body is over "+strconv.Itoa(rl.maxSealed)+" bytes", true)
			return res
		case len(body) < protocol.EncSize+protocol.TagSize:
			res.Response = errorResponse(protocol.CodeBadRequest, "the body is not a sealed message: "+strconv.Itoa(len(body))+" bytes", true)
			return res
		case s == nil:
			res.Response = errorResponse(protocol.CodeNotFound, "no such session", true)
			return res
		}
		o := s.Deliver(body, session.SumOf(body), rl.rules, now)
		if o.Reply.Wait {
			res.Wait = s.AckDeadline.UnixMilli()
			res.Pending = replyResponse(session.Reply{State: protocol.StatePending})
		} else {
			res.Response = replyResponse(o.Reply)
		}
		rl.finish(&res, stored, s, o)
	case "deny":
		if s == nil {
			res.Response = errorResponse(protocol.CodeNotFound, "no such session", true)
			return res
		}
		o := s.Deny(rl.rules, now)
		res.Response = replyResponse(o.Reply)
		rl.finish(&res, stored, s, o)
	default:
		res.Response = errorResponse(protocol.CodeNotFound, "no such resource", false)
	}
	return res
}

// receiverReadLimit caps a frame from a receiver, as the self-hosted relay.
const receiverReadLimit = 256

// Frame is a frame from the attached receiver; binary reports a binary
// frame.
func (rl *Relay) Frame(stored, frame []byte, binary bool, now time.Time) Result {
	var res Result
	s := load(stored)
	if s == nil {
		res.Close = &Close{protocol.CodeNotFound.CloseCode(), string(protocol.CodeNotFound)}
		return res
	}
	var f protocol.Frame
	var err error
	if !binary && len(frame) <= receiverReadLimit {
		f, err = protocol.ParseFrame(frame)
	}
	var o session.Outcome
	switch {
	case len(frame) > receiverReadLimit:
		s.Detach()
		o.Close = session.Close{Code: 1009, Reason: "frame over 256 bytes"}
	case binary || err != nil || (f.Type != protocol.FrameAck && f.Type != protocol.FrameReject):
		s.Detach()
		o.Close = session.Close{Code: protocol.CodeBadRequest.CloseCode(), Reason: string(protocol.CodeBadRequest)}
	case f.Type == protocol.FrameAck:
		o = s.Ack(now)
	default:
		o = s.Reject(now)
	}
	rl.finish(&res, stored, s, o)
	return res
}

// Closed is the attached receiver's socket closing: the receiver is
// detached, and the session waits for a resume.
func (rl *Relay) Closed(stored []byte, now time.Time) Result {
	var res Result
	s := load(stored)
	if s == nil {
		return res
	}
	s.Detach()
	rl.finish(&res, stored, s, session.Outcome{})
	return res
}

// Alarm is the object's alarm: the session expires, or its tombstone is
// forgotten.
func (rl *Relay) Alarm(stored []byte, now time.Time) Result {
	var res Result
	s := load(stored)
	if s == nil {
		res.Delete = true
		return res
	}
	o := s.Expire(now)
	if s.Forgettable(rl.tombstone, now) {
		rl.finish(&res, stored, nil, o)
		res.Delete = true
		return res
	}
	rl.finish(&res, stored, s, o)
	// A fired alarm is gone: always set the next one.
	res.Alarm = rl.alarmAt(s)
	return res
}

// newResume makes a session's resume value: 16 bytes from the CSPRNG.
func newResume() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return protocol.EncodeBase64(b[:])
}
