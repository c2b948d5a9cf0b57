package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/scanin/scanin/protocol"
	"github.com/scanin/scanin/server/rules"
)

// Config is the relay's configuration. The zero value is a working relay:
// the built-in demo app, docs/protocol.md's limits, rate limits on, no trusted
// proxies, and a public URL taken from each request's Host.
type Config struct {
	// PublicURL is the relay's base URL as browsers and phones reach it,
	// such as "https://relay.example". It goes into the demo app's
	// link_base, the widget page's Content-Security-Policy and the widget
	// origins. Empty means "http://" plus the Host of each request, which
	// suits loopback use only.
	PublicURL string
	// Apps are the integrators' applications. Empty means the built-in
	// demo app (DemoApp).
	Apps []App
	// TrustedProxies are the networks whose X-Forwarded-For the relay
	// believes. A request from anywhere else is identified by its socket's
	// address alone.
	TrustedProxies []netip.Prefix
	// Limits override docs/protocol.md's defaults; zero fields keep them.
	Limits Limits
	// NoRateLimit turns the per-client-IP rate limits off, for benchmarks
	// and tests that make many sessions from one address.
	NoRateLimit bool
	// SeparateMetrics takes /metrics off Handler, so it is not public: the
	// caller serves MetricsHandler on a listener of its own (scanin relay
	// --metrics-addr).
	SeparateMetrics bool
	// Redis, when set, is the URL of the Redis server that holds the
	// sessions (and the rate limits), so that every relay node given the
	// same URL acts as one relay: "redis://[user:password@]host:port/db",
	// or "rediss://" for TLS, with go-redis's options as query parameters.
	// Empty: sessions live in this process's memory.
	Redis string
}

// Limits are the relay's limits. A zero field means docs/protocol.md's default
// (protocol/limits.go).
type Limits struct {
	// MaxSealedSize caps a POST body, in bytes.
	MaxSealedSize int `json:"max_sealed_size"`
	// DefaultTTL is an app's session lifetime when the app does not say.
	DefaultTTL time.Duration `json:"-"`
	// AckWait is how long a POST waits for the receiver's ack.
	AckWait time.Duration `json:"-"`
	// PingInterval is the longest a listener goes without a ping.
	PingInterval time.Duration `json:"-"`
	// TombstoneTTL is how long an ended session's outcome is remembered.
	TombstoneTTL time.Duration `json:"-"`
	// NewSessionsPerMinute limits listens per client IP.
	NewSessionsPerMinute int `json:"new_sessions_per_minute"`
	// SenderRequestsPerMinute limits reads, deliveries and denials per
	// client IP.
	SenderRequestsPerMinute int `json:"sender_requests_per_minute"`
	// MaxLiveSessions caps the sessions held at once.
	MaxLiveSessions int `json:"max_live_sessions"`
	// MaxTombstones caps the ended sessions a relay without Redis
	// remembers: past it, the oldest are forgotten first, even before
	// TombstoneTTL. Default 100000. (In Redis an ended session is a key
	// that expires after TombstoneTTL.)
	MaxTombstones int `json:"max_tombstones"`
	// SweepInterval is how often ended sessions and idle rate-limit
	// buckets are swept. Default one minute.
	SweepInterval time.Duration `json:"-"`
}

// withDefaults fills every zero field.
func (l Limits) withDefaults() Limits {
	setInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setInt(&l.MaxSealedSize, protocol.MaxSealedSize)
	setDur(&l.DefaultTTL, protocol.DefaultTTL)
	setDur(&l.AckWait, protocol.AckWait)
	setDur(&l.PingInterval, protocol.PingInterval-5*time.Second)
	setDur(&l.TombstoneTTL, protocol.TombstoneTTL)
	setInt(&l.NewSessionsPerMinute, protocol.NewSessionsPerMinute)
	setInt(&l.SenderRequestsPerMinute, protocol.SenderRequestsPerMinute)
	setInt(&l.MaxLiveSessions, protocol.MaxLiveSessions)
	setInt(&l.MaxTombstones, defaultMaxTombstones)
	setDur(&l.SweepInterval, time.Minute)
	return l
}

// defaultMaxTombstones is Limits.MaxTombstones' default: at about 600 bytes
// each, 60 MB at most; at 100 handoffs a second, the ten minutes of
// TombstoneTTL.
const defaultMaxTombstones = 100000

