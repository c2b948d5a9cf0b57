package protocol

import (
	"errors"
	"strings"
)

// NormalizeOrigin returns a web origin ("https://shop.example:8443") in the
// form browsers serialise it, which is the form origins are compared and
// shown in: the scheme and host in lower case, the scheme's default port
// (80 for http, 443 for https) dropped, an IPv6 host in brackets. It refuses
// what is not an http(s) origin: a path, query, fragment or user info after
// the host, an empty host, a port that is not a decimal number 1..65535 or
// that has a leading zero. The error says what to write instead.
func NormalizeOrigin(origin string) (string, error) {
	n, p := normalizeOrigin(origin, false)
	if p != originOK {
		return "", p.err(origin)
	}
	return n, nil
}

// NormalizeOriginPattern is NormalizeOrigin for an entry of an app's origin
// list, which may also end in ":*" for any port ("http://localhost:*"). A
// wildcard port stays "*"; a wildcard anywhere else is an error.
func NormalizeOriginPattern(pattern string) (string, error) {
	n, p := normalizeOrigin(pattern, true)
	if p != originOK {
		return "", p.err(pattern)
	}
	return n, nil
}

// originProblem is what makes a string no origin. The matcher, which the
// widget links, deals in these codes; only NormalizeOrigin's callers (the
// relay, at config load and listen) link the sentences.
type originProblem uint8

const (
	originOK originProblem = iota
	originNotHTTP
	originTrailing
	originEmptyPort
	originNoHost
	originHostWildcard
	originBadIPv6
	originIPv6Brackets
	originWildcardPort
	originPortNotNumber
	originPortZero
	originPortLeadingZero
	originPortRange
)

// err is the problem as an error about origin, which it quotes, that says
// what to write instead.
func (p originProblem) err(origin string) error {
	const form = "write scheme://host or scheme://host:port, as in https://shop.example:8443"
	port := origin[strings.LastIndexByte(origin, ':')+1:]
	var msg string
	switch p {
	case originNotHTTP:
		msg = "not an http or https origin: " + form
	case originTrailing:
		msg = "nothing may follow the host and port (no path, query, fragment or user): " + form
	case originEmptyPort:
		msg = "an empty port after the colon: " + form
	case originNoHost:
		msg = "no host: " + form
	case originHostWildcard:
		msg = "a wildcard in the host: only the port may be *, as in http://localhost:*"
	case originBadIPv6:
		msg = "a bad IPv6 host: write it in brackets, as in http://[::1]:8080"
	case originIPv6Brackets:
		msg = "an IPv6 host must be in brackets, as in http://[::1]:8080"
	case originWildcardPort:
		msg = "a wildcard port: an origin has a real port"
	case originPortNotNumber:
		msg = "port " + port + " is not a number"
	case originPortZero:
		msg = "port 0 is out of range: ports are 1 to 65535"
	case originPortLeadingZero:
		msg = "port " + port + " has a leading zero: write it without, as in :80"
	default:
		msg = "port " + port + " is out of range: ports are 1 to 65535"
	}
	return errors.New(`origin "` + origin + `": ` + msg)
}

func normalizeOrigin(origin string, wildcard bool) (string, originProblem) {
	scheme, rest, ok := strings.Cut(origin, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "https" && scheme != "http") {
		return "", originNotHTTP
	}
	if strings.ContainsAny(rest, "/?#@\\ ") {
		return "", originTrailing
	}
	host, port := rest, ""
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && i > strings.LastIndexByte(rest, ']') {
		host, port = rest[:i], rest[i+1:]
		if port == "" {
			return "", originEmptyPort
		}
	}
	host = strings.ToLower(host)
	switch {
	case host == "" || host == "[]":
		return "", originNoHost
	case strings.Contains(host, "*"):
		return "", originHostWildcard
	case host[0] == '[':
		if host[len(host)-1] != ']' || strings.Trim(host[1:len(host)-1], "0123456789abcdef:.") != "" {
			return "", originBadIPv6
		}
	case strings.ContainsAny(host, ":[]"):
		return "", originIPv6Brackets
	}
	switch {
	case port == "":
	case port == "*" && wildcard:
	case port == "*":
		return "", originWildcardPort
	case strings.Trim(port, "0123456789") != "":
		return "", originPortNotNumber
	case port == "0":
		return "", originPortZero
	case port[0] == '0':
		return "", originPortLeadingZero
	case len(port) > 5 || (len(port) == 5 && port > "65535"):
		return "", originPortRange
	case scheme == "http" && port == "80", scheme == "https" && port == "443":
		port = "" // the scheme's default
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, originOK
}

// OriginAllowed reports whether origin matches one of patterns. A pattern is
// an exact origin ("https://shop.example") or, as in CSP, an origin whose
// port is "*" ("http://localhost:*"), which matches that scheme and host on
// any port, or none. Both sides are compared in NormalizeOrigin's form, so
// "HTTPS://Shop.Example:443" matches "https://shop.example"; an origin or
// pattern that is not valid matches nothing.
func OriginAllowed(patterns []string, origin string) bool {
	o, bad := normalizeOrigin(origin, false)
	if bad != originOK {
		return false
	}
	for _, p := range patterns {
		p, bad := normalizeOrigin(p, true)
		if bad != originOK {
			continue
		}
		if p == o {
			return true
		}
		if prefix, ok := strings.CutSuffix(p, ":*"); ok && (o == prefix || strings.HasPrefix(o, prefix+":")) {
			return true
		}
	}
	return false
}
