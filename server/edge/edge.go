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
// The request rules (app lookup, ttl, origins, the upgrade check, body
// size, receiver frames, the mapping from a session.Reply to an answer, the
// rate limits' token bucket) are package rules', which the self-hosted
// relay calls too; the session's rules and its stored bytes are package
// session's. This package adds only what the edge needs: routing to a
// session's object, the forwarded event, and HTTP headers.
package edge

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
	"github.com/scanin/scanin/server/session"
)

// App is an integrator's application as the operator configures it: a
// rules.App, as server.App is.
type App = rules.App

// Relay holds the configuration; its methods are the rules.
type Relay struct {
	apps                                      rules.Apps
	maxSealed                                 int
	rules                                     session.Rules
	tombstone                                 time.Duration
	listensPerMinute, senderRequestsPerMinute int
}

// Limits are the limits of an operator's config file (server.Limits) that
// apply at the edge. A zero field keeps the protocol's default. (The live
// session cap and the ping interval have no edge counterpart: Durable
// Objects scale out, and cannot send WebSocket pings.)
type Limits struct {
	MaxSealedSize           int
	DefaultTTL              time.Duration // for apps without a ttl of their own
	AckWait                 time.Duration
	TombstoneTTL            time.Duration
	NewSessionsPerMinute    int
	SenderRequestsPerMinute int
}

// New makes a relay serving apps (none: rules.DemoApp) with limits.
func New(limits Limits, apps ...App) *Relay {
	orDefault := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	orDefaultDuration := func(v, d time.Duration) time.Duration {
		if v <= 0 {
			return d
		}
		return v
	}
	return &Relay{
		apps:                    rules.NewApps(apps, orDefaultDuration(limits.DefaultTTL, protocol.DefaultTTL)),
		maxSealed:               orDefault(limits.MaxSealedSize, protocol.MaxSealedSize),
		rules:                   session.Rules{AckWait: orDefaultDuration(limits.AckWait, protocol.AckWait)},
		tombstone:               orDefaultDuration(limits.TombstoneTTL, protocol.TombstoneTTL),
		listensPerMinute:        orDefault(limits.NewSessionsPerMinute, protocol.NewSessionsPerMinute),
		senderRequestsPerMinute: orDefault(limits.SenderRequestsPerMinute, protocol.SenderRequestsPerMinute),
	}
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
	Op        string // listen, read, deliver, deny
	SID       string
	App       string
	TTL       time.Duration
	Requester protocol.Requester // the sender's IP only, for read's body
	Resume    string
}

// encode writes the event as a query string: ASCII, safe in a header.
func (f forward) encode() string {
	v := url.Values{"op": {f.Op}, "sid": {f.SID}, "ip": {f.Requester.IP}}
	if f.Op == "listen" {
		v["app"] = []string{f.App}
		v["ttl"] = []string{strconv.FormatInt(f.TTL.Milliseconds(), 10)}
		v["origin"] = []string{f.Requester.Origin}
		v["ua"] = []string{f.Requester.UserAgent}
		v["resume"] = []string{f.Resume}
	}
	return v.Encode()
}

// decodeForward reads what forward.encode wrote.
func decodeForward(s string) (forward, bool) {
	v, err := url.ParseQuery(s)
	if err != nil {
		return forward{}, false
	}
	ms, _ := strconv.ParseInt(v.Get("ttl"), 10, 64)
	return forward{
		Op: v.Get("op"), SID: v.Get("sid"), App: v.Get("app"), TTL: time.Duration(ms) * time.Millisecond,
		Requester: protocol.Requester{IP: v.Get("ip"), UserAgent: v.Get("ua"), Origin: v.Get("origin")},
		Resume:    v.Get("resume"),
	}, true
}

