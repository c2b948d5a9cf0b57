// Package policy is how a scanin receiver behaves when it is not simply
// waiting for a phone: how long it waits before reconnecting, when it stops
// showing fresh codes, what a closed socket or a refused listen means
// (retry, rotate to a new code, or give up; AfterProbe for a browser, which
// learns why a listen was refused only by asking again over plain HTTP),
// and when it pings a quiet relay or takes a connection that stopped
// answering for dead. The browser widget (widget/) and the terminal
// receiver (receiver/, behind scanin receive) both follow it, so the same
// relay answer makes both do the same thing.
//
// It has no I/O and no clock of its own: callers pass the times. Only the
// backoff's jitter draws on math/rand/v2.
//
// # Wasm
//
// The widget links this package, and every import lands in the .wasm a
// visitor downloads, so it imports nothing beyond time, errors, strconv,
// math/rand/v2 and protocol: no fmt, encoding/json, net/http or log.
package policy

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/scanin/scanin/protocol"
)

// Reconnect backoff. The first retry is quick, because the usual drop is a
// relay instance going away (1001) with another behind the same URL; later
// ones back off to spare a relay that is restarting or overloaded, and
// because the relay's rate limit counts every listen, resumes included.
const (
	// BackoffFirst is the longest wait before the first retry.
	BackoffFirst = 250 * time.Millisecond
	// BackoffMax is the longest wait before any retry, so a receiver
	// notices within seconds that the relay is back.
	BackoffMax = 5 * time.Second
)

// Backoff is the wait before reconnect attempt n (1 for the first after a
// drop): a ceiling doubling from BackoffFirst up to BackoffMax, of which a
// random amount between half and all is waited, so that the many
// receivers a relay restart drops at once do not come back in step.
func Backoff(n int) time.Duration {
	d := backoffCeiling(n)
	return d/2 + rand.N(d/2+1)
}

// backoffCeiling is Backoff's upper bound for attempt n.
func backoffCeiling(n int) time.Duration {
	d := BackoffFirst
	for i := 1; i < n && d < BackoffMax; i++ {
		d *= 2
	}
	return min(d, BackoffMax)
}

// Action is what a receiver does after its socket closed or its listen was
// refused.
type Action uint8

// The actions. The zero Action is none of them.
const (
	// Retry: reconnect to the same session after Backoff, presenting its
	// resume value. The relay was unreachable, restarting, at capacity or
	// rate limiting; the session, and any message held meanwhile, survive.
	Retry Action = iota + 1
	// Rotate: the session is over for this receiver (it expired, was used
	// or denied while the receiver was away, was forgotten by a restarted
	// relay, or was taken by another listener). Drop its key and show a
	// fresh code, unless StopRotating says stop.
	Rotate
	// GiveUp: the relay refuses this receiver, and asking again would be
	// refused the same way (an origin or an app setting, a request or a
	// frame the relay calls malformed, a code this version does not know).
	// Stop and show why; looping would only load the relay.
	GiveUp
)