// App is an integrator's application as the operator configures it. It is
// rules.App, the type every relay's request rules take.
type App = rules.App

// DemoAppID is the id of the app a relay with no configured apps serves.
const DemoAppID = rules.DemoAppID

// DemoApp is the built-in app a relay with no configured apps serves, so
// the demo runs with no setup: pages on loopback may embed it, and the
// widget may be served from the relay or from loopback.
func DemoApp() App { return rules.DemoApp() }

// fileConfig is the JSON form of a config file.
type fileConfig struct {
	Apps           []App       `json:"apps"`
	TrustedProxies []string    `json:"trusted_proxies"`
	Limits         *fileLimits `json:"limits"`
	Redis          string      `json:"redis"`
}

// fileLimits are Limits as a config file writes them: durations in seconds.
type fileLimits struct {
	MaxSealedSize           int     `json:"max_sealed_size"`
	DefaultTTL              int     `json:"default_ttl"`
	AckWait                 float64 `json:"ack_wait"`
	PingInterval            float64 `json:"ping_interval"`
	TombstoneTTL            float64 `json:"tombstone_ttl"`
	NewSessionsPerMinute    int     `json:"new_sessions_per_minute"`
	SenderRequestsPerMinute int     `json:"sender_requests_per_minute"`
	MaxLiveSessions         int     `json:"max_live_sessions"`
	MaxTombstones           int     `json:"max_tombstones"`
}

func seconds(f float64) time.Duration { return time.Duration(f * float64(time.Second)) }

// LoadConfig reads a JSON config file. It must list at least one app, each
// with id, name and origins; the rest is optional:
//
//	{"apps": [{"id": "shop", "name": "Shop", "origins": ["https://shop.example"],
//	           "widget_origins": [], "link_base": "https://shop.example/app", "ttl": 60,
//	           "native_receivers": false, "scan_hint": "Open {name} on your phone and tap Scan",
//	           "logo": "/logo.png", "ios_app_store_url": "https://apps.apple.com/app/id1",
//	           "play_store_url": "https://play.google.com/store/apps/details?id=shop",
//	           "app_link": "shop://scanin"}],
//	 "trusted_proxies": ["10.0.0.0/8"],
//	 "limits": {"max_sealed_size": 16384, "default_ttl": 60, "ack_wait": 10,
//	            "ping_interval": 20, "tombstone_ttl": 600,
//	            "new_sessions_per_minute": 60, "sender_requests_per_minute": 120,
//	            "max_live_sessions": 100000, "max_tombstones": 100000},
//	 "redis": "redis://127.0.0.1:6379/0"}
//
// Durations are in seconds. Unknown fields are errors, so a typo does not
// silently fall back to a default. Origins are kept in
// protocol.NormalizeOrigin's form. Errors name the file and the field, or
// the line and column of a JSON syntax error.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("failed to read config: %w", err)
	}
	return ParseConfig(path, b)
}

// ParseConfig is LoadConfig for a file already read; name is used in errors.
func ParseConfig(name string, b []byte) (Config, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return Config{}, fmt.Errorf("%s: the file is empty: %s", name, errNoApps)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var fc fileConfig
	if err := dec.Decode(&fc); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, jsonError(b, err))
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		line, col := lineCol(b, len(b)-len(rest))
		return Config{}, fmt.Errorf("%s: line %d, column %d: data after the config object: a config file is one JSON object", name, line, col)
	}
	cfg := Config{Apps: fc.Apps, Redis: fc.Redis}
	for i, p := range fc.TrustedProxies {
		prefix, err := parsePrefix(p)
		if err != nil {
			return Config{}, fmt.Errorf("%s: trusted_proxies[%d]: %w", name, i, err)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, prefix)
	}
	if l := fc.Limits; l != nil {
		fields := []struct {
			name string
			v    float64
		}{
			{"max_sealed_size", float64(l.MaxSealedSize)}, {"default_ttl", float64(l.DefaultTTL)},
			{"ack_wait", l.AckWait}, {"ping_interval", l.PingInterval}, {"tombstone_ttl", l.TombstoneTTL},
			{"new_sessions_per_minute", float64(l.NewSessionsPerMinute)},
			{"sender_requests_per_minute", float64(l.SenderRequestsPerMinute)},
			{"max_live_sessions", float64(l.MaxLiveSessions)},
			{"max_tombstones", float64(l.MaxTombstones)},
		}
		for _, f := range fields {
			if f.v < 0 {
				return Config{}, fmt.Errorf("%s: limits.%s: must not be negative", name, f.name)
			}
		}
		cfg.Limits = Limits{
			MaxSealedSize:           l.MaxSealedSize,
			DefaultTTL:              time.Duration(l.DefaultTTL) * time.Second,
			AckWait:                 seconds(l.AckWait),
			PingInterval:            seconds(l.PingInterval),
			TombstoneTTL:            seconds(l.TombstoneTTL),
			NewSessionsPerMinute:    l.NewSessionsPerMinute,
			SenderRequestsPerMinute: l.SenderRequestsPerMinute,
			MaxLiveSessions:         l.MaxLiveSessions,
			MaxTombstones:           l.MaxTombstones,
		}
	}
	if err := cfg.validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(cfg.Apps) == 0 {
		return Config{}, fmt.Errorf("%s: %w", name, errNoApps)
	}
	return cfg, nil
}

