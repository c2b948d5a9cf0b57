package protocol

import (
	"errors"
	"strconv"
	"strings"
)

// Errors a link parser returns, one per rejection rule of docs/protocol.md, so a
// UI can tell the person what is wrong. A *LinkError wraps one of them.
var (
	ErrLinkMalformed     = errors.New("not a scanin link")
	ErrLinkVersion       = errors.New("unsupported link version")
	ErrLinkMissing       = errors.New("missing parameter")
	ErrLinkRepeated      = errors.New("repeated parameter")
	ErrLinkSessionID     = errors.New("bad session id")
	ErrLinkKey           = errors.New("bad public key")
	ErrLinkApp           = errors.New("bad app id")
	ErrLinkInsecureRelay = errors.New("relay is not https")
	ErrLinkRelay         = errors.New("bad relay URL")
	ErrLinkWrongApp      = errors.New("link is for another app")
)

// LinkRule names a rule of docs/protocol.md that a scanned link breaks, for code
// that hands a rejection on as a string rather than a Go error: the phone
// SDK's ScanError codes are these names. Each rule has one ErrLink sentinel.
type LinkRule string

// The link rules, one per ErrLink sentinel. Every name starts with "link_",
// so it cannot be mistaken for a relay error code.
const (
	// LinkMalformed (ErrLinkMalformed): not a scanin link at all: no
	// fragment, or bad escapes.
	LinkMalformed LinkRule = "link_malformed"
	// LinkVersion (ErrLinkVersion): a protocol version other than 1.
	LinkVersion LinkRule = "link_version"
	// LinkMissing (ErrLinkMissing): a required parameter is missing.
	LinkMissing LinkRule = "link_missing"
	// LinkRepeated (ErrLinkRepeated): a parameter appears twice.
	LinkRepeated LinkRule = "link_repeated"
	// LinkSessionID (ErrLinkSessionID): the session id is not 16 bytes of
	// base64url.
	LinkSessionID LinkRule = "link_session_id"
	// LinkKey (ErrLinkKey): the public key is not 32 bytes of base64url.
	LinkKey LinkRule = "link_key"
	// LinkApp (ErrLinkApp): the app id is malformed.
	LinkApp LinkRule = "link_app"
	// LinkInsecureRelay (ErrLinkInsecureRelay): the relay is plain http to a
	// host other than this machine.
	LinkInsecureRelay LinkRule = "link_insecure_relay"
	// LinkRelay (ErrLinkRelay): the relay URL is malformed.
	LinkRelay LinkRule = "link_relay"
	// LinkWrongApp (ErrLinkWrongApp): the link is for an app the caller is
	// not built for.
	LinkWrongApp LinkRule = "link_wrong_app"
)

// LinkRules lists every link rule, for tables and tests.
var LinkRules = [...]LinkRule{
	LinkMalformed, LinkVersion, LinkMissing, LinkRepeated, LinkSessionID,
	LinkKey, LinkApp, LinkInsecureRelay, LinkRelay, LinkWrongApp,
}

// LinkRuleFor names the rule a ParseLink or CheckRelayURL error broke. An
// error that wraps no ErrLink sentinel counts as LinkMalformed: whatever it
// is, the link cannot be used.
func LinkRuleFor(err error) LinkRule {
	switch {
	case errors.Is(err, ErrLinkVersion):
		return LinkVersion
	case errors.Is(err, ErrLinkMissing):
		return LinkMissing
	case errors.Is(err, ErrLinkRepeated):
		return LinkRepeated
	case errors.Is(err, ErrLinkSessionID):
		return LinkSessionID
	case errors.Is(err, ErrLinkKey):
		return LinkKey
	case errors.Is(err, ErrLinkApp):
		return LinkApp
	case errors.Is(err, ErrLinkInsecureRelay):
		return LinkInsecureRelay
	case errors.Is(err, ErrLinkRelay):
		return LinkRelay
	case errors.Is(err, ErrLinkWrongApp):
		return LinkWrongApp
	}
	return LinkMalformed
}

// LinkError is a rejected link: which parameter, and which rule (Err, one
// of the ErrLink sentinels, for errors.Is).
type LinkError struct {
	Param string // "v", "a", "s", "k", "r", or "" for the link as a whole
	Err   error
}

