// Package rules is the relay's request rules, apart from any transport: which
// app a request names, the ttl it asks for, the origins it may come from, the
// size of a sealed message, what a receiver's frame means, and the HTTP
// answer for a session's Reply. docs/protocol.md's Relay API (section 6) is
// the specification; server/session holds the session rules themselves.
//
// The package is pure: no net/http, no sockets, no goroutines, no timers, no
// clock (time is passed in where it matters), and no fmt or encoding/json.
// It builds for GOOS=js GOARCH=wasm, so every relay links the same rules:
// the self-hosted relay (package server) calls them from its net/http
// handlers, and an edge relay calls them from Go compiled to wasm, driven
// synchronously once per event.
//
// # An edge relay, event by event
//
// Before the first event the relay builds its apps once with NewApps, from
// the operator's apps (or none: then DemoApp). Then, for each event:
//
//   - GET /v1/apps/{app}: Apps.Lookup, then App.Config with the relay's
//     public base URL for the body; an error goes out as ErrorAnswer.
//   - A listen (GET /v1/sessions/{sid}/listen), after the platform's rate
//     limit: fill a Listen from the path, the query and the headers
//     (WebSocketHandshake for its Handshake) and call CheckListen; refuse
//     with ErrorAnswer before the upgrade on an error.
//     With no stored session, CheckNewSession decides between a new session
//     and an error; with one, session.Session.CheckListen does. After the
//     upgrade, make the session with session.New (NewRequester for what the
//     relay saw of the receiver, the ttl from CheckListen) and Start it, or
//     Listen with the resume value.
//   - A message on the receiver's socket: ReceiverFrame. ActionPing is
//     answered with protocol.PongJSON and nothing else: no session to load,
//     nothing to store (at the edge a WebSocket auto-response for the exact
//     bytes protocol.PingJSON does it without waking the object; a ping
//     written differently reaches Go and gets the same answer; the
//     self-hosted relay takes the session's lock only to keep the pong in
//     line with other frames). ActionAck
//     and ActionReject are session.Session.Ack and Reject. ActionBad and
//     ActionTooBig detach the receiver (session.Session.Detach) and close
//     its socket with Action.Close.
//   - GET, POST and deny on /v1/sessions/{sid}, after the rate limit:
//     CheckSessionID; for a POST also CheckContentLength before reading the
//     body and CheckBody after; an unknown sid is NoSession. Then the
//     session's Read, Deliver or Deny, and ReplyAnswer for what the sender
//     gets. A Reply with Wait holds the POST until the Outcome's Settle of a
//     later event (answer ReplyAnswer of it) or the session's AckDeadline
//     (answer ReplyAnswer of the Wait reply itself: 202 pending).
//   - The per-client rate limits: one Bucket per client and limit (FullBucket
//     for a client not seen before), Bucket.Take with the time; when it
//     refuses, RateLimited, and its seconds as Retry-After. Bucket.FullAt is
//     when the bucket may be forgotten.
//
// Every Answer is JSON, sent with Content-Type: application/json and
// Cache-Control: no-store.
package rules