// String names the action, for logs and test failures.
func (a Action) String() string {
	switch a {
	case Retry:
		return "retry"
	case Rotate:
		return "rotate"
	case GiveUp:
		return "give up"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// AfterError decides for a relay error code: the error body of a refused
// listen, or the reason of a 4000+status close (protocol.ErrorFromClose).
func AfterError(c protocol.Code) Action {
	switch c {
	case protocol.CodeUnavailable, protocol.CodeRateLimited:
		return Retry
	case protocol.CodeExpired, protocol.CodeAlreadyUsed, protocol.CodeNotFound, protocol.CodeConflict:
		return Rotate
	}
	// bad_request and origin_denied, which only a change of settings
	// cures; too_large and rejected, which the relay never sends a
	// listener; and codes from a newer protocol.
	return GiveUp
}

// NotHandshake begins the message of the relay's refusal of a listen that
// is not a WebSocket handshake (400 bad_request): the last of the checks a
// listen meets before its session is looked at (docs/protocol.md 6.3).
const NotHandshake = "not a WebSocket handshake"

// AfterProbe decides for a listen whose WebSocket failed before it opened,
// from the relay's answer to a probe: a plain GET of the same listen URL.
// A browser does not tell a page why a handshake failed, but the relay
// answers the GET with the same checks in the same order (the app, the
// ttl, the origin parameter, the Origin header) up to the last, which
// refuses it for being no handshake. status is the answer's HTTP status (0
// when the GET failed), code and message the error its body holds ("" for
// none).
//
// The refusals that asking again cannot change are GiveUp: 400
// bad_request, 403 origin_denied and 404 not_found (the probe never
// reaches a session, so its not_found is the app's). Everything else is
// Retry: a rate limit or an unavailable relay, an answer that is not the
// relay's (a proxy's error page, a status that is not its code's), no
// answer, and the handshake refusal itself, which says that the listen's
// URL passed every check and the socket failed for something the GET does
// not carry. For the codes a probe can meet, this is AfterError's decision
// for the same refusal of the listen itself, which a receiver that reads
// the handshake's answer (the terminal receiver) decides by.
func AfterProbe(status int, code protocol.Code, message string) Action {
	if code == "" || code.HTTPStatus() != status ||
		code == protocol.CodeBadRequest && len(message) >= len(NotHandshake) && message[:len(NotHandshake)] == NotHandshake {
		return Retry
	}
	switch status {
	case 400, 403, 404:
		return GiveUp
	}
	return Retry
}

// RFC 6455 close codes a receiver may see without a relay error code.
const (
	closeNormal         = 1000 // after the final frame; if seen otherwise, a resume tells the outcome
	closeGoingAway      = 1001 // the relay is shutting down; another instance takes the resume
	closeNoStatus       = 1005 // closed without a code
	closeAbnormal       = 1006 // the connection dropped; in a browser also any refused handshake
	closeInternalError  = 1011 // the relay failed to write a frame and detached the session
	closeServiceRestart = 1012
	closeTryAgainLater  = 1013
	closeBadGateway     = 1014 // a proxy in front of the relay
)

// AfterClose decides for a WebSocket close code and reason. The relay's
// 4000+status codes go by their error code (AfterError); the RFC 6455 codes
// that mean a lost connection or a relay going away are Retry, and the rest
// (protocol error 1002, unsupported or invalid data 1003 and 1007, policy
// 1008, message too big 1009, ...) say the relay refused what this receiver
// sent, which sending again would repeat: GiveUp.
func AfterClose(code int, reason string) Action {
	if e, ok := protocol.ErrorFromClose(code, reason); ok {
		return AfterError(e.Code)
	}
	switch code {
	case closeNormal, closeGoingAway, closeNoStatus, closeAbnormal,
		closeInternalError, closeServiceRestart, closeTryAgainLater, closeBadGateway:
		return Retry
	}
	return GiveUp
}

// StopRotating reports whether a receiver whose code just expired unused
// stops, rather than showing a fresh one, after codes of lifetime ttl have
// been showing for shown (since the first, or since the person last asked
// for a new code), given a show limit.
//
// It stops at the expiry nearest the limit: the first at or past the limit
// less half a ttl. So with ttl 60 and limit 300, five codes show, for 300 s
// in all, even when the fifth expiry arrives a moment before 300 s (the
// relay's timer started a little after the receiver's clock did, or the
// other way round); and a ttl that does not divide the limit overshoots or
// undershoots it by at most half a ttl, never by nearly a whole one.
func StopRotating(shown, ttl, limit time.Duration) bool {
	return shown >= limit-ttl/2
}

// minShowLimit is the shortest show limit: one code of the shortest ttl.
const minShowLimit = protocol.MinTTL

// ErrShowLimit reports a show limit that is not decimal seconds, or is
// shorter than one code of the shortest ttl or longer than the protocol's.
var ErrShowLimit = errors.New("show limit must be whole seconds from " +
	strconv.Itoa(int(minShowLimit/time.Second)) + " to " + strconv.Itoa(int(protocol.WidgetShowLimit/time.Second)))

// ParseShowLimit reads a show limit in decimal seconds, as an integrator
// writes it (the widget's limit parameter). An integrator may shorten the
// protocol's limit, protocol.WidgetShowLimit, but not lengthen it: codes
// rotating unattended for longer only give an onlooker more to scan.
func ParseShowLimit(s string) (time.Duration, error) {
	n, err := strconv.ParseUint(s, 10, 16) // digits only: no sign, space or fraction
	d := time.Duration(n) * time.Second
	if err != nil || d < minShowLimit || d > protocol.WidgetShowLimit {
		return 0, ErrShowLimit
	}
	return d, nil
}

// Deadline is when a code expires on this device's clock, given the
// relay's expires_at (on the relay's clock), the ttl the code was asked
// for, and now. A device clock that disagrees with the relay's by more than
// the ttl would show codes for far too long or expire them at once; then
// the ttl, counted from now, is the better guess. The relay's own expired
// frame still ends the session either way.
func Deadline(expiresAt time.Time, ttl time.Duration, now time.Time) time.Time {
	if left := expiresAt.Sub(now); left <= 0 || left > ttl+deadlineSlack {
		return now.Add(ttl)
	}
	return expiresAt
}

// deadlineSlack is how far past now plus the ttl the relay's expires_at
// may be before Deadline distrusts it: the listen's round trip and a
// little clock drift.
const deadlineSlack = 5 * time.Second