// Error says which parameter breaks which rule, as a sentence a person can
// act on (`parameter "s" (the session id) is missing`). It names no
// product: the program that prints it says who is speaking.
func (e *LinkError) Error() string {
	if e.Param == "" {
		if errors.Is(e.Err, ErrLinkMalformed) {
			return "it has no #v=1&a=…&s=…&k=…&r=… part after the address"
		}
		return e.Err.Error()
	}
	p := "parameter " + strconv.Quote(e.Param)
	if name := linkParamNames[e.Param]; name != "" {
		p += " (" + name + ")"
	}
	switch {
	case errors.Is(e.Err, ErrLinkMissing):
		return p + " is missing"
	case errors.Is(e.Err, ErrLinkRepeated):
		return p + " appears twice"
	case errors.Is(e.Err, ErrLinkMalformed):
		return p + " has a bad %-escape"
	case errors.Is(e.Err, ErrLinkVersion):
		return p + " is not 1: the link is for another version of the protocol"
	case errors.Is(e.Err, ErrLinkSessionID):
		return p + " is not 16 bytes of base64url"
	case errors.Is(e.Err, ErrLinkKey):
		return p + " is not 32 bytes of base64url"
	case errors.Is(e.Err, ErrLinkApp):
		return p + " is not a valid app id"
	case errors.Is(e.Err, ErrLinkInsecureRelay):
		return p + " is not https (plain http is allowed only to this machine)"
	case errors.Is(e.Err, ErrLinkRelay):
		return p + " is not a valid relay URL"
	case errors.Is(e.Err, ErrLinkWrongApp):
		return p + " names an app this program is not built for"
	}
	return p + ": " + e.Err.Error()
}

// linkParamNames says what each link parameter holds, for error texts.
var linkParamNames = map[string]string{
	"v": "the protocol version",
	"a": "the app id",
	"s": "the session id",
	"k": "the public key",
	"r": "the relay URL",
}

// Unwrap returns the rule's sentinel (ErrLink*), for errors.Is.
func (e *LinkError) Unwrap() error { return e.Err }

func linkErr(param string, err error) error { return &LinkError{Param: param, Err: err} }

// Link is what a QR code holds:
//
//	{base}#v=1&a={app}&s={sid}&k={pk}&r={relay}
type Link struct {
	Base      string // where the link opens: the app's universal link, or {relay}/link
	App       string
	SessionID string
	PublicKey []byte // the receiver's X25519 public key, 32 bytes
	Relay     string // the relay's base URL, without a trailing slash
}

// String writes the link with its parameters in the order docs/protocol.md gives.
func (l Link) String() string {
	var b strings.Builder
	b.WriteString(l.Base)
	b.WriteString("#v=1&a=")
	b.WriteString(QueryEscape(l.App))
	b.WriteString("&s=")
	b.WriteString(QueryEscape(l.SessionID))
	b.WriteString("&k=")
	b.WriteString(b64.EncodeToString(l.PublicKey))
	b.WriteString("&r=")
	b.WriteString(QueryEscape(l.Relay))
	return b.String()
}

// ParseLink reads a scanned link and applies every rule of docs/protocol.md.
// allowedApps lists the app ids the sending app is built for; a link for any
// other app is refused with ErrLinkWrongApp. An empty list accepts any app,
// for tools such as the CLI sender.
func ParseLink(raw string, allowedApps []string) (Link, error) {
	base, fragment, ok := strings.Cut(strings.TrimSpace(raw), "#")
	if !ok || base == "" || fragment == "" {
		return Link{}, linkErr("", ErrLinkMalformed)
	}
	params := map[string]string{}
	for _, pair := range strings.Split(fragment, "&") {
		key, value, _ := strings.Cut(pair, "=")
		switch key {
		case "v", "a", "s", "k", "r":
		default:
			continue // unknown parameters are room for later minor revisions
		}
		if _, dup := params[key]; dup {
			return Link{}, linkErr(key, ErrLinkRepeated)
		}
		unescaped, ok := queryUnescape(value)
		if !ok {
			return Link{}, linkErr(key, ErrLinkMalformed)
		}
		params[key] = unescaped
	}
	for _, key := range [...]string{"v", "a", "s", "k", "r"} {
		if _, ok := params[key]; !ok {
			return Link{}, linkErr(key, ErrLinkMissing)
		}
	}
	if params["v"] != "1" {
		return Link{}, linkErr("v", ErrLinkVersion)
	}
	l := Link{Base: base, App: params["a"], SessionID: params["s"]}
	if CheckAppID(l.App) != nil {
		return Link{}, linkErr("a", ErrLinkApp)
	}
	if CheckSessionID(l.SessionID) != nil {
		return Link{}, linkErr("s", ErrLinkSessionID)
	}
	pk, err := b64.DecodeString(params["k"])
	if err != nil || len(pk) != PublicKeySize {
		return Link{}, linkErr("k", ErrLinkKey)
	}
	l.PublicKey = pk
	if l.Relay, err = CheckRelayURL(params["r"]); err != nil {
		return Link{}, linkErr("r", err)
	}
	if len(allowedApps) > 0 && !containsString(allowedApps, l.App) {
		return Link{}, linkErr("a", ErrLinkWrongApp)
	}
	return l, nil
}