// errNoApps is the error for a config file without apps, with the
// smallest file that works.
var errNoApps = errors.New(`no apps configured: a config file must list at least one app, such as {"apps": [{"id": "shop", "name": "Shop", "origins": ["https://shop.example"]}]}`)

// jsonError says where in b a decoding error is: line and column for a
// syntax error or a value of the wrong type, the field's name for an
// unknown field.
func jsonError(b []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := lineCol(b, int(syntax.Offset)-1) // Offset is just past the bad byte
		return fmt.Errorf("line %d, column %d: JSON syntax error: %s", line, col, strings.TrimPrefix(syntax.Error(), "json: "))
	case errors.As(err, &typ):
		line, col := lineCol(b, int(typ.Offset)-1) // the value's last byte
		return fmt.Errorf("line %d, column %d: %s must be a JSON %s, not %s", line, col, typ.Field, typ.Type, typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		line, col := lineCol(b, len(b))
		return fmt.Errorf("line %d, column %d: the JSON ends too early (an unclosed { or [?)", line, col)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return fmt.Errorf("unknown field %s: check its spelling against the config fields in docs/protocol.md", f)
	}
	return err
}

// lineCol turns a byte offset in b into a 1-based line and column.
func lineCol(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	before := b[:off]
	line = 1 + bytes.Count(before, []byte("\n"))
	col = 1 + off - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// parsePrefix reads a trusted proxy: a CIDR prefix or a single address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR prefix: %q", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("not an IP address or CIDR prefix: %q", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// validate checks the whole configuration; errors name the field.
func (c *Config) validate() error {
	if c.PublicURL != "" {
		if _, err := checkPublicURL(c.PublicURL); err != nil {
			return fmt.Errorf("public URL: %w", err)
		}
	}
	if c.Redis != "" {
		if err := checkRedisURL(c.Redis); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	l := c.Limits
	if l.DefaultTTL != 0 {
		if err := protocol.CheckTTL(l.DefaultTTL); err != nil {
			return fmt.Errorf("limits.default_ttl: %w", err)
		}
	}
	if l.PingInterval > protocol.PingInterval {
		return fmt.Errorf("limits.ping_interval: %v is over the protocol's %v", l.PingInterval, protocol.PingInterval)
	}
	if l.TombstoneTTL != 0 && l.TombstoneTTL < protocol.TombstoneTTL {
		return fmt.Errorf("limits.tombstone_ttl: %v is under the protocol's %v", l.TombstoneTTL, protocol.TombstoneTTL)
	}
	seen := map[string]bool{}
	// The apps with their origins normalised: a copy, so the caller's
	// slices stay as they were.
	apps := append([]App(nil), c.Apps...)
	defer func() { c.Apps = apps }()
	for i, a := range c.Apps {
		field := func(f string) string { return fmt.Sprintf("apps[%d].%s", i, f) }
		if err := protocol.CheckAppID(a.ID); err != nil {
			return fmt.Errorf("%s: %q: %w", field("id"), a.ID, err)
		}
		if seen[a.ID] {
			return fmt.Errorf("%s: %q is listed twice", field("id"), a.ID)
		}
		seen[a.ID] = true
		if strings.TrimSpace(a.Name) == "" {
			return fmt.Errorf("%s: must not be empty", field("name"))
		}
		if len(a.Origins) == 0 {
			return fmt.Errorf("%s: list at least one origin allowed to embed the widget", field("origins"))
		}
		var err error
		if apps[i].Origins, err = normalizeOrigins(a.Origins, field("origins")); err != nil {
			return err
		}
		if apps[i].WidgetOrigins, err = normalizeOrigins(a.WidgetOrigins, field("widget_origins")); err != nil {
			return err
		}
		if a.LinkBase != "" {
			u, err := url.Parse(a.LinkBase)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
				return fmt.Errorf("%s: %q is not an http(s) URL without a fragment", field("link_base"), a.LinkBase)
			}
			if u.Scheme == "http" && !protocol.IsLoopbackHost(u.Hostname()) {
				return fmt.Errorf("%s: %q must be https (plain http only for loopback)", field("link_base"), a.LinkBase)
			}
		}
		if err := checkAppLinks(a, field); err != nil {
			return err
		}
		if a.TTL != 0 {
			// Seconds, as on the wire: the same rule as a listen's ttl.
			if _, err := protocol.ParseTTL(strconv.Itoa(a.TTL)); err != nil {
				return fmt.Errorf("%s: %w", field("ttl"), err)
			}
		}
	}
	return nil
}

// checkAppLinks checks the app's fields for the widget and the /link page:
// logo, the store URLs and app_link.
func checkAppLinks(a App, field func(string) string) error {
	if a.Logo != "" && !strings.HasPrefix(a.Logo, "/") {
		if err := checkHTTPSURL(a.Logo); err != nil {
			return fmt.Errorf("%s: %q %w, or a path on the relay such as \"/logo.png\"", field("logo"), a.Logo, err)
		}
	}
	if strings.HasPrefix(a.Logo, "//") {
		return fmt.Errorf("%s: %q: write an https URL or a path on the relay such as \"/logo.png\"", field("logo"), a.Logo)
	}
	for _, f := range []struct{ name, v string }{
		{"ios_app_store_url", a.IOSAppStoreURL}, {"play_store_url", a.PlayStoreURL},
	} {
		if f.v != "" {
			if err := checkHTTPSURL(f.v); err != nil {
				return fmt.Errorf("%s: %q %w", field(f.name), f.v, err)
			}
		}
	}
	if a.AppLink != "" {
		u, err := url.Parse(a.AppLink)
		switch {
		case err != nil || u.Scheme == "":
			return fmt.Errorf("%s: %q is not a URL: write the app's custom scheme (\"shop://scanin\") or an https universal link", field("app_link"), a.AppLink)
		case u.Scheme == "https":
			if err := checkHTTPSURL(a.AppLink); err != nil {
				return fmt.Errorf("%s: %q %w", field("app_link"), a.AppLink, err)
			}
		case u.Scheme == "http" || u.Scheme == "javascript" || u.Scheme == "data" || u.Scheme == "file" || u.Scheme == "blob":
			return fmt.Errorf("%s: %q: the scheme %q is not allowed: write the app's custom scheme (\"shop://scanin\") or an https universal link", field("app_link"), a.AppLink, u.Scheme)
		}
	}
	return nil
}

// checkHTTPSURL accepts an absolute https URL with a host and no user
// info. The error completes a sentence that starts with the URL.
func checkHTTPSURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return errors.New("is not an https URL (https://host/...)")
	}
	return nil
}

// normalizeOrigins returns an app's origin list in protocol.NormalizeOrigin's
// form (the form browsers send and the phone shows), in a new slice;
// field names the list in errors.
func normalizeOrigins(origins []string, field string) ([]string, error) {
	if origins == nil {
		return nil, nil
	}
	out := make([]string, len(origins))
	for j, o := range origins {
		n, err := protocol.NormalizeOriginPattern(o)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", field, j, err)
		}
		out[j] = n
	}
	return out, nil
}

// checkPublicURL validates the relay's public base URL and returns it
// without a trailing slash.
func checkPublicURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must be an http(s) URL with a host and no query or fragment")
	}
	if u.Path != "" && u.Path != "/" {
		return "", errors.New("must not have a path: the relay serves from its root")
	}
	return u.Scheme + "://" + u.Host, nil
}