// answer makes the Response of a rules.Answer: JSON, with cache as its
// Cache-Control, and open to every origin when cors (the senders' and the
// widget's routes; not listen, which browsers open as a WebSocket).
func answer(a rules.Answer, cache string, cors bool) *Response {
	r := &Response{Status: a.Status, Body: string(a.Body),
		Headers: [][2]string{{"Content-Type", "application/json"}, {"Cache-Control", cache}}}
	if cors {
		r.Headers = append(r.Headers, [2]string{"Access-Control-Allow-Origin", "*"})
	}
	return r
}

// errResponse is the answer for a protocol error.
func errResponse(e *protocol.Error, cors bool) *Response {
	return answer(rules.ErrorAnswer(e), "no-store", cors)
}

// replyResponse is a sender's answer for a session's reply.
func replyResponse(rep session.Reply) *Response {
	return answer(rules.ReplyAnswer(rep), "no-store", true)
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
		return Routed{Response: errResponse(&protocol.Error{Code: protocol.CodeNotFound, Message: "no such resource"}, false)}
	}
	out.LimitKey = rules.ClientKey(r.IP)
	return out
}

func (rl *Relay) app(id, base string) *Response {
	a, err := rl.apps.Lookup(id)
	if err != nil {
		return errResponse(err, true)
	}
	return answer(rules.Answer{Status: 200, Body: a.Config(base).AppendJSON(nil)}, "no-cache", true)
}

func (rl *Relay) sender(op, sid string, r Request) Routed {
	if err := rules.CheckSessionID(sid); err != nil {
		return Routed{Response: errResponse(err, true)}
	}
	out := Routed{SID: sid}
	if op == "deliver" {
		n, err := strconv.ParseInt(r.ContentLength, 10, 64)
		if err != nil {
			n = -1 // not announced
		}
		if err := rules.CheckContentLength(n, rl.maxSealed); err != nil {
			return Routed{Response: errResponse(err, true)} // before reading a byte of it
		}
		out.ReadBody = rl.maxSealed
	}
	out.Forward = forward{Op: op, SID: sid, Requester: protocol.Requester{IP: r.IP}}.encode()
	return out
}

