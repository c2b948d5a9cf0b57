package rules

import (
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
)

// MaxUserAgent is how much of a receiver's User-Agent the relay keeps in
// requester.user_agent: a phone shows a line of it.
const MaxUserAgent = 512

// Listen is a receiver's listen request (docs/protocol.md 6.3) as the
// transport read it: the path's sid, the query's parameters, and what the
// handshake says. An empty parameter counts as absent.
type Listen struct {
	// SID is the {sid} of the path.
	SID string
	// App is the app parameter (its first value).
	App string
	// TTL is every ttl parameter in the order given; nil when there is
	// none. More than one is an error.
	TTL []string
	// Origin is the origin parameter (its first value): the embedding
	// page's origin, as the widget checked it.
	Origin string
	// Resume is the resume parameter (its first value).
	Resume string
	// OriginHeader is the handshake's Origin header; empty when there is
	// none, as from native receivers.
	OriginHeader string
	// RelayOrigin is the relay's own public origin ("https://relay.example"),
	// a widget origin for every app.
	RelayOrigin string
	// Handshake reports that the request is a WebSocket handshake:
	// HTTP/1.1 or later, and WebSocketHandshake of its headers.
	Handshake bool
}

// Listener is a listen that passed CheckListen.
type Listener struct {
	SID    string
	App    *App
	TTL    time.Duration // the ttl parameter, or the app's
	Origin string        // the origin parameter in protocol.NormalizeOrigin's form; empty for a native receiver
	Resume string
}

// CheckListen applies the checks of a listen that need no session, in
// docs/protocol.md 6.3's order: the sid, the app, the ttl, the origin
// parameter, the Origin header, the handshake. What comes before them (the
// relay shutting down, the rate limit) is the transport's; what comes after
// needs the session: CheckNewSession or session.Session.CheckListen.
func CheckListen(l Listen, apps Apps) (Listener, *protocol.Error) {
	if err := CheckSessionID(l.SID); err != nil {
		return Listener{}, err
	}
	app, err := apps.Lookup(l.App)
	if err != nil {
		return Listener{}, err
	}
	ttl := time.Duration(app.TTL) * time.Second
	if l.TTL != nil {
		if len(l.TTL) != 1 {
			return Listener{}, newError(protocol.CodeBadRequest, "give ttl once")
		}
		d, err := protocol.ParseTTL(l.TTL[0])
		if err != nil {
			return Listener{}, newError(protocol.CodeBadRequest, err.Error())
		}
		ttl = d
	}
	origin := l.Origin
	if origin == "" && !app.NativeReceivers {
		return Listener{}, newError(protocol.CodeOriginDenied, NativeReceiversDenied(app.ID))
	}
	if origin != "" {
		n, err := protocol.NormalizeOrigin(origin)
		if err != nil {
			return Listener{}, newError(protocol.CodeOriginDenied, "the origin parameter is not an origin: "+err.Error())
		}
		if origin = n; !app.AllowsOrigin(origin) {
			return Listener{}, newError(protocol.CodeOriginDenied, `origin `+origin+` is not one of app "`+app.ID+`"'s origins: `+
				`add "`+origin+`" to the app's origins in the relay's config file`)
		}
	}
	if l.OriginHeader != "" && !app.AllowsWidgetOrigin(l.OriginHeader, l.RelayOrigin) {
		return Listener{}, newError(protocol.CodeOriginDenied, WidgetOriginDenied(app.ID, l.OriginHeader, l.RelayOrigin))
	}
	if !l.Handshake {
		return Listener{}, newError(protocol.CodeBadRequest, "not a WebSocket handshake: a listen needs Connection: Upgrade, Upgrade: websocket, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key of 16 bytes in base64 (RFC 6455)")
	}
	return Listener{SID: l.SID, App: app, TTL: ttl, Origin: origin, Resume: l.Resume}, nil
}

// NativeReceiversDenied is the message of the origin_denied a listen
// without a page origin gets when app does not allow native receivers.
func NativeReceiversDenied(app string) string {
	return `app "` + app + `" does not allow native receivers (a listen without a page origin, such as scanin receive or a native app): ` +
		`set "native_receivers": true in the app's entry of the relay's config file to allow them`
}

// WidgetOriginDenied is the message of the origin_denied a listen gets
// whose Origin header, the origin the widget page was served from, is
// neither the relay's own origin (relayOrigin) nor one of app's widget
// origins. It says what to change.
func WidgetOriginDenied(app, origin, relayOrigin string) string {
	n, err := protocol.NormalizeOrigin(origin)
	if err != nil {
		return `the listen's Origin header is not an origin that may listen for app "` + app + `"`
	}
	return `a widget served from ` + n + ` may not listen for app "` + app + `": load embed.js and the widget from the relay's public URL ` +
		relayOrigin + ` (check embed.js's data-relay and the relay's --public-url), or add "` + n + `" to the app's widget_origins in the relay's config file`
}

// CheckNewSession is the listen's answer when the relay holds no session
// for its sid: a resume value names a session that does not exist
// (not_found); a relay that is full (it holds its maximum of live
// sessions) is unavailable; otherwise nil, and the listen makes a session.
func CheckNewSession(resume string, full bool) *protocol.Error {
	if resume != "" {
		return newError(protocol.CodeNotFound, "no such session to resume")
	}
	if full {
		return AtCapacity()
	}
	return nil
}

// AtCapacity is the error of a listen that would make a session while the
// relay holds its maximum of live sessions.
func AtCapacity() *protocol.Error {
	return newError(protocol.CodeUnavailable, "the relay is at capacity")
}

// ShuttingDown is the error of a listen while the relay stops.
func ShuttingDown() *protocol.Error {
	return newError(protocol.CodeUnavailable, "the relay is shutting down")
}

// NewRequester is what the relay records of a receiver when its listen
// makes a session, for the phone to show: its address, its User-Agent cut
// to MaxUserAgent bytes, and the listen's origin parameter.
func NewRequester(ip, userAgent, origin string) protocol.Requester {
	if len(userAgent) > MaxUserAgent {
		userAgent = userAgent[:MaxUserAgent]
	}
	return protocol.Requester{IP: ip, UserAgent: userAgent, Origin: origin}
}

// WebSocketHandshake reports whether a request's headers make it a
// WebSocket handshake (RFC 6455, version 13): a Connection header with the
// token upgrade, an Upgrade header with the token websocket (tokens are
// compared case-insensitively, in comma-separated lists, over every value
// of the header), Sec-WebSocket-Version 13 and a Sec-WebSocket-Key that is
// 16 bytes in base64 (RFC 6455 4.1), as a WebSocket library would refuse
// otherwise, after the relay's checks, without the relay's JSON error. The
// transport checks the HTTP version (1.1 or later) itself, and passes an
// empty key when the request has more than one.
func WebSocketHandshake(connection, upgrade []string, version, key string) bool {
	return hasToken(connection, "upgrade") && hasToken(upgrade, "websocket") && version == "13" && validKey(key)
}

// validKey reports whether a Sec-WebSocket-Key is the base64 of 16 bytes,
// surrounding white space aside.
// 16 bytes are 22 base64 characters and "==" (as encoding/base64's
// StdEncoding reads them).
func validKey(key string) bool {
	key = strings.TrimSpace(key)
	if len(key) != 24 || key[22:] != "==" {
		return false
	}
	for i := 0; i < 22; i++ {
		c := key[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