// CheckRelayURL validates a relay base URL and returns it without a trailing
// slash. It must be https, or http to a loopback host, with no user info,
// query or fragment.
func CheckRelayURL(relay string) (string, error) {
	// Schemes are case-insensitive (RFC 3986 §3.1); compare and keep them
	// lower-case.
	if scheme, rest, ok := strings.Cut(relay, "://"); ok {
		relay = strings.ToLower(scheme) + "://" + rest
	}
	var rest string
	secure := false
	if r, ok := strings.CutPrefix(relay, "https://"); ok {
		rest, secure = r, true
	} else if r, ok := strings.CutPrefix(relay, "http://"); ok {
		rest = r
	} else {
		if strings.Contains(relay, "://") {
			return "", ErrLinkInsecureRelay
		}
		return "", ErrLinkRelay
	}
	hostport, path, _ := strings.Cut(rest, "/")
	if hostport == "" || strings.ContainsAny(rest, "?#@ \\") || strings.ContainsAny(path, "%") {
		return "", ErrLinkRelay
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < 0x20 || rest[i] == 0x7f { // control characters are never part of a URL
			return "", ErrLinkRelay
		}
	}
	host, ok := splitHost(hostport)
	if !ok {
		return "", ErrLinkRelay
	}
	if !secure && !IsLoopbackHost(host) {
		return "", ErrLinkInsecureRelay
	}
	// TrimRight, not TrimSuffix: the result must check again unchanged, or
	// a link's relay would change on every String/ParseLink round trip.
	return strings.TrimRight(relay, "/"), nil
}

// splitHost returns the host of host[:port], checking the port is numeric.
func splitHost(hostport string) (string, bool) {
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return "", false
		}
		host, port = hostport[1:end], hostport[end+1:]
		if port != "" && port[0] != ':' {
			return "", false
		}
		port = strings.TrimPrefix(port, ":")
	} else if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
		host, port = hostport[:i], hostport[i+1:]
		if strings.IndexByte(host, ':') >= 0 { // an IPv6 address needs brackets
			return "", false
		}
	}
	if host == "" || len(port) > 5 {
		return "", false
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return "", false
		}
	}
	return strings.ToLower(host), true
}

// IsLoopbackHost reports whether host names this machine: localhost (and
// its subdomains), 127.0.0.0/8 or ::1. Plain http is allowed only there.
func IsLoopbackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") || host == "::1" {
		return true
	}
	rest, ok := strings.CutPrefix(host, "127.")
	if !ok {
		return false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// QueryEscape percent-encodes every byte but RFC 3986's unreserved ones
// (§2.3), as "%" and two upper-case hex digits (§2.1), so the value is safe
// in a query string or a fragment parameter. (It is net/url's job, but
// net/url links fmt into the widget.)
func QueryEscape(s string) string {
	const upperHex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range []byte(s) {
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c/16])
		b.WriteByte(upperHex[c%16])
	}
	return b.String()
}

// unreserved reports whether RFC 3986 §2.3 lets c stand for itself.
func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// queryUnescape decodes %XX sequences, reporting false for a "%" without
// two hex digits after it. '+' stays '+': in a fragment it is not a space,
// and no protocol value contains a space.
func queryUnescape(s string) (string, bool) {
	var b strings.Builder
	for {
		before, after, found := strings.Cut(s, "%")
		b.WriteString(before)
		if !found {
			return b.String(), true
		}
		if len(after) < 2 {
			return "", false
		}
		v, err := strconv.ParseUint(after[:2], 16, 8)
		if err != nil {
			return "", false
		}
		b.WriteByte(byte(v))
		s = after[2:]
	}
}