func (rl *Relay) listen(sid string, r Request) Routed {
	q, _ := url.ParseQuery(r.RawQuery)
	l, err := rules.CheckListen(rules.Listen{
		SID:          sid,
		App:          q.Get("app"),
		TTL:          q["ttl"],
		Origin:       q.Get("origin"),
		Resume:       q.Get("resume"),
		OriginHeader: r.Origin,
		RelayOrigin:  r.Base,
		Handshake:    rules.WebSocketHandshake([]string{r.Connection}, []string{r.Upgrade}, r.WSVersion, r.WSKey),
	}, rl.apps)
	if err != nil {
		return Routed{Response: errResponse(err, false)}
	}
	return Routed{SID: sid, Forward: forward{Op: "listen", SID: sid, App: l.App.ID, TTL: l.TTL,
		Requester: rules.NewRequester(r.IP, r.UserAgent, l.Origin), Resume: l.Resume}.encode()}
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

// alarmAt is when a session's object must next wake (Unix ms), 0 for no
// session.
func (rl *Relay) alarmAt(s *session.Session) int64 {
	if s == nil {
		return 0
	}
	return s.AlarmAt(rl.tombstone).UnixMilli()
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
	b, _ := s.MarshalBinary()
	if string(b) != string(old) {
		res.Session = b
	}
	if at := rl.alarmAt(s); at != rl.alarmAt(load(old)) {
		res.Alarm = at
	}
}

// edgeListener is the listener id of a receiver attached to a session's
// object. An object has one socket attached at a time and src/worker.js
// passes on the frames and the close of that socket only (it marks every
// other one closed), so the worker, not the id, tells sockets apart: Frame
// and Closed act for the session's current listener, whatever its id (a
// session stored by an older release has session.V1Listener).
const edgeListener = "edge"

// load decodes stored bytes; none (or unreadable ones) is no session.
func load(stored []byte) *session.Session {
	if len(stored) == 0 {
		return nil
	}
	var s session.Session
	if s.UnmarshalBinary(stored) != nil {
		return nil
	}
	return &s
}

// Request is a routed request at the session's object. body is the
// deliver's body; tooLarge reports one over the limit.
func (rl *Relay) Request(fwd string, stored, body []byte, tooLarge bool, now time.Time) Result {
	f, ok := decodeForward(fwd)
	if !ok {
		return Result{Response: errResponse(&protocol.Error{Code: protocol.CodeBadRequest, Message: "bad routed request"}, false)}
	}
	var res Result
	s := load(stored)
	if s == nil && f.Op != "listen" && f.Op != "deliver" {
		res.Response = errResponse(rules.NoSession(), true)
		return res
	}
	switch f.Op {
	case "listen":
		var o session.Outcome
		if s == nil {
			if err := rules.CheckNewSession(f.Resume, false); err != nil {
				res.Response = errResponse(err, false)
				return res
			}
			app := rl.apps.Get(f.App)
			if app == nil { // the app left the config between Route and here
				res.Response = errResponse(&protocol.Error{Code: protocol.CodeNotFound, Message: "no such app"}, false)
				return res
			}
			s = session.New(f.SID, app.ID, app.Name, f.Requester, f.TTL, session.NewResume(), now)
			o = s.Start(edgeListener, now)
		} else {
			o = s.Listen(f.Resume, edgeListener, now)
		}
		if o.Reply.Err != nil {
			res.Response = errResponse(o.Reply.Err, false)
		} else {
			res.Accept = true
		}
		rl.finish(&res, stored, s, o)
	case "read":
		state, o := s.Read(now)
		if o.Reply.Err != nil {
			res.Response = errResponse(o.Reply.Err, true)
		} else {
			b := s.Info(state, protocol.Peer{IP: f.Requester.IP}).AppendJSON(nil)
			res.Response = answer(rules.Answer{Status: 200, Body: b}, "no-store", true)
		}
		rl.finish(&res, stored, s, o)
	case "deliver":
		err := rules.CheckBody(body, rl.maxSealed)
		switch {
		case tooLarge:
			err = rules.TooLarge(rl.maxSealed)
		case err == nil && s == nil:
			err = rules.NoSession()
		}
		if err != nil {
			res.Response = errResponse(err, true)
			return res
		}
		o := s.Deliver(body, session.SumOf(body), rl.rules, now)
		if o.Reply.Wait {
			res.Wait = s.AckDeadline.UnixMilli()
			res.Pending = replyResponse(o.Reply)
		} else {
			res.Response = replyResponse(o.Reply)
		}
		rl.finish(&res, stored, s, o)
	case "deny":
		o := s.Deny(rl.rules, now)
		res.Response = replyResponse(o.Reply)
		rl.finish(&res, stored, s, o)
	default:
		res.Response = errResponse(&protocol.Error{Code: protocol.CodeNotFound, Message: "no such resource"}, false)
	}
	return res
}

// Frame is a message from the attached receiver; binary reports a binary
// one. A ping is answered with a pong and changes nothing (the platform's
// auto-response answers the exact bytes protocol.PingJSON before Go sees
// them; this is a ping written otherwise).
func (rl *Relay) Frame(stored, frame []byte, binary bool, now time.Time) Result {
	var res Result
	act := rules.ReceiverFrame(!binary, frame)
	if act == rules.ActionPing {
		res.Frames = []string{protocol.PongJSON}
		return res
	}
	s := load(stored)
	if s == nil {
		res.Close = &Close{protocol.CodeNotFound.CloseCode(), string(protocol.CodeNotFound)}
		return res
	}
	var o session.Outcome
	switch act {
	case rules.ActionAck:
		o = s.Ack(s.Listener, now)
	case rules.ActionReject:
		o = s.Reject(s.Listener, now)
	default: // ActionBad, ActionTooBig
		s.Detach(s.Listener)
		o.Close = act.Close()
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
	s.Detach(s.Listener)
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
